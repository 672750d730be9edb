"""End to end with the real CPU default model: the main job (demo) runs every way of spending
compute on one set at one token budget and reports them side by side; run again, it finds
everything stored, stores nothing new and loads no model."""

import os
import subprocess
import sys

import pytest

from planbench_scale.store import read_config, read_samples

DEMO = ["--steps", "2-4", "--blocks", "3-3", "--per-step", "1", "--k", "3", "--max-tokens", "40",
        "--budget-tokens", "400"]
RUNS = ("sample", "revise", "beam-legal-logprob", "random-legal", "beam-legal-distance")


def cli(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "planbench_scale.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=1200)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "demo"
    done = cli("demo", "--out", out, *DEMO)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_demo_runs_every_strategy_on_one_set_and_reports(demo):
    runs = {name: read_samples(demo / f"run-{name}") for name in RUNS}
    sampled = runs["sample"]
    assert set(sampled.domain) == {"blocksworld", "mystery", "randomized", "logistics"}
    logistics = sampled.loc[sampled.domain == "logistics"]
    assert set(logistics.optimal_length) == {3, 4}  # one a step count; none takes 2 steps
    assert set(sampled.optimal_length) == {2, 3, 4} and len(sampled) == (3 * 2 + 2) * 3
    for name, rows in runs.items():
        assert rows.instance_id.nunique() == 8, name
        assert read_config(demo / f"run-{name}").settings.budget_tokens == 400
    scored = runs["beam-legal-logprob"]
    assert set(scored.finish_reason) == {"scored"} and (scored.prompt_tokens > 100).all()
    assert scored.groupby("instance_id").depth.max().min() >= 1
    walks = runs["random-legal"]
    assert len(walks) == 8 * 2 and (walks.completion_tokens == 0).all()
    oracle = runs["beam-legal-distance"]
    assert oracle.groupby("instance_id").valid.any().all()  # the ceiling solves everything
    assert (oracle.loc[oracle.valid, "n_actions"] == oracle.loc[oracle.valid, "optimal_length"]).all()
    revised = runs["revise"]
    for _, chains in revised.groupby("instance_id"):  # computed tokens: every round but the
        spent = (chains.computed_tokens + chains.completion_tokens).groupby(chains["round"])
        assert (spent.sum().cumsum().iloc[:-1] < 400).all()  # last began within the budget
    assert (revised.loc[revised["round"] > 0, "cached_tokens"] > 0).all()
    html = (demo / "report" / "index.html").read_text()
    assert "data:image/png;base64," in html and "gemma-3-270m" in html
    assert all(strategy in html for strategy in ("sample", "revise", "beam", "random-legal"))


def test_demo_again_resumes_without_new_samples_or_the_model(demo):
    before = {name: len(read_samples(demo / f"run-{name}", ["sample_index"])) for name in RUNS}
    logged = (demo / "engine.log").stat().st_size
    again = cli("demo", "--out", demo, *DEMO)
    assert again.returncode == 0, again.stderr[-3000:]
    after = {name: len(read_samples(demo / f"run-{name}", ["sample_index"])) for name in RUNS}
    assert after == before and again.stderr.count(": 0 new samples") == len(RUNS)
    assert (demo / "engine.log").stat().st_size == logged  # the beam's scores came from the store
