"""Answers made anywhere, scored into a run folder: the verdicts eval_extractor gives on
PlanBench's stored answers, bad lines named and left out, the config saying where they came from."""

import gzip
import importlib.util
import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from planbench_scale.cli import main
from planbench_scale.interop.answers import (ENGINE, Answer, instance_lookup, parse_answer,
                                             read_imported_verdicts, score_answers)
from planbench_scale.store import read_config, read_instances, read_samples

ROOT = Path(__file__).resolve().parents[1]


def eval_extractor():
    """scripts/eval_extractor.py as a module."""
    spec = importlib.util.spec_from_file_location("eval_extractor", ROOT / "scripts" / "eval_extractor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_answers(planbench: Path, config: str, name: str, count: int) -> list[dict]:
    with gzip.open(planbench / "responses" / config / f"{name}.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in list(lines)[:count]]


def write_answers(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps({"instance_id": r["instance_id"], "text": r["raw_response"],
                                        "model": r["model"], "verdict": bool(r["planbench_correct"])})
                            + "\n" for r in rows))
    return path


def test_score_reproduces_eval_extractor_verdicts(planbench, tmp_path):
    script = eval_extractor()
    for config, name in (("mystery_blocksworld", "gpt-4_chat__t1"), ("blocksworld", "gpt-4o_chat__t1_zero_shot")):
        rows = shared_answers(planbench, config, name, 80)
        sets = script.load_sets({config}, planbench)
        results = script.extract_all(rows, sets)
        script.validate_all(results)
        expected = {f"{config}/instance-{r['row']['instance_id']}": r["valid"] for r in results}
        folder, templates = script.sources(config, planbench)
        out = tmp_path / config
        result = CliRunner().invoke(main, ["score", str(write_answers(tmp_path / f"{config}.jsonl", rows)),
                                           "--instances", str(folder), "--templates", templates,
                                           "--shots", "1", "--out", str(out)])
        assert result.exit_code == 0, result.output
        samples = read_samples(out, ["instance_id", "valid"])
        assert dict(zip(samples["instance_id"].astype(str), samples["valid"])) == expected
        assert 0 < sum(expected.values()) < len(expected)  # both verdicts occur
        theirs = read_imported_verdicts(out)
        assert theirs["verdict"].tolist() == [bool(r["planbench_correct"]) for r in rows]


def test_bad_lines_are_named_and_the_rest_kept(planbench, tmp_path):
    rows = shared_answers(planbench, "blocksworld", "gpt-4_chat__t1", 3)
    answers = write_answers(tmp_path / "a.jsonl", rows)
    with open(answers, "a") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"instance_id": 2, "text": "again", "sample_index": 0}) + "\n")
        handle.write(json.dumps({"instance_id": "instance-99999", "text": "x"}) + "\n")
        handle.write(json.dumps({"text": "no id"}) + "\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["score", str(answers), "--instances",
                                       str(planbench / "instances" / "blocksworld"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for line, why in ((4, "not a JSON line"), (5, "a second answer 0 of blocksworld/instance-2"),
                      (6, "'instance-99999' is not in the set"), (7, "no 'instance_id'")):
        assert f"a.jsonl:{line}: " in result.output and why in result.output
    assert len(read_samples(out, ["valid"])) == 3
    assert [i.id for i in read_instances(out)] == [f"blocksworld/instance-{r['instance_id']}" for r in rows]
    config = read_config(out)
    assert (config.engine.engine, config.engine.model) == (ENGINE, "gpt-4_chat")
    again = CliRunner().invoke(main, ["score", str(answers), "--instances",
                                      str(planbench / "instances" / "blocksworld"), "--out", str(out)])
    assert again.exit_code == 2 and "already holds a run" in again.output
    assert len(read_samples(out, ["valid"])) == 3
    assert config.engine.source == str(answers.resolve())


def test_an_answers_file_with_nothing_usable_is_one_error(planbench, tmp_path):
    answers = tmp_path / "a.jsonl"
    answers.write_text('{"instance_id": "nope", "text": "x"}\n')
    result = CliRunner().invoke(main, ["score", str(answers), "--instances",
                                       str(planbench / "instances" / "blocksworld_3"),
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "no answer could be used" in result.output and "a.jsonl:1" in result.output
    assert not (tmp_path / "run").exists()


def test_sample_indexes_number_in_file_order_and_models_must_agree(planbench, tmp_path):
    lines = [("f:1", Answer("3", "pick up the red block", model="m")),
             ("f:2", Answer("3", "x", sample_index=0, model="m")),
             ("f:3", Answer("3", "y", model="m")),
             ("f:4", Answer("4", "z", model="m"))]
    out = tmp_path / "run"
    imported = score_answers(lambda: iter(lines), planbench / "instances" / "blocksworld_3", out, "f")
    assert imported.problems == ("f:2: a second answer 0 of blocksworld_3/instance-3",)
    samples = read_samples(out, ["instance_id", "sample_index", "text"])
    assert sorted(zip(samples["instance_id"].astype(str), samples["sample_index"], samples["text"])) == [
        ("blocksworld_3/instance-3", 0, "pick up the red block"),
        ("blocksworld_3/instance-3", 1, "y"), ("blocksworld_3/instance-4", 0, "z")]
    assert read_config(out).settings.k == 2
    mixed = [("f:1", Answer("3", "a", model="m")), ("f:2", Answer("4", "b", model="n"))]
    try:
        score_answers(lambda: iter(mixed), planbench / "instances" / "blocksworld_3", tmp_path / "r2", "f")
        raise AssertionError("mixed models were accepted")
    except Exception as error:
        assert "several models (m, n)" in str(error)


def test_suffixes_name_an_instance_only_when_unique():
    from planbench_scale.records import Instance

    made = [Instance(f"{d}/instance-{n}", "blocksworld", "blocksworld", ("a",), (), (), ())
            for d in ("x", "y") for n in (1, 2)] + \
           [Instance("z/instance-7", "blocksworld", "blocksworld", ("a",), (), (), ())]
    lookup = instance_lookup(made)
    assert lookup["7"].id == lookup["instance-7"].id == "z/instance-7"
    assert "1" not in lookup and "instance-1" not in lookup and lookup["x/instance-1"].id == "x/instance-1"


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, st.fixed_dictionaries(
    {"instance_id": st.integers() | st.text(), "text": JSON},
    optional={"sample_index": JSON, "verdict": JSON, "prompt_tokens": JSON, "model": JSON})))
def test_any_json_line_is_an_answer_or_one_value_error(record):
    try:
        answer = parse_answer(record)
    except ValueError as error:
        assert str(error)
        return
    assert isinstance(answer.text, str) and isinstance(answer.instance_id, str)
    assert answer.sample_index is None or answer.sample_index >= 0
    assert answer.verdict in (None, True, False)
