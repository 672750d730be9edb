"""Logistics vocabularies: the canonical names, PlanBench's two obfuscations, and seeded ones.

"logistics" is the identity (PlanBench's domain file, lower case), "mystery-logistics" is
PlanBench's deceptive obfuscation (obfuscated_deceptive_logistics: real words that mean
something else), "planbench-randomized-logistics" its published random tokens
(obfuscated_randomized_logistics), and "randomized:SEED" draws a random token for every
predicate, action and object from SEED (`obfuscation.randomized`). Objects keep their
canonical names except in seeded vocabularies: p0 (package), t0 (truck), a0 (airplane),
c0 (city), l0-1 (location 1 of city 0); PlanBench's obfuscated sets name theirs o0, o1, ...
"""

from __future__ import annotations

from functools import lru_cache

from planbench_scale.domains import obfuscation
from planbench_scale.domains.folder import data_root
from planbench_scale.domains.obfuscation import Renaming

PREDICATES = ("obj", "truck", "location", "airplane", "city", "airport", "at", "in", "in-city")
ACTIONS = ("load-truck", "load-airplane", "unload-truck", "unload-airplane", "drive-truck",
           "fly-airplane")
ARITY = {**dict.fromkeys(PREDICATES[:6], 1), "at": 2, "in": 2, "in-city": 2,
         **dict.fromkeys(ACTIONS[:4], 3), "drive-truck": 4, "fly-airplane": 3}
DOMAINS = ("logistics", "mystery-logistics", "randomized-logistics")
PDDL_DOMAIN = "logistics-strips"
"""The canonical PDDL domain name (PlanBench's)."""


@lru_cache(maxsize=None)
def schema_text() -> str:
    """PlanBench's Logistics domain in canonical names (domains/logistics/domain.pddl)."""
    return (data_root() / "logistics" / "domain.pddl").read_text()


def _table(domain: str, pddl_domain: str, name: str, words: str) -> Renaming:
    return Renaming(name, domain, pddl_domain, tuple(zip(PREDICATES + ACTIONS, words.split())))


LOGISTICS = obfuscation.identity("logistics", "logistics", PDDL_DOMAIN, PREDICATES + ACTIONS)
MYSTERY = _table("mystery-logistics", "obfuscated_deceptive_logistics", "mystery-logistics",
                 "hand sneeze texture cats stupendous spring next vase collect "
                 "clip sip tightfisted paltry wretched memory")
PLANBENCH_RANDOMIZED = _table(
    "randomized-logistics", "obfuscated_randomized_logistics", "planbench-randomized-logistics",
    "zwcd0caosqrvypn9 qg9duf682li1kpbe cbaj1n1wo5bq3ezl anav4gem8e8nrk78 arsbumagdtb748l6 "
    "slhkq82juy2qo1pi uiat7ywwr0i6j87c hdqlgp6pqzse6p2n s8mp0xjykmt0fawa v1pjso2krv6sk1wj "
    "e6tbvxb13cxqiqfm ozh031mvw6d4smqa kl6t91ujyqzora0b ucb7r68xuhd352zp i43ia3g2ygc7vwqf")
NAMED = {v.name: v for v in (LOGISTICS, MYSTERY, PLANBENCH_RANDOMIZED)}


def get(name: str) -> Renaming:
    """The vocabulary called `name`: a named one or "randomized:SEED"."""
    if name in NAMED:
        return NAMED[name]
    seed = obfuscation.seeded(name)
    if seed is None:
        raise obfuscation.unknown(name, NAMED)
    return obfuscation.randomized("randomized-logistics", PREDICATES + ACTIONS, seed)


def for_domain(domain: str, seed: int = 0) -> Renaming:
    """The default vocabulary of a domain of the family; Randomized draws its names from `seed`."""
    return get(f"randomized:{seed}") if domain == "randomized-logistics" else \
        {"logistics": LOGISTICS, "mystery-logistics": MYSTERY}[domain]
