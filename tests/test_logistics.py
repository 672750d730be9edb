"""The Logistics family: generator, certified optimal lengths (against Fast Downward), the
admissible bound, PlanBench's three Logistics sets, vocabularies and the generate command."""

import json
import random

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from planbench_scale import domains
from planbench_scale.cli import main
from planbench_scale.domains.logistics import generate, search, vocab
from planbench_scale.domains.logistics.planbench_import import load_planbench
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import generate_set, load_instances, write_set
from planbench_scale.records import Instance
from planbench_scale.symbolic import fast_downward, pddl
from planbench_scale.symbolic.validate import validate

SETS = ("logistics", "obfuscated_deceptive_logistics", "obfuscated_randomized_logistics")


def _valid(instance: Instance) -> bool:
    words = domains.vocabulary_of(instance)
    return validate(domains.task_for(instance), [words.fact(a) for a in instance.optimal_plan]).valid


def test_a_set_is_stratified_certified_and_the_same_seed_writes_the_same_bytes(tmp_path):
    instances = generate_set("logistics", (5, 24), (4, 9), per_step=2, seed=1)
    assert sorted({i.optimal_length for i in instances}) == list(range(4, 10))
    assert all(len(instances_of) == 2 for instances_of in
               [[i for i in instances if i.optimal_length == n] for n in range(4, 10)])
    assert all(_valid(i) for i in instances)
    write_set(instances, tmp_path / "a")
    write_set(generate_set("logistics", (5, 24), (4, 9), per_step=2, seed=1), tmp_path / "b")
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_plans_of_thirty_steps_are_generated():
    instances = generate_set("logistics", (5, 30), (29, 30), per_step=1, seed=0)
    assert [i.optimal_length for i in instances] == [29, 30] and all(map(_valid, instances))


def test_optimal_lengths_agree_with_fast_downward():
    rng = random.Random(4)
    choices = generate.size_choices((8, 20))
    for _ in range(6):
        names, init, goal = generate.random_problem(rng.choice(choices), rng.getrandbits(31))
        ours = generate.canonical_plan(names, init, goal)
        draft = Instance("x", "logistics", "logistics", names, init, goal, ())
        theirs = fast_downward.optimal_plan(vocab.schema_text(), domains.instance_pddl(draft)[1])
        assert len(ours) == len(theirs), (names, init, goal)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(2, 2, 2, 1), (2, 3, 3, 2), (3, 2, 3, 1)]))
def test_the_bound_never_overestimates_along_an_optimal_plan(seed, sizes):
    names, init, goal = generate.random_problem(sizes, seed)
    plan = generate.canonical_plan(names, init, goal)
    instance = Instance("x", "logistics", "logistics", names, init, goal, plan)
    task = domains.task_for(instance)
    bound, state = search.Bound(task, init, goal), task.init
    for step, action in enumerate(plan):
        assert bound(state) <= len(plan) - step
        i = task.find(vocab.LOGISTICS.fact(action))
        state = (state & ~task.delete[i]) | task.add[i]
    assert bound(state) == 0


@pytest.fixture(scope="module")
def planbench_sample(planbench, tmp_path_factory):
    """Five problems of each of PlanBench's Logistics sets, in folders of their own."""
    root = tmp_path_factory.mktemp("logistics")
    for config in SETS:
        source, folder = planbench / "instances" / config, root / config
        folder.mkdir()
        for name in ["generated_domain.pddl"] + [f"instance-{n}.pddl" for n in (1, 16, 31, 91, 166)]:
            (folder / name).write_text((source / name).read_text())
    return root


def test_planbench_logistics_sets_import_and_their_plans_validate_in_their_own_pddl(planbench_sample):
    by_set = {config: load_planbench(planbench_sample / config) for config in SETS}
    assert [(i.domain, i.vocabulary) for i in (by_set[c][0] for c in SETS)] == [
        ("logistics", "logistics"), ("mystery-logistics", "mystery-logistics"),
        ("randomized-logistics", "planbench-randomized-logistics")]
    lengths = [[i.optimal_length for i in by_set[c]] for c in SETS]
    assert lengths[0] == lengths[1] == lengths[2] and lengths[0][0] == 4
    for config, instances in by_set.items():
        domain = (planbench_sample / config / "generated_domain.pddl").read_text()
        for instance in instances:
            task = pddl.read_task(domain, (planbench_sample / config / instance.id.split("/")[1]
                                           ).with_suffix(".pddl").read_text())
            words = domains.vocabulary_of(instance)
            assert validate(task, [words.fact(a) for a in instance.optimal_plan]).valid
            assert _valid(instance)  # and in the PDDL our vocabulary writes


def test_planbench_folders_load_as_instance_sets(planbench_sample, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANBENCH_SCALE_CACHE", str(tmp_path))
    instances = load_instances(planbench_sample / "obfuscated_deceptive_logistics")
    assert instances == load_instances(planbench_sample / "obfuscated_deceptive_logistics")
    assert instances[0].id == "obfuscated_deceptive_logistics/instance-1"


def test_vocabularies_rename_every_name_and_keep_the_structure():
    canonical = domains.get("logistics").domain_pddl(vocab.LOGISTICS)
    for name in ("mystery-logistics", "planbench-randomized-logistics", "randomized:9"):
        words = vocab.get(name)
        text = domains.get("logistics").domain_pddl(words)
        assert not any(f"({p} " in text for p in vocab.PREDICATES + vocab.ACTIONS if words.own(p) != p)
        assert len(pddl.read_task(text, "(define (problem p) (:objects x) (:init) (:goal (and)))")
                   .schemas) == 6
    assert vocab.get("randomized:9").obj("p0") != "p0" and vocab.MYSTERY.obj("p0") == "p0"
    assert canonical.count(":action") == 6
    with pytest.raises(PlanbenchError, match="unknown vocabulary"):
        vocab.get("klingon")


def test_a_randomized_set_reads_and_validates(tmp_path):
    instances = generate_set("randomized-logistics", (5, 14), (4, 5), per_step=1, seed=3)
    assert {i.vocabulary for i in instances} == {"randomized:3"} and all(map(_valid, instances))
    plain = generate_set("logistics", (5, 14), (4, 5), per_step=1, seed=3)
    assert [(i.init, i.goal) for i in plain] == [(i.init, i.goal) for i in instances]


def test_generate_command_writes_logistics_in_a_seeded_vocabulary(tmp_path):
    out = tmp_path / "set"
    result = CliRunner().invoke(main, ["generate", "--domain", "logistics", "--vocabulary",
                                       "randomized:5", "--objects", "5-16", "--steps", "4-6",
                                       "--per-step", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["optimal_length"] for r in rows] == [4, 5, 6]
    assert {r["vocabulary"] for r in rows} == {"randomized:5"} and "load-truck" not in \
        (out / "domain.pddl").read_text()
    bad = CliRunner().invoke(main, ["generate", "--domain", "logistics", "--vocabulary", "nope",
                                    "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown vocabulary 'nope'" in bad.output


def test_goal_options_logistics_cannot_have_are_refused():
    with pytest.raises(PlanbenchError, match="no --partial-goals"):
        generate_set("logistics", (5, 10), (4, 5), 1, 0, partial_goals=True)
    with pytest.raises(PlanbenchError, match="no --unsolvable"):
        generate_set("logistics", (5, 10), (4, 5), 1, 0, unsolvable=0.5)
