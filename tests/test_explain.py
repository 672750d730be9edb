import json

from planbench_scale.domains import task_for
from planbench_scale.records import Instance, Reason, Verdict
from planbench_scale.symbolic.explain import (explain, verdict_dict, verdict_lines, verdict_members,
                                              verdict_summary)
from planbench_scale.symbolic.validate import validate

INSTANCE = Instance("e/1", "blocksworld", "blocksworld", ("a", "b"),
                    (("clear", "a"), ("handempty",), ("on", "a", "b"), ("ontable", "b")),
                    (("on", "b", "a"),), ())
PLAN = ["(unstack a b)", "(put-down a)", "(pick-up b)", "(stack b a)"]


def test_valid_plan_in_every_form():
    task = task_for(INSTANCE)
    verdict = validate(task, PLAN, trace=True)
    assert explain(task, PLAN, verdict) == "all 4 actions apply and the goal holds at the end"
    lines = verdict_lines(task, PLAN, verdict).split("\n")
    assert lines[0] == "valid: all 4 actions apply and the goal holds at the end"
    assert lines[1] == "  state 0: (clear a) (handempty) (on a b) (ontable b)" and len(lines) == 6
    assert verdict_summary(verdict) == "valid"
    report = verdict_dict(task, PLAN, verdict)
    assert report["trace"][-1] == ["(clear b)", "(handempty)", "(on b a)", "(ontable a)"]


def test_invalid_plan_in_every_form():
    task = task_for(INSTANCE)
    plan = ["(unstack a b)", "(stack b a)"]
    verdict = validate(task, plan)
    assert verdict == Verdict(False, Reason.INAPPLICABLE, 1, ("(clear a)", "(holding b)"))
    assert verdict_lines(task, plan, verdict) == \
        "invalid: step 2 (stack b a): unmet preconditions (clear a) (holding b)"
    assert verdict_summary(verdict) == "invalid: inapplicable at step 2; unmet: (clear a) (holding b)"
    assert verdict_dict(task, plan, verdict) == {
        "valid": False, "reason": "inapplicable", "failed_step": 1,
        "unmet": ["(clear a)", "(holding b)"],
        "message": "step 2 (stack b a): unmet preconditions (clear a) (holding b)"}
    assert json.loads("{" + verdict_members(verdict) + "}") == {
        "valid": False, "reason": "inapplicable", "failed_step": 1,
        "unmet": ["(clear a)", "(holding b)"]}
    assert verdict_summary(validate(task, [])) == "invalid: empty_plan; unmet: (on b a)"
