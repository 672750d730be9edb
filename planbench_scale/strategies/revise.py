"""Iterative revision: k chains per instance that answer again after each invalid plan.

"revise" tells the model what is wrong, as `Settings.critic` says: "validator" (the validator's
verdict in the prompt's own vocabulary; chains stop at their first valid plan, which the model
is not told) or "self" (LLM-Modulo with the model as its own critic: after each answer the
model is asked, in PlanBench's zero-shot verification prompt, whether its plan is valid; a
chain stops when it says so, and otherwise its critique is the next round's feedback; an
answer whose plan cannot be shown gets self-revise's words). "self-revise" only asks it to
check and fix its plan (no feedback: the Epoch-style baseline). Chains stop after `rounds`
revisions at most. The stored verdict is always the validator's.

The self critic's verification call of chain c's round r is stored as row k + c of round r,
its parent c (`Request.verifies`). On resume, earlier rounds are replayed from the stored texts
to rebuild each chain's conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from planbench_scale.backends import Request, derive_seed
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Extraction, Instance, Verdict
from planbench_scale.config import Sampling, Settings
from planbench_scale.strategies import scored_answer, self_verification
from planbench_scale.tasks.verification import readable_plan
from planbench_scale.tasks.wording import own_answer
from planbench_scale.text.feedback import SELF_REVISE_TEXT, feedback_text
from planbench_scale.text.prompts import revision_prompt

Feedback = Callable[[Instance, Extraction, Verdict, str], str]
"""(instance, extraction, verdict, templates) -> what the model is told after an invalid answer."""
CRITICS = ("validator", "self")
"""Who tells a revise chain what is wrong (`Settings.critic`)."""
ASK = "Please give a corrected plan."
"""What follows the self critic's critique (as it ends the validator's feedback)."""


@dataclass(frozen=True)
class Revise:
    """k chains per instance, each revised after an invalid answer with `feedback`."""

    name: str
    feedback: Feedback
    replays_text: bool = True
    unit: str = "rounds"
    reads_plans: bool = True

    def check(self, settings: Settings, instances) -> None:
        """Refuse an unknown critic, and the self critic where the feedback is fixed."""
        if settings.critic not in CRITICS:
            raise PlanbenchError(f"unknown --critic {settings.critic!r}; known: "
                                 f"{', '.join(CRITICS)}")
        if settings.critic == "self" and self.feedback is not feedback_text:
            raise PlanbenchError(f"--critic self replaces the validator's feedback of revise; "
                                 f"{self.name} gives none")

    def start(self, state, settings: Settings) -> None:
        """Every chain starts at round 0 with the instance's prompt; a chain waiting for its
        critique also holds its answer and plan."""
        state.open = {chain: (0, state.prompt) for chain in range(settings.k)}

    def waves(self, states, settings: Settings):
        """Round r of every open chain in wave r (with the self critic, then its critiques)."""
        for round_ in range(settings.rounds + 1):
            yield [Request(prompt, 1, derive_seed(settings.seed, state.instance.id, chain, round_),
                           chain, round_)
                   for state in states if state.within_budget(settings)
                   for chain, (wanted, prompt, *_) in sorted(state.open.items())
                   if wanted == round_ and len(state.open[chain]) == 2]
            if settings.critic == "self":
                yield [self_verification.call(state, waiting[3], settings, settings.k + chain,
                                              round_, chain)
                       for state in states if state.within_budget(settings)
                       for chain, waiting in sorted(state.open.items()) if len(waiting) == 4]

    def answered(self, state, index, round_, answer, scored, settings: Settings) -> None:
        """Close the chain, or set up its next round's prompt (or its critique call)."""
        if index >= settings.k:
            return self._criticized(state, index - settings.k, round_, answer, scored, settings)
        waiting = state.open.get(index)
        if waiting is None or len(waiting) != 2 or waiting[0] != round_:
            return  # closed, waiting for its critique, or answered before
        prompt = waiting[1]
        extraction, verdict = scored_answer(state, answer.text, scored, settings)
        if round_ >= settings.rounds or (verdict.valid and settings.critic == "validator"):
            del state.open[index]
            return
        plan = readable_plan(state.instance, extraction.actions)
        if settings.critic == "self" and plan is not None:
            state.open[index] = (round_, prompt, answer.text, plan)
            return
        told = (SELF_REVISE_TEXT if settings.critic == "self" else
                self.feedback(state.instance, extraction, verdict, settings.templates))
        state.open[index] = (round_ + 1, revision_prompt(prompt, answer.text, told))

    def _criticized(self, state, chain: int, round_: int, answer, scored, settings) -> None:
        """The self critic's verdict on chain `chain`'s round: stop, or revise with its critique."""
        waiting = state.open.get(chain)
        if waiting is None or len(waiting) != 4 or waiting[0] != round_:
            return
        _, prompt, text, plan = waiting
        if self_verification.says_valid(self_verification.verdict(state, plan, answer, scored,
                                                                  settings)):
            del state.open[chain]
            return
        critique = f"{own_answer(answer.text).strip()}\n{ASK}"
        state.open[chain] = (round_ + 1, revision_prompt(prompt, text, critique))

    def sampling(self, settings: Settings) -> Sampling:
        return settings.sampling

    def asks_logprobs(self, settings: Settings) -> bool:
        return False

    def finished(self, state, settings: Settings) -> bool:
        return not state.within_budget(settings) or not state.open

    def most_samples(self, settings: Settings) -> int:
        return settings.k * (settings.rounds + 1) * (2 if settings.critic == "self" else 1)


REVISE = Revise("revise", feedback_text)
SELF_REVISE = Revise("self-revise", lambda *_: SELF_REVISE_TEXT)
