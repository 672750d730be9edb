"""The loop every strategy runs in: requests out, answers extracted, validated and stored.

Every answer is stored as it arrives (batched: at most FLUSH_SAMPLES waiting or FLUSH_SECONDS
old). A run resumes from its store: answers already stored are skipped, and the strategy is told
of every stored answer (in round and index order: a chain's round r, then its verification
call, then round r + 1) before new requests go out. A verification call (`Request.verifies`)
is scored as a verdict on the plan it verifies and never counts as a valid plan.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from planbench_scale.backends import Backend, Request, Result, ScoreRequest
from planbench_scale.records import (Completion, Extraction, Instance, Sample, Verdict,
                                     compute_tokens)
from planbench_scale.config import Sampling, Settings
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.strategies import InstanceState, Strategy, get
from planbench_scale import tasks
from planbench_scale.analysis.metrics import answer_rows
from planbench_scale.tasks.verification import judged

FLUSH_SAMPLES, FLUSH_SECONDS = 256, 1.0
"""Store pending samples once this many are waiting or this long has passed."""


@dataclass
class Progress:
    """Running totals of a run, passed to the progress callback after each stored batch."""

    instances: int = 0
    """Instances in the run."""
    finished: int = 0
    """Instances with nothing more to do."""
    samples: int = 0
    """Samples stored by this process."""
    tokens: int = 0
    """Generated tokens of those samples."""
    valid: int = 0
    """Valid plans among them."""
    solved: int = 0
    """Instances with at least one valid plan (stored ones included)."""
    seconds: float = 0.0
    """Wall time since the run started."""
    checking_seconds: float = 0.0
    """Time spent extracting and validating."""
    storing_seconds: float = 0.0
    """Time spent writing the store."""


def run(backend: Backend, instances: Sequence[Instance], writer: RunWriter, settings: Settings,
        pool: Sequence[Instance] = (), on_progress: Callable[[Progress], None] | None = None
        ) -> Progress:
    """Run `settings.strategy` over `instances`, storing every sample; resumes from the store."""
    strategy = get(settings.strategy)
    strategy.check(settings, instances)
    progress = Progress(instances=len(instances))
    task = tasks.get(settings.task)
    states = {i.id: InstanceState(i, task.prompt(i, pool, settings)) for i in instances}
    for state in states.values():
        strategy.start(state, settings)
    _replay(states, writer, strategy, settings)
    if strategy.asks_logprobs(settings):
        backend.require_logprobs()  # refused before any compute
    sink = _Sink(writer, settings, strategy, progress, states, on_progress)
    sampling = strategy.sampling(settings)
    try:
        for wave in strategy.waves(list(states.values()), settings):
            for result in _answers(backend, wave, sampling):
                sink.take(states[result.request.prompt.instance_id], result)
            sink.flush()
    finally:
        sink.flush()  # on errors and interrupts too: what was answered is kept
    return progress


def _answers(backend: Backend, wave: list, sampling: Sampling) -> Iterator[Result]:
    """The results of one wave: what the strategy answered itself (a `Result`: steps written
    without a model, answers taken from the store), then `ScoreRequest`s scored, then
    `Request`s sampled."""
    yield from (item for item in wave if isinstance(item, Result))
    scoring = [item for item in wave if isinstance(item, ScoreRequest)]
    if scoring:
        yield from backend.score(scoring)
    yield from backend.generate([item for item in wave if isinstance(item, Request)], sampling)


def _replay(states: dict, writer: RunWriter, strategy: Strategy, settings: Settings) -> None:
    """Fill the per-instance state from what the store already holds (resume)."""
    columns = ["instance_id", "sample_index", "round", "prompt_tokens", "completion_tokens",
               "computed_tokens", "finish_reason", "valid", "parent", "depth", "logprob",
               "logprob_tokens"]
    columns += ["text"] if strategy.replays_text else []
    stored = read_samples(writer.run_dir, columns).sort_values(["round", "sample_index"],
                                                               kind="stable")
    answers = answer_rows(stored)
    for row, answer in zip(stored.itertuples(index=False), answers):
        state = states[row.instance_id]
        _count(state, int(row.sample_index),
               compute_tokens(int(row.completion_tokens), int(row.computed_tokens)),
               bool(row.valid and answer))
        answer = Completion(getattr(row, "text", ""), int(row.prompt_tokens),
                            int(row.completion_tokens), str(row.finish_reason),
                            None if math.isnan(row.logprob) else float(row.logprob),
                            int(row.logprob_tokens), computed_tokens=int(row.computed_tokens))
        strategy.answered(state, int(row.sample_index), int(row.round), answer, None, settings)


def _count(state: InstanceState, index: int, tokens: int, valid: bool) -> None:
    state.done.add(index)
    state.samples += 1
    state.tokens += tokens
    state.solved = state.solved or valid


class _Sink:
    """Turns results into stored samples, batching writes and updating the progress."""

    def __init__(self, writer: RunWriter, settings: Settings, strategy: Strategy,
                 progress: Progress, states: dict, on_progress: Callable[[Progress], None] | None):
        self.writer, self.settings, self.strategy = writer, settings, strategy
        self.progress, self.states, self.on_progress = progress, states, on_progress
        self.pending: list[Sample] = []
        self.task = tasks.get(settings.task)
        self.started = self.flushed = time.perf_counter()

    def take(self, state: InstanceState, result: Result) -> None:
        """Check and queue the answers of one result (answers stored before are skipped)."""
        request, started = result.request, time.perf_counter()
        for offset, completion in enumerate(result.completions):
            index = request.first + offset
            if request.round == 0 and index in state.done:  # stored before: only followed up
                self.strategy.answered(state, index, 0, completion, None, self.settings)
                continue
            extraction, verdict = self._score(state, request, completion.text)
            score = self.strategy.answered(state, index, request.round, completion,
                                           (extraction, verdict), self.settings)
            self.pending.append(sample_row(state.instance, request, index, completion,
                                           extraction, verdict, self.strategy.name, score))
            answer = verdict.valid and not _verifies(request)
            _count(state, index, compute_tokens(completion.completion_tokens,
                                                completion.prompt_computed), answer)
            self.progress.valid += answer
            self.progress.tokens += completion.completion_tokens
        self.progress.checking_seconds += time.perf_counter() - started
        if (len(self.pending) >= FLUSH_SAMPLES
                or time.perf_counter() - self.flushed >= FLUSH_SECONDS):
            self.flush()

    def _score(self, state: InstanceState, request: Request | ScoreRequest, text: str
               ) -> tuple[Extraction, Verdict]:
        """An answer scored by the run's task; a verification call's answer as a verdict on the
        plan it verifies (its `valid`: whether the verdict is right)."""
        if _verifies(request):
            return judged(state.instance, request.verifies, text, self.settings)
        return self.task.score(state.instance, request.prefix + text, self.settings)

    def flush(self) -> None:
        """Store what is pending and report progress."""
        started = time.perf_counter()
        self.progress.samples += self.writer.append(self.pending)
        self.pending = []
        self.flushed = time.perf_counter()
        self.progress.storing_seconds += self.flushed - started
        self.progress.seconds = self.flushed - self.started
        self.progress.finished = sum(self.strategy.finished(s, self.settings)
                                     for s in self.states.values())
        self.progress.solved = sum(s.solved for s in self.states.values())
        if self.on_progress is not None:
            self.on_progress(self.progress)


def _verifies(request: Request | ScoreRequest) -> bool:
    """Whether the request is a verification call."""
    return isinstance(request, Request) and bool(request.verifies)


def sample_row(instance: Instance, request: Request | ScoreRequest, index: int,
               completion: Completion, extraction: Extraction, verdict: Verdict, strategy: str,
               score: float | None = None) -> Sample:
    """One stored row; tree searches give the node's `score`."""
    return Sample(instance_id=instance.id, domain=instance.domain,
                  vocabulary=instance.vocabulary, n_objects=len(instance.objects),
                  optimal_length=instance.optimal_length, sample_index=index,
                  round=request.round, strategy=strategy, prompt_hash=request.prompt.hash,
                  text=completion.text, prompt_tokens=completion.prompt_tokens,
                  completion_tokens=completion.completion_tokens,
                  finish_reason=completion.finish_reason, outcome=extraction.outcome.value,
                  plan="\n".join(extraction.actions), n_actions=len(extraction.actions),
                  valid=verdict.valid, reason=verdict.reason.value,
                  failed_step=-1 if verdict.failed_step is None else verdict.failed_step,
                  unmet=" ".join(verdict.unmet), seed=request.seed, parent=request.parent,
                  depth=request.depth, score=score, reasoning=completion.reasoning,
                  reasoning_tokens=completion.reasoning_tokens,
                  cached_tokens=-1 if completion.cached_tokens is None else completion.cached_tokens,
                  computed_tokens=completion.prompt_computed, logprob=completion.logprob,
                  logprob_tokens=completion.logprob_tokens)
