"""The report per task on hand-made rows: the verification confusion and the self-verification
precision and recall against the validator, and plan execution's share of facts right."""

import pandas as pd
import pytest

from planbench_scale.analysis.tasks import execution, truth_kind, verification
from planbench_scale.instances import generate_set


@pytest.fixture(scope="module")
def instance():
    return next(i for i in generate_set("blocksworld", (3, 4), (4, 4), 1, seed=4))


def rows(records):
    frame = pd.DataFrame(records)
    frame["round"] = 0
    return frame


def test_the_confusion_and_self_verification_count_against_the_validator(instance):
    from planbench_scale.domains import vocabulary_of

    vocab = vocabulary_of(instance)
    plan = "\n".join(vocab.fact(a) for a in instance.optimal_plan)
    prefix = "\n".join(vocab.fact(a) for a in instance.optimal_plan[:1])
    broken = "\n".join(vocab.fact(a) for a in instance.optimal_plan[1:])
    assert (truth_kind(instance, plan), truth_kind(instance, prefix), truth_kind(instance, broken)) \
        == ("valid", "goal_not_reached", "inapplicable")
    made = rows([
        dict(instance_id=instance.id, plan=plan, reason="valid", outcome="plan", valid=True),
        dict(instance_id=instance.id, plan=plan, reason="inapplicable", outcome="plan", valid=False),
        dict(instance_id=instance.id, plan=prefix, reason="valid", outcome="plan", valid=False),
        dict(instance_id=instance.id, plan=prefix, reason="goal_not_reached", outcome="plan", valid=True),
        dict(instance_id=instance.id, plan=broken, reason="wrong_answer", outcome="no_plan", valid=False),
    ])
    tables = verification(made, [instance])
    confusion = tables["verification_confusion"].set_index(["truth", "claimed"])["answers"]
    assert confusion[("valid", "valid")] == 1 and confusion[("goal_not_reached", "valid")] == 1
    assert confusion[("inapplicable", "no verdict")] == 1 and confusion.sum() == 5
    scores = tables["self_verification"].iloc[0]
    assert scores["precision"] == pytest.approx(1 / 2) and scores["recall"] == pytest.approx(1 / 2)
    assert scores["verdict_right"] == pytest.approx(2 / 5)  # the "no verdict" answer is wrong
    assert scores["failure_right"] == pytest.approx(1 / 3) and scores["all_right"] == pytest.approx(2 / 5)


def test_execution_gives_exact_states_and_the_share_of_facts_right(instance):
    made = rows([
        dict(instance_id=instance.id, n_actions=4, unmet="", valid=True),
        dict(instance_id=instance.id, n_actions=3, unmet="(clear a)", valid=False),
        dict(instance_id=instance.id, n_actions=4, unmet="(clear a) (not (on a b))", valid=False),
    ])
    table = execution(made, [instance])["execution_share_right"].iloc[0]
    assert table["answers"] == 3 and table["exact"] == pytest.approx(1 / 3)
    assert table["share_right"] == pytest.approx((1 + 3 / 4 + (1 - 2 / 5)) / 3)
