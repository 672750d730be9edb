"""The Blocksworld family: Blocksworld, Mystery Blocksworld (PlanBench's fixed obfuscated names)
and Randomized Mystery (random names per seed) share one 4-operator schema, one generator and one
optimal planner, and differ only in their vocabulary (`vocab.py`) and prompt templates.

The family's data lives in the top-level domains/blocksworld/: the PDDL schema (domain.pddl,
canonical names) and the default prompt template of each domain (<name>.yaml), with the
PlanBench configs not published by PlanBench in planbench/; this package holds its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from planbench_scale.domains.blocksworld import states, vocab as vocabularies
from planbench_scale.domains.blocksworld.generate import generalization_set, generate_set, unsolvable_set
from planbench_scale.domains.blocksworld.planbench_import import load_planbench
from planbench_scale.domains.folder import data_root
from planbench_scale.symbolic.pddl import rename

__all__ = ["DOMAINS", "load_planbench"]

FILES = data_root() / "blocksworld"
"""The family's data: domains/blocksworld/ (domain.pddl, prompt templates, PlanBench configs)."""


@lru_cache(maxsize=None)
def _schema() -> str:
    return FILES.joinpath("domain.pddl").read_text()


@dataclass(frozen=True)
class Blocksworld:
    """One domain of the family; `name` picks its default vocabulary and template."""

    name: str
    """"blocksworld", "mystery" or "randomized"."""

    @property
    def predicates(self) -> dict[str, int]:
        """Canonical predicate -> arity."""
        return {p: vocabularies.ARITY[p] for p in vocabularies.PREDICATES}

    @property
    def actions(self) -> dict[str, int]:
        """Canonical action -> arity."""
        return {a: vocabularies.ARITY[a] for a in vocabularies.ACTIONS}

    @property
    def templates(self):
        """domains/blocksworld/: <name>.yaml and planbench/."""
        return FILES

    def vocabulary(self, name: str | None = None, seed: int = 0) -> vocabularies.Vocabulary:
        """A vocabulary of the family by name, or this domain's default (Randomized draws it
        from `seed`)."""
        return vocabularies.for_domain(self.name, seed) if name is None else vocabularies.get(name)

    def domain_pddl(self, vocab: vocabularies.Vocabulary) -> str:
        """The 4-operator domain with every predicate, action and the domain name renamed."""
        return rename(_schema(), {**dict(vocab.names), "blocksworld-4ops": vocab.pddl_domain})

    def generate(self, sizes, steps, per_step, seed, partial_goals=False, progress=None,
                 time_limit=20.0):
        """A set stratified by optimal plan length (see `generate.generate_set`)."""
        return generate_set(self.vocabulary(None, seed), sizes, steps, per_step, seed,
                            partial_goals, progress, time_limit=time_limit)

    def unsolvable(self, sizes, count, seed):
        """Instances with impossible goals (see `generate.unsolvable_set`)."""
        return unsolvable_set(self.vocabulary(None, seed), sizes, count, seed)

    def generalization(self, sizes, steps, per_step, seed, progress=None, time_limit=20.0):
        """PlanBench's generalization set: one tower of every block, built from the table (see
        `generate.generalization_set`)."""
        return generalization_set(self.vocabulary(None, seed), sizes, steps, per_step, seed)

    def solve(self, instance):
        """A certified optimal plan from the instance's initial state (the hand empty)."""
        return states.optimal_plan(instance.objects, instance.init, instance.goal)

    def unexpected(self, instance, state, rng):
        """PlanBench's unexpected event of Blocksworld replanning: the block held lands on a
        clear block drawn with `rng`, (facts that became true, facts that became false); None
        where no block is held."""
        held = [fact[1] for fact in state if fact[0] == "holding"]
        clear = sorted(fact[1] for fact in state if fact[0] == "clear")
        if not held or not clear:
            return None
        block, below = held[0], rng.choice(clear)
        return (("clear", block), ("handempty",), ("on", block, below)), \
            (("clear", below), ("holding", block))

    def distance(self, instance, state):
        """Optimal steps left from a state of canonical facts (see `states.distance`)."""
        return states.distance(instance.objects, state, instance.goal)


DOMAINS = tuple(Blocksworld(name) for name in vocabularies.DOMAINS)
"""The family's domains, registered in `planbench_scale.domains`."""
