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
from planbench_scale.records import Completion, EngineConfig, Prompt, Sampling

MAX_N = 256
"""Most samples per request: vLLM stalls above this, so larger `n` is split into chunks."""


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


BACKENDS = {
    "vllm": "planbench_scale.backends.vllm_engine",
    "openai": "planbench_scale.backends.openai_http",
}
"""Backend name -> module. A module defines `resolve(config) -> EngineConfig` (cheap: names the
model, counts its parameters), `from_config(config, run_dir, **options) -> Backend` (loads or
connects) and, if it keeps state in the run folder, `check_run_folder(run_dir)`.
Adding a backend is one module plus one line here."""


def _module(engine: str):
    import importlib

    if engine not in BACKENDS:
        raise PlanbenchError(f"unknown engine {engine!r}; known: {', '.join(BACKENDS)}")
    return importlib.import_module(BACKENDS[engine])


def resolve(config: EngineConfig) -> EngineConfig:
    """The engine config completed without loading the model: the model's name and size."""
    return _module(config.engine).resolve(config)


def check_run_folder(config: EngineConfig, run_dir) -> None:
    """Refuse to start a run in `run_dir` that the backend cannot start there (for example beside
    a live engine of an earlier run of that folder); a module may define `check_run_folder`."""
    check = getattr(_module(config.engine), "check_run_folder", None)
    if check is not None:
        check(run_dir)


def open_backend(config: EngineConfig, run_dir=None, **options) -> Backend:
    """The backend a config names, ready to generate; it may keep files (a log, process ids) in
    the run folder `run_dir`."""
    return _module(config.engine).from_config(config, run_dir, **options)
