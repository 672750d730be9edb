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


def best_of_n_rows():
    """Two instances, two answers each with self-verify's two scoring rows per answer: on "x"
    the model prefers its valid answer, on "y" both answers are invalid."""
    base = dict(run="r", round=0, strategy="best-of-n", domain="blocksworld", optimal_length=2,
                prompt_tokens=5, computed_tokens=5, cached_tokens=0, n_objects=3)
    made = []
    for name, valid, scores in (("x", [False, True], [0.2, 0.9]), ("y", [False, False], [0.5, 0.4])):
        for i in range(2):
            made.append(dict(base, instance_id=name, sample_index=i, valid=valid[i], plan_code=i,
                             finish_reason="stop", score=None, parent=-1, completion_tokens=5))
            for row, score in ((2 + 2 * i, None), (3 + 2 * i, scores[i])):
                made.append(dict(base, instance_id=name, sample_index=row, valid=False, plan_code=9,
                                 finish_reason="scored", score=score, parent=i, completion_tokens=0))
    frame = pd.DataFrame(made)
    return frame.astype({"run": "category", "strategy": "category"})


def test_selection_by_self_verification_beside_coverage_majority_and_first_sample():
    from planbench_scale.analysis import metrics
    from planbench_scale.analysis.tasks import selection_vs_verifier

    samples = best_of_n_rows()
    table = selection_vs_verifier(samples, metrics.per_instance(samples)).set_index("k")
    assert table.loc[2, "coverage"] == 0.5 and table.loc[2, "selected"] == 0.5
    assert table.loc[2, "majority_vote"] == 0.0  # x's two plans tie: the first seen, invalid
    assert table.loc[1, "selected"] == table.loc[1, "first_sample"] == 0.25
    assert (table["first_sample"] == 0.25).all()


def test_accuracy_per_task_places_replanning_and_reuse_at_the_length_asked(tmp_path):
    """t6 rows sit at the re-plan's optimal length, t4's at the reused prefix's, t1's at the
    instance's own."""
    from types import SimpleNamespace

    from planbench_scale.analysis.tasks import accuracy_by_task
    from planbench_scale.config import Settings
    from dataclasses import replace

    from conftest import run_config
    from planbench_scale.store import RunWriter
    from planbench_scale.tasks import get
    from planbench_scale.tasks.replanning import replanned
    from planbench_scale.tasks.reuse import reuse_prefix

    instances = generate_set("blocksworld", (4, 4), (6, 8), 2, seed=3)
    samples = pd.DataFrame([dict(run="r", instance_id=i.id, round=0, domain=i.domain,
                                 optimal_length=i.optimal_length, valid=True,
                                 finish_reason="stop", parent=-1, depth=0) for i in instances])
    wanted = {"t1": [i.optimal_length for i in instances],
              "t6": [replanned(i, 0)[1].optimal_length for i in instances],
              "t4": [reuse_prefix(i, 0) for i in instances]}
    assert wanted["t6"] != wanted["t1"] and wanted["t4"] != wanted["t1"]
    for task, lengths in wanted.items():
        config = replace(run_config(), settings=Settings(task=task))
        with RunWriter(tmp_path / task, config, instances):
            pass
        run = SimpleNamespace(name="r", path=tmp_path / task, samples=samples, config=config)
        table = accuracy_by_task([run])
        expected = pd.Series(lengths).value_counts().sort_index()
        assert table.set_index("optimal_length")["answers"].sort_index().tolist() == expected.tolist()
        assert table["optimal_length"].sort_values().tolist() == sorted(set(lengths)), task
        assert get(task).name == task
