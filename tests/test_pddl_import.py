"""Bring your own domain: `import` of an IPC STRIPS domain (Gripper, untyped, in domains/) and a
typed one (tests/data/ferry), refusals of what is beyond STRIPS, optimal lengths cross-checked
with Fast Downward, and every strategy plus a report on an imported set with the CPU model."""

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale import domains, instances, runner
from planbench_scale.analysis.report import build_report
from planbench_scale.config import EngineConfig, Sampling, Settings
from planbench_scale.domains import pddl_import
from planbench_scale.errors import PDDLError, PlanbenchError
from planbench_scale.records import Reason
from planbench_scale.symbolic import fast_downward
from planbench_scale.symbolic.validate import validate
from planbench_scale.text import prompts

ROOT = Path(__file__).resolve().parents[1]
GRIPPER = ROOT / "domains" / "gripper"
FERRY = Path(__file__).parent / "data" / "ferry"
GRIPPER_OPTIMAL = {"p01": 3, "p02": 5, "p03": 9, "p04": 11, "p05": 15}
"""Gripper's optimal plan lengths with 1-5 balls (two balls a round trip: pick, pick, move, drop,
drop, move back)."""


def cli(*args):
    return subprocess.run([sys.executable, "-m", "planbench_scale.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def gripper_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("sets") / "gripper"
    done = cli("import", "--domain", "gripper", "--out", out)
    assert done.returncode == 0, done.stderr
    return out


def test_gripper_imports_with_optimal_lengths_and_reads_in_a_fresh_process(gripper_set):
    loaded = subprocess.run([sys.executable, "-c", (
        "from planbench_scale.instances import load_instances\n"
        "from planbench_scale.score import check\n"
        "pool = load_instances('%s')\n"
        "print({i.id: i.optimal_length for i in pool}, all(check(i, '\\n'.join("
        "'(' + ' '.join(a) + ')' for a in i.optimal_plan))[1].valid for i in pool))") % gripper_set],
        capture_output=True, text=True, cwd=ROOT)
    assert loaded.stdout.strip() == f"{GRIPPER_OPTIMAL} True", loaded.stderr
    assert (gripper_set / "domain.pddl").is_file() and (gripper_set / "manifest.jsonl").is_file()


def test_a_typed_domain_becomes_untyped_with_type_facts_and_an_unsolvable_problem_is_marked(tmp_path):
    out, made = instances.import_set(FERRY / "domain.pddl", FERRY, tmp_path / "ferry", "ferry")
    by_id = {i.id: i for i in made}
    assert {i: by_id[i].optimal_length for i in ("p1", "p2")} == {"p1": 6, "p2": 4}
    assert not by_id["p3"].solvable and by_id["p3"].optimal_plan == ()
    assert ("car", "c1") in by_id["p1"].init and ("vehicle", "c1") in by_id["p1"].init
    text = (out / "domain.pddl").read_text()
    assert "(car ?car)" in text and " - " not in text and "(not (= ?from ?to))" in text
    task = domains.task_for(by_id["p1"])
    assert not validate(task, ["(sail a a)"]).valid  # (not (= ?from ?to)) is kept
    assert validate(task, ["(board c2 a)"]).reason == Reason.INAPPLICABLE  # c2 is at b
    assert validate(task, ["(board c1 a)"]).reason == Reason.GOAL_NOT_REACHED


def test_optimal_lengths_agree_with_fast_downward_on_the_original_typed_files(tmp_path):
    _, made = instances.import_set(FERRY / "domain.pddl", FERRY, tmp_path / "ferry", "ferry2")
    for instance in made:
        if instance.solvable:
            plan = fast_downward.optimal_plan((FERRY / "domain.pddl").read_text(),
                                              Path(instance.source).read_text())
            assert len(plan) == instance.optimal_length


@pytest.mark.parametrize("requirement", [
    ":negative-preconditions", ":conditional-effects", ":disjunctive-preconditions",
    ":existential-preconditions", ":universal-preconditions", ":quantified-preconditions",
    ":numeric-fluents", ":fluents", ":durative-actions", ":adl", ":derived-predicates"])
def test_each_requirement_beyond_strips_is_refused_by_name_with_the_file(tmp_path, requirement):
    domain = tmp_path / "d.pddl"
    domain.write_text((GRIPPER / "domain.pddl").read_text().replace(
        "(:requirements :strips)", f"(:requirements :strips :typing {requirement})"))
    done = cli("import", "--domain", domain, "--problems", GRIPPER / "problems", "--out", tmp_path / "o")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert f"{domain}: requirement {requirement} is not supported" in done.stderr
    assert not (tmp_path / "o").exists()


def test_constructs_beyond_strips_written_without_their_requirement_are_refused(tmp_path):
    domain = tmp_path / "d.pddl"
    text = (GRIPPER / "domain.pddl").read_text()
    for old, new, said in [
            ("(free ?gripper))\n    :effect (and (carry", "(not (free ?gripper)))\n    :effect (and (carry",
             "negative preconditions"),
            ("(at-robby ?room) (free ?gripper))", "(or (at-robby ?room) (free ?gripper)))", "disjunctive")]:
        domain.write_text(text.replace(old, new))
        with pytest.raises(PDDLError, match=said):
            pddl_import.untyped_domain(pddl_import.read(domain), str(domain))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([":strips", ":typing", ":equality", ":adl", ":fluents",
                                 ":negative-preconditions", ":action-costs", ":STRIPS"]), max_size=5),
       st.sampled_from([" ", "\n  ", "\t"]))
def test_requirements_are_read_whatever_their_spacing_and_case(listed, space):
    text = f"(define (domain x) ; a (:requirements :adl) comment is not read\n" \
           f"(:requirements{space}{space.join(listed)}))"
    beyond = [r.lower() for r in listed if r.lower() not in pddl_import.ALLOWED]
    if beyond:
        with pytest.raises(PDDLError, match=f"requirement {beyond[0]} is not supported"):
            pddl_import.refuse_requirements(text, "x.pddl")
    else:
        pddl_import.refuse_requirements(text, "x.pddl")


def test_the_untyped_domain_reads_back_to_itself():
    for file in (GRIPPER / "domain.pddl", FERRY / "domain.pddl"):
        once = pddl_import.untyped_domain(pddl_import.read(file), str(file))
        again = Path(file).with_name("again.pddl")
        try:
            again.write_text(once)
            assert pddl_import.untyped_domain(pddl_import.read(again), str(again)) == once
        finally:
            again.unlink()


def test_a_templates_file_in_planbench_format_gives_the_prompt_words(tmp_path):
    config = tmp_path / "t.yaml"
    config.write_text("domain_name: gripper\ndomain_intro: |\n  A robot carries balls.\n"
                      "actions: {move: 'go from {} to {}', pick: 'grab {} in {} with {}', "
                      "drop: 'release {} in {} from {}'}\n"
                      "predicates: {at-robby: 'the robot is in {}', at: '{} lies in {}', "
                      "free: '{} is empty', carry: '{} is held by {}'}\n")
    out, made = instances.import_set(GRIPPER / "domain.pddl", GRIPPER / "problems", tmp_path / "s",
                                     "gripper-words", config)
    prompt = prompts.render(made[1], "nl", 1, made).text
    assert prompt.startswith("A robot carries balls.") and "grab ball1 in rooma with left" in prompt
    assert "ball1 is a ball" in prompt  # types left out take the default phrase
    config.write_text(config.read_text().replace("carry: '{} is held by {}'", "other: '{}'"))
    with pytest.raises(PlanbenchError, match="no phrase for the predicate carry"):
        instances.import_set(GRIPPER / "domain.pddl", GRIPPER / "problems", tmp_path / "s2",
                             "gripper-words2", config)


def test_bad_inputs_are_one_line(tmp_path):
    assert "neither a domain file nor a data-only domain" in cli(
        "import", "--domain", "nothing", "--out", tmp_path / "o").stderr
    assert "--problems is needed" in cli("import", "--domain", GRIPPER / "domain.pddl",
                                         "--out", tmp_path / "o").stderr
    done = cli("import", "--domain", GRIPPER / "domain.pddl", "--problems", tmp_path, "--out", tmp_path / "o")
    assert done.returncode == 2 and "no problem files" in done.stderr


def test_another_domain_under_a_taken_name_is_refused(tmp_path):
    with pytest.raises(PlanbenchError, match="already a different domain"):
        instances.import_set(FERRY / "domain.pddl", FERRY, tmp_path / "f", "gripper")


SAMPLING = Sampling(temperature=0.8, max_tokens=48)
STRATEGY_RUNS = {
    "sample": Settings(strategy="sample", k=2, sampling=SAMPLING),
    "revise": Settings(strategy="revise", k=1, rounds=1, sampling=SAMPLING),
    "beam": Settings(strategy="beam", k=2, beam_width=1, depth=5, retries=0, sampling=SAMPLING,
                     score="goal-count"),
    "dvts": Settings(strategy="dvts", k=2, beam_width=2, depth=5, retries=0, sampling=SAMPLING),
    "best-of-n": Settings(strategy="best-of-n", k=2, sampling=SAMPLING, score="goal-count"),
    "random-legal": Settings(strategy="random-legal", k=2, depth=6),
    "beam-legal-distance": Settings(strategy="beam", k=2, beam_width=2, propose="legal",
                                    score="distance"),
    "beam-legal-logprob": Settings(strategy="beam", k=1, beam_width=1, depth=5, propose="legal",
                                   score="logprob"),
}


def test_every_strategy_and_a_report_on_the_imported_set_with_the_cpu_model(tmp_path, gripper_set,
                                                                           cpu_backend):
    runs = []
    for name, chosen in STRATEGY_RUNS.items():
        config, picked, pool = runner.plan_run(chosen, EngineConfig("vllm", None), gripper_set,
                                               limit=2, resolve=lambda same: same)
        progress = runner.execute(config, picked, pool, tmp_path / name, show_progress=False,
                                  backend=cpu_backend)
        assert progress.samples > 0, name
        runs.append(tmp_path / name)
        if name == "beam-legal-distance":  # the oracle over Fast Downward's distances solves both
            assert progress.solved == 2
    report = build_report(runs, tmp_path / "report")
    page = (tmp_path / "report" / "index.html")
    assert page.is_file() and "gripper" in page.read_text()
    assert report is not None
    assert {i.domain for i in instances.load_instances(gripper_set)} == {"gripper"}
    assert isinstance(domains.get("gripper"), domains.FolderDomain)
