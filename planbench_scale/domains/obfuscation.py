"""Obfuscated vocabularies for any domain: a renaming of its predicates, actions and objects.

A `Renaming` spells a domain's canonical names in another vocabulary: a fixed table (PlanBench's
Mystery and Randomized names), or names drawn from a seed ("randomized:SEED": every predicate,
action and object a random token), so the obfuscated version of a new domain needs no code of
its own. The domain's PDDL in a vocabulary is its canonical PDDL with the names replaced.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from functools import lru_cache

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Fact
from planbench_scale.symbolic.pddl import rename

RANDOMIZED = re.compile(r"randomized:(-?\d+)")
"""A seeded vocabulary's name."""


def random_token(seed: str, length: int = 16) -> str:
    """A random name of lowercase letters and digits that starts with a letter, fixed by `seed`."""
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    return rng.choice(string.ascii_lowercase) + "".join(rng.choice(alphabet) for _ in range(length - 1))


@dataclass(frozen=True)
class Renaming:
    """A vocabulary: canonical predicate, action and object names -> their spelling."""

    name: str
    """The name the domain's `vocabulary` accepts and an Instance records."""
    domain: str
    """The domain it belongs to."""
    pddl_domain: str
    """The PDDL domain name."""
    names: tuple[tuple[str, str], ...]
    """(canonical, own) pairs for the predicates and actions."""
    object_seed: int | None = None
    """Objects are random tokens drawn from this seed; None keeps their canonical names."""

    def own(self, canonical: str) -> str:
        """The spelling of a canonical predicate or action name."""
        return dict(self.names)[canonical]

    def canonical(self, own: str) -> str | None:
        """The canonical predicate or action of a spelling (any case), or None."""
        return _inverse(self.names).get(own.lower())

    def obj(self, canonical: str) -> str:
        """The spelling of a canonical object name."""
        if self.object_seed is None:
            return canonical
        return random_token(f"randomized:{self.object_seed}:object:{canonical}")

    def index(self, canonical: str) -> int:
        """The first number in a canonical object name ("p3" -> 3, "l1-2" -> 1; 0 if none)."""
        match = re.search(r"\d+", canonical)
        return int(match.group()) if match else 0

    def fact(self, fact: Fact) -> str:
        """A canonical fact or action as a PDDL string in this vocabulary."""
        return "(" + " ".join([self.own(fact[0]), *(self.obj(o) for o in fact[1:])]) + ")"

    def domain_pddl(self, canonical_pddl: str, canonical_domain: str) -> str:
        """A domain's canonical PDDL (lower case) with every predicate, action and the domain
        name spelled in this vocabulary, and without its comments (which would leak names)."""
        text = re.sub(r";[^\n]*", "", canonical_pddl)
        return rename(text, {**dict(self.names), canonical_domain: self.pddl_domain})


@lru_cache(maxsize=None)
def _inverse(names: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {own.lower(): canonical for canonical, own in names}


def identity(name: str, domain: str, pddl_domain: str, canonical: tuple[str, ...]) -> Renaming:
    """The vocabulary that spells every name as it is."""
    return Renaming(name, domain, pddl_domain, tuple((c, c) for c in canonical))


def randomized(domain: str, canonical: tuple[str, ...], seed: int) -> Renaming:
    """Every predicate, action and object name of a domain a random token drawn from `seed`
    (the same seed draws the same tokens for every domain's shared names)."""
    tokens = tuple((c, random_token(f"randomized:{seed}:{c}")) for c in canonical)
    return Renaming(f"randomized:{seed}", domain, f"randomized-{seed}", tokens, object_seed=seed)


def seeded(name: str) -> int | None:
    """The seed of a "randomized:SEED" vocabulary name, or None for any other name."""
    match = RANDOMIZED.fullmatch(name)
    return int(match.group(1)) if match else None


def unknown(name: str, known) -> PlanbenchError:
    """The error for a vocabulary name a domain does not have."""
    return PlanbenchError(f"unknown vocabulary {name!r}; known: {', '.join(known)}, randomized:SEED")
