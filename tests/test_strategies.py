"""Strategies: the registry, revision chains, and real runs of the CPU default model into a store."""

import pytest

from planbench_scale.backends import Sampling, derive_seed
from planbench_scale.instances import generate_set
from planbench_scale.text.prompts import render
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Completion
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings
from planbench_scale.score import check
from planbench_scale.strategies import STRATEGIES, InstanceState, get
from planbench_scale.strategies.loop import run
from planbench_scale.text.feedback import SELF_REVISE_TEXT
from tests.conftest import Scripted

INSTANCES = generate_set("blocksworld", (3, 3), (2, 4), per_step=1, seed=0)
SHORT = INSTANCES[0]  # pick-up a, stack a b (a = red, b = blue, c = orange)


def sexprs(*actions):
    return "\n".join(f"({' '.join(action)})" for action in actions)


def said(text):
    return Completion(text, 0, 0, "stop")


def test_a_chain_stops_at_its_first_valid_plan_and_revises_otherwise():
    settings = Settings(strategy="revise", k=2, rounds=3)
    state = InstanceState(SHORT, render(SHORT))
    get("revise").start(state, settings)
    get("revise").answered(state, 0, 0, said(sexprs(*SHORT.optimal_plan)), None, settings)
    get("revise").answered(state, 1, 0, said("(stack a b)"), None, settings)
    assert list(state.open) == [1] and state.open[1][0] == 1
    assert "Step 1, stack the red block on top of the blue block" in state.open[1][1].text
    get("self-revise").answered(state, 1, 1, said("(stack a b)"), None, settings)
    assert state.open[1][1].text.endswith(SELF_REVISE_TEXT + "\n")
    waiting = dict(state.open)
    get("revise").answered(state, 1, 0, said("(stack a b)"), None, settings)  # round 0 is long answered
    assert state.open == waiting and waiting[1][0] == 2


def test_every_strategy_names_its_compute_unit_and_an_unknown_one_is_refused():
    assert {name: s.unit for name, s in STRATEGIES.items()} == {
        "sample": "samples", "revise": "rounds", "self-revise": "rounds", "beam": "nodes",
        "dvts": "nodes", "best-of-n": "samples", "random-legal": "samples"}
    assert get("sample").most_samples(Settings(k=5)) == 5
    assert get("revise").most_samples(Settings(k=5, rounds=2)) == 15
    with pytest.raises(PlanbenchError, match="unknown strategy 'mcts'"):
        get("mcts")


SAMPLING = Sampling(temperature=0.8, max_tokens=40)


def store(tmp_path, settings):
    config = RunConfig(settings, EngineConfig("vllm", "gemma-3-270m"), InstanceSource("set", None, 2))
    return RunWriter(tmp_path, config, INSTANCES, resume=True)


def test_repeated_sampling_with_the_cpu_model(tmp_path, cpu_backend):
    settings = Settings(k=3, seed=1, sampling=SAMPLING)
    with store(tmp_path, settings) as writer:
        progress = run(cpu_backend, INSTANCES, writer, settings)
    frame = read_samples(tmp_path)
    assert progress.samples == len(frame) == 6 and progress.finished == 2
    assert sorted(frame.groupby("instance_id", observed=True)["sample_index"].apply(list)
                  .map(sorted).tolist()) == [[0, 1, 2]] * 2
    for row in frame.itertuples():
        instance = next(i for i in INSTANCES if i.id == row.instance_id)
        extraction, verdict = check(instance, row.text)
        assert (row.valid, row.reason, row.n_actions) == (
            verdict.valid, verdict.reason.value, len(extraction.actions))
        assert row.prompt_hash == render(instance).hash and row.seed == derive_seed(1, instance.id, 0)
        assert 0 < row.completion_tokens <= 40 and row.prompt_tokens > 100
    assert (frame.finish_reason == "length").any()
    with store(tmp_path, settings) as writer:
        assert run(cpu_backend, INSTANCES, writer, settings).samples == 0


def test_revision_with_the_cpu_model_stores_every_round(tmp_path, cpu_backend):
    settings = Settings(strategy="revise", k=1, rounds=2, sampling=SAMPLING)
    with store(tmp_path, settings) as writer:
        run(cpu_backend, INSTANCES, writer, settings)
    frame = read_samples(tmp_path).sort_values(["instance_id", "round"])
    for _, chain in frame.groupby("instance_id", observed=True):
        rounds = chain["round"].tolist()
        assert rounds == list(range(len(rounds))) and 1 <= len(rounds) <= 3
        assert chain["valid"].tolist()[:-1] == [False] * (len(rounds) - 1)
        assert len(rounds) == 3 or chain["valid"].iloc[-1]
        assert chain["prompt_hash"].nunique() == len(rounds)
    assert set(frame.strategy) == {"revise"}


def test_token_budget_stops_new_requests(tmp_path, cpu_backend):
    settings = Settings(strategy="self-revise", k=1, rounds=5, sampling=SAMPLING,
                        budget_tokens=1)
    with store(tmp_path, settings) as writer:
        run(cpu_backend, INSTANCES, writer, settings)
    assert read_samples(tmp_path)["round"].max() == 0


def test_resume_fills_a_partly_stored_request_without_duplicates(tmp_path, cpu_backend):
    settings = Settings(k=3, seed=2, sampling=SAMPLING)
    with store(tmp_path, settings) as writer:
        stored = [_sample_row(instance, index) for instance in INSTANCES for index in (0, 2)]
        writer.append(stored)
    with store(tmp_path, settings) as writer:
        assert run(cpu_backend, INSTANCES, writer, settings).samples == 2
    frame = read_samples(tmp_path)
    assert not frame.duplicated(["instance_id", "sample_index"]).any() and len(frame) == 6
    assert set(frame.loc[frame.sample_index != 1, "text"]) == {"stored before"}


def _sample_row(instance, index):
    from planbench_scale.records import Sample
    return Sample(instance.id, instance.domain, instance.vocabulary, len(instance.objects),
                  instance.optimal_length, index, 0, "sample", "h", "stored before", 1, 1,
                  "stop", "empty", "", 0, False, "empty_plan", -1, "", 0)


def test_a_token_budget_stops_at_computed_tokens(tmp_path, cpu_backend):
    """Revision chains re-send a growing conversation: each round is charged the prompt tokens
    it computed, so a chain stops at the first round that reaches the budget."""
    settings = Settings(strategy="self-revise", k=1, rounds=6, sampling=SAMPLING,
                        budget_tokens=150)
    with store(tmp_path, settings) as writer:
        run(cpu_backend, INSTANCES, writer, settings)
    frame = read_samples(tmp_path).sort_values(["instance_id", "round"])
    assert (frame["cached_tokens"] >= 0).all()  # vLLM always says what its cache served
    assert (frame["computed_tokens"] == frame["prompt_tokens"] - frame["cached_tokens"]).all()
    assert (frame.loc[frame["round"] > 0, "cached_tokens"] > 0).all()  # the conversation so far
    for _, chain in frame.groupby("instance_id", observed=True):
        spent = (chain["computed_tokens"] + chain["completion_tokens"]).cumsum().tolist()
        assert all(before < 150 for before in spent[:-1])  # every round but the last was allowed
        assert spent[-1] >= 150 or chain["valid"].iloc[-1] or len(spent) == 7


def test_a_resumed_optimal_planning_chain_revises_a_valid_but_longer_plan(tmp_path):
    """t2 judges by optimality: a stored valid plan twice the optimal length leaves its chain
    open on resume (plan generation's check would have closed it as valid)."""
    from planbench_scale.backends import Request
    from planbench_scale.strategies.loop import sample_row
    from planbench_scale.tasks import get as task

    settings = Settings(strategy="revise", k=1, rounds=2, task="t2")
    detour = sexprs(("pick-up", "a"), ("put-down", "a"), *SHORT.optimal_plan)
    extraction, verdict = task("t2").score(SHORT, detour, settings)
    assert check(SHORT, detour)[1].valid and not verdict.valid
    row = sample_row(SHORT, Request(render(SHORT), 1, 0), 0, said(detour), extraction, verdict,
                     "revise")
    with store(tmp_path, settings) as writer:
        writer.append([row])
    backend = Scripted(sexprs(*SHORT.optimal_plan))
    with store(tmp_path, settings) as writer:
        run(backend, [SHORT], writer, settings, INSTANCES)
    assert backend.asked == [(SHORT.id, 0, 1, False)]
    frame = read_samples(tmp_path).sort_values("round")
    assert frame["valid"].tolist() == [False, True]


def test_the_self_critic_revises_with_its_own_critique_and_stops_when_it_calls_the_plan_valid(
        tmp_path):
    """An inapplicable plan each round; the model calls it invalid once (its critique is the
    next round's feedback), then valid: the chain stops though the validator disagrees. Its
    verification calls are rows k + chain of their round, and a resume asks nothing again."""
    settings = Settings(strategy="revise", k=1, rounds=3, critic="self")
    critique = "Plan is invalid. The red block is not clear at step 1."
    backend = Scripted("(stack a b)", [critique, "Plan is valid."])
    with store(tmp_path, settings) as writer:
        run(backend, [SHORT], writer, settings, INSTANCES)
    assert backend.asked == [(SHORT.id, 0, 0, False), (SHORT.id, 1, 0, True),
                             (SHORT.id, 0, 1, False), (SHORT.id, 1, 1, True)]
    frame = read_samples(tmp_path).sort_values(["round", "sample_index"])
    assert frame[["sample_index", "round", "parent"]].values.tolist() == [
        [0, 0, -1], [1, 0, 0], [0, 1, -1], [1, 1, 0]]
    calls = frame.loc[frame["sample_index"] == 1]
    assert calls["reason"].tolist() == ["inapplicable", "valid"]
    assert calls["plan"].tolist() == ["(stack a b)"] * 2 and not frame["valid"].iloc[3]
    assert calls["valid"].tolist() == [False, False]  # step 1 named, but not the unmet facts
    again = Scripted("unused")
    with store(tmp_path, settings) as writer:
        assert run(again, [SHORT], writer, settings, INSTANCES).samples == 0
    assert again.asked == []


def test_the_self_critic_sees_its_critique_and_an_unshowable_plan_gets_self_revise_words():
    settings = Settings(strategy="revise", k=2, rounds=2, critic="self")
    revise, state = get("revise"), InstanceState(SHORT, render(SHORT))
    revise.start(state, settings)
    revise.answered(state, 0, 0, said("(stack a b)"), None, settings)
    revise.answered(state, 1, 0, said("(fly a)"), None, settings)
    assert state.open[0][3] == (("stack", "a", "b"),) and state.open[1][0] == 1
    assert state.open[1][1].text.endswith(SELF_REVISE_TEXT + "\n")
    revise.answered(state, 2, 0, said("Plan is invalid. Stack needs a held block."), None, settings)
    assert state.open[0][0] == 1
    assert state.open[0][1].text.endswith("Plan is invalid. Stack needs a held block.\n"
                                          "Please give a corrected plan.\n")
    with pytest.raises(PlanbenchError, match="self-revise gives none"):
        get("self-revise").check(settings, [SHORT])
