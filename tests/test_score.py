"""Scoring: an answer's plan and the verdict on it."""

from planbench_scale.instances import generate_set
from planbench_scale.records import Outcome, Reason
from planbench_scale.score import check

SHORT = generate_set("blocksworld", (3, 3), (2, 2), per_step=1, seed=0)[0]  # pick-up a, stack a b


def test_check_accepts_the_optimal_plan_and_explains_a_wrong_one():
    extraction, verdict = check(SHORT, "1. (pick-up a)\n2. (stack a b)")
    assert extraction.outcome is Outcome.PLAN and verdict.valid
    extraction, verdict = check(SHORT, "(pick-up a)\n(pick-up c)")
    assert extraction.actions == ("(pick-up a)", "(pick-up c)")
    assert (verdict.reason, verdict.failed_step, verdict.unmet) == (
        Reason.INAPPLICABLE, 1, ("(handempty)", "(clear c)"))


def test_no_plan_in_the_answer_is_a_verdict_not_an_error():
    extraction, verdict = check(SHORT, "I do not know.")
    assert extraction.outcome is not Outcome.PLAN and not verdict.valid
