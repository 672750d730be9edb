"""The inspect_ai task package: its dataset is our prompts, its scorer our verdicts (hand-made
answers through inspect's mockllm), `inspect eval planbench_scale/plan_generation` finds it through
the package's entry point, and a real `inspect eval` against the CPU model behind a vLLM server
scores as our own scoring of the same answers; import-inspect reads the logs inspect_ai wrote."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.log import read_eval_log  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402

from planbench_scale.cli import main  # noqa: E402
from planbench_scale.domains import vocabulary_of  # noqa: E402
from planbench_scale.errors import PlanbenchError  # noqa: E402
from planbench_scale.instances import load_instances  # noqa: E402
from planbench_scale.interop.inspect_task import plan_generation  # noqa: E402
from planbench_scale.score import check  # noqa: E402
from planbench_scale.store import read_samples  # noqa: E402
from planbench_scale.text.prompts import render  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect")
    result = CliRunner().invoke(main, ["generate", "--domain", "blocksworld", "--objects", "3",
                                       "--steps", "2", "--per-step", "2", "--seed", "1",
                                       "--out", str(root / "set")])
    assert result.exit_code == 0, result.output
    return root / "set"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The worktree installed as a package (`pip install --no-deps --target`), from a copy of it
    so that the build leaves nothing in the source tree; inspect_ai names a module's tasks
    `planbench_scale/...` only when the module lives in site-packages (or an editable install)."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    shutil.copytree(ROOT / "planbench_scale", source / "planbench_scale",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "domains", source / "domains")  # shipped as planbench_scale.domain_data
    shutil.copy(ROOT / "pyproject.toml", source)
    target = root / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "--quiet", "--target", str(target), str(source)], check=True, timeout=300)
    return {**os.environ, "PYTHONPATH": f"{target}{os.pathsep}{ROOT}{os.pathsep}{ROOT / 'tests'}"}


def plans(instance) -> tuple[str, str]:
    """(the optimal plan, the plan with its first action done twice: step 1 cannot apply)."""
    lines = [vocabulary_of(instance).fact(a) for a in instance.optimal_plan]
    return "\n".join(lines), "\n".join(lines[:1] + lines)


def mock_outputs(texts) -> list[ModelOutput]:
    """mockllm answers with their usage given (else mockllm counts tokens with tiktoken, which
    downloads its encoding)."""
    usage = ModelUsage(input_tokens=100, output_tokens=10, total_tokens=110)
    return [ModelOutput.from_content("mockllm/model", text).model_copy(update={"usage": usage})
            for text in texts]


def test_dataset_is_our_prompts_with_the_instance(instance_set):
    pool = load_instances(instance_set)
    task = plan_generation(set=str(instance_set), style="pddl", shots=1)
    assert [s.id for s in task.dataset] == [i.id for i in pool]
    for sample, instance in zip(task.dataset, pool):
        expected = render(instance, "pddl", 1, pool).messages
        assert [(m.role, m.text) for m in sample.input] == list(expected)
        assert json.loads(sample.metadata["instance"])["id"] == instance.id
        assert sample.target == plans(instance)[0]
    assert task.config.stop_seqs == ["[PLAN END]"]
    with pytest.raises(PlanbenchError, match="no instance of domain 'logistics'"):
        plan_generation(set=str(instance_set), domain="logistics")


def test_scorer_gives_our_verdicts_with_reason_and_failed_step(instance_set, tmp_path):
    instance = load_instances(instance_set)[0]
    right, wrong = plans(instance)
    model = get_model("mockllm/model", custom_outputs=mock_outputs([right, wrong]))
    [log] = inspect_eval(plan_generation(set=str(instance_set), shots=0, epochs=2), model=model,
                         limit=1, log_dir=str(tmp_path / "logs"), display="none")
    assert log.status == "success"
    scores = {s.output.completion: s.scores["plan_validity"] for s in log.samples}
    assert scores[right].value == "C" and scores[right].metadata["reason"] == "valid"
    assert scores[right].metadata["failed_step"] is None
    verdict = check(instance, wrong)[1]
    assert scores[wrong].value == "I" and verdict.failed_step == 1
    assert scores[wrong].metadata["reason"] == verdict.reason.value != "valid"
    assert scores[wrong].metadata["failed_step"] == 1
    assert scores[wrong].metadata["unmet"] == list(verdict.unmet) != []
    reduced = {s.reducer: s.metrics["accuracy"].value for s in log.results.scores}
    assert reduced == {"mean": 0.5, "pass_at_2": 1.0}
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["import-inspect", log.location, "--instances", str(instance_set),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    stored = read_samples(out, ["instance_id", "sample_index", "valid"])
    assert sorted(stored["valid"]) == [False, True] and set(stored["instance_id"]) == {instance.id}


def test_entry_point_registers_the_task(instance_set, installed, tmp_path):
    script = f"""
import importlib.metadata, json
from inspect_ai import eval
from inspect_ai.model import get_model
from test_interop_inspect_task import mock_outputs
[entry] = [e for e in importlib.metadata.entry_points(group="inspect_ai") if e.name == "planbench_scale"]
model = get_model("mockllm/model", custom_outputs=mock_outputs(["no plan"] * 2))
[log] = eval("planbench_scale/plan_generation", model=model, task_args={{"set": {str(instance_set)!r}}},
             log_dir={str(tmp_path / "logs")!r}, display="none")
print(json.dumps([entry.value, log.eval.task, log.status, len(log.samples)]))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env=installed, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.splitlines()[-1]) == [
        "planbench_scale.interop.inspect_task", "planbench_scale/plan_generation", "success", 2]


CHAT_TEMPLATE = "{% for message in messages %}{{ message['content'] }}\n{% endfor %}"
"""The CPU default model is a base model without a chat template: the messages, one after another."""


def test_inspect_eval_scores_equal_ours_against_the_cpu_model(instance_set, installed, tmp_path):
    from vllm_server import vllm_server

    from planbench_scale.backends import cpu_model

    (tmp_path / "chat.jinja").write_text(CHAT_TEMPLATE)
    with vllm_server(tmp_path / "server.log", ["--chat-template", str(tmp_path / "chat.jinja")]) as url:
        command = [str(Path(sys.executable).with_name("inspect")), "eval", "planbench_scale/plan_generation",
                   "-T", f"set={instance_set}", "-T", "style=nl", "-T", "shots=1", "-T", "epochs=2",
                   "--model", f"openai-api/local/{cpu_model.NAME}", "--temperature", "0.8",
                   "--max-tokens", "48", "--log-dir", str(tmp_path / "logs"),
                   "--display", "plain"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path,
                             env={**installed, "LOCAL_BASE_URL": url, "LOCAL_API_KEY": "none"})
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    [path] = list((tmp_path / "logs").glob("*.eval"))
    log = read_eval_log(str(path))
    assert log.status == "success" and len(log.samples) == 4
    out = tmp_path / "ours"
    result = CliRunner().invoke(main, ["import-inspect", str(path), "--instances", str(instance_set),
                                       "--shots", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    stored = read_samples(out, ["instance_id", "sample_index", "valid", "reason"])
    ours = {(str(i), int(n)): (bool(v), str(r)) for i, n, v, r in zip(stored["instance_id"], stored["sample_index"],
                                                 stored["valid"], stored["reason"])}
    theirs = {(s.id, s.epoch - 1): (s.scores["plan_validity"].value == "C",
                                    s.scores["plan_validity"].metadata["reason"]) for s in log.samples}
    assert theirs == ours
