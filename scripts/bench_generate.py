"""Benchmark the instance side: certified optimal plans, stratified sets, PlanBench import.

Prints, measured in this run: optimal-plan times on uniformly random instances (targets: 20 blocks
median < 50 ms, 30 blocks median < 1 s, 50 blocks reported), the time to build stratified sets
(target: 110 instances of optimal length 20-40 in < 1 minute; sets reaching 60+ steps; 100 blocks
reported too), how much of
each step range was filled, Logistics sets (target: 100 instances over 4-20 steps in under a
minute; plans up to 30 steps), PlanBench solve and load times, and with --fast-downward the same
instances solved by Fast Downward's A*/LM-cut side by side.
    python scripts/bench_generate.py [--instances 31] [--fast-downward]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from planbench_scale.domains import DOMAINS, instance_pddl
from planbench_scale.domains.blocksworld import states as bw
from planbench_scale.domains.blocksworld.generate import random_problem
from planbench_scale.instances import generate_set, load_instances

SHARED = Path(os.environ.get("PLANBENCH_SHARED", Path(__file__).resolve().parents[2] / "shared" / "planbench"))


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def random_instances(count: int) -> None:
    print("== certified optimal plans, uniformly random instances (init and goal drawn by bwstates)")
    print(f"{'blocks':>6} {'goals':>7} {'n':>4} {'median ms':>10} {'p90 ms':>9} {'max ms':>9} {'mean length':>12}")
    for n, partial in [(10, False), (20, False), (30, False), (40, False), (50, False), (100, False),
                       (20, True), (50, True)]:
        times, lengths = [], []
        for seed in range(count if n <= 30 else max(count // (2 if n <= 50 else 4), 5)):
            names, init, goal = random_problem(n, seed, partial)
            elapsed, plan = timed(bw.optimal_plan, names, init, goal)
            times.append(elapsed * 1000)
            lengths.append(len(plan))
        times.sort()
        print(f"{n:>6} {'partial' if partial else 'full':>7} {len(times):>4} {statistics.median(times):>10.1f}"
              f" {times[int(0.9 * (len(times) - 1))]:>9.1f} {times[-1]:>9.1f} {statistics.mean(lengths):>12.1f}")


def stratified_sets() -> None:
    print("== stratified sets (blocksworld, seed 0)")
    for blocks, steps, per_step in [((3, 20), (20, 40), 10), ((3, 20), (2, 40), 20),
                                    ((3, 40), (60, 80), 10), ((3, 60), (100, 120), 5)]:
        messages: list[str] = []
        elapsed, instances = timed(generate_set, "blocksworld", blocks, steps, per_step, 0,
                                   progress=messages.append)
        even = len(range(max(steps[0], 2) + steps[0] % 2, steps[1] + 1, 2))
        filled = len({i.optimal_length for i in instances})
        sizes = [len(i.objects) for i in instances]
        print(f"blocks {blocks[0]}-{blocks[1]} steps {steps[0]}-{steps[1]} x{per_step}: {len(instances)} instances"
              f" in {elapsed:.1f} s; {filled}/{even} even step counts filled (odd ones cannot exist),"
              f" {filled}/{steps[1] - steps[0] + 1} of the range; blocks used {min(sizes)}-{max(sizes)};"
              f" {messages[-1]}")


def logistics_sets() -> None:
    print("== stratified Logistics sets (seed 0; our A*, else Fast Downward A*/LM-cut)")
    for sizes, steps, per_step in [((5, 30), (4, 20), 6), ((5, 40), (25, 30), 2)]:
        messages: list[str] = []
        elapsed, instances = timed(generate_set, "logistics", sizes, steps, per_step, 0,
                                   progress=messages.append)
        filled = len({i.optimal_length for i in instances})
        print(f"logistics objects {sizes[0]}-{sizes[1]} steps {steps[0]}-{steps[1]} x{per_step}: "
              f"{len(instances)} instances in {elapsed:.1f} s; {filled}/{steps[1] - steps[0] + 1} "
              f"step counts filled; {messages[-1]}")


def planbench() -> None:
    print("== PlanBench (Fast Downward A*/LM-cut lengths shipped in info.json)")
    for config in ("blocksworld", "blocksworld_hard"):
        folder = SHARED / "instances" / config
        with tempfile.TemporaryDirectory() as cache:
            os.environ["PLANBENCH_SCALE_CACHE"] = cache
            cold, instances = timed(load_instances, folder)
            warm, _ = timed(load_instances, folder)
        del os.environ["PLANBENCH_SCALE_CACHE"]
        shipped = json.loads((folder / "info.json").read_text())
        start, agree = time.perf_counter(), 0
        for instance in instances:
            plan = bw.optimal_plan(instance.objects, instance.init, instance.goal)
            agree += len(plan) == shipped[instance.id.split("/")[1] + ".pddl"]["length"]
        solve = time.perf_counter() - start
        print(f"{config}: {len(instances)} instances; load {cold:.1f} s (unified-planning), {warm * 1000:.0f} ms"
              f" cached; solve all {solve:.2f} s; lengths agree {agree}/{len(instances)}")


def fast_downward(count: int) -> None:
    from unified_planning.io import PDDLReader
    from unified_planning.model.metrics import MinimizeSequentialPlanLength
    from unified_planning.shortcuts import OneshotPlanner, get_environment

    from planbench_scale.domains.blocksworld import vocab
    from planbench_scale.records import Instance

    get_environment().credits_stream = None
    print("== side by side with Fast Downward A*/LM-cut (unified-planning fast-downward-opt, 60 s limit)")
    for n in (8, 10, 12):
        ours, theirs = [], []
        for seed in range(count):
            names, init, goal = random_problem(n, seed)
            elapsed, plan = timed(bw.optimal_plan, names, init, goal)
            ours.append(elapsed)
            instance = Instance("fd", "blocksworld", "blocksworld", names, init, goal, plan)
            problem = PDDLReader().parse_problem_string(DOMAINS["blocksworld"].domain_pddl(vocab.get("blocksworld")),
                                                        instance_pddl(instance)[1])
            problem.add_quality_metric(MinimizeSequentialPlanLength())
            with OneshotPlanner(name="fast-downward-opt") as planner:
                elapsed, result = timed(planner.solve, problem, timeout=60)
            theirs.append(elapsed if result.plan is not None else float("inf"))
            assert result.plan is None or len(result.plan.actions) == len(plan)
        print(f"{n} blocks, {count} instances: ours median {statistics.median(ours) * 1000:.1f} ms,"
              f" Fast Downward median {statistics.median(theirs):.2f} s"
              f" (solved {sum(t != float('inf') for t in theirs)}/{count}),"
              f" ratio {statistics.median(theirs) / statistics.median(ours):.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=31, help="random instances per block count")
    parser.add_argument("--fast-downward", action="store_true", help="also time Fast Downward (slow)")
    args = parser.parse_args()
    random_instances(args.instances)
    stratified_sets()
    logistics_sets()
    planbench()
    if args.fast_downward:
        fast_downward(3)


if __name__ == "__main__":
    main()
