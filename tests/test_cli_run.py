"""`planbench-scale run` end to end with the real CPU default model: kill -9, then --resume."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import run_config

from planbench_scale.instances import generate_set, write_set
from planbench_scale.store import read_config, read_samples

RUN = [sys.executable, "-m", "planbench_scale.cli", "run"]
KEY = ["instance_id", "sample_index", "round"]


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    write_set(generate_set("blocksworld", (3, 3), (2, 4), per_step=1, seed=0), folder)
    return folder


def cli(*args, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen([*RUN, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def rows(run):
    try:
        return read_samples(run, [*KEY, "text", "valid"])
    except Exception:
        return None


def test_kill_9_mid_run_then_resume(instance_set, tmp_path):
    """The resumed run also shows that vLLM's messages go to RUN/engine.log, not the console."""
    run = tmp_path / "run"
    args = ["--instances", instance_set, "--strategy", "revise", "--k", 4, "--rounds", 3,
            "--max-tokens", 24, "--temperature", 1.0, "--out", run]
    process = cli(*args, start_new_session=True)
    deadline = time.time() + 400
    while time.time() < deadline and process.poll() is None:
        before = rows(run)
        if before is not None and len(before) >= 8:  # within the first round (12 answers)
            break
        time.sleep(0.2)
    assert process.poll() is None, process.stderr.read()[-2000:]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = rows(run)
    config = read_config(run)
    logged = len((run / "engine.log").read_text())
    finished = cli(*args, "--resume")
    out, err = finished.communicate(timeout=600)
    assert finished.returncode == 0, err[-2000:]
    log = (run / "engine.log").read_text()[logged:]
    for line in ("WARNING", "Triton", "Loading safetensors checkpoint", "EngineCore pid="):
        assert line in log and line not in out + err
    assert err.splitlines()[-1].startswith(f"{run}: {len(rows(run)) - len(before)} new samples, ")
    after = rows(run)
    assert not after.duplicated(KEY).any()
    kept = before.merge(after, on=KEY, suffixes=("", "_after"))
    assert len(kept) == len(before) and (kept.text == kept.text_after).all()
    assert len(after) > len(before) and read_config(run) == config
    for _, chain in after.sort_values("round").groupby(["instance_id", "sample_index"],
                                                        observed=True):
        assert chain["round"].tolist() == list(range(len(chain)))
        assert len(chain) == 4 or chain["valid"].iloc[-1]
    changed = cli(*args[:-1], run, "--resume", "--temperature", 0.5)
    _, err = changed.communicate(timeout=120)
    assert changed.returncode == 2 and "cannot resume" in err and "temperature" in err
    again = cli(*args)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 2 and "--resume" in err


def test_bad_input_is_one_clear_line(instance_set, tmp_path):
    missing = cli("--instances", instance_set, "--model", tmp_path / "nope", "--out", tmp_path / "r")
    _, err = missing.communicate(timeout=120)
    assert missing.returncode == 2 and err.strip().splitlines()[-1].startswith("error: model folder")
    down = cli("--instances", instance_set, "--engine", "openai", "--base-url",
               "http://127.0.0.1:9/v1", "--out", tmp_path / "r2")
    _, err = down.communicate(timeout=120)
    assert down.returncode == 2 and "no OpenAI-compatible server answers" in err


def test_export_writes_one_parquet_file(tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from planbench_scale.cli import main
    from planbench_scale.records import Sample
    from planbench_scale.store import RunWriter
    with RunWriter(tmp_path / "run", run_config(), []) as writer:
        writer.append([Sample("i", "blocksworld", "blocksworld", 3, 2, index, 0, "sample", "h",
                              "t", 1, 1, "stop", "plan", "", 0, False, "empty_plan", -1, "", 0)
                       for index in range(3)])
    result = CliRunner().invoke(main, ["export", str(tmp_path / "run"), str(tmp_path / "s.parquet")])
    assert result.exit_code == 0 and "3 samples" in result.output
    assert pd.read_parquet(tmp_path / "s.parquet")["sample_index"].tolist() == [0, 1, 2]


def test_seeds_repeat_a_run_and_the_report_gives_the_spread(instance_set, tmp_path):
    """random-legal needs no model: three seeds of it, then their spread in the report."""
    import pandas as pd
    from click.testing import CliRunner
    from planbench_scale.analysis.report import build_report
    from planbench_scale.cli import main

    out = tmp_path / "walks"
    args = ["run", "--instances", str(instance_set), "--strategy", "random-legal", "--k", "2",
            "--seed", "5", "--seeds", "3", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("seed-*")) == ["seed-5", "seed-6", "seed-7"]
    assert [read_config(out / f"seed-{s}").settings.seed for s in (5, 6, 7)] == [5, 6, 7]
    assert "solved per seed" in result.output and "standard deviation" in result.output
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 0 and "0 new samples" in again.output
    build_report(sorted(out.glob("seed-*")), tmp_path / "report")
    spread = pd.read_csv(tmp_path / "report" / "seed_spread.csv")
    assert set(spread["seeds"]) == {3} and (spread["lowest"] <= spread["highest"]).all()


def test_options_of_one_strategy_or_task_are_refused_elsewhere(instance_set, tmp_path):
    """--critic belongs to revise, --plans-from to t3_1: anywhere else one line, before any model."""
    from click.testing import CliRunner

    from planbench_scale.cli import main

    base = ["run", "--instances", str(instance_set), "--model", str(tmp_path / "nope")]
    critic = CliRunner().invoke(main, [*base, "--critic", "self", "--out", str(tmp_path / "a")])
    assert critic.exit_code == 2 and "--critic self needs --strategy revise (not sample)" in critic.output
    plans = CliRunner().invoke(main, [*base, "--plans-from", str(tmp_path), "--task", "t3",
                                      "--out", str(tmp_path / "b")])
    assert plans.exit_code == 2 and "--plans-from gives the plans task t3_1 verifies" in plans.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
