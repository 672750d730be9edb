"""PlanBench import: a config folder of PlanBench's repository as canonical Instance records.

Layout: generated_domain.pddl (or generated_domain_DERIVED.pddl), instance-N.pddl (or
instance-N_DERIVED.pddl), optimal plans in info.json or ground_truth_plans_DERIVED.json. Ids are
"<config>/instance-N"; objects map back to canonical names (a, b, ... as they are; o0, o1, ... to
a, b, ...). An instance whose plan the folder does not ship gets one from our optimal search;
a folder that ships no plans at all (PlanBench's unsolvable_* sets) is refused.

PDDL is read with unified-planning, about 45 ms a problem (`instances.load_instances` caches).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from . import blocks as bw
from .errors import PDDLError, PlanbenchError
from .records import Fact, Instance
from .vocab import ACTIONS, NAMED, Vocabulary, block_name, block_index

PLAN_FILES = ("info.json", "ground_truth_plans_DERIVED.json")


def load_planbench(folder: Path) -> list[Instance]:
    """The instances of one PlanBench config folder, sorted by instance number."""
    domain_file = _domain_file(folder)
    problems = sorted(folder.glob("instance-*.pddl"), key=_instance_number)
    plans = _shipped_plans(folder)
    vocab, predicates = _read_domain(domain_file.read_text(), domain_file)
    return [_instance(folder.name, vocab, predicates, problem, plans) for problem in problems]


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
    """The plans a folder ships, as {"instance-N.pddl": plan text}."""
    for name in PLAN_FILES:
        if (folder / name).is_file():
            data = json.loads((folder / name).read_text())
            return {k: v["plan"] for k, v in data.items()} if name == "info.json" else data["plans"]
    raise PlanbenchError(f"{folder}: ships no optimal plans ({' or '.join(PLAN_FILES)}); "
                         "PlanBench's unsolvable_* sets are not loaded as instances")


def _read_domain(domain_text: str, domain_file: Path) -> tuple[Vocabulary, str]:
    """The domain's named vocabulary, and the domain reduced to its predicates.

    unified-planning spends most of a problem's reading time on the domain's actions; problems are
    read against the predicates-only domain, written by unified-planning itself.
    """
    from unified_planning.io import PDDLWriter
    from unified_planning.model import Problem

    domain = _parse(domain_text, None, domain_file)
    actions = {action.name for action in domain.actions}
    vocab = next((v for v in NAMED.values() if actions == {v.own(a).lower() for a in ACTIONS}), None)
    if vocab is None:
        raise PDDLError(f"actions {sorted(actions)} are not those of a known Blocksworld vocabulary "
                        f"({', '.join(NAMED)})", str(domain_file))
    predicates = Problem(domain.name)
    for fluent in domain.fluents:
        predicates.add_fluent(fluent, default_initial_value=False)
    return vocab, PDDLWriter(predicates).get_domain()


def _instance(config: str, vocab: Vocabulary, predicates: str, problem: Path, plans: dict) -> Instance:
    """One problem file as a canonical Instance, with the shipped plan or our optimal one."""
    objects, init, goal = _read_problem(predicates, problem)
    rename = {o: _canonical_object(vocab, o, problem) for o in objects}
    names = tuple(sorted(rename.values(), key=block_index))
    init = tuple(sorted(_canonical(vocab, fact, rename, problem) for fact in init))
    goal = tuple(sorted({_canonical(vocab, fact, rename, problem) for fact in goal}))
    shipped = plans.get(f"instance-{_instance_number(problem)}.pddl")
    if shipped is None:
        try:
            plan = bw.optimal_plan(names, init, goal)
        except PlanbenchError as error:
            raise PlanbenchError(error.message, str(problem)) from None
    else:
        plan = tuple(_canonical(vocab, tuple(line.strip("() ").lower().split()), rename, problem)
                     for line in shipped.strip().splitlines() if line.strip())
    return Instance(f"{config}/instance-{_instance_number(problem)}", vocab.domain, vocab.name,
                    names, init, goal, plan, source=str(problem))


def _read_problem(predicates: str, problem: Path) -> tuple[list[str], list[Fact], list[Fact]]:
    """Objects, true initial facts and goal facts of a problem, read with unified-planning."""
    parsed = _parse(predicates, problem.read_text(), problem)
    init = [_fact(node) for node, value in parsed.explicit_initial_values.items() if value.is_true()]
    goal = [fact for node in parsed.goals for fact in _conjuncts(node, problem)]
    return [o.name for o in parsed.all_objects], init, goal


def _parse(domain_text: str, problem_text: str | None, file: Path):
    try:
        return _reader().parse_problem_string(domain_text, problem_text)
    except Exception as error:  # unified-planning raises many kinds of errors on bad PDDL
        raise PDDLError(f"unified-planning cannot read it: {error}", str(file)) from None


@lru_cache(maxsize=1)
def _reader():
    from unified_planning.io import PDDLReader  # imported late: it takes a second

    return PDDLReader()


def _conjuncts(node, problem: Path) -> list[Fact]:
    if node.is_and():
        return [fact for arg in node.args for fact in _conjuncts(arg, problem)]
    if node.is_fluent_exp():
        return [_fact(node)]
    raise PDDLError(f"unsupported goal {node}: only conjunctions of facts", str(problem))


def _fact(node) -> Fact:
    return (node.fluent().name, *(str(arg) for arg in node.args))


def _canonical_object(vocab: Vocabulary, name: str, problem: Path) -> str:
    if vocab.object_prefix is not None:
        match = re.fullmatch(re.escape(vocab.object_prefix) + r"(\d+)", name)
        if match:
            return block_name(int(match.group(1)))
    elif re.fullmatch(r"[a-z]\d*", name):
        return name
    raise PDDLError(f"object {name!r} is not a block name of vocabulary {vocab.name}", str(problem))


def _canonical(vocab: Vocabulary, fact: tuple[str, ...], rename: dict[str, str], problem: Path) -> Fact:
    name = vocab.canonical(fact[0]) if fact else None
    if name is None or any(arg not in rename for arg in fact[1:]):
        raise PDDLError(f"unknown name in {' '.join(fact)!r} for vocabulary {vocab.name}", str(problem))
    return (name, *(rename[arg] for arg in fact[1:]))
