"""Plan generation (t1) and optimal planning (t2): PlanBench's t2 prompts byte for byte, and the
t2 scorer on hand-written answers."""

import functools
import gzip
import json

import pytest

from planbench_scale.config import Settings
from planbench_scale.instances import load_instances
from planbench_scale.records import Reason
from planbench_scale.tasks import get
from planbench_scale.tasks.generation import optimal_prompt
from planbench_scale.text.prompts import load_template, plan_lines
from planbench_scale.domains import vocabulary_of


@functools.lru_cache(maxsize=None)
def planbench_set(folder: str) -> tuple:
    return tuple(load_instances(folder))


def numbered(planbench, config):
    pool = planbench_set(str(planbench / "instances" / config))
    return pool, {int(i.id.rsplit("-", 1)[-1]): i for i in pool}


@pytest.mark.parametrize("config", ["blocksworld", "mystery_blocksworld"])
def test_planbench_optimality_prompts_are_reproduced_byte_for_byte(planbench, config):
    pool, by_number = numbered(planbench, config)
    template = load_template(f"planbench:{planbench / 'configs' / config}.yaml", pool[0].domain)
    rows = [json.loads(line) for line in
            gzip.open(planbench / "prompts" / config / "task_2_plan_optimality.jsonl.gz", "rt")]
    for row in rows:
        example = by_number[row["example_instance_ids"][0]]
        assert optimal_prompt(template, example, by_number[row["instance_id"]]) == row["query"], \
            f"{config} instance {row['instance_id']}"
    assert len(rows) == 500


def test_the_task_prompt_takes_the_example_before_and_the_run_templates(planbench):
    pool, by_number = numbered(planbench, "blocksworld")
    settings = Settings(task="t2", templates=f"planbench:{planbench / 'configs/blocksworld.yaml'}")
    prompt = get("t2").prompt(by_number[2], pool, settings)
    expected = next(json.loads(line)["query"] for line in gzip.open(
        planbench / "prompts/blocksworld/task_2_plan_optimality.jsonl.gz", "rt")
        if json.loads(line)["instance_id"] == 2)
    assert prompt.text == expected and prompt.instance_id == by_number[2].id
    ours = get("t2").prompt(by_number[2], pool, Settings(task="t2"))  # our own template
    assert "I want to minimize the time taken" in ours.text and "[STATEMENT]" in ours.text


def answer(instance, plan, template):
    return plan_lines(template, vocabulary_of(instance), plan) + "[PLAN END]\n"


def test_optimal_planning_scores_optimal_longer_and_invalid_plans(planbench):
    pool, by_number = numbered(planbench, "blocksworld")
    instance = by_number[2]
    templates = f"planbench:{planbench / 'configs/blocksworld.yaml'}"
    template, settings = load_template(templates, instance.domain), Settings(task="t2", templates=templates)
    plan = instance.optimal_plan
    _, right = get("t2").score(instance, answer(instance, plan, template), settings)
    assert right.valid and right.reason == Reason.VALID
    first = plan[0]  # pick up / unstack, then put it back the way it came: two wasted steps
    undo = ("put-down", first[1]) if first[0] == "pick-up" else ("stack", *first[1:])
    longer = (first, undo) + plan
    extraction, slow = get("t2").score(instance, answer(instance, longer, template), settings)
    assert len(extraction.actions) == len(plan) + 2 and not slow.valid
    assert slow.reason == Reason.NOT_OPTIMAL
    assert get("t1").score(instance, answer(instance, longer, template), settings)[1].valid
    _, broken = get("t2").score(instance, answer(instance, plan[1:], template), settings)
    assert not broken.valid and broken.reason == Reason.INAPPLICABLE
