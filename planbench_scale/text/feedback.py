"""Feedback wording: the validator's verdict told to the model in the prompt's own words."""

from __future__ import annotations

from typing import Sequence

from planbench_scale.records import Extraction, Instance, Outcome, Reason, Verdict
from planbench_scale.text.prompts import describe_action, describe_fact

SELF_REVISE_TEXT = ("Check your plan step by step against the rules and the goal, and fix it if "
                    "needed. Then write the complete plan again.")
"""What "self-revise" tells the model after each answer."""


def feedback_text(instance: Instance, extraction: Extraction, verdict: Verdict,
                  templates: str = "default") -> str:
    """The validator's verdict told in the prompt's own vocabulary, ending with a request to fix."""
    ask = "Please give a corrected plan."
    if extraction.outcome is not Outcome.PLAN or verdict.reason is Reason.EMPTY_PLAN:
        return f"No plan was found in your answer. Write the plan as one action per line. {ask}"
    if verdict.reason is Reason.GOAL_NOT_REACHED:
        missing = _facts(instance, verdict.unmet, templates, negate=True)
        return f"The plan can be carried out, but the goal is not reached: {missing}. {ask}"
    if verdict.reason is Reason.NOT_OPTIMAL:  # optimal planning (t2)
        return (f"The plan reaches the goal in {len(extraction.actions)} steps, but a plan with "
                "fewer steps exists. Please give a shorter plan.")
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
