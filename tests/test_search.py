"""Step-level search (beam, dvts), the random-legal control and the step scores: the stored
tree checked row by row against an independent breadth-first search; the model's own scores
from the real CPU model."""

import random
from dataclasses import replace

import pytest
from blocks_bfs import bfs_plan, strips_rules

from planbench_scale import backends
from planbench_scale.backends import Request, ScoreRequest
from planbench_scale.domains import canonical, get as domain, task_for, vocabulary_of
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import generate_set, write_set
from planbench_scale.records import Prompt
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Sampling, Settings
from planbench_scale.score import STEP_SCORES, applicable, state_after
from planbench_scale.runner import OnDemand, execute, plan_run
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.strategies.loop import run
from planbench_scale.strategies.random_legal import walk

INSTANCES = generate_set("mystery", (4, 4), (4, 8), per_step=1, seed=0)
SHORT = generate_set("blocksworld", (3, 3), (2, 2), per_step=1, seed=0)


class NoModel:
    """A backend that must not be asked: searches over legal steps with a symbolic score."""

    model = "none"

    def generate(self, requests, sampling):
        assert not list(requests), "a symbolic search asked the model"
        return iter(())

    def require_logprobs(self):
        raise AssertionError("a symbolic search asked for log-probabilities")

    def score(self, requests):
        raise AssertionError("a symbolic search scored text")


def search(tmp_path, backend, settings, instances=INSTANCES):
    config = RunConfig(settings, EngineConfig("vllm", "m"), InstanceSource("set", None, 3))
    with RunWriter(tmp_path, config, instances, resume=True) as writer:
        progress = run(backend, instances, writer, settings)
    return progress, read_samples(tmp_path)


def bfs_distance(instance, plan: str) -> int:
    """Optimal steps left after a plan, by plain breadth-first search in canonical facts."""
    actions = plan.split("\n") if plan else []
    task = task_for(instance)
    facts = tuple(canonical(instance, f) for f in task.fact_names(state_after(instance, actions)))
    return len(bfs_plan(instance.objects, facts, instance.goal))


def check_tree(frame):
    """Every node continues its stored parent by at least one step, one level deeper."""
    for _, rows in frame.groupby("instance_id", observed=True):
        nodes = rows.set_index("sample_index")
        assert nodes.index.is_unique
        for row in rows.itertuples():
            if row.parent == -1:
                assert row.depth == 1
                continue
            parent = nodes.loc[row.parent]
            assert row.depth == parent.depth + 1
            assert row.plan.startswith(parent.plan + "\n") or row.finish_reason == "scored"


def test_beam_with_the_distance_oracle_finds_optimal_plans_and_stores_its_tree(tmp_path):
    settings = Settings(strategy="beam", k=2, beam_width=2, propose="legal", score="distance", depth=12)
    progress, frame = search(tmp_path, NoModel(), settings)
    assert progress.solved == len(INSTANCES)
    check_tree(frame)
    for instance in INSTANCES:
        rows = frame.loc[frame.instance_id == instance.id]
        assert rows.loc[rows.valid, "n_actions"].min() == instance.optimal_length
        assert rows.depth.max() == instance.optimal_length  # it stops at its first valid plan
        alive = rows.loc[rows.score.notna()]
        assert len(alive) and all(row.score == -bfs_distance(instance, row.plan)
                                  for row in alive.itertuples())
        dead = rows.loc[rows.score.isna()]
        assert not dead.valid.any() and set(dead.reason) <= {"inapplicable"}
    assert (frame.prompt_tokens == 0).all() and set(frame.finish_reason) == {"legal"}


def test_legal_proposals_are_exactly_the_applicable_actions(tmp_path):
    settings = Settings(strategy="beam", k=1, beam_width=1, propose="legal", score="goal-count",
                        budget_samples=1)
    _, frame = search(tmp_path, NoModel(), settings)
    for instance in INSTANCES:
        rows = frame.loc[frame.instance_id == instance.id]
        facts = set(instance.init)
        expected = {vocabulary_of(instance).fact(a) for a, pre, _, _ in
                    strips_rules(instance.objects) if pre <= facts}
        assert set(rows.plan) == expected and (rows.depth == 1).all()
        goal = task_for(instance).goal
        for row in rows.itertuples():
            held = state_after(instance, [row.plan])
            assert row.score == (held & goal).bit_count() / goal.bit_count()


def test_dvts_keeps_one_node_per_subtree_and_beam_keeps_k(tmp_path):
    dvts = Settings(strategy="dvts", k=3, beam_width=1, propose="legal", score="valid-prefix")
    _, frame = search(tmp_path / "dvts", NoModel(), dvts)
    parents = frame.loc[frame.depth > 1].groupby(["instance_id", "depth"], observed=True)
    assert parents["parent"].nunique().max() == 3  # 3 subtrees, each expands one node a depth
    beam = Settings(strategy="beam", k=2, beam_width=2, propose="legal", score="goal-count")
    _, frame = search(tmp_path / "beam", NoModel(), beam)
    counts = frame.loc[frame.depth > 1].groupby(["instance_id", "depth"], observed=True)
    assert counts["parent"].nunique().max() == 2


def test_a_budget_stops_a_search_within_one_node_of_its_limit(tmp_path):
    settings = Settings(strategy="beam", k=3, beam_width=3, propose="legal", score="goal-count",
                        budget_samples=5)
    _, frame = search(tmp_path, NoModel(), settings)
    stopped_early = 0
    for _, rows in frame.groupby("instance_id", observed=True):
        assert rows.depth.max() <= 2
        second = rows.loc[rows.depth == 2]
        last = second.loc[second.parent == second.parent.iloc[-1]] if len(second) else second
        assert len(rows) - len(last) < 5  # the last node was asked for within the budget
        stopped_early += second.parent.nunique() < min(3, (rows.depth == 1).sum())
    assert stopped_early  # some beam was cut short of its three nodes


def test_a_resumed_search_rebuilds_the_same_tree(tmp_path):
    settings = Settings(strategy="beam", k=2, beam_width=2, propose="legal", score="goal-count")
    _, whole = search(tmp_path / "whole", NoModel(), settings)
    config = RunConfig(settings, EngineConfig("vllm", "m"), InstanceSource("set", None, 3))
    with RunWriter(tmp_path / "part", config, INSTANCES, resume=True) as writer:
        from planbench_scale.records import Sample
        columns = list(Sample.__dataclass_fields__)
        kept = whole.loc[whole.depth <= 2, columns]
        writer.append([Sample(**row) for row in kept.to_dict("records")])
    progress, resumed = search(tmp_path / "part", NoModel(), settings)
    assert progress.samples == len(whole) - len(kept)
    key = ["instance_id", "sample_index"]
    pairs = whole.merge(resumed, on=key, suffixes=("", "_resumed"))
    assert len(pairs) == len(whole) == len(resumed)
    assert (pairs.plan == pairs.plan_resumed).all() and (pairs.parent == pairs.parent_resumed).all()


def test_random_walks_take_only_applicable_actions_and_stop_at_the_goal():
    instance = SHORT[0]
    task = task_for(instance)
    for seed in range(30):
        actions = walk(instance, 10, seed)
        assert walk(instance, 10, seed) == actions and len(actions) <= 10
        for i, action in enumerate(actions):
            assert action in applicable(instance, state_after(instance, actions[:i]))
            assert state_after(instance, actions[:i]) & task.goal != task.goal
    ends = [state_after(instance, walk(instance, 10, seed)) & task.goal == task.goal
            for seed in range(30)]
    assert any(ends) and not all(ends)


def test_random_legal_stores_walks_without_tokens(tmp_path):
    settings = Settings(strategy="random-legal", k=4, depth=8)
    progress, frame = search(tmp_path, NoModel(), settings)
    assert len(frame) == 12 and set(frame.finish_reason) == {"legal"}
    assert (frame.completion_tokens == 0).all() and set(frame.reason) <= {"valid", "goal_not_reached"}
    assert (frame.loc[~frame.valid, "n_actions"] == 8).all()


def test_distance_with_a_block_in_hand_matches_breadth_first_search():
    rng = random.Random(1)
    for instance in INSTANCES:
        for _ in range(5):
            actions = []
            for _ in range(rng.randrange(1, 6)):
                actions.append(rng.choice(applicable(instance, state_after(instance, actions))))
            state = state_after(instance, actions)
            facts = tuple(canonical(instance, f) for f in task_for(instance).fact_names(state))
            assert domain(instance.domain).distance(instance, facts) == len(
                bfs_plan(instance.objects, facts, instance.goal))
            assert STEP_SCORES["distance"](instance, state, None) == -len(
                bfs_plan(instance.objects, facts, instance.goal))


def test_settings_that_cannot_work_are_refused_before_the_run_folder_is_made(tmp_path):
    folder = tmp_path / "set"
    write_set(INSTANCES, folder)
    longest = max(i.optimal_length for i in INSTANCES)
    for settings, message in [
            (Settings(strategy="beam", k=4, beam_width=2, depth=longest - 1), "below the optimal"),
            (Settings(strategy="random-legal", k=4, depth=2), "below the optimal"),
            (Settings(strategy="beam", k=2, beam_width=4), "must divide --k 2"),
            (Settings(strategy="dvts", k=6, beam_width=4), "must divide --k 6")]:
        with pytest.raises(PlanbenchError, match=message):
            plan_run(settings, EngineConfig("vllm", "m"), folder, resolve=lambda same: same)
    config, _, _ = plan_run(Settings(strategy="beam", k=4, beam_width=2, depth=longest),
                            EngineConfig("vllm", "m"), folder, resolve=lambda same: same)
    assert config.settings.depth == longest


def test_a_run_that_needs_no_model_never_loads_one(tmp_path):
    folder = tmp_path / "set"
    write_set(INSTANCES, folder)
    settings = Settings(strategy="beam", k=2, beam_width=2, propose="legal", score="distance")
    engine = EngineConfig("vllm", str(tmp_path / "no-such-model"))  # loading it would fail
    config, chosen, pool = plan_run(settings, engine, folder, resolve=lambda same: same)
    progress = execute(config, chosen, pool, tmp_path / "run", show_progress=False)
    assert progress.solved == len(INSTANCES)
    with pytest.raises(PlanbenchError, match="model folder not found"):
        sampled = replace(config, settings=Settings(k=1))
        execute(sampled, chosen, pool, tmp_path / "sampled", show_progress=False)


def test_unknown_scores_and_proposals_are_refused(tmp_path):
    with pytest.raises(PlanbenchError, match="unknown step score 'oracle'"):
        search(tmp_path / "a", NoModel(), Settings(strategy="beam", score="oracle"))
    with pytest.raises(PlanbenchError, match="unknown proposal 'greedy'"):
        search(tmp_path / "b", NoModel(), Settings(strategy="beam", propose="greedy"))


SAMPLING = Sampling(temperature=1.0, max_tokens=24)


def test_scores_of_the_cpu_model_add_up_over_a_split_continuation(cpu_backend):
    prompt = Prompt("p", "I have a red block and a blue block on the table. My plan:\n", ())
    whole, first, rest = "pick up the red block\n", "pick up the red", " block\n"
    results = list(cpu_backend.score([ScoreRequest(prompt, (whole, first, "block red the up pick\n"))]))
    scored = results[0].completions
    longer = Prompt("p", prompt.text + first, ())
    tail = next(iter(cpu_backend.score([ScoreRequest(longer, (rest,))]))).completions[0]
    assert scored[0].logprob == pytest.approx(scored[1].logprob + tail.logprob, abs=0.05)
    assert scored[0].logprob_tokens == scored[1].logprob_tokens + tail.logprob_tokens == 6
    assert scored[0].logprob > scored[2].logprob and all(c.logprob < 0 for c in scored)
    again = next(iter(cpu_backend.score([ScoreRequest(prompt, (whole,))]))).completions[0]
    assert again.logprob == pytest.approx(scored[0].logprob, abs=0.05)  # all of it cached now
    assert scored[0].prompt_tokens > scored[1].prompt_tokens > 15
    assert {c.finish_reason for c in scored} == {"scored"} and scored[0].completion_tokens == 0


def test_beam_of_the_cpu_model_with_its_own_scores(tmp_path, cpu_backend):
    settings = Settings(strategy="beam", k=4, beam_width=2, depth=3, score="logprob", shots=0,
                        sampling=SAMPLING, seed=3)
    progress, frame = search(tmp_path, cpu_backend, settings, SHORT)
    check_tree(frame)
    made, scored = frame.loc[frame.finish_reason != "scored"], frame.loc[frame.finish_reason == "scored"]
    assert len(made) and (made.completion_tokens > 0).all() and made.score.isna().all()
    assert (scored.completion_tokens == 0).all() and (scored.prompt_tokens > 50).all()
    assert (scored.score < 0).all()
    assert set(scored.parent) <= set(made.sample_index)  # each scores a sampled candidate
    assert (scored.score > -20).all()  # a mean per token, not a sum over the plan's lines
    asked_again = 0
    for _, rows in made.groupby(["instance_id", "parent", "depth"], observed=True):
        tries = [rows.iloc[i:i + 2] for i in range(0, len(rows), 2)]  # k/M = 2 steps a try
        assert len(rows) % 2 == 0 and len(tries) <= 1 + settings.retries
        live = set(scored.parent)  # a live sampled step gets a scoring row
        assert not any(live & set(t.sample_index) for t in tries[:-1])  # asked again only
        # when none of its candidates applied
        asked_again += len(tries) > 1
    assert asked_again  # the 270M model without examples writes many inapplicable steps


def test_legal_proposals_ranked_by_the_cpu_model(tmp_path, cpu_backend):
    settings = Settings(strategy="beam", k=1, beam_width=1, depth=2, propose="legal", score="logprob",
                        shots=0, seed=3)
    progress, frame = search(tmp_path, cpu_backend, settings, SHORT)
    check_tree(frame)
    assert set(frame.finish_reason) == {"scored"} and (frame.score < 0).all()
    first = frame.loc[frame.depth == 1]
    second = frame.loc[frame.depth == 2]
    assert set(second.parent) == {first.loc[first.score.idxmax(), "sample_index"]}
    instance = SHORT[0]
    assert len(first) == len(applicable(instance, task_for(instance).init))


def test_dvts_of_the_cpu_model_stores_a_consistent_forest(tmp_path, cpu_backend):
    settings = Settings(strategy="dvts", k=4, beam_width=2, score="goal-count", shots=0,
                        sampling=SAMPLING, seed=4, retries=0)
    progress, frame = search(tmp_path, cpu_backend, settings, SHORT)
    check_tree(frame)
    assert progress.tokens == frame.completion_tokens.sum() > 0
    first = frame.loc[frame.depth == 1]
    assert len(first) == 4  # 2 subtrees, each root asked for 2 steps
    deeper = frame.loc[frame.depth > 1].groupby("depth")["parent"].nunique()
    assert all(parents <= 2 for parents in deeper)  # one node a subtree at every depth
    live = frame.loc[frame.score.notna()]
    assert set(frame.loc[frame.depth > 1, "parent"]) <= set(live.sample_index)
    assert (live.score >= 0).all() and (live.score <= 1).all()


def test_a_search_of_the_cpu_model_resumes_from_its_stored_nodes(tmp_path, cpu_backend,
                                                                 monkeypatch):
    settings = Settings(strategy="beam", k=2, beam_width=2, propose="legal", score="logprob",
                        shots=0, seed=3)
    _, whole = search(tmp_path / "whole", cpu_backend, settings, SHORT)
    kept = whole.loc[whole.depth == 1]
    config = RunConfig(settings, EngineConfig("vllm", "m"), InstanceSource("set", None, 3))
    with RunWriter(tmp_path / "part", config, SHORT, resume=True) as writer:
        from planbench_scale.records import Sample
        columns = list(Sample.__dataclass_fields__)
        writer.append([Sample(**row) for row in kept[columns].to_dict("records")])
    progress, resumed = search(tmp_path / "part", cpu_backend, settings, SHORT)
    assert progress.samples == len(resumed) - len(kept) > 0  # the stored nodes are not asked again
    assert resumed.sample_index.is_unique
    check_tree(resumed)
    assert (resumed.depth == 1).sum() == len(kept) and resumed.depth.max() > 1
    same = whole.merge(resumed, on="sample_index", suffixes=("", "_resumed"))
    assert len(same) == len(whole) and (same.score == same.score_resumed).all()
    assert (same.logprob == same.logprob_resumed).all() and same.logprob.notna().all()
    assert opened_to_resume(tmp_path / "part", settings, SHORT, monkeypatch) == []


def opened_to_resume(folder, settings, instances, monkeypatch) -> list:
    """The backends `runner.OnDemand` opened to resume the finished run in `folder`."""
    opened = []
    monkeypatch.setattr(backends, "open_backend", lambda *args: opened.append(args) or NoModel())
    progress, _ = search(folder, OnDemand(EngineConfig("vllm", "m"), folder, None), settings,
                         instances)
    assert progress.samples == 0
    return opened


def test_a_model_opened_on_demand_is_asked_for_log_probabilities_before_any_request(monkeypatch):
    asked = []

    class Recording(NoModel):
        def require_logprobs(self):
            asked.append("logprobs")

        def generate(self, requests, sampling):
            asked.append("generate")
            return iter(())

    monkeypatch.setattr(backends, "open_backend", lambda *args: Recording())
    on_demand = OnDemand(EngineConfig("vllm", "m"), "out", None)
    on_demand.require_logprobs()
    assert asked == []
    list(on_demand.generate([Request(Prompt("i", "text", ()), 1, seed=0)], Sampling()))
    assert asked == ["logprobs", "generate"]
