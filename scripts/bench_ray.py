"""Benchmark the Ray engine against the in-process engine on the same prompts, settings and seeds.

Each engine in turn (in-process vLLM, Ray with 1 replica, Ray with 2 replicas, ...) loads the
model, then runs `strategies.run` over the same instances (extraction, validation and the store
included) `--repeats` times; the median pass is reported. Prints samples/s of each, the overhead
of the Ray path at one replica as a share of the in-process generation time (target < 5%), the
driver's extraction + validation + storage share, and the scaling ratio: samples/s with N
replicas over N x samples/s with one (target >= 0.9). Replicas of a local Ray split this
machine's cores (CPU) or take one GPU each, so scaling shows only where there are N GPUs or
N x the cores one engine can use.
    python scripts/bench_ray.py                          # the CPU default model, 1 and 2 replicas
    python scripts/bench_ray.py --model PATH --replicas 1 2 4 8 --instances 64 --k 64
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_sampling import our_pass


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the CPU model)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--instances", type=int, default=8, help="instances (prompts)")
    parser.add_argument("--k", type=int, default=8, help="samples per prompt")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2, help="passes per engine")
    return parser.parse_args()


def measure(config, instances, settings, repeats: int) -> dict:
    """Load the engine `config` names, run the passes, close it: seconds and rates."""
    from planbench_scale.backends import open_backend

    started = time.perf_counter()
    backend = open_backend(config)
    load = time.perf_counter() - started
    try:
        passes = [our_pass(backend, instances, settings) for _ in range(repeats)]
    finally:
        backend.close()
    seconds, progress = sorted(passes, key=lambda item: item[0])[len(passes) // 2]
    return {"load": load, "seconds": seconds, "samples": progress.samples,
            "driver": progress.checking_seconds + progress.storing_seconds,
            "rate": progress.samples / seconds,
            "spread": statistics.pstdev(s for s, _ in passes) if repeats > 1 else 0.0}


def main() -> None:
    args = parse_args()
    from planbench_scale.config import EngineConfig, Sampling, Settings
    from planbench_scale.instances import generate_set

    instances = generate_set("blocksworld", (3, 5), (2, 40), per_step=1, seed=0)[:args.instances]
    settings = Settings(k=args.k, seed=0, sampling=Sampling(temperature=0.7,
                                                            max_tokens=args.max_tokens))
    print(f"prompts x samples: {len(instances)} x {args.k}, max_tokens {args.max_tokens}, "
          f"median of {args.repeats} passes per engine")
    engines = {"in-process": EngineConfig("vllm", args.model)}
    engines.update((f"ray x{n}", EngineConfig("ray", args.model, replicas=n))
                   for n in args.replicas)
    figures = {}
    for name, config in engines.items():
        figures[name] = found = measure(config, instances, settings, args.repeats)
        print(f"{name}: load {found['load']:.1f} s, pass {found['seconds']:.1f} s "
              f"(spread {found['spread']:.1f} s), {found['samples']} samples, "
              f"{found['rate']:.2f} samples/s; driver extraction+validation+storage "
              f"{100 * found['driver'] / found['seconds']:.2f}% of the pass", flush=True)
    report(figures, args.replicas)


def report(figures: dict, replicas: list[int]) -> None:
    """The overhead of the Ray path and the scaling ratios."""
    local = figures["in-process"]
    if "ray x1" in figures:
        extra = figures["ray x1"]["seconds"] - local["seconds"]
        print(f"Ray path overhead at one replica: {extra:+.2f} s = "
              f"{100 * extra / local['seconds']:+.1f}% of in-process generation time "
              "(target < 5%)")
        for n in replicas:
            if n > 1:
                ratio = figures[f"ray x{n}"]["rate"] / (n * figures["ray x1"]["rate"])
                print(f"scaling ratio at {n} replicas: {ratio:.2f} of {n} x one replica's "
                      "samples/s (target >= 0.9; replicas that share cores cannot reach it)")


if __name__ == "__main__":
    main()
