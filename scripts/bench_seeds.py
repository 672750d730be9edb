"""What per-request seeds cost: bare vLLM `LLM.generate` on the same prompts with and without seeds.

Every request of a run has a seed (reproducible samples); vLLM then draws each seeded sequence's
noise one row at a time with its own generator, and on CUDA it leaves FlashInfer's sampling
kernels for the PyTorch path. Both sides run on one engine, alternately (`--repeats` passes
each, after one warm-up pass); prints tokens/s of each (medians) and the ratio seeded / unseeded.
    python scripts/bench_seeds.py                      # the CPU default model
    python scripts/bench_seeds.py --model Qwen/Qwen2.5-0.5B-Instruct --instances 32 --k 32
"""

from __future__ import annotations

import argparse
import statistics
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder or hub name "
                        "(default: the CPU model)")
    parser.add_argument("--instances", type=int, default=4, help="instances (prompts)")
    parser.add_argument("--k", type=int, default=8, help="samples per prompt")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--top-p", type=float, default=0.95, help="top-p (FlashInfer's case)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating passes per side")
    parser.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE")
    return parser.parse_args()


def one_pass(llm, texts, args, seeds) -> float:
    """Tokens/s of one LLM.generate over `texts` (seeds: one per prompt, or None each)."""
    from vllm import SamplingParams

    params = [SamplingParams(n=args.k, temperature=0.7, top_p=args.top_p,
                             max_tokens=args.max_tokens, seed=seed) for seed in seeds]
    started = time.perf_counter()
    outputs = llm.generate(texts, params, use_tqdm=False)
    tokens = sum(len(o.token_ids) for output in outputs for o in output.outputs)
    return tokens / (time.perf_counter() - started)


def main() -> None:
    args = parse_args()
    from planbench_scale.backends import engine_options, open_backend
    from planbench_scale.config import EngineConfig
    from planbench_scale.instances import generate_set
    from planbench_scale.text.prompts import render

    config = EngineConfig("vllm", args.model, engine_args=engine_options.parse(args.engine_arg))
    backend = open_backend(config)
    instances = generate_set("blocksworld", (3, 5), (2, 40), per_step=1, seed=0)
    texts = [render(instance).text for instance in instances[:args.instances]]
    rates = {"seeded": [], "unseeded": []}
    one_pass(backend.llm, texts, args, [None] * len(texts))  # warm-up, not counted
    for _ in range(args.repeats):
        rates["seeded"].append(one_pass(backend.llm, texts, args, range(len(texts))))
        rates["unseeded"].append(one_pass(backend.llm, texts, args, [None] * len(texts)))
    backend.close()
    seeded, unseeded = (statistics.median(rates[side]) for side in ("seeded", "unseeded"))
    print(f"prompts x samples: {len(texts)} x {args.k}, max_tokens {args.max_tokens}, top_p "
          f"{args.top_p}, {args.repeats} alternating passes per side (medians)")
    print(f"seeds: seeded {seeded:.1f} tokens/s, unseeded {unseeded:.1f} tokens/s, "
          f"ratio seeded / unseeded {seeded / unseeded:.3f}")


if __name__ == "__main__":
    main()
