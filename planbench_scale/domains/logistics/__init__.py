"""The Logistics family: Logistics, Mystery Logistics (PlanBench's deceptive names) and
Randomized Logistics (random names per seed) share PlanBench's Logistics schema (domain.pddl),
one generator and one optimal planner, and differ only in their vocabulary (`vocab.py`).

Objects: packages p0, p1, ..., one truck per city t0, t1, ..., airplanes a0, ..., cities c0, ...
and locations l0-0, l0-1, ... (location j of city i; l<i>-0 is the city's airport).
"""

from __future__ import annotations

from dataclasses import dataclass

from planbench_scale.domains.logistics import vocab as vocabularies
from planbench_scale.domains.logistics.vocab import schema_text
from planbench_scale.domains.logistics.generate import canonical_plan, generalization_set, generate_set
from planbench_scale.domains.logistics.planbench_import import load_planbench
from planbench_scale.domains.folder import data_root
from planbench_scale.errors import PlanbenchError

__all__ = ["DOMAINS", "load_planbench"]

FILES = data_root() / "logistics"
"""The family's data: domains/logistics/ (domain.pddl, prompt templates, PlanBench configs)."""


@dataclass(frozen=True)
class Logistics:
    """One domain of the family; `name` picks its default vocabulary."""

    name: str
    """"logistics", "mystery-logistics" or "randomized-logistics"."""

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
        """domains/logistics/ (logistics.yaml and planbench/ hold its prompt templates)."""
        return FILES

    def vocabulary(self, name: str | None = None, seed: int = 0):
        """A vocabulary of the family by name, or this domain's default (Randomized draws it
        from `seed`)."""
        return vocabularies.for_domain(self.name, seed) if name is None else vocabularies.get(name)

    def domain_pddl(self, vocab) -> str:
        """PlanBench's Logistics domain with every predicate, action and the domain name renamed."""
        return vocab.domain_pddl(schema_text(), vocabularies.PDDL_DOMAIN)

    def generate(self, sizes, steps, per_step, seed, partial_goals=False, progress=None,
                 time_limit=20.0):
        """A set stratified by optimal plan length (see `generate.generate_set`)."""
        if partial_goals:
            raise PlanbenchError("Logistics goals name where each package ends: no --partial-goals")
        return generate_set(self.vocabulary(None, seed), sizes, steps, per_step, seed, progress,
                            time_limit)

    def generalization(self, sizes, steps, per_step, seed, progress=None, time_limit=20.0):
        """A set of one plan pattern: packages gathered at airports and flown on (see
        `generate.generalization_set`)."""
        return generalization_set(self.vocabulary(None, seed), sizes, steps, per_step, seed,
                                  progress, time_limit)

    def solve(self, instance):
        """A certified optimal plan from the instance's initial state (our A*, else Fast Downward)."""
        return canonical_plan(instance.objects, instance.init, instance.goal)

    def unexpected(self, instance, state, rng):
        """PlanBench's unexpected event of Logistics replanning: every package in a vehicle
        ends at a location drawn with `rng` that is not its goal, (facts that became true,
        facts that became false); None where no package is in a vehicle."""
        carried = sorted(fact for fact in state if fact[0] == "in")
        places = sorted(fact[1] for fact in state if fact[0] == "location")
        ends = {fact[1]: fact[2] for fact in instance.goal if fact[0] == "at"}
        if not carried:
            return None
        landed = [("at", p, rng.choice([place for place in places if place != ends.get(p)]))
                  for _, p, _ in carried]
        return tuple(sorted(landed)), tuple(carried)

    def unsolvable(self, sizes, count, seed):
        """Logistics has no unsolvable problems of PlanBench's shape: asking for some is refused."""
        if count:
            raise PlanbenchError("every Logistics problem of this shape has a plan: no --unsolvable")
        return []

    def distance(self, instance, state):
        """Optimal steps left from a state of canonical facts (our A*, else Fast Downward)."""
        return len(canonical_plan(instance.objects, tuple(state), instance.goal))


DOMAINS = tuple(Logistics(name) for name in vocabularies.DOMAINS)
"""The family's domains, registered in `planbench_scale.domains`."""
