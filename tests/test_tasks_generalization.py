"""Plan generalization (t5): PlanBench's shared t5 prompts byte for byte, our generalization sets
(one plan pattern, certified plans, seeded), the refusals, the scorer on hand-written answers,
and `generate --generalization` / `prompt --task t5` from the command line."""

import gzip
import json

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings as hypothesis_settings, strategies as st

from planbench_scale import domains
from planbench_scale.cli import main
from planbench_scale.config import Settings
from planbench_scale.domains import vocabulary_of
from planbench_scale.domains.blocksworld import states
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import generalization_set, generate_set, load_instances
from planbench_scale.records import Instance, Reason
from planbench_scale.symbolic import fast_downward
from planbench_scale.symbolic.validate import validate
from planbench_scale.tasks import get
from planbench_scale.tasks.generalization import of_generalization_set
from planbench_scale.tasks.wording import phrases
from planbench_scale.text.prompts import load_template, plan_lines

CONFIG_DOMAINS = {"blocksworld": "blocksworld", "mystery_blocksworld": "mystery"}


def tower(domain: str, number: int, plan: list[tuple[str, ...]]) -> Instance:
    """The generalization instance whose optimal plan is `plan` (canonical): its blocks on the
    table, the goal the tower the plan builds."""
    names = tuple(sorted({b for action in plan for b in action[1:]}))
    init = states.state_facts(names, (states.TABLE,) * len(names))
    goal = tuple(sorted(("on", *a[1:]) for a in plan if a[0] == "stack"))
    return Instance(f"generalization/instance-{number}", domain, domain, names, init, goal,
                    tuple(plan))


@pytest.mark.parametrize("config", list(CONFIG_DOMAINS))
def test_planbench_generalization_prompts_are_reproduced_byte_for_byte(planbench, config):
    """PlanBench's generalized instance files are not in ../shared, so each record's instances
    are rebuilt from the record itself: the query's tower from its `ground_truth_plan`, the
    example's from the plan its prompt shows (read back through the template's phrases). The
    proviso: these rebuilt instances stand for PlanBench's files (all blocks on the table, one
    tower as the goal, so the plan determines the instance)."""
    domain = CONFIG_DOMAINS[config]
    path = planbench / "configs" / f"{config}.yaml"
    colours = {v: k for k, v in (yaml.safe_load(path.read_text()).get("encoded_objects_compact") or {}).items()}
    templates = f"planbench:{path}"
    template = load_template(templates, domain)
    vocab = domains.get(domain).vocabulary(domain)
    every_block = tower(domain, 0, [("stack", a, b) for a, b in zip("abcdefghijk", "bcdefghijkl")])
    action_of = phrases(template, every_block, "actions")
    rows = [json.loads(line) for line in gzip.open(
        planbench / "prompts" / config / "task_5_plan_generalization.jsonl.gz", "rt")]
    for row in rows:
        plan = [(vocab.canonical(name), *(colours.get(b, b) for b in blocks)) for name, *blocks in
                (line.strip("()").split() for line in row["ground_truth_plan"].split("\n") if line)]
        shown = row["query"].split("[PLAN]\n", 1)[1].split("[PLAN END]", 1)[0]
        example = tower(domain, row["example_instance_ids"][0],
                        [action_of[line.lower()] for line in shown.splitlines()])
        query = tower(domain, row["instance_id"], plan)
        prompt = get("t5").prompt(query, [query, example], Settings(task="t5", templates=templates))
        assert prompt.text == row["query"], f"{config} instance {row['instance_id']}"
    assert len(rows) == 500


@pytest.mark.parametrize("domain", ["blocksworld", "mystery", "randomized"])
def test_a_blocksworld_generalization_set_is_one_tower_from_the_table(domain):
    made = generalization_set(domain, (2, 6), (4, 8), 3, seed=5)
    assert [i.optimal_length for i in made] == [4] * 3 + [6] * 3 + [8] * 3  # 3-5 blocks
    for instance in made:
        assert of_generalization_set(instance) and instance.domain == domain
        n = len(instance.objects)
        assert set(instance.init) == set(states.state_facts(instance.objects, (states.TABLE,) * n))
        below = dict(f[1:] for f in instance.goal)  # one tower: a chain through every block
        assert len(set(below.values())) == n - 1 and len(set(below) | set(below.values())) == n
        vocab = vocabulary_of(instance)
        assert validate(domains.task_for(instance), [vocab.fact(a) for a in instance.optimal_plan]).valid
    assert made == generalization_set(domain, (2, 6), (4, 8), 3, seed=5)
    assert made != generalization_set(domain, (2, 6), (4, 8), 3, seed=6)
    assert len({i.goal for i in made}) == len(made)


@given(n=st.integers(2, 9), seed=st.integers(0, 10**6))
@hypothesis_settings(max_examples=30, deadline=None)
def test_every_tower_takes_two_steps_a_block_and_no_fewer(n, seed):
    for instance in generalization_set("blocksworld", (n, n), (0, 40), 2, seed):
        # each of the n-1 stacked blocks must move at least once, two actions a move
        assert instance.optimal_length == 2 * (n - 1)
        assert [a[0] for a in instance.optimal_plan] == ["pick-up", "stack"] * (n - 1)


def test_a_logistics_generalization_set_carries_every_package_to_an_airport():
    made = generalization_set("logistics", (6, 12), (3, 12), 1, seed=2)
    assert {i.optimal_length for i in made} <= set(range(3, 13)) and len(made) >= 4
    for instance in made:
        airports = {f[1] for f in instance.init if f[0] == "airport"}
        packages = {f[1] for f in instance.init if f[0] == "obj"}
        assert of_generalization_set(instance) and {f[1] for f in instance.goal} == packages
        assert {f[2] for f in instance.goal} <= airports
        vocab = vocabulary_of(instance)
        assert validate(domains.task_for(instance), [vocab.fact(a) for a in instance.optimal_plan]).valid
    domain_text, problem = domains.instance_pddl(made[-1])  # certified: Fast Downward agrees
    assert len(fast_downward.optimal_plan(domain_text, problem, 60, 2048)) == made[-1].optimal_length


def test_domains_without_a_generalization_generator_are_refused_by_name():
    with pytest.raises(PlanbenchError, match="domain gripper has no generalization generator"):
        generalization_set("gripper")


def setup_set():
    pool = generalization_set("blocksworld", (3, 5), (4, 8), 2, seed=1)
    return pool, Settings(task="t5")


def test_the_prompt_shows_the_sets_previous_instance_and_not_another_sets():
    pool, settings = setup_set()
    other = generate_set("blocksworld", (4, 4), (6, 6), 1, seed=3)  # sorts just before b04-s06
    assert other[0].id < pool[2].id
    prompt = get("t5").prompt(pool[2], pool + other, settings)
    template = load_template("default", "blocksworld")
    shown = plan_lines(template, vocabulary_of(pool[1]), pool[1].optimal_plan)
    assert shown in prompt.text and prompt.shots == 1 and prompt.text.count("[STATEMENT]") == 2


def test_the_scorer_takes_the_plan_and_refuses_a_wrong_one_or_none():
    pool, settings = setup_set()
    instance, template = pool[3], load_template("default", "blocksworld")
    vocab = vocabulary_of(instance)
    _, right = get("t5").score(instance, plan_lines(template, vocab, instance.optimal_plan), settings)
    assert right.valid
    _, wrong = get("t5").score(instance, plan_lines(template, vocab, instance.optimal_plan[2:]), settings)
    assert not wrong.valid and wrong.reason == Reason.GOAL_NOT_REACHED
    _, skipped = get("t5").score(instance, plan_lines(template, vocab, instance.optimal_plan[1:]), settings)
    assert not skipped.valid and skipped.reason == Reason.INAPPLICABLE
    extraction, none = get("t5").score(instance, "I cannot help with that.", settings)
    assert not none.valid and not extraction.actions


def test_t5_refuses_instances_of_no_generalization_set(planbench):
    normal = generate_set("blocksworld", (3, 3), (2, 2), 1)
    with pytest.raises(PlanbenchError, match="generate --generalization --domain blocksworld"):
        get("t5").check(normal, Settings())
    gripper = domains.get("gripper")
    from planbench_scale.domains.pddl_import import instance as read_instance

    problem = read_instance("gripper", gripper.folder / "domain.pddl", gripper.folder / "problems/p01.pddl")
    with pytest.raises(PlanbenchError, match="domain gripper has no generalization generator"):
        get("t5").check([problem], Settings())
    get("t5").check(setup_set()[0], Settings())
    imported = load_instances(planbench / "instances" / "blocksworld")[:1]
    with pytest.raises(PlanbenchError, match="is not of one"):
        get("t5").check(imported, Settings())


def test_generate_writes_a_generalization_set_and_prompt_asks_it(tmp_path):
    out = tmp_path / "g"
    made = CliRunner().invoke(main, ["generate", "--domain", "mystery", "--generalization",
                                     "--objects", "3-4", "--steps", "2-6", "--per-step", "2",
                                     "--out", str(out)])
    assert made.exit_code == 0, made.output
    written = load_instances(out)
    assert [i.optimal_length for i in written] == [4, 4, 6, 6]
    assert all(of_generalization_set(i) for i in written)
    printed = CliRunner().invoke(main, ["prompt", "--instance", f"{out}:{written[1].id}", "--task", "t5"])
    assert printed.exit_code == 0 and printed.output == \
        get("t5").prompt(written[1], written, Settings(task="t5")).text + "\n"
    refused = CliRunner().invoke(main, ["generate", "--domain", "blocksworld", "--generalization",
                                        "--unsolvable", "0.5", "--out", str(tmp_path / "u")])
    assert refused.exit_code != 0 and "no --unsolvable" in refused.output
