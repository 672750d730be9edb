"""`batch write` / `batch read`: replies written here in the batch output shape, and end to end
with vLLM's own batch runner on the CPU default model."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from planbench_scale.cli import main
from planbench_scale.domains import vocabulary_of
from planbench_scale.instances import generate_set, load_instances, write_set
from planbench_scale.store import read_config, read_samples

OPTIONS = ["--model", "o1", "--form", "chat", "--k", "2", "--max-tokens", "64",
           "--omit", "temperature", "--reasoning-effort", "low", "--price-out", "60"]


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    write_set(generate_set("blocksworld", (3, 3), (2, 4), per_step=1, seed=0), folder)
    return folder


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stderr


def write(instance_set, run, batch, *extra):
    return cli("batch", "write", "--instances", instance_set, *OPTIONS, *extra, "--out", run, batch)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def output_for(requests, plans, error_for=()):
    """Batch output lines answering `requests` (OpenAI's shape) with each instance's plan."""
    out = []
    for number, line in enumerate(requests):
        instance_id = line["custom_id"].split("/", 4)[-1]
        choices = [{"index": i, "message": {"role": "assistant", "content": plans[instance_id],
                                            "reasoning_content": "think"}, "finish_reason": "stop"}
                   for i in range(line["body"]["n"])]
        failed = line["custom_id"] in error_for
        body = {"id": f"chatcmpl-{number}", "object": "chat.completion", "model": "o1",
                "choices": choices, "usage": {"prompt_tokens": 50, "completion_tokens": 20 * len(choices),
                                              "completion_tokens_details": {"reasoning_tokens": 8 * len(choices)}}}
        out.append({"id": f"batch_req_{number}", "custom_id": line["custom_id"],
                    "response": {"status_code": 500 if failed else 200, "request_id": f"r{number}",
                                 "body": None if failed else body},
                    "error": {"code": "server_error", "message": "boom"} if failed else None})
    return out


def save(path, entries):
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return path


@pytest.fixture
def written(instance_set, tmp_path):
    run, batch = tmp_path / "run", tmp_path / "in.jsonl"
    code, err = write(instance_set, run, batch)
    assert code == 0, err
    plans = {i.id: "\n".join(vocabulary_of(i).fact(a) for a in i.optimal_plan)
             for i in load_instances(instance_set)}
    return run, batch, plans


def test_write_gives_one_batch_line_per_request_and_an_empty_run(written):
    run, batch, plans = written
    requests = lines(batch)
    assert len(requests) == len(plans) == 2
    for line in requests:
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        body = line["body"]
        assert body["model"] == "o1" and body["n"] == 2 and body["max_completion_tokens"] == 64
        assert body["reasoning_effort"] == "low" and "temperature" not in body
        assert body["messages"][0]["role"] == "system"
    assert len({line["custom_id"] for line in requests}) == 2
    config = read_config(run)
    assert (config.engine.engine, config.engine.price_out) == ("openai-batch", 60.0)
    assert len(read_samples(run)) == 0


def test_read_stores_validated_answers_once_and_write_resumes_what_failed(written, tmp_path, instance_set):
    run, batch, plans = written
    requests = lines(batch)
    output = save(tmp_path / "out.jsonl", output_for(requests, plans, {requests[1]["custom_id"]}))
    code, err = cli("batch", "read", run, output)
    assert code == 0 and "the batch failed 1 requests" in err, err
    frame = read_samples(run)
    assert len(frame) == 2 and frame.valid.all() and set(frame.reasoning) == {"think"}
    assert frame.reasoning_tokens.tolist() == [8, 8] and frame.completion_tokens.tolist() == [20, 20]
    assert cli("batch", "read", run, output)[0] == 0 and len(read_samples(run)) == 2
    code, err = write(instance_set, run, tmp_path / "again.jsonl", "--resume")
    assert code == 0 and [line["custom_id"] for line in lines(tmp_path / "again.jsonl")] == [
        requests[1]["custom_id"]]
    save(output, output_for(requests, plans))
    assert cli("batch", "read", run, output)[0] == 0 and len(read_samples(run)) == 4


def entries_changed(entries, how):
    if how == "duplicate":
        return entries + entries[:1]
    if how == "missing":
        return entries[:1]
    if how == "other run":
        return [dict(e, custom_id="0123456789ab/" + e["custom_id"].split("/", 1)[1]) for e in entries]
    if how == "unknown instance":
        return [dict(e, custom_id=e["custom_id"].rsplit("/", 1)[0] + "/nope") for e in entries]
    return [{"id": "x"}]


@pytest.mark.parametrize("how, message", [
    ("duplicate", "is there twice"), ("missing", "1 of 2 requests of a wave have no line"),
    ("other run", "from another run"), ("unknown instance", "from another run"),
    ("no id", "without a custom_id"),
])
def test_a_bad_output_file_is_one_line_and_nothing_is_stored(written, tmp_path, how, message):
    run, batch, plans = written
    output = save(tmp_path / "out.jsonl", entries_changed(output_for(lines(batch), plans), how))
    code, err = cli("batch", "read", run, output)
    last = err.strip().splitlines()[-1]  # after the progress bar, when the run got that far
    assert code == 2 and last.startswith("error: ") and message in last, err
    assert len(read_samples(run)) == 0


def test_bad_batch_commands_are_one_line(written, instance_set, tmp_path):
    run, batch, _ = written
    code, err = write(instance_set, tmp_path / "other", batch)
    assert code == 2 and "exists: choose a new batch input file" in err
    assert not (tmp_path / "other").exists()
    code, err = cli("batch", "write", "--instances", instance_set, "--out", tmp_path / "r", tmp_path / "b")
    assert code == 2 and "needs --model" in err
    code, err = cli("batch", "write", "--instances", instance_set, *OPTIONS, "--extra-body", "[]",
                    "--out", tmp_path / "r", tmp_path / "b")
    assert code == 2 and "--extra-body must be a JSON object" in err and not (tmp_path / "b").exists()
    from conftest import run_config
    from planbench_scale.store import RunWriter
    with RunWriter(tmp_path / "live", run_config(), []):
        pass
    code, err = cli("batch", "read", tmp_path / "live", batch)
    assert code == 2 and "is not a batch run" in err


CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"


def test_end_to_end_with_vllm_batch_runner_on_the_cpu_model(instance_set, tmp_path):
    from vllm_server import server_command
    from planbench_scale.backends import cpu_model
    run, batch, output = tmp_path / "run", tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    code, err = cli("batch", "write", "--instances", instance_set, "--model", cpu_model.NAME,
                    "--form", "chat", "--k", 2, "--max-tokens", 16, "--out", run, batch)
    assert code == 0, err
    (tmp_path / "chat.jinja").write_text(CHAT_TEMPLATE)
    serve = server_command(0)
    flags = serve[serve.index("--port") + 2:]
    done = subprocess.run([sys.executable, "-m", "vllm.entrypoints.openai.run_batch", "-i", batch,
                           "-o", output, "--model", cpu_model.default_model(),
                           "--served-model-name", cpu_model.NAME, *flags,
                           "--chat-template", tmp_path / "chat.jinja"],
                          env={**cpu_model.ENVIRONMENT, **os.environ}, capture_output=True,
                          text=True, timeout=600, start_new_session=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(e["custom_id"] for e in lines(output)) == sorted(e["custom_id"] for e in lines(batch))
    code, err = cli("batch", "read", run, output)
    assert code == 0, err
    frame = read_samples(run)
    assert len(frame) == 4 and sorted(frame.sample_index.tolist()) == [0, 0, 1, 1]
    assert (frame.completion_tokens > 0).all() and (frame.completion_tokens <= 16).all()
    assert cli("batch", "read", run, output)[0] == 0 and len(read_samples(run)) == 4
