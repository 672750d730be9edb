"""The Logistics part of bench_validate.py (run there, beside Blocksworld): per-problem
validation against unified-planning (and VAL where `Validate` is on PATH), many plans of one
problem, grounding times, and 1,000 plans over 200 problems through `validate_jsonl`."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from planbench_scale.domains import instance_pddl
from planbench_scale.domains.logistics import generate
from planbench_scale.records import Instance
from planbench_scale.symbolic import pddl
from planbench_scale.symbolic.batch import validate_jsonl
from planbench_scale.symbolic.validate import validate, validate_texts

import bench_validate as common

PROBLEMS = 30
"""Problems of each domain in the per-problem comparison."""


def problems(planbench: Path, config: str, count: int, rng) -> list[tuple[str, str, list[str]]]:
    """(domain, problem text, a random 10-step walk) of `count` problems of a PlanBench set."""
    folder = planbench / "instances" / config
    domain = next(folder.glob("generated_domain*.pddl")).read_text()
    paths = rng.sample(sorted(folder.glob("instance-*.pddl")), count)
    return [(domain, p.read_text(), common._walk(pddl.read_task(domain, p.read_text()), rng, 10))
            for p in paths]


def ours_per_problem(cases) -> float:
    """Seconds per problem: read the problem text and validate its one plan."""
    start = time.perf_counter()
    for domain, text, plan in cases:
        validate(pddl.read_task(domain, text), plan)
    return (time.perf_counter() - start) / len(cases)


def up_per_problem(cases) -> float:
    from unified_planning.engines import SequentialPlanValidator
    from unified_planning.io import PDDLReader
    from unified_planning.shortcuts import get_environment

    get_environment().credits_stream = None
    start = time.perf_counter()
    for domain, text, plan in cases:
        reader = PDDLReader()
        problem = reader.parse_problem_string(pddl.up_readable(domain), text)
        SequentialPlanValidator().validate(problem, reader.parse_plan_string(problem, "\n".join(plan)))
    return (time.perf_counter() - start) / len(cases)


def val_per_problem(cases) -> float | None:
    binary = shutil.which("Validate")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        root, start = Path(folder), time.perf_counter()
        for domain, text, plan in cases:
            (root / "d.pddl").write_text(domain), (root / "p.pddl").write_text(text)
            (root / "x.plan").write_text("\n".join(plan) + "\n")
            subprocess.run([binary, "d.pddl", "p.pddl", "x.plan"], cwd=root, capture_output=True)
        return (time.perf_counter() - start) / len(cases)


def per_problem(planbench: Path, rng) -> None:
    for name, config in (("Blocksworld", "blocksworld"), ("Logistics", "logistics"),
                         ("Mystery Logistics", "obfuscated_deceptive_logistics")):
        cases = problems(planbench, config, PROBLEMS, rng)
        ours, theirs, val = ours_per_problem(cases), up_per_problem(cases), val_per_problem(cases)
        print(f"{name}, one 10-step plan per problem, read and validated ({PROBLEMS} PlanBench "
              f"problems): planbench_scale {ours * 1000:.2f} ms/problem, unified-planning "
              f"{theirs * 1000:.1f} ms/problem -> ours is {theirs / ours:,.0f}x; VAL "
              + ("not on PATH, skipped" if val is None else
                 f"{val * 1000:.1f} ms/problem -> ours is {val / ours:,.1f}x"))


def many_plans(planbench: Path, rng) -> None:
    domain, text, _ = problems(planbench, "logistics", 1, rng)[0]
    task = pddl.read_task(domain, text)
    texts = [common.as_text(p) for p in common.sample_plans(task, 50_000, 1)]
    start = time.perf_counter()
    verdicts = list(validate_texts(task, texts))
    rate = len(texts) / (time.perf_counter() - start)
    valid = sum(v.valid for v in verdicts)
    print(f"Logistics, {len(texts):,} 20-step plans of one {len(task.objects)}-object problem "
          f"(random walks and mutations, actions over any objects included): validate_texts "
          f"{rate:,.0f} plans/s, {valid} valid; {len(task.actions):,} ground actions "
          f"instantiated, {len(task.reachable):,} reachable")


def grounding(planbench: Path) -> None:
    folder = planbench / "instances" / "logistics"
    domain = (folder / "generated_domain.pddl").read_text()
    texts = [p.read_text() for p in sorted(folder.glob("instance-*.pddl"))]
    pddl.read_task(domain, texts[0]).reachable  # the schema once, as in a run
    read, both, counts = [], [], []
    for text in texts:
        start = time.perf_counter()
        task = pddl.read_task(domain, text)
        read.append(time.perf_counter() - start)
        counts.append(len(task.reachable))
        both.append(time.perf_counter() - start)
    print(f"Logistics, PlanBench's {len(texts)} problems: read {statistics.mean(read) * 1000:.3f} ms "
          f"(median {statistics.median(read) * 1000:.3f}), read + ground every reachable action "
          f"{statistics.mean(both) * 1000:.2f} ms (median {statistics.median(both) * 1000:.2f}, "
          f"max {max(both) * 1000:.2f}); {statistics.mean(counts):,.0f} reachable actions on average")
    sizes = (5, 4, 17, 3)  # 3 airplanes + 2 x 5 cities + 20 locations + 17 packages = 50 objects
    names, init, goal = generate.random_problem(sizes, 0)
    instance = Instance("bench/50", "logistics", "logistics", names, init, goal, ())
    domain, text = instance_pddl(instance)
    start = time.perf_counter()
    task = pddl.read_task(domain, text)
    reachable = task.reachable
    seconds = time.perf_counter() - start
    print(f"Logistics, a generated {len(names)}-object problem ({sizes[0]} cities of {sizes[1]} "
          f"locations, {sizes[2]} packages, {sizes[3]} airplanes): read + ground "
          f"{seconds * 1000:.1f} ms, {len(reachable):,} reachable actions")


def many_problems(planbench: Path, rng) -> None:
    """The issue's measure: 1,000 plans over 200 Logistics problems (5 a problem)."""
    folder = planbench / "instances" / "logistics"
    domain = folder / "generated_domain.pddl"
    lines = []
    for path in rng.sample(sorted(folder.glob("instance-*.pddl")), 200):
        task = pddl.read_task(domain.read_text(), path.read_text())
        for k in range(5):
            plan = common._walk(task, rng, 12) if k else [common._any_action(task, rng)]
            lines.append(json.dumps({"plan": pddl.format_plan(plan), "domain": str(domain),
                                     "problem": str(path)}))
    rng.shuffle(lines)
    start = time.perf_counter()
    rows = [json.loads(row) for row in validate_jsonl(lines)]
    seconds = time.perf_counter() - start
    print(f"Logistics, {len(lines):,} plans over 200 problems through validate_jsonl (every "
          f"problem read): {seconds:.2f} s, {len(lines) / seconds:,.0f} plans/s, "
          f"{sum(r.get('valid') is True for r in rows)} valid")


def main(planbench: Path, seed: int) -> None:
    rng = random.Random(seed)
    per_problem(planbench, rng)
    many_plans(planbench, rng)
    grounding(planbench)
    many_problems(planbench, rng)
