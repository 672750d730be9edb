"""PlanBench import: a config folder of PlanBench's repository as canonical Instance records.

Layout: generated_domain.pddl (or generated_domain_DERIVED.pddl), instance-N.pddl (or
instance-N_DERIVED.pddl), optimal plans in info.json or ground_truth_plans_DERIVED.json. Ids are
"<config>/instance-N"; objects map back to canonical names (a, b, ... as they are, in any
vocabulary; o0, o1, ... to a, b, ...). An instance whose plan the folder does not ship gets one from our optimal search;
a folder that ships no plans at all (PlanBench's unsolvable_* sets) imports each problem whose goal
cannot hold as solvable=False with optimal_plan=(), and any other problem with our optimal plan.

PDDL is read with `pddl.read_task` (unified-planning), 15-40 ms a problem; `instances.load_instances`
caches the records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from planbench_scale.domains.blocksworld import states as bw
from planbench_scale.errors import PDDLError, PlanbenchError
from planbench_scale.symbolic.pddl import read_task
from planbench_scale.records import Fact, Instance
from planbench_scale.domains.blocksworld.vocab import ACTIONS, NAMED, Vocabulary, block_name, block_index

PLAN_FILES = ("info.json", "ground_truth_plans_DERIVED.json")


def load_planbench(folder: Path) -> list[Instance]:
    """The instances of one PlanBench config folder, sorted by instance number."""
    domain_file = _domain_file(folder)
    problems = sorted(folder.glob("instance-*.pddl"), key=_instance_number)
    plans = _shipped_plans(folder)
    domain_text = domain_file.read_text()
    return [_instance(folder.name, domain_text, domain_file, problem, plans) for problem in problems]


def _domain_file(folder: Path) -> Path:
    for name in ("generated_domain.pddl", "generated_domain_DERIVED.pddl"):
        if (folder / name).is_file():
            return folder / name
    raise PlanbenchError(f"{folder}: no generated_domain.pddl")


def _instance_number(path: Path) -> int:
    match = re.fullmatch(r"instance-(\d+)(_DERIVED)?\.pddl", path.name)
    if not match:
        raise PlanbenchError(f"{path}: not named instance-N.pddl")
    return int(match.group(1))


def _shipped_plans(folder: Path) -> dict[str, str]:
    """The plans a folder ships, as {"instance-N.pddl": plan text}; {} when it ships none."""
    for name in PLAN_FILES:
        if (folder / name).is_file():
            data = json.loads((folder / name).read_text())
            return {k: v["plan"] for k, v in data.items()} if name == "info.json" else data["plans"]
    return {}


def _instance(config: str, domain_text: str, domain_file: Path, problem: Path, plans: dict) -> Instance:
    """One problem file as a canonical Instance, with the shipped plan or our optimal one."""
    task = read_task(domain_text, problem.read_text(), str(domain_file), str(problem))
    vocab = _vocabulary(set(task.schemas), domain_file)
    rename = {o: _canonical_object(vocab, o, problem) for o in task.objects}
    names = tuple(sorted(rename.values(), key=block_index))
    init, goal = ([_canonical(vocab, tuple(fact.strip("()").split()), rename, problem)
                   for fact in task.fact_names(mask)] for mask in (task.init, task.goal))
    init, goal = tuple(sorted(init)), tuple(sorted(goal))
    shipped = plans.get(f"instance-{_instance_number(problem)}.pddl")
    solvable = shipped is not None or _satisfiable(names, goal)
    if shipped is not None:
        plan = tuple(_canonical(vocab, tuple(line.strip("() ").lower().split()), rename, problem)
                     for line in shipped.strip().splitlines() if line.strip())
    elif solvable:
        try:
            plan = bw.optimal_plan(names, init, goal)
        except PlanbenchError as error:
            raise PlanbenchError(error.message, str(problem)) from None
    else:
        plan = ()
    return Instance(f"{config}/instance-{_instance_number(problem)}", vocab.domain, vocab.name,
                    names, init, goal, plan, source=str(problem), solvable=solvable)


def _satisfiable(names: tuple[str, ...], goal: tuple[Fact, ...]) -> bool:
    """Whether an `on` goal can hold at all (no block in two places, on itself or in a cycle, no two
    blocks on one); every state of Blocksworld is reachable, so such a goal always has a plan."""
    try:
        bw.goal_targets(names, goal)
    except PlanbenchError as error:
        if "unsatisfiable" in error.message:
            return False
        raise
    return True


def _vocabulary(actions: set[str], domain_file: Path) -> Vocabulary:
    """The named vocabulary whose action names the domain uses."""
    for vocab in NAMED.values():
        if actions == {vocab.own(a).lower() for a in ACTIONS}:
            return vocab
    raise PDDLError(f"actions {sorted(actions)} are not those of a known Blocksworld vocabulary "
                    f"({', '.join(NAMED)})", str(domain_file))


def _canonical_object(vocab: Vocabulary, name: str, problem: Path) -> str:
    if vocab.object_prefix is not None:
        match = re.fullmatch(re.escape(vocab.object_prefix) + r"(\d+)", name)
        if match:
            return block_name(int(match.group(1)))
    if re.fullmatch(r"[a-z]\d*", name):  # unsolvable_obfuscated_randomized_* names its objects a, b, ...
        return name
    raise PDDLError(f"object {name!r} is not a block name of vocabulary {vocab.name}", str(problem))


def _canonical(vocab: Vocabulary, fact: tuple[str, ...], rename: dict[str, str], problem: Path) -> Fact:
    name = vocab.canonical(fact[0]) if fact else None
    if name is None or any(arg not in rename for arg in fact[1:]):
        raise PDDLError(f"unknown name in {' '.join(fact)!r} for vocabulary {vocab.name}", str(problem))
    return (name, *(rename[arg] for arg in fact[1:]))
