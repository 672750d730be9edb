"""Domain vocabularies: how canonical Blocksworld names are spelled in PDDL.

A `Vocabulary` renames the 5 predicates, the 4 actions and (for randomized vocabularies) the
objects. "blocksworld" is the identity, "mystery" is PlanBench's fixed obfuscation,
"planbench-randomized" is PlanBench's published random vocabulary (objects o0, o1, ...), and
"randomized:SEED" draws fresh random tokens for every name from SEED.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from planbench_scale.domains.obfuscation import Renaming, random_token, seeded, unknown
from planbench_scale.errors import PlanbenchError

PREDICATES = ("on", "ontable", "clear", "handempty", "holding")
ACTIONS = ("pick-up", "put-down", "stack", "unstack")
ARITY = {"on": 2, "ontable": 1, "clear": 1, "handempty": 0, "holding": 1,
         "pick-up": 1, "put-down": 1, "stack": 2, "unstack": 2}
DOMAINS = ("blocksworld", "mystery", "randomized")


@dataclass(frozen=True)
class Vocabulary(Renaming):
    """A renaming of canonical Blocksworld names; objects are spelled by block number."""

    object_prefix: str | None = None
    """Objects are spelled prefix + index ("o0", "o1", ...); None keeps canonical names."""

    def obj(self, block: str) -> str:
        """The spelling of a canonical block name."""
        if self.object_seed is not None:
            return random_token(f"randomized:{self.object_seed}:object:{block_index(block)}")
        if self.object_prefix is not None:
            return f"{self.object_prefix}{block_index(block)}"
        return block

    def index(self, block: str) -> int:
        """The 0-based number of a canonical block name."""
        return block_index(block)


def block_names(n: int) -> tuple[str, ...]:
    """Canonical names of n blocks: a..z, then a1..z1, a2.., in that order."""
    return tuple(block_name(i) for i in range(n))


def block_name(index: int) -> str:
    """Canonical name of block number `index` (0-based)."""
    letter, round_ = string.ascii_lowercase[index % 26], index // 26
    return letter if round_ == 0 else f"{letter}{round_}"


def block_index(name: str) -> int:
    """Inverse of `block_name`."""
    if not re.fullmatch(r"[a-z]\d*", name):
        raise PlanbenchError(f"not a canonical block name: {name!r}")
    return string.ascii_lowercase.index(name[0]) + 26 * int(name[1:] or 0)


def _pairs(own: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(zip(PREDICATES + ACTIONS, own))


BLOCKSWORLD = Vocabulary("blocksworld", "blocksworld", "blocksworld-4ops", _pairs(PREDICATES + ACTIONS))
MYSTERY = Vocabulary("mystery", "mystery", "mystery-4ops", _pairs(
    ("craves", "planet", "province", "harmony", "pain", "attack", "succumb", "overcome", "feast")))
PLANBENCH_RANDOMIZED = Vocabulary(
    "planbench-randomized", "randomized", "obfuscated_randomized_blocksworld",
    _pairs(("b6e9q4r60gagvdcn", "af9tse23ljclsqad", "tv30k33pzoulql6w", "cql4o62p1yeke3ok",
            "a46zhwykn6jvbabk", "u64y1a9apusmslxb", "kip9uw781pv62umn", "j4gv801gnu2it0yj",
            "wio5amhq7814n006")),
    object_prefix="o")
NAMED = {v.name: v for v in (BLOCKSWORLD, MYSTERY, PLANBENCH_RANDOMIZED)}


def randomized(seed: int) -> Vocabulary:
    """A fresh random vocabulary: every predicate, action and object name drawn from `seed`."""
    tokens = tuple(random_token(f"randomized:{seed}:{name}") for name in PREDICATES + ACTIONS)
    return Vocabulary(f"randomized:{seed}", "randomized", f"randomized-{seed}",
                      _pairs(tokens), object_seed=seed)


def get(name: str) -> Vocabulary:
    """The vocabulary called `name`: a named one or "randomized:SEED"."""
    if name in NAMED:
        return NAMED[name]
    seed = seeded(name)
    if seed is not None:
        return randomized(seed)
    raise unknown(name, NAMED)


def for_domain(domain: str, seed: int = 0) -> Vocabulary:
    """The default vocabulary of a domain; "randomized" draws its names from `seed`."""
    if domain == "randomized":
        return randomized(seed)
    if domain in ("blocksworld", "mystery"):
        return NAMED[domain]
    raise PlanbenchError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
