"""End to end with the real CPU default model: the main job (demo), a revision run on its set,
and one report comparing both; the demo run again resumes instead of starting over."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from planbench_scale.store import read_config, read_samples

DEMO = ["--steps", "2-4", "--blocks", "3-3", "--per-step", "1", "--k", "3", "--max-tokens", "40"]


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


def test_demo_samples_every_domain_and_reports(demo):
    samples = read_samples(demo / "run", ["instance_id", "domain", "optimal_length", "valid"])
    assert set(samples.domain) == {"blocksworld", "mystery", "randomized"}
    assert set(samples.optimal_length) == {2, 4}
    assert len(samples) == 3 * 2 * 3
    assert read_config(demo / "run").settings.k == 3
    html = (demo / "report" / "index.html").read_text()
    assert "data:image/png;base64," in html and "gemma-3-270m" in html
    assert (demo / "report" / "figures").is_dir() and any((demo / "report").glob("*.csv"))


def test_demo_again_resumes_without_new_samples(demo):
    before = read_samples(demo / "run", ["instance_id", "sample_index", "text"])
    again = cli("demo", "--out", demo, *DEMO)
    assert again.returncode == 0, again.stderr[-3000:]
    after = read_samples(demo / "run", ["instance_id", "sample_index", "text"])
    assert len(after) == len(before) and "0 new samples" in again.stderr


def test_revision_run_and_side_by_side_report(demo, tmp_path):
    revise = tmp_path / "revise"
    done = cli("run", "--instances", demo / "instances" / "blocksworld", "--strategy", "revise",
               "--k", 2, "--rounds", 1, "--shots", 1, "--stop", "[PLAN END]", "--max-tokens", 40,
               "--out", revise)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_samples(revise, ["instance_id", "sample_index", "round", "valid", "strategy"])
    assert set(rows.strategy) == {"revise"} and rows["round"].max() <= 1
    chains = rows.groupby(["instance_id", "sample_index"], observed=True)
    assert len(chains) == 2 * 2
    assert all(len(c) == 2 or c.sort_values("round").valid.iloc[-1] for _, c in chains)
    both = cli("report", demo / "run", revise, "--out", tmp_path / "both")
    assert both.returncode == 0, both.stderr[-3000:]
    tables = {p.stem: pd.read_csv(p) for p in (tmp_path / "both").glob("*.csv")}
    runs = set().union(*(set(t["run"]) for t in tables.values() if "run" in t))
    assert any("revise" in run for run in runs) and any("sample" in run for run in runs)
