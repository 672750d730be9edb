"""The reasoning-model views on two small runs written with known tokens, prices and outcomes."""

import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from planbench_scale.analysis import reasoning
from planbench_scale.records import Instance, Sample
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings
from planbench_scale.store import RunWriter


def instance(name, length, solvable=True):
    plan = (("pick-up", "a"), ("stack", "a", "b")) * (length // 2)
    return Instance(name, "blocksworld", "blocksworld", ("a", "b"), (("handempty",),),
                    (("on", "a", "b"),), plan if solvable else (), solvable=solvable)


INSTANCES = [instance("i2", 2), instance("i4", 4), instance("u", 0, solvable=False)]
ANSWERS = {  # instance: [(completion tokens, reasoning tokens, valid, outcome)] for samples 0, 1
    "i2": [(1000, 800, True, "plan"), (2000, 1500, False, "plan")],
    "i4": [(3000, 2800, False, "no_plan"), (3000, 2600, True, "plan")],
    "u": [(500, 400, False, "no_plan"), (500, 450, False, "plan")],
}


@dataclass
class Run:
    name: str
    path: Path
    config: RunConfig


def write_run(folder, name, price_in=None, price_out=None, scale=1, price_cached_in=None):
    """Two answers of one request per instance: its 100-token prompt is charged to the first,
    which computed 60 of it and found 40 in the provider's cache."""
    config = RunConfig(Settings(k=2), EngineConfig("openai", name, price_in=price_in,
                                                   price_out=price_out,
                                                   price_cached_in=price_cached_in),
                       InstanceSource("set"))
    rows = [Sample(i.id, i.domain, i.vocabulary, 2, i.optimal_length, index, 0, "sample", "h",
                   "t", 100, tokens * scale, "stop", outcome, "", 0, valid,
                   "valid" if valid else "goal_not_reached", -1, "", index,
                   reasoning="r", reasoning_tokens=thought * scale,
                   cached_tokens=40 if index == 0 else 0, computed_tokens=60 if index == 0 else 0)
            for i in INSTANCES for index, (tokens, thought, valid, outcome) in enumerate(ANSWERS[i.id])]
    with RunWriter(folder, config, INSTANCES) as writer:
        writer.append(rows)
    return Run(name, folder, config)


@pytest.fixture
def tables(tmp_path):
    runs = [write_run(tmp_path / "a", "o1", price_in=15, price_out=60, price_cached_in=7.5),
            write_run(tmp_path / "b", "r1", scale=2)]
    return reasoning.compute_tables(runs)


def test_dollars_bill_reasoning_as_output_per_instance_and_valid_plan(tables):
    o1, r1 = tables["dollars"].set_index("run").loc[["o1", "r1"]].to_dict("records")
    spent = (3 * (60 * 15 + 40 * 7.5) + 10_000 * 60) / 1e6  # cached prompt tokens at half price
    assert (o1["instances"], o1["samples"], o1["valid_plans"]) == (3, 6, 2)
    assert o1["reasoning_tokens"] == 8550 and o1["generated_tokens"] == 10_000
    assert o1["dollars"] == pytest.approx(spent)
    assert o1["dollars_per_instance"] == pytest.approx(spent / 3)
    assert o1["dollars_per_valid_plan"] == pytest.approx(spent / 2)
    assert math.isnan(r1["dollars"]) and math.isnan(r1["dollars_per_instance"])


def test_solve_rate_against_tokens_and_dollars_one_line_per_model(tables):
    spend = tables["solve_rate_vs_spend"]
    o1 = spend[spend["run"] == "o1"].set_index("k")
    assert o1["solve_rate"].tolist() == [0.5, 1.0] and set(o1["instances"]) == {2}
    assert o1.loc[1, "generated_tokens_per_instance"] == 2250
    per_answer = (60 * 15 + 40 * 7.5) / 2 + 2250 * 60  # the prompt: once for both answers
    assert o1.loc[2, "dollars_per_instance"] == pytest.approx(2 * per_answer / 1e6)
    r1 = spend[spend["run"] == "r1"].set_index("k")
    assert r1.loc[2, "generated_tokens_per_instance"] == 9000 and r1["dollars_per_instance"].isna().all()


def test_reasoning_tokens_against_optimal_plan_length_on_solvable_instances(tables):
    table = tables["reasoning_by_length"]
    o1 = table[table["run"] == "o1"].set_index("optimal_length")
    assert o1["reasoning_tokens"].to_dict() == {2: 1150, 4: 2700}
    assert 0 not in o1.index and o1["accuracy"].tolist() == [0.5, 0.5]


def test_unsolvable_views_accuracy_recall_and_false_no_plan_rate(tables):
    row = tables["unsolvable"].set_index("run").loc["o1"]
    assert (row["solvable_answers"], row["unsolvable_answers"]) == (4, 2)
    assert (row["accuracy_solvable"], row["no_plan_recall"], row["false_no_plan_rate"]) == (0.5, 0.5, 0.25)
    assert row["no_plan_recall_low"] < 0.5 < row["no_plan_recall_high"]


def test_figures_are_drawn_only_where_there_is_something_to_draw(tables, tmp_path):
    names = {path.name for path in reasoning.draw_figures(tables, tmp_path / "figures")}
    assert names == {f"{stem}.{ext}" for stem in ("solve_rate_vs_tokens", "solve_rate_vs_dollars",
                                                   "reasoning_tokens_vs_length")
                     for ext in ("png", "svg")}
    empty = {name: table.iloc[0:0] for name, table in tables.items()}
    assert reasoning.draw_figures(empty, tmp_path / "none") == []


def test_verification_calls_cost_but_are_no_answers(tmp_path):
    """A self-verify call per answer (parent: the answer, its `valid`: the verdict was right)
    adds to the tokens spent but neither to the valid plans nor to the solve rate."""
    from dataclasses import replace

    from planbench_scale.store import read_samples

    plain = write_run(tmp_path / "plain", "o1")
    verified = write_run(tmp_path / "verified", "o1")
    calls = [replace(Sample(i.id, i.domain, i.vocabulary, 2, i.optimal_length, 2 + index, 0,
                            "best-of-n", "h", "Plan is valid.", 100, 7, "stop", "plan", "", 0,
                            True, "valid", -1, "", 2 + index), parent=index)
             for i in INSTANCES for index in range(2)]
    with RunWriter(verified.path, verified.config, INSTANCES, resume=True) as writer:
        writer.append(calls)
    assert len(read_samples(verified.path)) == 12
    before, after = (reasoning.compute_tables([run]) for run in (plain, verified))
    for name in ("solve_rate_vs_spend", "reasoning_by_length", "unsolvable"):
        assert before[name].drop(columns="run", errors="ignore").equals(
            after[name].drop(columns="run", errors="ignore")), name
    spent = {name: t["dollars"].set_index("domain") for name, t in (("b", before), ("a", after))}
    assert (spent["a"]["valid_plans"] == spent["b"]["valid_plans"]).all()
    assert spent["a"]["generated_tokens"].sum() == spent["b"]["generated_tokens"].sum() + 6 * 7
