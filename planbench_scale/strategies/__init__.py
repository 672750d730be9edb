"""Strategies that spend inference compute, behind one protocol and a registry.

A strategy turns the state of an instance (its prompt, what is stored) into requests, and each
answer into the next step (another round, a closed chain, ...); `loop.run` drives any of them,
extracting, validating and storing every answer as it arrives. Adding a strategy is one module
with a class implementing `Strategy`, plus one line in `STRATEGIES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Protocol

from planbench_scale.backends import Request
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Extraction, Instance, Prompt, Settings, Verdict


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
    """Generated tokens of those samples."""
    solved: bool = False
    """Whether any stored sample is a valid plan."""
    done: set = field(default_factory=set)
    """Sample indices with a stored answer."""
    open: dict = field(default_factory=dict)
    """The strategy's own open work, by sample index (chains still revising, for example)."""

    def within_budget(self, settings: Settings) -> bool:
        """Whether the instance may get another request."""
        return ((settings.budget_samples is None or self.samples < settings.budget_samples)
                and (settings.budget_tokens is None or self.tokens < settings.budget_tokens))


class Strategy(Protocol):
    """How a run spends compute on each instance."""

    name: str
    """The registry name, stored with every sample."""
    replays_text: bool
    """Whether resuming needs the stored answer texts (to rebuild conversations)."""
    unit: str
    """What the report plots its compute against: "samples" (independent answers per
    instance) or "rounds" (revision rounds of chains)."""

    def start(self, state: InstanceState, settings: Settings) -> None:
        """Set up an instance's open work before anything stored is replayed."""

    def waves(self, states: Iterable[InstanceState], settings: Settings) -> Iterator[list[Request]]:
        """Requests wave by wave; each wave is built after the previous one was answered."""

    def answered(self, state: InstanceState, index: int, round_: int, text: str,
                 scored: tuple[Extraction, Verdict] | None, settings: Settings) -> None:
        """Take note of an answer (live, or replayed from the store with `scored` None)."""

    def finished(self, state: InstanceState, settings: Settings) -> bool:
        """Whether nothing more will be asked for the instance."""

    def most_samples(self, settings: Settings) -> int:
        """The most samples one instance can take (for progress)."""


def _registry() -> dict[str, Strategy]:
    from planbench_scale.strategies.revise import REVISE, SELF_REVISE
    from planbench_scale.strategies.sample import SAMPLE

    return {s.name: s for s in (SAMPLE, REVISE, SELF_REVISE)}


STRATEGIES: dict[str, Strategy] = _registry()
"""Every strategy by name."""


def get(name: str) -> Strategy:
    """The strategy called `name`."""
    if name not in STRATEGIES:
        raise PlanbenchError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    return STRATEGIES[name]
