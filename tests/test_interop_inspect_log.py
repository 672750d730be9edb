"""inspect_ai logs as runs: logs in inspect's exact layouts (.json and the .eval zip, the shape of
the logs in inspect_ai's own tests/log/test_eval_log), built from the shared answers, give the
verdicts eval_extractor gives; an errored sample is named and left out."""

import json
import zipfile

from click.testing import CliRunner

from planbench_scale.cli import main
from planbench_scale.interop.answers import read_imported_verdicts
from planbench_scale.interop.inspect_log import answer_of
from planbench_scale.store import read_config, read_samples

from test_interop_answers import eval_extractor, shared_answers

CONFIG, NAME = "blocksworld", "gpt-4o_chat__t1"


def sample(answer: dict, epoch: int) -> dict:
    """One log sample as inspect_ai writes it."""
    return {"id": f"{CONFIG}/instance-{answer['instance_id']}", "epoch": epoch, "input": "...",
            "target": "", "messages": [],
            "output": {"model": "gpt-4o", "choices": [{"message": {
                "id": "x", "content": [{"type": "reasoning", "reasoning": "let me think"},
                                       {"type": "text", "text": answer["raw_response"]}],
                "source": "generate", "role": "assistant", "model": "gpt-4o"}, "stop_reason": "stop"}],
                "usage": {"input_tokens": 300, "output_tokens": 40, "total_tokens": 340,
                          "reasoning_tokens": 5}, "time": 1.0},
            "scores": {"plan_validity": {"value": "C" if answer["planbench_correct"] else "I",
                                         "answer": "", "explanation": ""}},
            "metadata": {}, "store": {}, "events": [], "model_usage": {}, "total_time": 1.0,
            "working_time": 1.0, "uuid": "u", "error_retries": [], "attachments": {}}


def header() -> dict:
    return {"version": 2, "status": "success",
            "eval": {"eval_id": "e", "run_id": "r", "created": "2026-12-03T00:00:00+00:00",
                     "task": "planbench_scale/plan_generation", "task_id": "t", "task_version": 0,
                     "dataset": {"name": "b", "samples": 2}, "model": "openai/gpt-4o",
                     "config": {"epochs": 2}, "packages": {"inspect_ai": "0.3.285"}, "scorers": []},
            "plan": {}, "results": {}, "stats": {}}


def test_json_and_eval_logs_become_runs_with_eval_extractor_verdicts(planbench, tmp_path):
    rows = shared_answers(planbench, CONFIG, NAME, 30)
    samples = [sample(r, 1) for r in rows] + [{"id": "broken", "epoch": 1, "error": {"message": "x"}}]
    (tmp_path / "log.json").write_text(json.dumps({**header(), "samples": samples}))
    with zipfile.ZipFile(tmp_path / "log.eval", "w") as archive:
        archive.writestr("header.json", json.dumps(header()))
        for s in samples:
            archive.writestr(f"samples/{s['id'].replace('/', '_')}_epoch_{s['epoch']}.json", json.dumps(s))
    script = eval_extractor()
    checked = script.extract_all([{**r, "config": CONFIG} for r in rows], script.load_sets({CONFIG}, planbench))
    script.validate_all(checked)
    expected = {f"{CONFIG}/instance-{r['row']['instance_id']}": r["valid"] for r in checked}
    folder, templates = script.sources(CONFIG, planbench)
    for log in ("log.json", "log.eval"):
        out = tmp_path / f"run-{log}"
        result = CliRunner().invoke(main, ["import-inspect", str(tmp_path / log), "--instances",
                                           str(folder), "--templates", templates, "--shots", "1",
                                           "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "no id or no output choice" in result.output
        stored = read_samples(out, ["instance_id", "valid", "reasoning", "prompt_tokens"])
        assert dict(zip(stored["instance_id"].astype(str), stored["valid"])) == expected
        assert set(stored["reasoning"]) == {"let me think"} and set(stored["prompt_tokens"]) == {300}
        theirs = read_imported_verdicts(out)
        assert dict(zip(theirs["instance_id"], theirs["verdict"])) == {
            f"{CONFIG}/instance-{r['instance_id']}": bool(r["planbench_correct"]) for r in rows}
        assert read_config(out).engine.model == "openai/gpt-4o"


def test_epochs_are_sample_indexes_and_scores_verdicts():
    answer = {"instance_id": 3, "raw_response": "x", "planbench_correct": 1}
    assert answer_of(sample(answer, 3), "m").sample_index == 2
    assert answer_of(sample(answer, 1), "m").verdict is True
    for value, verdict in ((0, False), (1.0, True), ("I", False), (0.5, None), ({"a": 1}, None)):
        scored = {**sample(answer, 1), "scores": {"s": {"value": value}}}
        assert answer_of(scored, "m").verdict is verdict
    plain = sample(answer, 1)
    plain["output"]["choices"][0]["message"]["content"] = "just text"
    assert (answer_of(plain, "m").text, answer_of(plain, "m").reasoning) == ("just text", "")
