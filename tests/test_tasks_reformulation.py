"""Goal reformulation (t8_1, t8_2, t8_3): PlanBench's prompts byte for byte, and the scorer
against the goal the query states."""

import functools
import gzip
import json
import re
from dataclasses import replace

import pytest

from planbench_scale.config import Settings
from planbench_scale.domains import vocabulary_of
from planbench_scale.instances import load_instances
from planbench_scale.tasks import get
from planbench_scale.tasks.reformulation import full_goal, reformulation_prompt, shuffled_goal
from planbench_scale.tasks.wording import listed, read_facts, state
from planbench_scale.text.prompts import load_template, plan_lines

FILES = {"t8_1": "task_8_1_goal_shuffling", "t8_2": "task_8_2_full_to_partial",
         "t8_3": "task_8_3_partial_to_full"}


@functools.lru_cache(maxsize=None)
def planbench_set(folder: str) -> tuple:
    return tuple(load_instances(folder))


@pytest.mark.parametrize("config", ["blocksworld", "mystery_blocksworld"])
@pytest.mark.parametrize("name", sorted(FILES))
def test_planbench_reformulation_prompts_are_reproduced_byte_for_byte(planbench, config, name):
    pool = planbench_set(str(planbench / "instances" / config))
    by_number = {int(i.id.rsplit("-", 1)[-1]): i for i in pool}
    template = load_template(f"planbench:{planbench / 'configs' / config}.yaml", pool[0].domain)
    task = get(name)
    rows = [json.loads(line) for line in gzip.open(planbench / "prompts" / config / f"{FILES[name]}.jsonl.gz", "rt")]
    for row in rows:
        instance = by_number[row["instance_id"]]
        stated = re.findall(r"My goal is to have that (.*)\.\n", row["query"])

        def goal(kind, text):  # the shuffled order is PlanBench's draw: read back from its text
            return (state(template, instance, full_goal(instance)) if kind == "full" else
                    listed(template, instance, read_facts(template, instance, text))
                    if kind == "shuffled" else state(template, instance, instance.goal))
        text = reformulation_prompt(template, instance, goal(task.example_goal, stated[0]),
                                    goal(task.query_goal, stated[1]))
        assert text == row["query"], f"{config} {name} instance {row['instance_id']}"
    assert len(rows) == 500


def test_the_query_goal_decides_what_a_plan_is_scored_against(planbench):
    pool = planbench_set(str(planbench / "instances" / "blocksworld"))
    instance = next(i for i in pool if len(i.goal) >= 2 and i.optimal_length >= 4)
    templates = f"planbench:{planbench / 'configs' / 'blocksworld.yaml'}"
    template, settings = load_template(templates, instance.domain), Settings(templates=templates)
    vocab = vocabulary_of(instance)
    plan = plan_lines(template, vocab, instance.optimal_plan) + "[PLAN END]"
    for name in FILES:
        assert get(name).score(instance, plan, replace(settings, task=name))[1].valid
    prompt = get("t8_3").prompt(instance, pool, replace(settings, task="t8_3")).text
    assert prompt.count("[STATEMENT]") == 2 and state(template, instance, full_goal(instance)) in prompt
    shuffled = shuffled_goal(instance, 5)
    assert sorted(shuffled) == sorted(instance.goal) and shuffled == shuffled_goal(instance, 5)
    assert not get("t8_3").score(instance, plan_lines(template, vocab, instance.optimal_plan[:-1]),
                                 replace(settings, task="t8_3"))[1].valid
