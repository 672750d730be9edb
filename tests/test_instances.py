import json
from collections import Counter
from dataclasses import replace

import pytest
from blocks_bfs import bfs_plan
from click.testing import CliRunner

from planbench_scale.domains.blocksworld import states as bw
from planbench_scale.cli import main
from planbench_scale.errors import PDDLError, PlanbenchError
from planbench_scale.domains.blocksworld.generate import random_problem
from planbench_scale.instances import generate_set, load_instances, write_set
from planbench_scale.domains.blocksworld.vocab import get

SMALL = dict(sizes=(3, 7), steps=(2, 12), per_step=4, seed=11)


@pytest.fixture(scope="module")
def small_set():
    return generate_set("blocksworld", **SMALL)


def test_set_is_stratified_by_optimal_length(small_set):
    assert Counter(i.optimal_length for i in small_set) == {s: 4 for s in (2, 4, 6, 8, 10, 12)}
    assert len({i.id for i in small_set}) == len(small_set)
    assert len({(i.init, i.goal) for i in small_set}) == len(small_set)
    for instance in small_set:
        assert 3 <= len(instance.objects) <= 7
        assert not set(instance.goal) <= set(instance.init)
        assert instance.id == (f"blocksworld-b{len(instance.objects):02d}-s{instance.optimal_length:02d}-"
                               + instance.id[-4:])


def test_instances_are_reproducible_from_their_seed(small_set):
    for instance in small_set:
        names, init, goal = random_problem(len(instance.objects), instance.seed)
        assert (names, init, goal) == (instance.objects, instance.init, instance.goal)
        assert len(bfs_plan(names, init, goal)) == instance.optimal_length


def test_domains_share_the_draws_of_a_seed(small_set):
    mystery = generate_set("mystery", **SMALL)
    randomized = generate_set("randomized", **SMALL)
    assert [replace(i, id="", domain="", vocabulary="") for i in mystery] == \
           [replace(i, id="", domain="", vocabulary="") for i in small_set]
    assert {i.vocabulary for i in randomized} == {"randomized:11"}
    assert {i.domain for i in mystery} == {"mystery"}


def test_partial_goals_keep_a_subset_of_a_goal_state():
    full = generate_set("blocksworld", sizes=(4, 6), steps=(4, 8), per_step=5, seed=2)
    partial = generate_set("blocksworld", sizes=(4, 6), steps=(4, 8), per_step=5, seed=2, partial_goals=True)
    assert sum(len(i.goal) for i in partial) < sum(len(i.goal) for i in full)
    for instance in partial:
        names, init, goal = random_problem(len(instance.objects), instance.seed, partial_goals=True)
        assert goal == instance.goal and goal
        assert len(bfs_plan(names, init, goal)) == instance.optimal_length


def test_unreachable_step_counts_are_skipped_and_reported():
    messages = []
    instances = generate_set("blocksworld", sizes=(3, 3), steps=(7, 12), per_step=2, seed=0,
                             progress=messages.append)
    assert {i.optimal_length for i in instances} == {8}
    assert any("7, 9, 10, 11, 12" in m for m in messages)
    with pytest.raises(PlanbenchError, match="no step count"):
        generate_set("blocksworld", sizes=(3, 3), steps=(9, 9), per_step=1)
    with pytest.raises(PlanbenchError, match="at most 200 blocks"):
        generate_set("blocksworld", sizes=(3, 1000), steps=(2, 9), per_step=1)


def test_write_and_load_round_trip_byte_for_byte(small_set, tmp_path):
    first, second = write_set(small_set, tmp_path / "a"), write_set(generate_set("blocksworld", **SMALL), tmp_path / "b")
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir()) and len(files) == len(small_set) + 2
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    assert load_instances(first) == small_set == load_instances(first / "manifest.jsonl")
    record = json.loads((first / "manifest.jsonl").read_text().splitlines()[0])
    assert record["optimal_length"] == len(record["plan"]) == small_set[0].optimal_length
    assert "(:domain blocksworld-4ops)" in (first / record["problem_file"]).read_text()
    with pytest.raises(PlanbenchError, match="not an empty folder"):
        write_set(small_set, first)


def test_cli_generate_writes_the_same_files_twice(tmp_path):
    args = ["generate", "--domain", "mystery", "--domain", "randomized", "--blocks", "3-6",
            "--steps", "2-8", "--per-step", "3", "--seed", "4"]
    runs = [CliRunner().invoke(main, [*args, "--out", str(tmp_path / name)]) for name in ("x", "y")]
    assert all(r.exit_code == 0 for r in runs), runs[0].output
    assert "4 of 4 step counts filled" in runs[0].stderr
    for domain in ("mystery", "randomized"):
        x, y = tmp_path / "x" / domain, tmp_path / "y" / domain
        assert [p.read_bytes() for p in sorted(x.iterdir())] == [p.read_bytes() for p in sorted(y.iterdir())]
        assert len(load_instances(x)) == 12
    assert {i.domain for i in load_instances(tmp_path / "x")} == {"mystery", "randomized"}
    assert "(craves" in (tmp_path / "x" / "mystery" / "domain.pddl").read_text()


def test_cli_generate_unsolvable_marks_them_in_the_manifest(tmp_path):
    args = ["generate", "--domain", "blocksworld", "--blocks", "3-4", "--steps", "2-4",
            "--per-step", "2", "--unsolvable", "0.5", "--out", str(tmp_path / "s")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "(4 unsolvable)" in result.stderr, result.output
    records = [json.loads(line) for line in (tmp_path / "s" / "manifest.jsonl").read_text().splitlines()]
    assert [r["solvable"] for r in records] == [True] * 4 + [False] * 4
    assert all(r["plan"] == [] and r["optimal_length"] == 0 for r in records[4:])
    loaded = load_instances(tmp_path / "s")
    assert [i.solvable for i in loaded] == [r["solvable"] for r in records]
    assert all("unsolvable" in i.id and (tmp_path / "s" / f"{i.id}.pddl").is_file() for i in loaded[4:])


@pytest.mark.parametrize("args, message", [
    (["--blocks", "9-3"], "empty range"), (["--steps", "two"], "not a range"),
    (["--unsolvable", "1"], "--unsolvable"), (["--unsolvable", "-0.1"], "--unsolvable"),
])
def test_cli_generate_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = CliRunner().invoke(main, ["generate", "--domain", "blocksworld", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("config, vocabulary, domain", [
    ("blocksworld_3", "blocksworld", "blocksworld"),
    ("mystery_blocksworld_3", "mystery", "mystery"),
    ("obfuscated_randomized_blocksworld_3", "planbench-randomized", "randomized"),
])
def test_planbench_configs_import_as_the_same_canonical_instances(planbench, config, vocabulary, domain):
    base = {i.id.split("/")[1]: i for i in load_instances(planbench / "instances" / "blocksworld_3")}
    instances = load_instances(planbench / "instances" / config)
    assert len(instances) == 101
    for instance in instances:
        assert (instance.vocabulary, instance.domain) == (vocabulary, domain)
        assert instance.id.startswith(f"{config}/instance-")
        assert instance.source.startswith(str((planbench / "instances" / config).resolve()))
        twin = base[instance.id.split("/")[1]]
        assert (instance.objects, instance.init, instance.goal) == (twin.objects, twin.init, twin.goal)
        assert instance.optimal_length == twin.optimal_length
        assert ("handempty",) in instance.init


def test_planbench_randomized_objects_map_back_to_letters(planbench):
    folder = planbench / "instances" / "obfuscated_randomized_blocksworld_3"
    instance = next(i for i in load_instances(folder) if i.id.endswith("/instance-1"))
    plan = json.loads((folder / "ground_truth_plans_DERIVED.json").read_text())["plans"]["instance-1.pddl"]
    vocab = get("planbench-randomized")
    assert [vocab.fact(a) for a in instance.optimal_plan] == plan.strip().splitlines()
    assert vocab.obj("a") == "o0" and instance.objects == ("a", "b", "c")


def test_planbench_instance_without_shipped_plan_gets_ours(planbench):
    instances = load_instances(planbench / "instances" / "obfuscated_randomized_blocksworld_3")
    missing = next(i for i in instances if i.id.endswith("/instance-101"))
    assert missing.optimal_length == len(bfs_plan(missing.objects, missing.init, missing.goal))


@pytest.mark.parametrize("config", ["unsolvable_blocksworld", "unsolvable_obfuscated_randomized_blocksworld"])
def test_unsolvable_planbench_sets_import_as_unsolvable_instances(planbench, config):
    instances = load_instances(planbench / "instances" / config)
    assert len(instances) == 101 and all(not i.solvable and i.optimal_plan == () for i in instances)
    for instance in instances:  # every goal puts a block in two places, two on one, or in a cycle
        with pytest.raises(PlanbenchError, match="unsatisfiable"):
            bw.goal_targets(instance.objects, instance.goal)
    solvable = load_instances(planbench / "instances" / "blocksworld_3")
    assert all(i.solvable and i.optimal_plan for i in solvable)


def test_bad_folders_and_pddl_are_reported(tmp_path, planbench):
    with pytest.raises(PlanbenchError, match="neither a generated set"):
        load_instances(tmp_path)
    source = planbench / "instances" / "blocksworld_3"
    (tmp_path / "generated_domain.pddl").write_text((source / "generated_domain.pddl").read_text())
    (tmp_path / "ground_truth_plans_DERIVED.json").write_text('{"plans": {}}')
    (tmp_path / "instance-1.pddl").write_text("(define (problem p) (:domain blocksworld-4ops) (:objects a")
    with pytest.raises(PDDLError, match="instance-1.pddl"):
        load_instances(tmp_path)
    (tmp_path / "manifest.jsonl").write_text('{"id": "x"}\n')
    with pytest.raises(PlanbenchError, match="manifest.jsonl:1"):
        load_instances(tmp_path)
