"""Feedback wording: the validator's verdict in the prompt's own words."""

from planbench_scale.instances import generate_set
from planbench_scale.score import check
from planbench_scale.text.feedback import _negate, feedback_text
from planbench_scale.text.prompts import describe_action

SHORT = generate_set("blocksworld", (3, 3), (2, 2), per_step=1, seed=0)[0]  # pick-up a, stack a b


def test_feedback_names_the_failed_step_and_unmet_fact_in_prompt_words():
    extraction, verdict = check(SHORT, "(pick-up a)\n(pick-up c)")
    text = feedback_text(SHORT, extraction, verdict)
    assert describe_action(SHORT, "(pick-up c)") == "pick up the orange block"
    assert text == ("Step 2, pick up the orange block, is not possible because the hand is not "
                    "empty and the orange block is not clear. Please give a corrected plan.")


def test_negation_of_a_phrase():
    assert _negate("the red block is clear") == "the red block is not clear"
    assert _negate("the blocks are stacked") == "the blocks are not stacked"
    assert _negate("the hand holds it") == "it is not true that the hand holds it"


def test_feedback_for_a_missed_goal_and_for_no_plan():
    extraction, verdict = check(SHORT, "(pick-up a)\n(put-down a)")
    text = feedback_text(SHORT, extraction, verdict)
    assert "the goal is not reached: the red block is not on top of the blue block" in text
    extraction, verdict = check(SHORT, "I do not know.")
    assert feedback_text(SHORT, extraction, verdict).startswith("No plan was found")




def test_feedback_for_a_valid_plan_longer_than_optimal():
    from planbench_scale.config import Settings
    from planbench_scale.tasks import get

    extraction, verdict = get("t2").score(
        SHORT, "(pick-up a)\n(put-down a)\n(pick-up a)\n(stack a b)", Settings(task="t2"))
    assert feedback_text(SHORT, extraction, verdict) == (
        "The plan reaches the goal in 4 steps, but a plan with fewer steps exists. Please give "
        "a shorter plan.")
