"""The task axis: the registry, the fit check before any model is loaded, old run configs read
as plan generation, and every task run with the CPU model on a small generated set of each
Blocksworld-family domain and of Logistics, and reported."""

from dataclasses import replace

import pytest

from planbench_scale import runner, tasks
from planbench_scale.analysis.report import build_report
from planbench_scale.config import EngineConfig, Sampling, Settings, run_config_from_json
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import generalization_set, generate_set, write_set
from planbench_scale.strategies import STRATEGIES
from tests.conftest import run_config

DOMAINS = ("blocksworld", "mystery", "randomized", "logistics")
SIZES = {"logistics": ((5, 7), (3, 4))}
"""Objects and steps of a domain's small set where the Blocksworld ones do not fit."""
GENERALIZATION_SIZES = {"logistics": ((6, 6), (3, 4))}
"""Objects and steps of a domain's small generalization set (Blocksworld: 3-4 blocks, 4-6 steps)."""


def test_every_task_is_registered_with_what_it_asks_and_how_it_is_scored():
    assert {"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8_1", "t8_2", "t8_3"} <= set(tasks.TASKS)
    for name, task in tasks.TASKS.items():
        assert task.name == name and task.title and task.asks and task.scored
    with pytest.raises(PlanbenchError, match="unknown task 't9'"):
        tasks.get("t9")


def test_the_prompt_command_prints_a_task_prompt(planbench):
    import gzip
    import json

    from click.testing import CliRunner

    from planbench_scale.cli import main

    folder, config = planbench / "instances" / "blocksworld", planbench / "configs" / "blocksworld.yaml"
    printed = CliRunner().invoke(main, ["prompt", "--instance", f"{folder}:instance-2", "--task",
                                        "t2", "--templates", f"planbench:{config}"])
    expected = next(json.loads(line)["query"] for line in gzip.open(
        planbench / "prompts/blocksworld/task_2_plan_optimality.jsonl.gz", "rt")
        if json.loads(line)["instance_id"] == 2)
    assert printed.exit_code == 0 and printed.output == expected + "\n"
    unknown = CliRunner().invoke(main, ["prompt", "--instance", f"{folder}:instance-2", "--task", "t9"])
    assert unknown.exit_code == 2 and "unknown task 't9'" in unknown.output


def test_old_run_configs_read_as_plan_generation():
    old = run_config().to_json()
    del old["settings"]["task"]
    assert run_config_from_json(old).settings.task == "t1" == Settings().task


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sets")
    sets = {d: write_set(generate_set(d, *SIZES.get(d, ((3, 4), (2, 4))), 1, seed=1), folder / d)
            for d in DOMAINS}
    sets.update({f"{d} generalization": write_set(generalization_set(
        d, *GENERALIZATION_SIZES.get(d, ((3, 4), (4, 6))), 1, seed=1), folder / f"{d}-generalization")
        for d in DOMAINS})
    return sets


def refused(small_set, settings, folder=None):
    loads = []
    with pytest.raises(PlanbenchError) as error:
        runner.plan_run(settings, EngineConfig("vllm", "m"), folder or small_set["blocksworld"],
                        resolve=lambda engine: loads.append(engine) or engine)
    assert not loads  # refused before the engine config was even completed
    return str(error.value)


def test_a_strategy_that_reads_plans_does_not_fit_a_task_that_answers_none(small_set):
    for name, strategy in STRATEGIES.items():
        if strategy.reads_plans:
            message = refused(small_set, Settings(task="t7", strategy=name, k=4, beam_width=2))
            assert f"strategy {name} reads and extends plans" in message and "t7" in message
    config, chosen, _ = runner.plan_run(Settings(task="t3"), EngineConfig("vllm", "m"),
                                        small_set["blocksworld"], resolve=lambda e: e)
    assert config.settings.task == "t3" and chosen


def test_a_task_that_shows_a_plan_refuses_unsolvable_instances(small_set, tmp_path):
    folder = write_set(generate_set("blocksworld", (3, 3), (2, 2), 1, unsolvable=0.5), tmp_path / "u")
    for name in ("t2", "t3", "t6", "t7", "t8_1"):
        assert "is unsolvable" in refused(small_set, Settings(task=name), folder)
    runner.plan_run(Settings(task="t1"), EngineConfig("vllm", "m"), folder, resolve=lambda e: e)


def test_plan_generalization_refuses_a_set_that_is_not_of_one_pattern(small_set):
    message = refused(small_set, Settings(task="t5"))
    assert "is not of one" in message and "generate --generalization" in message
    runner.plan_run(Settings(task="t5"), EngineConfig("vllm", "m"),
                    small_set["blocksworld generalization"], resolve=lambda e: e)


def asked(name: str, small_set) -> tuple[list, list]:
    """(instances, pool) a task is asked of in the run below: one of each domain's small set,
    or of its generalization set for t5."""
    from planbench_scale.instances import load_instances

    kind = " generalization" if name == "t5" else ""
    pools = [load_instances(small_set[d + kind]) for d in DOMAINS]
    return [pool[0] for pool in pools], [i for pool in pools for i in pool]


def task_settings(name: str, plans: str | None = None) -> Settings:
    """The settings of the run of task `name` (t3_1 reads `plans` a run stored)."""
    return Settings(task=name, k=2, sampling=Sampling(max_tokens=16, temperature=0.7),
                    plans_from=plans if name == "t3_1" else None)


def plans_run(instances, pools, folder, backend) -> str:
    """A run of random legal walks (no model: a readable plan for every instance) whose plans
    t3_1 verifies."""
    settings = Settings(strategy="random-legal", k=1)
    runner.execute(replace(run_config(), settings=settings), instances, pools, folder,
                   show_progress=False, backend=backend)
    return str(folder)


def test_every_task_runs_with_the_cpu_model_and_is_reported(cpu_backend, small_set, tmp_path):
    from planbench_scale.store import read_samples

    runs = []
    for name in tasks.TASKS:
        instances, pools = asked(name, small_set)
        plans = plans_run(instances, pools, tmp_path / "plans", cpu_backend) if name == "t3_1" else None
        config = replace(run_config(), settings=task_settings(name, plans))
        runner.execute(config, instances, pools, tmp_path / name, show_progress=False,
                       backend=cpu_backend)
        rows = read_samples(tmp_path / name)
        assert len(rows) == 2 * len(instances) and set(rows["domain"]) == {i.domain for i in instances}
        runs.append(tmp_path / name)
    report = build_report(runs, tmp_path / "report")
    page = report.html.read_text()
    for heading in ("Accuracy per task", "Plan verification: the validator", "Plan execution"):
        assert heading in page
    import pandas as pd

    by_task = pd.read_csv(tmp_path / "report" / "accuracy_by_task.csv")
    assert set(by_task["task"]) == set(tasks.TASKS)
    assert by_task.groupby("task")["answers"].sum().eq(2 * len(instances)).all()  # 8 of each task
    confusion = pd.read_csv(tmp_path / "report" / "verification_confusion.csv")
    per_run = confusion.groupby("run")["answers"].sum()  # t3's drawn plans, t3_1's stored ones
    assert len(per_run) == 2 and per_run.eq(2 * len(instances)).all()
