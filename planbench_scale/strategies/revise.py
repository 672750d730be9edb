"""Iterative revision: k chains per instance that answer again after each invalid plan.

"revise" tells the model the validator's verdict in the prompt's own vocabulary; "self-revise"
only asks it to check and fix its plan (no feedback: the Epoch-style baseline). Chains stop at
their first valid plan (which the model is not told), or after `rounds` revisions. On resume,
earlier rounds are replayed from the stored texts to rebuild each chain's conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from planbench_scale.backends import Request, derive_seed
from planbench_scale.records import Extraction, Instance, Verdict
from planbench_scale.config import Sampling, Settings
from planbench_scale.strategies import scored_answer
from planbench_scale.text.feedback import SELF_REVISE_TEXT, feedback_text
from planbench_scale.text.prompts import revision_prompt

Feedback = Callable[[Instance, Extraction, Verdict, str], str]
"""(instance, extraction, verdict, templates) -> what the model is told after an invalid answer."""


@dataclass(frozen=True)
class Revise:
    """k chains per instance, each revised after an invalid answer with `feedback`."""

    name: str
    feedback: Feedback
    replays_text: bool = True
    unit: str = "rounds"
    reads_plans: bool = True

    def check(self, settings: Settings, instances) -> None:
        """Any settings work."""

    def start(self, state, settings: Settings) -> None:
        """Every chain starts at round 0 with the instance's prompt."""
        state.open = {chain: (0, state.prompt) for chain in range(settings.k)}

    def waves(self, states, settings: Settings):
        """Round r of every open chain in wave r."""
        for round_ in range(settings.rounds + 1):
            yield [Request(prompt, 1, derive_seed(settings.seed, state.instance.id, chain, round_),
                           chain, round_)
                   for state in states if state.within_budget(settings)
                   for chain, (wanted, prompt) in sorted(state.open.items()) if wanted == round_]

    def answered(self, state, index, round_, answer, scored, settings: Settings) -> None:
        """Close the chain, or set up its next round's prompt."""
        wanted, prompt = state.open.get(index, (None, None))
        if wanted != round_:
            return
        extraction, verdict = scored_answer(state, answer.text, scored, settings)
        if verdict.valid or round_ >= settings.rounds:
            del state.open[index]
            return
        told = self.feedback(state.instance, extraction, verdict, settings.templates)
        state.open[index] = (round_ + 1, revision_prompt(prompt, answer.text, told))

    def sampling(self, settings: Settings) -> Sampling:
        return settings.sampling

    def asks_logprobs(self, settings: Settings) -> bool:
        return False

    def finished(self, state, settings: Settings) -> bool:
        return not state.within_budget(settings) or not state.open

    def most_samples(self, settings: Settings) -> int:
        return settings.k * (settings.rounds + 1)


REVISE = Revise("revise", feedback_text)
SELF_REVISE = Revise("self-revise", lambda *_: SELF_REVISE_TEXT)
