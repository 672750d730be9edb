"""best-of-n --score self-verify: the model's probability of "Plan is valid." against "Plan is
invalid." in PlanBench's zero-shot verification prompt ranks the answers."""

import math
from dataclasses import replace

import pytest

from planbench_scale import runner
from planbench_scale.analysis.compute import best_of_n
from planbench_scale.analysis.report import load_run
from planbench_scale.config import Sampling, Settings
from planbench_scale.domains import task_for
from planbench_scale.instances import generate_set
from planbench_scale.records import Completion, Extraction, Outcome, Reason, Verdict
from planbench_scale.store import read_samples
from planbench_scale.errors import PlanbenchError
from planbench_scale.strategies import InstanceState, get, self_verification
from planbench_scale.tasks.verification import ASK_ZERO_SHOT
from planbench_scale.text.prompts import render
from tests.conftest import run_config


@pytest.fixture(scope="module")
def instances():
    return generate_set("blocksworld", (3, 4), (2, 4), 1, seed=2)


def test_the_probability_of_valid_is_taken_between_the_two_answers(instances):
    state = InstanceState(instances[0], render(instances[0]))
    plan = ("(pick-up a)",)
    self_verification.candidate(state, 0, Extraction(plan, Outcome.PLAN))
    assert state.open[0] == (("pick-up", "a"),)
    self_verification.candidate(state, 1, Extraction(("(fly a)",), Outcome.PLAN))
    self_verification.candidate(state, 2, Extraction(("(stack a b)", "(fly a)"), Outcome.PLAN))
    assert 1 not in state.open and 2 not in state.open  # not shown in words: not verified
    assert self_verification.answered(state, 0, Completion("v", 9, 0, "scored", logprob=-1.0)) is None
    p = self_verification.answered(state, 1, Completion("i", 9, 0, "scored", logprob=-2.0))
    assert p == pytest.approx(1 / (1 + math.exp(-1.0))) and not state.open
    text = self_verification.prompt(instances[0], (("pick-up", "a"),), Settings()).text
    assert text.endswith(ASK_ZERO_SHOT) and "[PLAN]\n" in text


def test_best_of_n_selects_by_self_verification_with_the_cpu_model(cpu_backend, instances, tmp_path):
    chosen = instances[:2]
    settings = Settings(strategy="best-of-n", score="self-verify", self_verify="probability",
                        k=2, shots=1, sampling=Sampling(max_tokens=32, temperature=0.8))
    runner.execute(replace(run_config(), settings=settings), chosen, instances, tmp_path,
                   show_progress=False, backend=cpu_backend)
    rows = read_samples(tmp_path)
    by_id = {i.id: i for i in chosen}
    answers = rows.loc[rows["sample_index"] < 2]
    scoring = rows.loc[rows["sample_index"] >= 2]
    assert len(answers) == 4 and set(scoring["finish_reason"]) <= {"scored"}
    readable = [n > 0 and all(task_for(by_id[i]).find(a) is not None
                              for a in str(plan).split("\n"))
                for i, n, plan in zip(answers["instance_id"], answers["n_actions"], answers["plan"])]
    assert len(scoring) == 2 * sum(readable) and (scoring["parent"] >= 0).all()
    probabilities = scoring["score"].dropna()
    assert len(probabilities) == len(scoring) // 2 and probabilities.between(0, 1).all()
    table = best_of_n(load_run(tmp_path).samples)
    assert set(table["k"]) == {1, 2} and table["best_of_n"].between(0, 1).all()


def test_verdict_mode_selects_the_first_answer_the_model_calls_valid_and_charges_its_calls(
        instances, tmp_path):
    """Two answers, the same inapplicable plan: the model calls the first invalid and the second
    valid, so the second is selected (and is wrong, as the validator says); the verification
    calls are rows k + i with their answer as parent, counted in compute, not as answers."""
    from planbench_scale.analysis import metrics
    from planbench_scale.store import RunWriter
    from planbench_scale.strategies.loop import run
    from tests.conftest import Scripted

    instance = instances[0]
    settings = Settings(strategy="best-of-n", score="self-verify", k=2)
    assert not get("best-of-n").asks_logprobs(settings)
    backend = Scripted("(stack a b)\n(pick-up a)", ["Plan is invalid.", "Plan is valid."])
    with RunWriter(tmp_path, replace(run_config(), settings=settings), [instance]) as writer:
        run(backend, [instance], writer, settings, instances)
    rows = read_samples(tmp_path).sort_values("sample_index")
    assert rows[["sample_index", "parent", "score"]].fillna(-9).values.tolist() == [
        [0, -1, -9], [1, -1, -9], [2, 0, 0.0], [3, 1, 1.0]]
    assert rows["reason"].tolist()[2:] == ["wrong_answer", "valid"]
    assert rows["plan"].iloc[2] == rows["plan"].iloc[0]  # the call's row holds the plan verified
    samples = load_run(tmp_path).samples
    per = metrics.per_instance(samples).iloc[0]
    assert (per["n"], per["c"], per["compute"]) == (2, 0, 4 * 15)
    from planbench_scale.analysis.tasks import verification_calls

    calls = verification_calls([load_run(tmp_path)]).iloc[0]  # one right "invalid", one wrong "valid"
    assert (calls["answers"], calls["precision"], calls["verdict_right"]) == (2, 0.0, 0.5)


def test_an_unknown_self_verification_mode_is_refused(instances):
    with pytest.raises(PlanbenchError, match="unknown --self-verify 'vote'"):
        get("best-of-n").check(Settings(strategy="best-of-n", score="self-verify",
                                        self_verify="vote"), instances)


def test_verdict_mode_and_the_self_critic_with_the_cpu_model(cpu_backend, instances, tmp_path):
    """The model writes its verification answers: every readable answer gets one call (row
    k + i), stored as a verdict on that answer's plan; the self critic's chains each answer
    and are criticized in turn."""
    chosen = instances[:2]
    sampling = Sampling(max_tokens=24, temperature=0.8)
    settings = Settings(strategy="best-of-n", score="self-verify", k=2, shots=1, sampling=sampling)
    runner.execute(replace(run_config(), settings=settings), chosen, instances, tmp_path / "b",
                   show_progress=False, backend=cpu_backend)
    rows = read_samples(tmp_path / "b")
    calls = rows.loc[rows["sample_index"] >= 2]
    answers = rows.loc[rows["sample_index"] < 2].set_index(["instance_id", "sample_index"])
    assert set(calls["finish_reason"]) <= {"stop", "length"} and set(calls["score"]) <= {0.0, 1.0}
    for call in calls.itertuples():
        assert call.plan == answers.loc[(call.instance_id, call.parent), "plan"]
    critic = Settings(strategy="revise", critic="self", k=1, rounds=1, shots=1, sampling=sampling)
    runner.execute(replace(run_config(), settings=critic), chosen, instances, tmp_path / "r",
                   show_progress=False, backend=cpu_backend)
    rows = read_samples(tmp_path / "r")
    assert set(rows.loc[rows["sample_index"] == 1, "parent"]) <= {0}
    assert (rows.loc[rows["sample_index"] == 0, "round"] == 0).sum() == 2
