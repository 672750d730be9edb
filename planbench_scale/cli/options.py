"""Option groups and small helpers shared by the command modules."""

from __future__ import annotations

import re

import click

from planbench_scale.errors import PlanbenchError
from planbench_scale.score import SELF_VERIFY, STEP_SCORES
from planbench_scale.strategies.revise import CRITICS
from planbench_scale.strategies.search import PROPOSALS
from planbench_scale.strategies.self_verification import MODES


def span(text: str) -> tuple[int, int]:
    """"3-20" -> (3, 20); "5" -> (5, 5)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise PlanbenchError(f"not a range: {text!r} (write it like 3-20, or 5)")
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if low > high:
        raise PlanbenchError(f"empty range: {text!r}")
    return low, high


def say(message: str) -> None:
    """Progress and warnings, to stderr."""
    click.echo(message, err=True)


def sampling(function):
    """The sampling options of `run`."""
    for option in reversed([
            click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(0)),
            click.option("--top-p", default=1.0, show_default=True, type=click.FloatRange(0, 1)),
            click.option("--max-tokens", default=512, show_default=True, type=click.IntRange(1),
                         help="Most tokens per answer; longer answers are cut (finish_reason length)."),
            click.option("--stop", multiple=True, help='A string that ends an answer, e.g. '
                         '"[PLAN END]" for base models (repeatable).')]):
        function = option(function)
    return function


def search(function):
    """The step search options of `run`."""
    for option in reversed([
            click.option("--beam-width", default=4, show_default=True, type=click.IntRange(1),
                         help="Step searches, M: beam keeps M partial plans and samples k/M "
                         "steps for each; dvts grows k/M subtrees, sampling M steps for each."),
            click.option("--depth", default=0, show_default=True, type=click.IntRange(0),
                         help="Step searches and random-legal: most steps of a plan (0: twice "
                         "each instance's optimal length)."),
            click.option("--retries", default=2, show_default=True, type=click.IntRange(0),
                         help="Step searches with sampled steps: times a node none of whose "
                         "steps applies is asked again (new seeds)."),
            click.option("--propose", type=click.Choice(PROPOSALS), default="sample",
                         show_default=True, help="Step searches: sample each candidate step "
                         "from the model, or take every applicable action."),
            click.option("--score", type=click.Choice([*STEP_SCORES, SELF_VERIFY]),
                         default="valid-prefix", show_default=True,
                         help="Step score: valid-prefix (verifier only), goal-count, distance "
                         "(optimal steps left: an oracle), logprob (the model's own; needs "
                         "prompt log-probabilities); best-of-n also self-verify (the model "
                         "verifies each plan in PlanBench's zero-shot verification prompt, "
                         "read as --self-verify says)."),
            click.option("--self-verify", type=click.Choice(MODES), default="verdict",
                         show_default=True, help="best-of-n --score self-verify: verdict (the "
                         "model writes its verification answer; the first answer it calls "
                         "valid is selected) or probability (its probability of \"Plan is "
                         "valid.\"; needs log-probabilities)."),
            click.option("--critic", type=click.Choice(CRITICS), default="validator",
                         show_default=True, help="revise: who says what is wrong, the "
                         "validator or the model itself (self: it verifies each plan, the chain "
                         "stops when it calls it valid, else its critique is the feedback)."),
            click.option("--plans-from", type=click.Path(exists=True, file_okay=False),
                         default=None, help="--task t3_1: the run folder whose plans are "
                         "verified (each instance's first answer with a readable plan).")]):
        function = option(function)
    return function


def engine(function):
    """The engine placement options of `run` (vLLM in-process or on Ray)."""
    for option in reversed([
            click.option("--tensor-parallel-size", type=click.IntRange(1), default=1,
                         show_default=True, help="GPUs per vLLM engine."),
            click.option("--replicas", type=click.IntRange(1), default=1, show_default=True,
                         help="--engine ray: vLLM engines answering side by side (N GPUs of "
                         "one machine, or of a cluster)."),
            click.option("--ray-address", default=None, help="--engine ray: the cluster to join "
                         "(host:port of `ray start --head`). Default: $RAY_ADDRESS, else a "
                         "local Ray started for the run."),
            click.option("--data-parallel-size", type=int, hidden=True, expose_value=False,
                         callback=_no_data_parallel),
            click.option("--max-model-len", default=None, help="vLLM: most tokens of a prompt "
                         "and its answer (e.g. 8192 or 32k); lower it when a long-context model "
                         "does not fit the GPU's KV cache."),
            click.option("--gpu-memory-utilization", default=None, help="vLLM: share of each "
                         "GPU's memory the engine may take (vLLM's default 0.92; lower it to "
                         "share a GPU)."),
            click.option("--dtype", default=None, help="vLLM: weight and activation type (auto, "
                         "bfloat16, float16, float32; auto falls back to float16 on GPUs "
                         "without bfloat16)."),
            click.option("--quantization", default=None, help="vLLM: quantization method "
                         "(e.g. fp8, awq, gptq; default: what the model's config says)."),
            click.option("--enable-prefix-caching/--no-enable-prefix-caching", default=None,
                         help="vLLM: reuse the KV cache of shared prompt prefixes (vLLM's "
                         "default: on)."),
            click.option("--engine-arg", "engine_arg", multiple=True, metavar="KEY=VALUE",
                         help="Any other field of vLLM's EngineArgs, typed as `vllm serve "
                         "--KEY VALUE` types it (repeatable), e.g. max_num_seqs=64.")]):
        function = option(function)
    return function


ENGINE_ARGS = ("max_model_len", "gpu_memory_utilization", "dtype", "quantization",
               "enable_prefix_caching", "engine_arg")
"""The parameters `engine` adds that become vLLM engine arguments."""


def engine_args(values: dict, engine: str) -> dict:
    """The vLLM engine arguments among the parsed parameters `values` (they are removed from
    it), typed by vLLM's EngineArgs; none is given to an engine that is not vLLM."""
    given = {name: values.pop(name, None) for name in ENGINE_ARGS}
    pairs = [f"{name}={value}" for name, value in given.items()
             if name != "engine_arg" and value is not None] + list(given["engine_arg"] or ())
    if not pairs:
        return {}
    if engine not in ("vllm", "ray"):
        raise click.UsageError(f"vLLM engine arguments need --engine vllm or ray (not {engine})")
    from planbench_scale.backends import engine_options

    return engine_options.parse(pairs)


def _no_data_parallel(context, parameter, value) -> None:
    """--data-parallel-size is refused: vLLM runs data parallelism one process per rank, which
    one in-process `vllm.LLM` cannot; --replicas on Ray does it."""
    if value is not None:
        raise click.BadParameter("vLLM's data parallelism needs one process per rank, which the "
                                 "in-process engine cannot start; use --engine ray --replicas N "
                                 "(N engines on N GPUs of this machine or a cluster)")
