"""Benchmark: validating 20-step plans from text to Verdict, side by side in one run.

Prints plans/s of planbench_scale's batch validator (`validate_texts`), of unified-planning's
SequentialPlanValidator (reading each plan with its PDDLReader), of VAL's `Validate` with many
plans in one call (only when a `Validate` binary is on PATH), the ratios, and the peak memory
of streaming 100k and 1M JSONL plans through `validate-batch`'s code path (a fresh process each).

Usage: python scripts/bench_validate.py [--plans 200000] [--up-plans 300] [--stream 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from planbench_scale.domains import DOMAINS, instance_pddl
from planbench_scale.symbolic import pddl
from planbench_scale.domains.blocksworld import vocab
from planbench_scale.symbolic.batch import validate_jsonl
from planbench_scale.records import Instance
from planbench_scale.domains import task_for
from planbench_scale.symbolic.validate import validate, validate_texts

STEPS = 20
INSTANCE = Instance(  # 8 blocks in two towers; the plans are random walks, so any goal serves
    "bench/20", "blocksworld", "blocksworld", vocab.block_names(8),
    (("clear", "a"), ("clear", "e"), ("handempty",), ("on", "a", "b"), ("on", "b", "c"),
     ("on", "c", "d"), ("on", "e", "f"), ("on", "f", "g"), ("on", "g", "h"), ("ontable", "d"),
     ("ontable", "h")),
    (("on", "b", "g"), ("on", "c", "a"), ("on", "d", "h"), ("on", "e", "b"), ("on", "g", "f"),
     ("on", "h", "c")), ())


def sample_plans(task, count: int, seed: int = 0) -> list[list[str]]:
    """20-step plans: random applicable walks (valid to the end, goal mostly missed), and walks
    with one action swapped or replaced, so failures happen at every step."""
    rng, plans = random.Random(seed), []
    for _ in range(count):
        plan = _walk(task, rng)
        kind = rng.randrange(3)
        if kind == 1:
            i = rng.randrange(STEPS - 1)
            plan[i], plan[i + 1] = plan[i + 1], plan[i]
        elif kind == 2:
            plan[rng.randrange(STEPS)] = rng.choice(task.actions)
        plans.append(plan)
    return plans


def _walk(task, rng) -> list[str]:
    state, plan = task.init, []
    while len(plan) < STEPS:
        options = [i for i, pre in enumerate(task.pre) if pre & state == pre]
        i = rng.choice(options)
        state = (state & ~task.delete[i]) | task.add[i]
        plan.append(task.actions[i])
    return plan


def as_text(plan: list[str]) -> str:
    return "".join(f"{n}: {a}\n" for n, a in enumerate(plan, start=1)) + f"; cost = {len(plan)}\n"


def bench_ours(task, texts: list[str]) -> float:
    list(validate_texts(task, texts[:1000]))  # warm the line memory as a long run would
    start = time.perf_counter()
    verdicts = list(validate_texts(task, texts))
    seconds = time.perf_counter() - start
    print(f"  verdicts: {dict(Counter(v.reason.value for v in verdicts))}")
    return len(texts) / seconds


def bench_unified_planning(task, domain: str, problem: str, texts: list[str]) -> float:
    from unified_planning.engines import SequentialPlanValidator
    from unified_planning.io import PDDLReader
    import unified_planning.shortcuts as up

    up.get_environment().credits_stream = None
    reader = PDDLReader()
    up_problem = reader.parse_problem_string(domain, problem)
    validator = SequentialPlanValidator()
    start, agree = time.perf_counter(), 0
    for text in texts:  # its plan reader takes neither step numbers nor comment lines
        plan = reader.parse_plan_string(up_problem, pddl.format_plan(pddl.parse_plan(text)))
        agree += (validator.validate(up_problem, plan).status.name == "VALID") == \
            validate(task, pddl.parse_plan(text)).valid
    seconds = time.perf_counter() - start
    print(f"  unified-planning agrees with us on {agree}/{len(texts)} plans")
    return len(texts) / seconds


def bench_val(domain: str, problem: str, texts: list[str]) -> float | None:
    binary = shutil.which("Validate")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "d.pddl").write_text(domain), (root / "p.pddl").write_text(problem)
        names = []
        for i, text in enumerate(texts):
            (root / f"{i}.plan").write_text(text.replace("; cost", ";cost"))
            names.append(f"{i}.plan")
        start = time.perf_counter()
        subprocess.run([binary, "d.pddl", "p.pddl", *names], cwd=root, capture_output=True)
        return len(texts) / (time.perf_counter() - start)


def stream_peak_rss(lines: int, paths: tuple[str, str], texts: list[str], queue) -> None:
    """Validate `lines` JSONL plans, cycling over a pool of lines made before the clock starts;
    report lines/s and peak RSS (MiB) of this process."""
    pool = [json.dumps({"id": i, "plan": text}) for i, text in enumerate(texts)]
    source = (pool[i % len(pool)] for i in range(lines))
    start, counts = time.perf_counter(), Counter()
    for _ in validate_jsonl(source, *paths, counts=counts):
        pass
    seconds = time.perf_counter() - start
    queue.put((lines / seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=200_000)
    parser.add_argument("--up-plans", type=int, default=300)
    parser.add_argument("--val-plans", type=int, default=2_000)
    parser.add_argument("--stream", default="100000,1000000")
    args = parser.parse_args()

    task = task_for(INSTANCE)
    domain, problem = DOMAINS["blocksworld"].domain_pddl(vocab.get("blocksworld")), instance_pddl(INSTANCE)[1]
    texts = [as_text(p) for p in sample_plans(task, args.plans)]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows all figures alike)")
    print(f"{len(texts):,} plans of {STEPS} steps, {len(set(texts)):,} distinct texts, "
          f"{len(INSTANCE.blocks)} blocks, {len(task.actions)} ground actions")

    ours = bench_ours(task, texts)
    print(f"planbench_scale validate_texts: {ours:,.0f} plans/s (one process)")
    theirs = bench_unified_planning(task, domain, problem, texts[:args.up_plans])
    print(f"unified-planning SequentialPlanValidator: {theirs:,.1f} plans/s -> ours is "
          f"{ours / theirs:,.0f}x")
    val = bench_val(domain, problem, texts[:args.val_plans])
    print("VAL Validate (many plans, one call): " + (
        "not on PATH, skipped" if val is None else f"{val:,.0f} plans/s -> ours is {ours / val:,.1f}x"))

    with tempfile.TemporaryDirectory() as folder:
        paths = (str(Path(folder) / "d.pddl"), str(Path(folder) / "p.pddl"))
        Path(paths[0]).write_text(domain), Path(paths[1]).write_text(problem)
        context = multiprocessing.get_context("spawn")
        for lines in map(int, args.stream.split(",")):
            queue = context.Queue()
            child = context.Process(target=stream_peak_rss, args=(lines, paths, texts[:100_000], queue))
            child.start()
            rate, peak = queue.get()
            child.join()
            print(f"stream of {lines:,} JSONL plans: {rate:,.0f} lines/s, peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
