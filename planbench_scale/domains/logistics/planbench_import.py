"""PlanBench import: its Logistics config folders (logistics, obfuscated_deceptive_logistics,
obfuscated_randomized_logistics) as canonical Instance records.

Layout: generated_domain.pddl and instance-N.pddl, no plans shipped: every optimal plan is ours
(`generate.canonical_plan`: our A*, else Fast Downward). Ids are "<config>/instance-N"; objects
keep the names the problem gives them (l0-0, p0, ... or o0, o1, ...) and predicates and
actions map back to the canonical ones through the vocabulary whose names the domain uses.
`instances.load_instances` caches the records.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from planbench_scale.domains.logistics.generate import canonical_plan
from planbench_scale.domains.logistics.vocab import ACTIONS, NAMED
from planbench_scale.errors import PDDLError, PlanbenchError
from planbench_scale.records import Fact, Instance
from planbench_scale.symbolic.pddl import read_task

TIME_LIMIT = 300.0
"""Seconds the optimal plan of one imported problem may take (Fast Downward A*/LM-cut)."""


def load_planbench(folder: Path) -> list[Instance]:
    """The instances of one PlanBench Logistics config folder, sorted by instance number."""
    domain_file = folder / "generated_domain.pddl"
    if not domain_file.is_file():
        raise PlanbenchError(f"{folder}: no generated_domain.pddl")
    domain_text = domain_file.read_text()
    problems = sorted(folder.glob("instance-*.pddl"), key=_number)
    return [_instance(folder.name, domain_text, domain_file, problem) for problem in problems]


def _number(path: Path) -> int:
    match = re.fullmatch(r"instance-(\d+)\.pddl", path.name)
    if not match:
        raise PlanbenchError(f"{path}: not named instance-N.pddl")
    return int(match.group(1))


def _instance(config: str, domain_text: str, domain_file: Path, problem: Path) -> Instance:
    task = read_task(domain_text, problem.read_text(), str(domain_file), str(problem))
    vocab = next((v for v in NAMED.values()
                  if set(task.schemas) == {v.own(a).lower() for a in ACTIONS}), None)
    if vocab is None:
        raise PDDLError(f"actions {sorted(task.schemas)} are not those of a known Logistics "
                        f"vocabulary ({', '.join(NAMED)})", str(domain_file))
    init, goal = (tuple(sorted(_canonical(vocab, fact, problem) for fact in task.fact_names(mask)))
                  for mask in (task.init, task.goal))
    names = tuple(task.kinds)
    number = {name: str(i) for i, name in enumerate(names)}
    shape = lambda facts: tuple((f[0], *(number[o] for o in f[1:])) for f in facts)  # noqa: E731
    try:
        plan = _plan_of_shape(len(names), shape(init), shape(goal))
    except PlanbenchError as error:
        raise PlanbenchError(error.message, str(problem)) from None
    plan = tuple((a[0], *(names[int(o)] for o in a[1:])) for a in plan)
    return Instance(f"{config}/instance-{_number(problem)}", vocab.domain, vocab.name, names,
                    init, goal, plan, source=str(problem))


@lru_cache(maxsize=1024)
def _plan_of_shape(count: int, init: tuple, goal: tuple) -> tuple:
    """The optimal plan of a problem whose objects are named by their position ("0", "1", ...):
    PlanBench's three Logistics sets hold the same problems under other names, planned once."""
    objects = tuple(map(str, range(count)))
    renamed = {o: f"x{o}" for o in objects}  # PDDL names start with a letter
    back = lambda facts: tuple((f[0], *(renamed[o] for o in f[1:])) for f in facts)  # noqa: E731
    plan = canonical_plan(tuple(renamed.values()), back(init), back(goal), TIME_LIMIT)
    return tuple((a[0], *(o[1:] for o in a[1:])) for a in plan)


def _canonical(vocab, fact: str, problem: Path) -> Fact:
    name, *args = fact[1:-1].split()
    canonical = vocab.canonical(name)
    if canonical is None:
        raise PDDLError(f"unknown predicate in {fact} for vocabulary {vocab.name}", str(problem))
    return (canonical, *args)
