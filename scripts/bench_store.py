"""Benchmark the run store at report scale: write N samples with RunWriter, read them back.

Prints write rate, the time and peak memory of `read_samples` with all columns and without the
answer text (what the report needs), measured in a fresh process each.
    python scripts/bench_store.py --samples 6000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from planbench_scale.records import Sample
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings
from planbench_scale.store import SAMPLE_FIELDS, RunWriter
from planbench_scale.config import environment

TEXT = "1. unstack the red block from on top of the blue block\n2. put down the red block\n" * 3


def synthetic(index: int) -> Sample:
    """A plausible row: 600 instances, answers of about 250 characters."""
    instance = index % 600
    return Sample(instance_id=f"blocksworld-b{instance % 20:02d}-{instance:04d}",
                  domain="blocksworld", vocabulary="blocksworld", n_objects=3 + instance % 18,
                  optimal_length=2 + instance % 39, sample_index=index // 600, round=0,
                  strategy="sample", prompt_hash=f"{instance:016x}", text=TEXT + str(index),
                  prompt_tokens=400, completion_tokens=60, finish_reason="stop", outcome="plan",
                  plan="(unstack red blue)\n(put-down red)", n_actions=2, valid=index % 7 == 0,
                  reason="valid" if index % 7 == 0 else "inapplicable", failed_step=-1,
                  unmet="(clear blue)", seed=index // 6000)


def write(run_dir: str, count: int) -> float:
    """Write `count` samples in batches of 1,000; returns seconds."""
    start = time.perf_counter()
    config = RunConfig(Settings(), EngineConfig("vllm", "bench"), InstanceSource("synthetic"),
                       environment())
    with RunWriter(run_dir, config, []) as writer:
        for first in range(0, count, 1000):
            writer.append(synthetic(i) for i in range(first, min(first + 1000, count)))
    return time.perf_counter() - start


READ = ("import json, resource, sys, time\nfrom planbench_scale.store import read_samples\n"
        "start = time.perf_counter()\nframe = read_samples(sys.argv[1], json.loads(sys.argv[2]))\n"
        "print(json.dumps([len(frame), time.perf_counter() - start,"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20]))")


def read(run_dir: str, columns: list[str]) -> tuple[int, float, float]:
    """Rows, seconds and peak GiB of read_samples in a fresh process."""
    out = subprocess.run([sys.executable, "-c", READ, run_dir, json.dumps(columns)],
                         capture_output=True, text=True, check=True).stdout
    return tuple(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=6_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir:
        seconds = write(run_dir, args.samples)
        print(f"write: {args.samples:,} samples in {seconds:.1f} s "
              f"({args.samples / seconds:,.0f} samples/s)")
        no_text = [name for name in SAMPLE_FIELDS if name != "text"]
        for label, columns in (("all columns", list(SAMPLE_FIELDS)), ("without text", no_text)):
            rows, seconds, gib = read(run_dir, columns)
            print(f"read_samples {label}: {rows:,} rows in {seconds:.1f} s, peak {gib:.2f} GiB")


if __name__ == "__main__":
    main()
