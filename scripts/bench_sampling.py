"""Benchmark the sampling engine against bare vLLM on the same prompts, settings and seeds.

One vLLM engine serves both sides, alternately: bare `LLM.generate` (nothing else), then our
`strategies.run` (the same requests, plus extraction, validation and the crash-safe store).
Prints the time to get the model ready and load it, tokens/s for one stream and batched, and our
overhead: the time spent extracting, validating and storing as a % of generation time (target
< 5%), and the end-to-end wall-time ratio ours / bare.
    python scripts/bench_sampling.py                   # the CPU default model
    python scripts/bench_sampling.py --model PATH --instances 64 --k 64 --max-tokens 256
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the CPU model)")
    parser.add_argument("--instances", type=int, default=6, help="instances (prompts)")
    parser.add_argument("--k", type=int, default=8, help="samples per prompt")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2, help="alternating passes per side")
    return parser.parse_args()


def bare_pass(llm, prompts, seeds, k, sampling) -> tuple[float, int]:
    """Seconds and generated tokens of plain LLM.generate on the prompts."""
    from vllm import SamplingParams
    params = [SamplingParams(n=k, temperature=sampling.temperature, top_p=sampling.top_p,
                             max_tokens=sampling.max_tokens, seed=seed) for seed in seeds]
    started = time.perf_counter()
    outputs = llm.generate([p.text for p in prompts], params, use_tqdm=False)
    seconds = time.perf_counter() - started
    return seconds, sum(len(o.token_ids) for output in outputs for o in output.outputs)


def our_pass(backend, instances, settings):
    """Seconds and the Progress of strategies.run into a fresh store."""
    from planbench_scale.config import EngineConfig, InstanceSource, RunConfig
    from planbench_scale.store import RunWriter
    from planbench_scale.strategies.loop import run
    config = RunConfig(settings, EngineConfig("vllm", backend.model), InstanceSource("generated"))
    with tempfile.TemporaryDirectory() as folder:
        with RunWriter(folder, config, instances) as writer:
            started = time.perf_counter()
            progress = run(backend, instances, writer, settings)
            return time.perf_counter() - started, progress


def main() -> None:
    args = parse_args()
    from planbench_scale.backends import Request, Sampling, derive_seed, open_backend
    from planbench_scale.backends.cpu_model import default_model
    from planbench_scale.instances import generate_set
    from planbench_scale.text.prompts import render
    from planbench_scale.config import EngineConfig, Settings

    started = time.perf_counter()
    if args.model is None:
        default_model()
        print(f"CPU default model folder ready in {time.perf_counter() - started:.1f} s "
              "(conversion included only on the first run)")
    started = time.perf_counter()
    backend = open_backend(EngineConfig("vllm", args.model))
    print(f"engine load: {time.perf_counter() - started:.1f} s")

    instances = generate_set("blocksworld", (3, 5), (2, 40), per_step=1, seed=0)[:args.instances]
    sampling = Sampling(temperature=0.7, max_tokens=args.max_tokens)
    settings = Settings(k=args.k, seed=0, sampling=sampling)
    prompts = [render(instance) for instance in instances]
    seeds = [derive_seed(settings.seed, instance.id, 0) for instance in instances]

    single_started = time.perf_counter()
    [single] = backend.generate([Request(prompts[0], 1, 0)], sampling)
    single_seconds = time.perf_counter() - single_started
    print(f"one stream: {single.completions[0].completion_tokens / single_seconds:.1f} tokens/s "
          f"({single.completions[0].completion_tokens} tokens in {single_seconds:.1f} s)")

    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_pass(backend.llm, prompts, seeds, args.k, sampling))
        ours.append(our_pass(backend, instances, settings))
    report(args, bare, ours)
    backend.close()


def report(args, bare, ours) -> None:
    """Print the side-by-side figures."""
    bare_seconds = statistics.median(seconds for seconds, _ in bare)
    our_seconds = statistics.median(seconds for seconds, _ in ours)
    tokens = bare[-1][1]
    progress = ours[-1][1]
    overhead = progress.checking_seconds + progress.storing_seconds
    print(f"prompts x samples: {args.instances} x {args.k}, max_tokens {args.max_tokens}, "
          f"{args.repeats} alternating passes per side (medians below)")
    print(f"bare LLM.generate: {bare_seconds:.1f} s, {tokens} tokens, "
          f"{tokens / bare_seconds:.1f} tokens/s")
    print(f"planbench_scale run: {our_seconds:.1f} s, {progress.tokens} tokens, "
          f"{progress.tokens / our_seconds:.1f} tokens/s, {progress.samples} samples stored, "
          f"{progress.valid} valid")
    print(f"our overhead: extraction+validation {progress.checking_seconds * 1000:.0f} ms, "
          f"storage {progress.storing_seconds * 1000:.0f} ms = "
          f"{100 * overhead / our_seconds:.2f}% of generation time (target < 5%)")
    print(f"wall-time ratio ours / bare: {our_seconds / bare_seconds:.3f} "
          f"(token counts {'equal' if tokens == progress.tokens else 'differ'})")


if __name__ == "__main__":
    main()
