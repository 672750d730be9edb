"""The lm-evaluation-harness task folder: process_results gives our verdicts, and lm_eval itself,
against the CPU model behind a vLLM server, scores two instances as our own scoring of the same
answers does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from planbench_scale.cli import main
from planbench_scale.domains import vocabulary_of
from planbench_scale.instances import load_instances
from planbench_scale.interop.answers import Answer, score_answers
from planbench_scale.interop.hf_dataset import dataset_rows
from planbench_scale.interop.lm_eval_task import process_results
from planbench_scale.store import read_samples

pytest.importorskip("lm_eval")


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmeval")
    result = CliRunner().invoke(main, ["generate", "--domain", "blocksworld", "--objects", "3",
                                       "--steps", "2", "--per-step", "2", "--seed", "1",
                                       "--out", str(root / "set")])
    assert result.exit_code == 0, result.output
    return root / "set"


def test_process_results_gives_our_verdicts(instance_set):
    row = dataset_rows(instance_set).to_pylist()[0]
    instance = load_instances(instance_set)[0]
    vocabulary = vocabulary_of(instance)
    good = "\n".join(vocabulary.fact(a) for a in instance.optimal_plan)
    assert process_results(row, [good]) == {"valid": 1.0, "pass_at_k": 1.0}
    assert process_results(row, [[good, "I give up"]]) == {"valid": 0.5, "pass_at_k": 1.0}
    assert process_results(row, [["(stack a a)", ""]]) == {"valid": 0.0, "pass_at_k": 0.0}


def test_export_refuses_repeats_at_temperature_zero(instance_set, tmp_path):
    result = CliRunner().invoke(main, ["export-lm-eval", str(instance_set), str(tmp_path / "t"), "--k", "2"])
    assert result.exit_code == 2 and "--temperature above 0" in result.output


def test_lm_eval_scores_equal_ours_against_the_cpu_model(instance_set, tmp_path):
    from vllm_server import vllm_server

    result = CliRunner().invoke(main, ["export-lm-eval", str(instance_set), str(tmp_path / "task"),
                                       "--task", "pb_test", "--k", "2", "--temperature", "0.8",
                                       "--max-tokens", "48", "--shots", "1"])
    assert result.exit_code == 0, result.output
    with vllm_server(tmp_path / "server.log") as url:
        from planbench_scale.backends import cpu_model

        command = [str(Path(sys.executable).with_name("lm_eval")), "--include_path", str(tmp_path / "task"),
                   "--tasks", "pb_test", "--model", "local-completions", "--model_args",
                   f"model={cpu_model.NAME},base_url={url}/completions,tokenizer_backend=None,"
                   "tokenized_requests=False,num_concurrent=2,max_retries=1",
                   "--limit", "2", "--log_samples", "--output_path", str(tmp_path / "out")]
        run = subprocess.run(command, capture_output=True, text=True, timeout=900,
                             env={**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    [log] = list((tmp_path / "out").rglob("samples_pb_test_*.jsonl"))
    docs = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(docs) == 2 and all(len(d["filtered_resps"][0]) == 2 for d in docs)
    answers = [(f"log:{n}", Answer(d["doc"]["id"], text, sample_index=i))
               for n, d in enumerate(docs) for i, text in enumerate(d["filtered_resps"][0])]
    score_answers(lambda: iter(answers), instance_set, tmp_path / "ours", "lm-eval log")
    ours = read_samples(tmp_path / "ours", ["instance_id", "valid"]).groupby(
        "instance_id", observed=True)["valid"]
    for doc in docs:
        assert doc["valid"] == ours.mean()[doc["doc"]["id"]]
        assert doc["pass_at_k"] == float(ours.any()[doc["doc"]["id"]])
