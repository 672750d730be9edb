"""Strategies that spend inference compute, behind one protocol and a registry.

A strategy turns the state of an instance (its prompt, what is stored) into requests, and each
answer into the next step (another round, a closed chain, ...); `loop.run` drives any of them,
extracting, validating and storing every answer as it arrives. Adding a strategy is one module
with a class implementing `Strategy`, plus one line in `STRATEGIES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Protocol, Sequence

from planbench_scale.backends import Request, Result, ScoreRequest
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Completion, Extraction, Instance, Prompt, Verdict
from planbench_scale.config import Sampling, Settings
from planbench_scale import tasks

Wave = Request | ScoreRequest | Result
"""One item of a wave: a request to sample, continuations to score, or an answer the strategy
wrote itself (a step chosen without a model, or an answer taken from the store)."""


@dataclass
class InstanceState:
    """What is known about one instance while a run goes on."""

    instance: Instance
    """The instance."""
    prompt: Prompt
    """Its first prompt."""
    samples: int = 0
    """Samples stored for it (every round counted)."""
    tokens: int = 0
    """Tokens those samples computed (`records.compute_tokens`: prompt tokens computed plus
    generated tokens)."""
    solved: bool = False
    """Whether any stored sample is a valid plan."""
    done: set = field(default_factory=set)
    """Sample indices with a stored answer."""
    open: dict = field(default_factory=dict)
    """The strategy's own open work, by sample index (chains still revising, for example)."""

    def within_budget(self, settings: Settings) -> bool:
        """Whether the instance may get another request."""
        return within_budget(settings, self.samples, self.tokens)


def within_budget(settings: Settings, samples: int, tokens: float) -> bool:
    """Whether an instance that spent `samples` rows and `tokens` tokens may ask for more."""
    return ((settings.budget_samples is None or samples < settings.budget_samples)
            and (settings.budget_tokens is None or tokens < settings.budget_tokens))


def scored_answer(state: InstanceState, text: str, scored: tuple[Extraction, Verdict] | None,
                  settings: Settings) -> tuple[Extraction, Verdict]:
    """An answer's score: the one the loop gave, or, for an answer replayed from the store, the
    run's task's score of `text` (so a resumed run judges answers as the run first did)."""
    return scored or tasks.get(settings.task).score(state.instance, text, settings)


class Strategy(Protocol):
    """How a run spends compute on each instance."""

    name: str
    """The registry name, stored with every sample."""
    replays_text: bool
    """Whether resuming needs the stored answer texts (to rebuild conversations)."""
    unit: str
    """What the report plots its compute against: "samples" (independent answers per
    instance), "rounds" (revision rounds of chains) or "nodes" (a search tree: its result is
    whether any node is a valid plan, its compute the tokens of all its rows)."""
    reads_plans: bool
    """Whether it reads the answers as plans (revision feedback, steps, plan scores): then it
    fits only tasks whose answer is a plan (`tasks.Task.answers_plan`)."""

    def check(self, settings: Settings, instances: Sequence[Instance]) -> None:
        """PlanbenchError for settings that cannot work on these instances (before any run)."""

    def start(self, state: InstanceState, settings: Settings) -> None:
        """Set up an instance's open work before anything stored is replayed."""

    def waves(self, states: Iterable[InstanceState], settings: Settings) -> Iterator[list[Wave]]:
        """Requests wave by wave; each wave is built after the previous one was answered."""

    def answered(self, state: InstanceState, index: int, round_: int, answer: Completion,
                 scored: tuple[Extraction, Verdict] | None, settings: Settings) -> float | None:
        """Take note of an answer and give the score to store with it. `scored` is None for an
        answer stored before: replayed from the store (`answer` then holds its text only when
        `replays_text`, and the stored log-probability: None for rows that have none), or
        given again in a wave."""

    def sampling(self, settings: Settings) -> Sampling:
        """The sampling settings of the run's requests."""

    def asks_logprobs(self, settings: Settings) -> bool:
        """Whether the run scores text with the model (`Backend.score`), checked before it starts."""

    def finished(self, state: InstanceState, settings: Settings) -> bool:
        """Whether nothing more will be asked for the instance."""

    def most_samples(self, settings: Settings) -> int:
        """The most samples one instance can take (for progress)."""


def _registry() -> dict[str, Strategy]:
    from planbench_scale.strategies.best_of_n import BEST_OF_N
    from planbench_scale.strategies.random_legal import RANDOM_LEGAL
    from planbench_scale.strategies.revise import REVISE, SELF_REVISE
    from planbench_scale.strategies.sample import SAMPLE
    from planbench_scale.strategies.search import BEAM, DVTS

    return {s.name: s for s in (SAMPLE, REVISE, SELF_REVISE, BEAM, DVTS, BEST_OF_N,
                                  RANDOM_LEGAL)}


STRATEGIES: dict[str, Strategy] = _registry()
"""Every strategy by name."""


def get(name: str) -> Strategy:
    """The strategy called `name`."""
    if name not in STRATEGIES:
        raise PlanbenchError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    return STRATEGIES[name]
