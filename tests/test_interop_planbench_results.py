"""PlanBench's result files as runs: result files in PlanBench's exact layout, built from the
shared answers, are re-scored to the verdicts eval_extractor gives, PlanBench's own verdict kept,
and the report reads the runs."""

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from planbench_scale.cli import main
from planbench_scale.errors import PlanbenchError
from planbench_scale.interop.answers import read_imported_verdicts
from planbench_scale.interop.planbench_results import ResultFile, result_files
from planbench_scale.store import read_config, read_samples

from test_interop_answers import eval_extractor

CASES = (("blocksworld", "gpt-4_chat", "t1", "oneshot"),
         ("mystery_blocksworld", "gpt-4_chat", "t1_zero_shot", "zeroshot"))
"""(config, model, prompt type, PlanBench's prompt_type field) of the result files built."""


def read_gz(path: Path, count: int) -> list[dict]:
    with gzip.open(path, "rt") as lines:
        return [json.loads(line) for line in list(lines)[:count]]


def result_file(planbench: Path, config: str, model: str, kind: str, prompt_type: str,
                count: int) -> dict:
    """A task_1 result file as PlanBench's response_evaluation.py writes it (its key names and
    nesting, from the files in its repository), from the shared answers and prompts."""
    answers = read_gz(planbench / "responses" / config / f"{model}__{kind}.jsonl.gz", count)
    queries = {r["instance_id"]: r["query"] for r in read_gz(
        planbench / "prompts" / config / f"{kind}.jsonl.gz", 10_000)}
    instances = [{"instance_id": a["instance_id"], "example_instance_ids": [a["instance_id"] - 1],
                  "query": queries.get(a["instance_id"], ""), "ground_truth_plan": a["ground_truth_plan"],
                  "llm_raw_response": a["raw_response"], "extracted_llm_plan": a["planbench_plan"],
                  "llm_correct": bool(a["planbench_correct"])} for a in answers]
    return {"task": "t1", "engine": model, "prompt_type": prompt_type, "domain": config,
            "instances": instances}


@pytest.fixture()
def results(planbench, tmp_path) -> Path:
    root = tmp_path / "results"
    for config, model, kind, prompt_type in CASES:
        folder = root / config / model
        folder.mkdir(parents=True)
        name = "task_1_plan_generation" + kind[len("t1"):] + ".json"
        (folder / name).write_text(json.dumps(result_file(planbench, config, model, kind,
                                                          prompt_type, 40), indent=4))
    (root / "sokoban" / "gpt-4_chat").mkdir(parents=True)
    (root / "sokoban" / "gpt-4_chat" / "task_1_plan_generation.json").write_text('{"instances": []}')
    return root


def test_result_files_become_runs_with_eval_extractor_verdicts(planbench, results, tmp_path):
    out = tmp_path / "runs"
    result = CliRunner().invoke(main, ["import-planbench", str(results), "--data", str(planbench),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "no instance set sokoban" in result.output
    script = eval_extractor()
    for config, model, kind, _ in CASES:
        run = out / f"{config}__{model}__{kind}"
        rows = [{**a, "config": config} for a in read_gz(
            planbench / "responses" / config / f"{model}__{kind}.jsonl.gz", 40)]
        checked = script.extract_all(rows, script.load_sets({config}, planbench))
        script.validate_all(checked)
        samples = read_samples(run, ["instance_id", "valid"])
        assert dict(zip(samples["instance_id"].astype(str), samples["valid"])) == \
            {f"{config}/instance-{r['row']['instance_id']}": r["valid"] for r in checked}
        theirs = read_imported_verdicts(run)
        assert theirs["verdict"].tolist() == [bool(r["planbench_correct"]) for r in rows]
        config_stored = read_config(run)
        assert config_stored.engine.model == model and config_stored.engine.source.endswith(".json")
        assert config_stored.settings.shots == (0 if "zero_shot" in kind else 1)


def test_the_report_reads_imported_runs_beside_planbench_verdicts(planbench, results, tmp_path):
    from planbench_scale.analysis.report import build_report
    from planbench_scale.interop.planbench_results import import_planbench

    runs = [i.run_dir for i in import_planbench(results, tmp_path / "runs", planbench, say=lambda _: None)]
    report = build_report(runs, tmp_path / "report")
    agreement = (tmp_path / "report" / "imported_verdicts.csv").read_text().splitlines()
    assert len(agreement) == 3 and agreement[0].startswith("run,answers,ours_valid,theirs_valid")
    by_length = (tmp_path / "report" / "accuracy_by_length.csv").read_text()
    assert "mystery" in by_length and "blocksworld" in by_length
    assert report.html.is_file()


def test_prompt_types_follow_planbench_file_names(tmp_path):
    for name, kind, style, shots in (("task_1_plan_generation", "t1", "nl", 1),
                                     ("task_1_plan_generation_zero_shot_pddl", "t1_zero_shot_pddl", "pddl", 0),
                                     ("task_1_plan_generation_pddl", "t1_pddl", "pddl", 1)):
        found = ResultFile(tmp_path / f"{name}.json", "blocksworld", "m", kind)
        assert (found.style, found.shots) == (style, shots)
    with pytest.raises(PlanbenchError, match="no PlanBench result files"):
        result_files(tmp_path)
