"""Repeated sampling: k independent answers per instance, in requests of at most MAX_N each.

Chunk c of every instance goes out in wave c, so a token budget is checked between chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from planbench_scale.backends import MAX_N, Request, derive_seed
from planbench_scale.config import Sampling, Settings


@dataclass(frozen=True)
class Sample:
    """k independent answers per instance."""

    name: str = "sample"
    replays_text: bool = False
    unit: str = "samples"
    reads_plans: bool = False

    def check(self, settings: Settings, instances) -> None:
        """Any settings work."""

    def start(self, state, settings: Settings) -> None:
        """Nothing to set up: the stored sample indices say what is left."""

    def waves(self, states, settings: Settings):
        """Chunk c (sample indices c*MAX_N ...) of every instance still within budget."""
        for first in range(0, settings.k, MAX_N):
            n = min(MAX_N, settings.k - first)
            yield [Request(state.prompt, n, derive_seed(settings.seed, state.instance.id, first),
                           first)
                   for state in states
                   if not set(range(first, first + n)) <= state.done
                   and state.within_budget(settings)]

    def answered(self, state, index, round_, answer, scored, settings) -> None:
        """Independent samples leave nothing to follow up."""

    def sampling(self, settings: Settings) -> Sampling:
        return settings.sampling

    def asks_logprobs(self, settings: Settings) -> bool:
        return False

    def finished(self, state, settings: Settings) -> bool:
        return not state.within_budget(settings) or len(state.done) >= settings.k

    def most_samples(self, settings: Settings) -> int:
        return settings.k


SAMPLE = Sample()
