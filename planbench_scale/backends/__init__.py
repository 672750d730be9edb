"""Model backends: prompts and sampling settings in, completions with token counts out.

Every backend implements `Backend`: `generate` takes `Request`s (one prompt, `n` samples, a seed)
lazily and yields a `Result` per request as soon as it finishes, in finishing order, so callers can
validate and store samples while the model keeps generating.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Completion, Prompt

MAX_N = 256
"""Most samples per request: vLLM stalls above this, so larger `n` is split into chunks."""


@dataclass(frozen=True)
class Sampling:
    """Sampling settings shared by every request of a run."""

    temperature: float = 0.7
    """Softmax temperature (0 = greedy)."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_tokens: int = 512
    """Most tokens generated per sample; answers cut here get finish_reason "length"."""
    stop: tuple[str, ...] = ()
    """Strings that end an answer."""


@dataclass(frozen=True)
class Request:
    """One prompt to sample `n` answers for."""

    prompt: Prompt
    """What the model sees."""
    n: int
    """Number of samples, at most MAX_N."""
    seed: int
    """Sampling seed of this request (recorded with every sample)."""
    first: int = 0
    """Sample index of the first answer: answers are numbered first, first+1, ..."""
    round: int = 0
    """Revision round this request belongs to (0 for a first answer)."""


@dataclass(frozen=True)
class Result:
    """The answers to one request (or to a piece of it, when it had to be split)."""

    request: Request
    """The request answered; its `first` and `seed` number and seed these answers."""
    completions: tuple[Completion, ...]
    """The answers, in sample-index order."""


class Backend(Protocol):
    """A model that answers requests."""

    model: str
    """The model name or path, as recorded in the run config."""

    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """Answer every request; yields results as they finish (pulls requests lazily)."""

    def describe(self) -> dict:
        """Engine settings worth recording in the run config."""

    def close(self) -> None:
        """Release the model or connections."""


def split(request: Request, pieces: int) -> list[Request]:
    """A request cut into up to `pieces` smaller ones, each with its own derived seed."""
    size = -(-request.n // pieces)
    return [Request(request.prompt, min(size, request.n - start),
                    derive_seed(request.seed, "split", start), request.first + start, request.round)
            for start in range(0, request.n, size)]


def derive_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed determined by `seed` and `parts` (stable across runs and machines)."""
    text = "\x00".join(str(part) for part in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


ENGINES = ("vllm", "openai")
"""Backend names `open_backend` accepts."""


def open_backend(engine: str, model: str | None, base_url: str | None = None, form: str = "text",
                 **options) -> Backend:
    """The backend named `engine`: "vllm" (offline engine; model None = the CPU default) or
    "openai" (a server at `base_url`; model None = the first it serves)."""
    if engine == "vllm":
        from planbench_scale.backends.cpu_model import NAME
        from planbench_scale.backends.vllm_engine import VLLMBackend
        return VLLMBackend(model or NAME, form, **options)
    if engine == "openai":
        from planbench_scale.backends.openai_http import OpenAIBackend
        return OpenAIBackend(base_url or "http://127.0.0.1:8000/v1", model, form, **options)
    raise PlanbenchError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
