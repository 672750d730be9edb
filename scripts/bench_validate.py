"""Benchmark: validating plans from text to Verdict, side by side in one run.

Many plans of one problem: plans/s of planbench_scale's batch validator (`validate_texts`) on
20-step plans, of unified-planning's SequentialPlanValidator (reading each plan with its
PDDLReader), of VAL's `Validate` with many plans in one call (only when a `Validate` binary is
on PATH), the ratios, and the peak memory of streaming 100k and 1M JSONL plans through
`validate-batch`'s code path (a fresh process each).

One to five plans over every PlanBench problem: problems/s of reading + grounding a 5-block
PlanBench problem, ours beside unified-planning's reader + grounder; then the PlanBench mix
(every problem with a domain, its shipped optimal plan and mutations of it, random order) as a
JSONL file through `validate_jsonl` in a fresh process and once through the real
`validate-batch` command, plans/s including reading every problem.

Logistics (PlanBench's untyped domain, unary type predicates, 3-4 parameter actions) beside
Blocksworld: one plan per problem, read and validated from text, ours beside unified-planning's
reader + validator (and VAL's `Validate` where it is on PATH), the ratio per problem; many plans
of one Logistics problem; reading + grounding every reachable action of PlanBench's Logistics
problems and of a generated 50-object one; 1,000 plans over 200 Logistics problems through
`validate_jsonl`.

Usage: python scripts/bench_validate.py [--plans 200000] [--up-plans 300] [--stream 100000,1000000]
       [--planbench ../shared/planbench] [--read 2000] [--up-read 30] [--seed 0]
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
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from planbench_scale.domains import DOMAINS, instance_pddl
from planbench_scale.symbolic import pddl
from planbench_scale.domains.blocksworld import vocab
from planbench_scale.symbolic.batch import lines_of, validate_jsonl
from planbench_scale.records import Instance
from planbench_scale.domains import task_for
from planbench_scale.symbolic.validate import validate, validate_texts

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_validate_logistics as logistics  # noqa: E402

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
            plan[rng.randrange(STEPS)] = _any_action(task, rng)
        plans.append(plan)
    return plans


def _any_action(task, rng) -> str:
    """A reachable ground action, or (one time in four) an action over any objects at all."""
    if rng.random() < 0.75:
        return task.actions[rng.choice(task.reachable)]
    action = rng.choice(task.schema.actions)
    return action.head.format(*rng.choices(sorted(task.objects), k=len(action.params)))


def _walk(task, rng, steps: int = STEPS) -> list[str]:
    state, plan = task.init, []
    while len(plan) < steps:
        i = rng.choice(task.applicable(state))
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
    queue.put((lines / seconds, peak_mib()))


# ---- one to five plans over every PlanBench problem -----------------------------------------

ROOT = Path(__file__).resolve().parents[1]
PLANBENCH = Path(os.environ.get("PLANBENCH_SHARED", ROOT.parent / "shared" / "planbench"))


def five_block_problem(planbench: Path) -> tuple[str, str]:
    """(domain, problem) text of the first PlanBench Blocksworld problem with 5 blocks."""
    folder = planbench / "instances" / "blocksworld"
    domain = (folder / "generated_domain.pddl").read_text()
    for path in sorted(folder.glob("instance-*.pddl")):
        if len(pddl.read_task(domain, path.read_text()).objects) == 5:
            return domain, path.read_text()
    raise SystemExit(f"no 5-block problem in {folder}")


def bench_reading(domain: str, problem: str, count: int, ground: bool = False) -> float:
    """Problems/s read (a task grounds nothing until asked), or read and fully grounded."""
    pddl.read_task(domain, problem)  # the domain's schema is read once per text, as in a run
    start = time.perf_counter()
    for _ in range(count):
        task = pddl.read_task(domain, problem, "domain.pddl", "problem.pddl")
        if ground:
            task.reachable
    return count / (time.perf_counter() - start)


def bench_up_reading(domain: str, problem: str, count: int) -> float:
    from unified_planning.io import PDDLReader
    from unified_planning.shortcuts import CompilationKind, Compiler, get_environment

    get_environment().credits_stream = None
    start = time.perf_counter()
    for _ in range(count):
        up = PDDLReader().parse_problem_string(domain, problem)
        with Compiler(problem_kind=up.kind, compilation_kind=CompilationKind.GROUNDING) as grounder:
            grounder.compile(up, CompilationKind.GROUNDING)
    return count / (time.perf_counter() - start)


def _shipped_plans(folder: Path) -> dict[str, str]:
    """Problem file name (without _DERIVED) -> its shipped optimal plan text."""
    if (folder / "info.json").exists():
        return {k: v["plan"] for k, v in json.loads((folder / "info.json").read_text()).items()}
    derived = folder / "ground_truth_plans_DERIVED.json"
    return json.loads(derived.read_text())["plans"] if derived.exists() else {}


def _mutant(plan: list[str], task, rng) -> list[str]:
    """The plan with two steps swapped, cut short, or one action replaced by a random one."""
    plan, kind = list(plan), rng.randrange(3)
    if kind == 0 and len(plan) > 1:
        i = rng.randrange(len(plan) - 1)
        plan[i], plan[i + 1] = plan[i + 1], plan[i]
    elif kind == 1:
        plan = plan[:rng.randrange(len(plan))]
    else:
        plan[rng.randrange(len(plan))] = _any_action(task, rng)
    return plan


def planbench_mix(planbench: Path, seed: int, of_logistics: bool) -> list[str]:
    """JSONL lines: one to five plans for every PlanBench problem with a domain, of the
    Logistics sets or of the others, in random order: its shipped optimal plan and mutations of
    it (random actions where no plan is shipped)."""
    rng, lines = random.Random(seed), []
    for folder in sorted(p for p in (planbench / "instances").iterdir() if p.is_dir()
                         and ("logistics" in p.name) == of_logistics):
        domain = next(iter(sorted(folder.glob("generated_domain*.pddl"))), None)
        if domain is None:
            continue
        shipped, text = _shipped_plans(folder), domain.read_text()
        for problem in sorted(folder.glob("instance-*.pddl")):
            task = pddl.read_task(text, problem.read_text())
            known = shipped.get(problem.name.replace("_DERIVED", ""))
            plan = pddl.parse_plan(known) if known else \
                [_any_action(task, rng) for _ in range(rng.randint(1, 8))]
            for k in range(rng.randint(1, 5)):
                lines.append(json.dumps({
                    "id": f"{folder.name}/{problem.name}/{k}", "domain": str(domain),
                    "problem": str(problem),
                    "plan": pddl.format_plan(plan if k == 0 else _mutant(plan, task, rng))}))
    rng.shuffle(lines)
    return lines


def mix_rate(path: str, queue) -> None:
    """Validate a JSONL file with a cold task memory; report plans/s, counts and peak RSS (MiB)."""
    start, counts = time.perf_counter(), Counter()
    with open(path, encoding="utf-8") as source:
        for _ in validate_jsonl(lines_of(source), counts=counts):
            pass
    seconds = time.perf_counter() - start
    queue.put((sum(counts.values()) / seconds, dict(counts), peak_mib()))


def bench_mix(name: str, lines: list[str]) -> None:
    problems = len({json.loads(line)["problem"] for line in lines})
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "mix.jsonl")
        Path(path).write_text("\n".join(lines) + "\n")
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=mix_rate, args=(path, queue))
        child.start()
        rate, counts, peak = queue.get()
        child.join()
        print(f"{name}, {len(lines):,} plans over {problems:,} problems in random order: "
              f"validate_jsonl {rate:,.0f} plans/s with every problem read (fresh process), "
              f"{counts}, peak RSS {peak:,.0f} MiB")
        start = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "planbench_scale.cli", "validate-batch", path,
                              "--out", os.devnull], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        print(f"  the real command `validate-batch` (exit {cli.returncode}): {seconds:.1f} s, "
              f"{len(lines) / seconds:,.0f} plans/s with Python start-up; "
              f"it says: {cli.stderr.strip().splitlines()[-1] if cli.stderr.strip() else '-'}")


def peak_mib() -> float:
    """This process's peak resident memory in MiB. Linux's VmHWM, which starts afresh at exec,
    where ru_maxrss would carry over the spawning parent's peak."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=200_000)
    parser.add_argument("--up-plans", type=int, default=300)
    parser.add_argument("--val-plans", type=int, default=2_000)
    parser.add_argument("--stream", default="100000,1000000")
    parser.add_argument("--planbench", type=Path, default=PLANBENCH)
    parser.add_argument("--read", type=int, default=2_000, help="5-block problems read by us")
    parser.add_argument("--up-read", type=int, default=30, help="... by unified-planning")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    task = task_for(INSTANCE)
    domain, problem = DOMAINS["blocksworld"].domain_pddl(vocab.get("blocksworld")), instance_pddl(INSTANCE)[1]
    texts = [as_text(p) for p in sample_plans(task, args.plans)]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows all figures alike)")
    print(f"{len(texts):,} plans of {STEPS} steps, {len(set(texts)):,} distinct texts, "
          f"{len(INSTANCE.objects)} blocks, {len(task.actions)} ground actions")

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

    print(f"load average {os.getloadavg()[0]:.1f}")
    domain, problem = five_block_problem(args.planbench)
    ours = bench_reading(domain, problem, args.read)
    theirs = bench_up_reading(domain, problem, args.up_read)
    grounded = bench_reading(domain, problem, args.read, ground=True)
    print(f"reading a 5-block PlanBench problem: planbench_scale {ours:,.0f} problems/s (grounds "
          f"nothing yet), {grounded:,.0f} problems/s reading + grounding every reachable action; "
          f"unified-planning (PDDLReader + grounder) {theirs:,.1f} problems/s -> ours is "
          f"{grounded / theirs:,.0f}x (read + ground)")
    bench_mix("PlanBench mix (Blocksworld sets)", planbench_mix(args.planbench, args.seed, False))
    logistics.main(args.planbench, args.seed)
    bench_mix("PlanBench mix (Logistics sets)", planbench_mix(args.planbench, args.seed, True))


if __name__ == "__main__":
    main()
