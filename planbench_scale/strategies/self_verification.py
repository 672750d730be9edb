"""The model as its own verifier, for best-of-n's "self-verify" score: each answer's plan is put
to the model in PlanBench's zero-shot verification prompt, and the answer is ranked by the
model's probability of saying "Plan is valid." rather than "Plan is invalid."."""

from __future__ import annotations

import math

from planbench_scale import domains
from planbench_scale.records import Completion, Extraction, Instance, Prompt, Reason, Verdict
from planbench_scale.tasks.verification import zero_shot_prompt
from planbench_scale.tasks.wording import task_prompt, template_of

READABLE = (Reason.VALID, Reason.INAPPLICABLE, Reason.GOAL_NOT_REACHED)
"""Verdicts of plans whose actions up to the failing one are the instance's."""


def candidate(state, index: int, extraction: Extraction, verdict: Verdict) -> None:
    """Note an answer's plan for verification (canonical actions), if it can be shown: every
    action of it (after a failing one too) is one of the instance's."""
    task = domains.task_for(state.instance)
    if verdict.reason in READABLE and extraction.actions and \
            all(task.find(a) is not None for a in extraction.actions):
        state.open[index] = tuple(domains.canonical(state.instance, a, "actions")
                                  for a in extraction.actions)
    return None


def prompt(instance: Instance, plan, settings) -> Prompt:
    """The zero-shot verification prompt of `plan` (canonical actions) for the instance."""
    template = template_of(instance, settings)
    return task_prompt(instance, template, zero_shot_prompt(template, instance, plan), shots=0)


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
