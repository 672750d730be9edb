"""Benchmark: the report for a synthetic store of 600 instances x 10,000 samples (6 million rows).

The store is written once through the run store's own writer (RunWriter) and kept for later
runs; the report is then built in a fresh child process, whose wall time and peak resident
memory (ru_maxrss) are measured and printed next to the targets (60 s, 4 GiB).

    python scripts/bench_report.py [--store DIR] [--out /tmp/bench-report]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from planbench_scale.records import Instance, Sample
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings
from planbench_scale.store import RunWriter

DOMAINS = ("blocksworld", "mystery", "randomized")
TIME_TARGET_S = 60.0
MEMORY_TARGET_GIB = 4.0


def synthetic_instances(count: int) -> list[Instance]:
    """`count` instances spread over three domains and optimal lengths 2..31."""
    instances = []
    for i in range(count):
        length = 2 + (i // len(DOMAINS)) % 30
        blocks = tuple("abcdefghijklmnop"[:max(3, length // 2 + 2)])
        instances.append(Instance(
            id=f"{DOMAINS[i % 3]}-{i:04d}", domain=DOMAINS[i % 3], vocabulary=DOMAINS[i % 3],
            objects=blocks, init=(("clear", "a"),), goal=(("on", "a", "b"),),
            optimal_plan=(("stack", "a", "b"),) * length, seed=i))
    return instances


def instance_samples(inst: Instance, k: int, rng: np.random.Generator) -> list[Sample]:
    """k samples for one instance: success probability falling with plan length, a handful of
    recurring wrong plans (so majority vote has something to count) and varied token counts."""
    p = rng.beta(0.6, 3.0) / (1 + np.exp((inst.optimal_length - 8) / 3))
    valid = rng.random(k) < p
    wrong = rng.integers(0, 40, k)
    generated = rng.integers(30, 400, k)
    good = "\n".join("(stack a b)" for _ in range(inst.optimal_length))
    return [Sample(inst.id, inst.domain, inst.vocabulary, len(inst.objects), inst.optimal_length,
                   j, 0, "sample", "bench", "synthetic answer text " * 4, 350, int(generated[j]),
                   "stop", "plan", good if valid[j] else f"(unstack b a)\n(wrong {wrong[j]})",
                   inst.optimal_length if valid[j] else 2, bool(valid[j]),
                   "valid" if valid[j] else "inapplicable", -1 if valid[j] else 1, "", j)
            for j in range(k)]


def build_store(path: Path, instances: int, k: int) -> None:
    """Write the synthetic run with RunWriter (into a temporary folder renamed when complete)."""
    tmp = path.with_name(path.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    rng = np.random.default_rng(0)
    insts = synthetic_instances(instances)
    config = RunConfig(Settings(k=k), EngineConfig("vllm", "synthetic-1b", parameters=10**9),
                       InstanceSource("synthetic", None, instances))
    started = time.perf_counter()
    with RunWriter(tmp, config, insts) as writer:
        for i, inst in enumerate(insts):
            writer.append(instance_samples(inst, k, rng))
            if i % 50 == 49:
                print(f"  stored {(i + 1) * k:,} samples ({time.perf_counter() - started:.0f} s)",
                      flush=True)
    tmp.rename(path)


def report_child(store: Path, out: Path) -> None:
    """In the child process: build the report."""
    from planbench_scale.analysis.report import build_report

    result = build_report([store], out)
    print(f"  {result.html}: {len(result.tables)} tables, {len(result.figures)} figure files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None,
                        help="store folder (default /tmp/planbench-bench-store-INSTANCESxK)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/planbench-bench-report"))
    parser.add_argument("--instances", type=int, default=600)
    parser.add_argument("--k", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.store = args.store or Path(f"/tmp/planbench-bench-store-{args.instances}x{args.k}")
    if args.child:
        return report_child(args.store, args.out)
    if not args.store.exists():
        print(f"building the synthetic store ({args.instances} x {args.k:,}) in {args.store}")
        build_store(args.store, args.instances, args.k)
    else:
        print(f"reusing the synthetic store in {args.store}")
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", "--store", str(args.store),
                    "--out", str(args.out)], check=True)
    seconds = time.perf_counter() - started
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20
    rows = args.instances * args.k
    print(f"report for {args.instances} instances x {args.k:,} samples = {rows:,} samples")
    print(f"wall time   {seconds:6.1f} s    target {TIME_TARGET_S:.0f} s    "
          f"ratio {seconds / TIME_TARGET_S:.2f}")
    print(f"peak memory {peak_gib:6.2f} GiB  target {MEMORY_TARGET_GIB:.0f} GiB  "
          f"ratio {peak_gib / MEMORY_TARGET_GIB:.2f}")


if __name__ == "__main__":
    main()
