import json

import pytest
from click.testing import CliRunner

from planbench_scale.domains import DOMAINS, instance_pddl
from planbench_scale.domains.blocksworld import vocab
from planbench_scale.cli import main
from planbench_scale.records import Instance

INSTANCE = Instance("c/1", "mystery", "mystery", ("a", "b"),
                    (("clear", "a"), ("handempty",), ("on", "a", "b"), ("ontable", "b")),
                    (("on", "b", "a"),), ())
PLAN = "1: (feast a b)\n2: (succumb a)\n3: (attack b)\n4: (overcome b a)\n; cost = 4 (unit cost)\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "domain.pddl").write_text(DOMAINS["mystery"].domain_pddl(vocab.get("mystery")))
    (tmp_path / "p.pddl").write_text(instance_pddl(INSTANCE)[1])
    (tmp_path / "plan.txt").write_text(PLAN)
    return tmp_path


def _validate(files, plan_text, *extra):
    (files / "plan.txt").write_text(plan_text)
    return CliRunner().invoke(main, ["validate", "--domain", str(files / "domain.pddl"), "--problem",
                                     str(files / "p.pddl"), "--plan", str(files / "plan.txt"), *extra])


def test_valid_plan_exits_0(files):
    result = _validate(files, PLAN)
    assert result.exit_code == 0 and result.output.startswith("valid:")


def test_invalid_plan_exits_1_and_says_why(files):
    result = _validate(files, "(succumb a)\n")
    assert result.exit_code == 1
    assert "step 1 (succumb a): unmet preconditions (pain a)" in result.output
    report = json.loads(_validate(files, "(feast a b)\n", "--json", "--trace").output)
    assert report["reason"] == "goal_not_reached" and report["unmet"] == ["(craves b a)"]
    assert len(report["trace"]) == 2


@pytest.mark.parametrize("plan, words", [
    ("", "no actions"),
    ("feast a b\n", "plan.txt:1:1"),
    ("(feast a b)\n(((\n", "plan.txt:2:1"),
])
def test_unreadable_plan_exits_2_without_traceback(files, plan, words):
    result = _validate(files, plan)
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output


def test_bad_pddl_exits_2_with_position(files):
    (files / "p.pddl").write_text(instance_pddl(INSTANCE)[1].replace("(harmony)", "(harmony"))
    result = _validate(files, PLAN)
    assert result.exit_code == 2 and "p.pddl:" in result.output
    result = CliRunner().invoke(main, ["validate", "--domain", str(files / "nope.pddl"), "--problem",
                                       str(files / "p.pddl"), "--plan", str(files / "plan.txt")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_batch_streams_results_and_summary(files):
    lines = [json.dumps({"id": 1, "plan": PLAN}), json.dumps({"id": 2, "plan": ["(succumb a)"]}),
             "not json", json.dumps({"id": 4, "plan": "(feast a b)\nxx"}),
             json.dumps({"id": 5, "plan": PLAN, "problem": str(files / "missing.pddl")}),
             json.dumps({"id": 6, "plan": ""})]
    (files / "plans.jsonl").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, [
        "validate-batch", "--domain", str(files / "domain.pddl"), "--problem",
        str(files / "p.pddl"), str(files / "plans.jsonl")])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["valid"] and rows[1]["reason"] == "inapplicable" and rows[1]["failed_step"] == 0
    assert "not JSON" in rows[2]["error"] and "plan text line 2" in rows[3]["error"]
    assert "missing.pddl" in rows[4]["error"] and rows[5]["reason"] == "empty_plan"
    assert "6 lines: 1 valid, 2 invalid, 3 unreadable" in result.stderr
    assert result.exit_code == 2


def test_batch_exit_codes(files):
    (files / "plans.jsonl").write_text(json.dumps({"plan": PLAN}) + "\n")
    args = ["validate-batch", "--domain", str(files / "domain.pddl"), "--problem",
            str(files / "p.pddl"), str(files / "plans.jsonl")]
    assert CliRunner().invoke(main, args).exit_code == 0
    (files / "plans.jsonl").write_text(json.dumps({"plan": "(succumb a)"}) + "\n")
    assert CliRunner().invoke(main, args).exit_code == 1


def test_batch_streams_an_endless_input(files):
    import itertools

    from planbench_scale.symbolic.batch import validate_jsonl

    endless = (json.dumps({"id": i, "plan": PLAN}) for i in itertools.count())
    results = validate_jsonl(endless, str(files / "domain.pddl"), str(files / "p.pddl"))
    first = [json.loads(line) for line in itertools.islice(results, 3)]
    assert [r["id"] for r in first] == [0, 1, 2] and all(r["valid"] for r in first)
