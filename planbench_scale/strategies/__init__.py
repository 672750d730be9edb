"""Strategies that spend inference compute: repeated sampling and iterative revision.

- "sample": k independent answers per instance, in requests of at most MAX_N samples each.
- "revise": k chains per instance; after each invalid answer the validator's verdict is told to
  the model in the prompt's own vocabulary and it answers again, up to `rounds` revisions,
  stopping at the first valid plan.
- "self-revise": the same chains, but the model is only asked to check and fix its plan (no
  feedback: the Epoch-style baseline). Chains also stop at the first valid plan, which the model
  is not told; "solved by round r" is the same either way.
Every answer is extracted, validated and stored as it arrives. A budget per instance in samples
or generated tokens stops issuing new requests for it, so strategies compare at equal compute.
A run resumes from its store: finished requests are skipped, chains continue from their last
stored round (earlier rounds are replayed from the stored texts to rebuild the conversation).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from planbench_scale.backends import MAX_N, Backend, Request, Result, Sampling, derive_seed
from planbench_scale.text.prompts import describe_action, describe_fact, render, revision_prompt
from planbench_scale.records import Extraction, Instance, Outcome, Prompt, Reason, Sample, Verdict
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.score import check

STRATEGIES = ("sample", "revise", "self-revise")
"""Strategy names a run accepts."""

SELF_REVISE_TEXT = ("Check your plan step by step against the rules and the goal, and fix it if "
                    "needed. Then write the complete plan again.")
"""What "self-revise" tells the model after each answer."""

FLUSH_SAMPLES, FLUSH_SECONDS = 256, 1.0
"""Store pending samples once this many are waiting or this long has passed."""


@dataclass(frozen=True)
class Settings:
    """What a run does; stored in its config, and compared when it is resumed."""

    strategy: str = "sample"
    """"sample", "revise" or "self-revise"."""
    k: int = 64
    """Samples per instance ("sample") or independent chains per instance (revision)."""
    rounds: int = 10
    """Most revisions after the first answer (revision strategies)."""
    seed: int = 0
    """Run seed; every request's seed is derived from it, the instance and the sample index."""
    sampling: Sampling = field(default_factory=Sampling)
    """Temperature, top_p, max_tokens, stop strings."""
    style: str = "nl"
    """Prompt style, "nl" or "pddl"."""
    shots: int = 0
    """Solved examples in the prompt (0 or 1)."""
    templates: str = "default"
    """Prompt templates, "default" or "planbench:PATH"."""
    budget_samples: int | None = None
    """Most samples per instance, counting every revision round (None: no limit)."""
    budget_tokens: int | None = None
    """Most generated tokens per instance; checked before each new request (None: no limit)."""


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


@dataclass
class _State:
    """What is known about one instance while the run goes on."""

    instance: Instance
    prompt: Prompt
    samples: int = 0
    tokens: int = 0
    solved: bool = False
    done_indices: set = field(default_factory=set)
    chains: dict = field(default_factory=dict)  # chain index -> (round, prompt) still to ask

    def finished(self, settings: Settings) -> bool:
        """Whether nothing more will be asked for this instance."""
        if not self.within_budget(settings):
            return True
        if settings.strategy == "sample":
            return len(self.done_indices) >= settings.k
        return not self.chains

    def within_budget(self, settings: Settings) -> bool:
        """Whether the instance may get another request."""
        return ((settings.budget_samples is None or self.samples < settings.budget_samples)
                and (settings.budget_tokens is None or self.tokens < settings.budget_tokens))


def run(backend: Backend, instances: Sequence[Instance], writer: RunWriter, settings: Settings,
        pool: Sequence[Instance] = (), on_progress: Callable[[Progress], None] | None = None
        ) -> Progress:
    """Run `settings.strategy` over `instances`, storing every sample; resumes from the store."""
    if settings.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {settings.strategy!r}")
    progress = Progress(instances=len(instances))
    states = {i.id: _State(i, render(i, settings.style, settings.shots, pool, settings.templates))
              for i in instances}
    _load_stored(states, writer, settings)
    sink = _Sink(writer, settings, progress, states, on_progress)
    waves = _sample_waves if settings.strategy == "sample" else _revision_waves
    try:
        for requests in waves(states, settings):
            for result in backend.generate(requests, settings.sampling):
                sink.take(states[result.request.prompt.instance_id], result)
            sink.flush()
    finally:
        sink.flush()  # on errors and interrupts too: what was answered is kept
    return progress


def _sample_waves(states: dict, settings: Settings) -> Iterator[Iterable[Request]]:
    """Chunk c of every instance in wave c, so a token budget is checked between chunks."""
    for first in range(0, settings.k, MAX_N):
        n = min(MAX_N, settings.k - first)
        yield [Request(state.prompt, n, derive_seed(settings.seed, state.instance.id, first), first)
               for state in states.values()
               if not set(range(first, first + n)) <= state.done_indices
               and state.within_budget(settings)]


def _revision_waves(states: dict, settings: Settings) -> Iterator[Iterable[Request]]:
    """Round r of every open chain in wave r."""
    for round_ in range(settings.rounds + 1):
        yield [Request(prompt, 1, derive_seed(settings.seed, state.instance.id, chain, round_),
                       chain, round_)
               for state in states.values() if state.within_budget(settings)
               for chain, (wanted, prompt) in sorted(state.chains.items()) if wanted == round_]


def _load_stored(states: dict, writer: RunWriter, settings: Settings) -> None:
    """Fill the per-instance state from what the store already holds (resume)."""
    columns = ["instance_id", "sample_index", "round", "completion_tokens", "valid"]
    if settings.strategy != "sample":  # chains are replayed from their texts
        columns.append("text")
    stored = read_samples(writer.run_dir, columns).sort_values(["sample_index", "round"])
    for state in states.values():
        state.chains = {chain: (0, state.prompt) for chain in range(settings.k)}
    for row in stored.itertuples(index=False):
        state = states[row.instance_id]
        state.samples += 1
        state.tokens += int(row.completion_tokens)
        state.solved = state.solved or bool(row.valid)
        state.done_indices.add(int(row.sample_index))
        if settings.strategy != "sample":
            _advance(state, int(row.sample_index), int(row.round), row.text, settings)


def _advance(state: _State, chain: int, round_: int, text: str, settings: Settings,
             verdict: Verdict | None = None, extraction: Extraction | None = None) -> None:
    """After a chain's answer: close the chain, or set up its next round's prompt."""
    wanted, prompt = state.chains.get(chain, (None, None))
    if wanted != round_:
        return
    if verdict is None:
        extraction, verdict = check(state.instance, text, settings.templates)
    if verdict.valid or round_ >= settings.rounds:
        del state.chains[chain]
        return
    feedback = (SELF_REVISE_TEXT if settings.strategy == "self-revise"
                else feedback_text(state.instance, extraction, verdict, settings.templates))
    state.chains[chain] = (round_ + 1, revision_prompt(prompt, text, feedback))


class _Sink:
    """Turns results into stored samples, batching writes and updating the progress."""

    def __init__(self, writer: RunWriter, settings: Settings, progress: Progress, states: dict,
                 on_progress: Callable[[Progress], None] | None):
        self.writer, self.settings, self.progress = writer, settings, progress
        self.states = states
        self.on_progress = on_progress
        self.pending: list[Sample] = []
        self.started = self.flushed = time.perf_counter()

    def take(self, state: _State, result: Result) -> None:
        """Check and queue the answers of one result (answers stored before are skipped)."""
        request = result.request
        started = time.perf_counter()
        for offset, completion in enumerate(result.completions):
            index = request.first + offset
            if request.round == 0 and index in state.done_indices:
                continue
            extraction, verdict = check(state.instance, completion.text, self.settings.templates)
            self.pending.append(_sample(state, request, index, completion, extraction, verdict,
                                        self.settings.strategy))
            state.done_indices.add(index)
            state.samples += 1
            state.tokens += completion.completion_tokens
            state.solved = state.solved or verdict.valid
            self.progress.valid += verdict.valid
            self.progress.tokens += completion.completion_tokens
            if self.settings.strategy != "sample":
                _advance(state, index, request.round, completion.text, self.settings,
                         verdict, extraction)
        self.progress.checking_seconds += time.perf_counter() - started
        if (len(self.pending) >= FLUSH_SAMPLES
                or time.perf_counter() - self.flushed >= FLUSH_SECONDS):
            self.flush()

    def flush(self) -> None:
        """Store what is pending and report progress."""
        started = time.perf_counter()
        self.progress.samples += self.writer.append(self.pending)
        self.pending = []
        self.flushed = time.perf_counter()
        self.progress.storing_seconds += self.flushed - started
        self.report()

    def report(self) -> None:
        """Refresh the totals and hand the progress to the callback."""
        self.progress.seconds = time.perf_counter() - self.started
        self.progress.finished = sum(s.finished(self.settings) for s in self.states.values())
        self.progress.solved = sum(s.solved for s in self.states.values())
        if self.on_progress is not None:
            self.on_progress(self.progress)


def _sample(state: _State, request: Request, index: int, completion, extraction: Extraction,
            verdict: Verdict, strategy: str) -> Sample:
    """One stored row."""
    instance = state.instance
    return Sample(instance_id=instance.id, domain=instance.domain,
                  vocabulary=instance.vocabulary, n_blocks=len(instance.objects),
                  optimal_length=instance.optimal_length, sample_index=index,
                  round=request.round, strategy=strategy, prompt_hash=request.prompt.hash,
                  text=completion.text, prompt_tokens=completion.prompt_tokens,
                  completion_tokens=completion.completion_tokens,
                  finish_reason=completion.finish_reason, outcome=extraction.outcome.value,
                  plan="\n".join(extraction.actions), n_actions=len(extraction.actions),
                  valid=verdict.valid, reason=verdict.reason.value,
                  failed_step=-1 if verdict.failed_step is None else verdict.failed_step,
                  unmet=" ".join(verdict.unmet), seed=request.seed)


def feedback_text(instance: Instance, extraction: Extraction, verdict: Verdict,
                  templates: str = "default") -> str:
    """The validator's verdict told in the prompt's own vocabulary, ending with a request to fix."""
    ask = "Please give a corrected plan."
    if extraction.outcome is not Outcome.PLAN or verdict.reason is Reason.EMPTY_PLAN:
        return f"No plan was found in your answer. Write the plan as one action per line. {ask}"
    if verdict.reason is Reason.GOAL_NOT_REACHED:
        missing = _facts(instance, verdict.unmet, templates, negate=True)
        return f"The plan can be carried out, but the goal is not reached: {missing}. {ask}"
    step = verdict.failed_step + 1
    action = extraction.actions[verdict.failed_step]
    if verdict.reason is Reason.INAPPLICABLE:
        described = describe_action(instance, action, templates)
        why = _facts(instance, verdict.unmet, templates, negate=True)
        return f"Step {step}, {described}, is not possible because {why}. {ask}"
    return (f"Step {step}, {action}, is not an action of this problem "
            f"({verdict.reason.value.replace('_', ' ')}). {ask}")


def _facts(instance: Instance, facts: Sequence[str], templates: str, negate: bool) -> str:
    """Facts in English joined by "and", negated ("the red block is not clear") when asked."""
    phrases = [describe_fact(instance, fact, templates) for fact in facts]
    if negate:
        phrases = [_negate(phrase) for phrase in phrases]
    return " and ".join(phrases)


def _negate(phrase: str) -> str:
    """"the red block is clear" -> "the red block is not clear"; otherwise "it is not true that"."""
    for verb in (" is ", " are "):
        if verb in phrase:
            return phrase.replace(verb, f"{verb}not ", 1)
    return f"it is not true that {phrase}"


def run_config(settings: Settings, engine: dict, instances: dict) -> dict:
    """The run config: what the run does (compared on resume) and where it runs (recorded)."""
    from dataclasses import asdict
    from planbench_scale.store import environment
    return {"settings": asdict(settings), "engine": engine, "instances": instances,
            "environment": environment()}
