"""The command line: every command answers bad input and damaged state with one clear line and
exit code 2, never a traceback, and never shows the content of a file it could not read."""

import json
import shutil

import pytest
from click.testing import CliRunner

from planbench_scale.cli import main
from planbench_scale.instances import generate_set, write_set

SECRET = "SECRET-7f3a9c"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small set, a run folder of it, damaged copies, and a file holding a secret."""
    root = tmp_path_factory.mktemp("bad")
    write_set(generate_set("blocksworld", (3, 3), (2, 4), per_step=1, seed=0), root / "set")
    (root / "secret.pddl").write_text(f"(define (problem {SECRET}\n  (:objects a b c)\n (:init (")
    (root / "file.txt").write_text("not a folder\n")
    (root / "plan.txt").write_text("(pick-up a)\n")
    (root / "plans.jsonl").write_text(json.dumps({"id": 1, "plan": "(pick-up a)",
                                                  "problem": str(root / "secret.pddl")}) + "\n")
    (root / "bad.yaml").write_text("domain_name: x\ndomain_intro: hi\nactions: {pick-up: '{5} {'}\n"
                                   "predicates: {}\n")
    run = root / "run"
    _run_folder(run)
    for name in ("corrupt-config", "no-instances"):
        shutil.copytree(run, root / name)
    (root / "corrupt-config" / "config.json").write_text("{not json")
    (root / "no-instances" / "instances.jsonl").unlink()
    return root


def _run_folder(run):
    from conftest import run_config
    from planbench_scale.store import RunWriter

    RunWriter(run, run_config(), []).close()


def cases(root):
    s, run = root / "set", root / "run"
    return {
        "generate into a file": ["generate", "--domain", "blocksworld", "--out", root / "file.txt"],
        "generate an empty range": ["generate", "--domain", "blocksworld", "--blocks", "5-3",
                                    "--out", root / "new1"],
        "generate impossible steps": ["generate", "--domain", "blocksworld", "--blocks", "3",
                                      "--steps", "9", "--out", root / "new2"],
        "generate where no folder can be": ["generate", "--domain", "blocksworld", "--out",
                                            "/proc/none/x"],
        "report of a missing run": ["report", root / "missing", "--out", root / "r1"],
        "report into a file": ["report", run, "--out", root / "file.txt"],
        "report of a set folder": ["report", s, "--out", root / "r2"],
        "export of a set folder": ["export", s, root / "x.parquet"],
        "export where no file can be": ["export", run, "/proc/none/x.parquet"],
        "run into a set folder": ["run", "--instances", s, "--out", s],
        "resume with a corrupt config": ["run", "--instances", s, "--out",
                                         root / "corrupt-config", "--resume"],
        "resume without instances": ["run", "--instances", s, "--out", root / "no-instances",
                                     "--resume"],
        "run with a bad template": ["run", "--instances", s, "--templates",
                                    f"planbench:{root / 'bad.yaml'}", "--out", root / "r3"],
        "prompt for no instance": ["prompt", "--instance", f"{s}:nope"],
        "extract for a missing file": ["extract", "--instance", root / "none.pddl"],
        "validate a broken problem": ["validate", "--domain", s / "domain.pddl", "--problem",
                                      root / "secret.pddl", "--plan", root / "plan.txt"],
        "demo with an empty range": ["demo", "--steps", "8-2", "--out", root / "d"],
        "run with an extra body that is no object": ["run", "--instances", s, "--engine", "openai",
                                                     "--extra-body", "[1]", "--out", root / "r4"],
        "batch write without a model": ["batch", "write", "--instances", s, "--out", root / "b1",
                                        root / "b1.jsonl"],
        "batch read of a live run": ["batch", "read", run, root / "secret.pddl"],
    }


@pytest.mark.parametrize("name", list(cases(__import__("pathlib").Path("/x"))))
def test_bad_input_is_one_line_and_exit_2(files, name):
    result = CliRunner().invoke(main, list(map(str, cases(files)[name])))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in result.output
    assert SECRET not in result.output
    assert len([line for line in lines if line.startswith("error: ")]) == 1


def test_validate_batch_names_the_bad_line_without_its_file(files):
    result = CliRunner().invoke(main, ["validate-batch", "--domain",
                                       str(files / "set" / "domain.pddl"), str(files / "plans.jsonl")])
    assert result.exit_code == 2 and SECRET not in result.output and "Traceback" not in result.output
    answer = json.loads(result.stdout.splitlines()[0])
    assert answer["id"] == 1 and "secret.pddl" in answer["error"]


def test_help_lists_every_command_once_under_its_section():
    from planbench_scale.cli import SECTIONS

    text = CliRunner().invoke(main, ["--help"]).output
    for title, commands in SECTIONS:
        assert f"{title}:" in text
    listed = [c.name for _, commands in SECTIONS for c in commands]
    assert sorted(listed) == sorted(main.commands) and len(set(listed)) == len(listed)
    assert text.index("Instance sets:") < text.index("  generate") < text.index("One answer:")
