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
from planbench_scale.config import EngineConfig, Sampling

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
    parent: int = -1
    """Tree searches: sample index of the node these answers continue, or -1."""
    depth: int = 0
    """Tree searches: depth of the nodes these answers make (0 outside a tree)."""
    prefix: str = ""
    """Tree searches: the plan so far that each answer continues; an answer is checked (and
    its plan stored) as prefix + answer."""
    verifies: tuple[str, ...] = ()
    """A verification call (the model as its own verifier): the plan, canonical actions, that
    the prompt asks the model to verify; its answers are scored as verdicts on that plan
    (`tasks.verification.judged`), not as answers of the run's task. Empty for an answer."""


@dataclass(frozen=True)
class ScoreRequest:
    """Continuations of one prompt to score with the model's log-probabilities (no sampling).

    Answered by `Backend.score` as a `Result` with one `Completion` per continuation: its text
    the continuation, its logprob their summed token log-probabilities, prompt_tokens every
    token the model read (prompt and continuation), cached_tokens and computed_tokens what of
    them the prefix cache served and the model computed, completion_tokens 0, finish_reason
    "scored".
    """

    prompt: Prompt
    """The context the continuations follow."""
    continuations: tuple[str, ...]
    """The texts to score, each read right after the prompt's text."""
    first: int = 0
    """Sample index of the first continuation's row: they are numbered first, first+1, ..."""
    parent: int = -1
    """Tree searches: sample index of the node each scored row annotates, or -1."""
    depth: int = 0
    """Tree searches: depth of the scored nodes."""
    prefix: str = ""
    """Tree searches: the plan so far the continuations follow (checked as prefix + text)."""
    seed: int = 0
    """Stored with the rows (scoring draws nothing)."""
    round: int = 0
    """Always 0: scored rows are never revised."""

    @property
    def n(self) -> int:
        """Number of rows the answer makes."""
        return len(self.continuations)


@dataclass(frozen=True)
class Result:
    """The answers to one request."""

    request: Request | ScoreRequest
    """The request answered; its `first` and `seed` number and seed these answers."""
    completions: tuple[Completion, ...]
    """The answers, in sample-index order."""


class Backend(Protocol):
    """A model that answers requests."""

    model: str
    """The model name or path, as recorded in the run config."""

    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """Answer every request; yields results as they finish (pulls requests lazily)."""

    def require_logprobs(self) -> None:
        """PlanbenchError unless `score` works with this backend (called before any compute)."""

    def score(self, requests: Iterable[ScoreRequest]) -> Iterator[Result]:
        """The log-probability of every continuation of every request, one Result each."""

    def close(self) -> None:
        """Release the model or connections."""


def prompt_ledger(position: int, cached: int | None) -> dict:
    """The prompt's ledger fields of a request's answer at `position` (see `Completion`): the
    first is charged the prompt (`cached` of it from the prefix cache, None: unknown); the
    others share that one read and are charged nothing for it."""
    return {"cached_tokens": cached} if position == 0 else {"cached_tokens": 0,
                                                            "computed_tokens": 0}


def derive_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed determined by `seed` and `parts` (stable across runs and machines)."""
    text = "\x00".join(str(part) for part in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


BACKENDS = {
    "vllm": "planbench_scale.backends.vllm_engine",
    "openai": "planbench_scale.backends.openai_http",
    "ray": "planbench_scale.backends.ray_engine",
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
