"""Benchmark: the step-search engine without a model, and the model's scoring calls.

Engine: nodes/s of beam over legal steps (every candidate extracted from text, validated, scored
and stored) for each symbolic step score, and of random-legal walks, on a generated Mystery set;
the model is never asked, so this is the search's own overhead next to generation.
Scoring (with --model): seconds per scored continuation and per sampled step of the CPU default
model (vLLM) on the same prompts, the cost that makes the logprob score expensive on a CPU.

Usage: python scripts/bench_search.py [--instances 12] [--blocks 6] [--depth 16] [--model]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from planbench_scale.instances import generate_set
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Sampling, Settings
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.strategies.loop import run


class NoModel:
    """A backend for searches that never ask a model."""

    model = "none"

    def generate(self, requests, sampling):
        if list(requests):
            raise RuntimeError("the symbolic search asked the model")
        return iter(())

    def require_logprobs(self):
        raise RuntimeError("the symbolic search asked for log-probabilities")


def engine(instances, settings: Settings) -> tuple[int, float, int]:
    """(rows stored, seconds, instances solved) of one run without a model."""
    with tempfile.TemporaryDirectory() as folder:
        config = RunConfig(settings, EngineConfig("vllm", "none"), InstanceSource("set"))
        started = time.perf_counter()
        with RunWriter(folder, config, instances) as writer:
            progress = run(NoModel(), instances, writer, settings)
        seconds = time.perf_counter() - started
        return len(read_samples(folder, ["valid"])), seconds, progress.solved


def scoring(instances, depth: int) -> None:
    """Seconds per scored continuation and per sampled step of the CPU default model."""
    from planbench_scale.backends import Request, ScoreRequest, open_backend
    from planbench_scale.text.prompts import render

    backend = open_backend(EngineConfig("vllm", None))
    prompts = [render(i, shots=0) for i in instances[:4]]
    started = time.perf_counter()
    list(backend.score([ScoreRequest(p, ("pick up the red block\n",) * 2) for p in prompts]))
    scored = (time.perf_counter() - started) / (2 * len(prompts))
    started = time.perf_counter()
    list(backend.generate([Request(p, 2, 0) for p in prompts],
                          Sampling(max_tokens=16, stop=("\n",))))
    sampled = (time.perf_counter() - started) / (2 * len(prompts))
    print(f"scoring: {scored:.2f} s per scored continuation, {sampled:.2f} s per sampled step "
          f"({prompts[0].text.count(' ')} words a prompt)")
    backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=12)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--model", action="store_true", help="also time the CPU model's scoring")
    args = parser.parse_args()
    instances = generate_set("mystery", (args.blocks, args.blocks), (6, 12),
                             per_step=max(1, args.instances // 4), seed=0)[:args.instances]
    print(f"{len(instances)} Mystery instances of {args.blocks} blocks, 6-12 steps")
    for label, settings in [
            (f"beam k=4 legal {score}", Settings(strategy="beam", k=4, propose="legal",
                                                 score=score, depth=args.depth))
            for score in ("valid-prefix", "goal-count", "distance")] + [
            ("random-legal k=64", Settings(strategy="random-legal", k=64, depth=args.depth))]:
        rows, seconds, solved = engine(instances, settings)
        print(f"{label:32s} {rows:7d} rows {seconds:7.2f} s {rows / seconds:9.0f} rows/s "
              f"solved {solved}/{len(instances)}")
    if args.model:
        scoring(instances, args.depth)


if __name__ == "__main__":
    main()
