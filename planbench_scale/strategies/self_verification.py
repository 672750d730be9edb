"""The model as its own verifier: an answer's plan is put to the model in PlanBench's zero-shot
verification prompt. Two modes (`Settings.self_verify`):

- "verdict": the model writes its verification answer (a verification call, `Request.verifies`,
  stored as a row scored by t3's reader against the validator's verdict on the plan); the
  answer's score is 1 when the model calls the plan valid, else 0.
- "probability": the model's probability of saying "Plan is valid." rather than "Plan is
  invalid." (two scoring rows; needs log-probabilities).

Best-of-n ranks its answers by that score (ties to the lower index: with verdicts, the first
answer the model calls valid); `revise --critic self` reads the verdict and critique."""

from __future__ import annotations

import math

from planbench_scale.backends import Request, derive_seed
from planbench_scale.records import Completion, Extraction, Instance, Prompt, Reason, Verdict
from planbench_scale.tasks.verification import judged, readable_plan, zero_shot_prompt
from planbench_scale.tasks.wording import task_prompt, template_of

MODES = ("verdict", "probability")
"""How the model's verification of a plan is read (`Settings.self_verify`)."""


def candidate(state, index: int, extraction: Extraction) -> None:
    """Note an answer's plan for verification (canonical actions), if it can be shown
    (`tasks.verification.readable_plan`)."""
    plan = readable_plan(state.instance, extraction.actions)
    if plan is not None:
        state.open[index] = plan
    return None


def prompt(instance: Instance, plan, settings) -> Prompt:
    """The zero-shot verification prompt of `plan` (canonical actions) for the instance."""
    template = template_of(instance, settings)
    return task_prompt(instance, template, zero_shot_prompt(template, instance, plan), shots=0)


def call(state, plan, settings, index: int, round_: int, parent: int) -> Request:
    """The verification call of `plan` as stored row `index` of round `round_` about answer
    `parent`."""
    return Request(prompt(state.instance, plan, settings), 1,
                   derive_seed(settings.seed, state.instance.id, index, round_), index, round_,
                   parent, verifies=plan)


def verdict(state, plan, answer: Completion, scored: tuple[Extraction, Verdict] | None,
            settings) -> Verdict:
    """What a verification call's answer says of `plan` (replayed answers are read again)."""
    return (scored or judged(state.instance, plan, answer.text, settings))[1]


def says_valid(claimed: Verdict) -> bool:
    """Whether the model called the plan valid."""
    return claimed.reason == Reason.VALID


def answered(state, offset: int, answer: Completion) -> float | None:
    """A scoring row (offset 2i: "valid", 2i + 1: "invalid" for answer i): the model's
    probability of "valid" between the two, carried by the second row."""
    answer_index, second = divmod(offset, 2)
    if not second:
        state.open[("valid", answer_index)] = answer.logprob
        return None
    said_valid = state.open.pop(("valid", answer_index), None)
    state.open.pop(answer_index, None)
    if said_valid is None or answer.logprob is None:
        return None
    return 1 / (1 + math.exp(answer.logprob - said_valid))
