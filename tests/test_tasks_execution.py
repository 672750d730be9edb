"""Plan execution (t7): PlanBench's prompts byte for byte, the fact reader (hypothesis), and the
scorer on hand-written answers (exact, a fact missing, a false fact)."""

import functools
import gzip
import json

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from planbench_scale.config import Settings
from planbench_scale.domains import vocabulary_of
from planbench_scale.instances import load_instances
from planbench_scale.records import Reason
from planbench_scale.tasks import get
from planbench_scale.tasks.execution import drawn_prefix, execution_prompt, facts_after, share_right
from planbench_scale.tasks.wording import phrases, read_facts, state
from planbench_scale.text.prompts import load_template


@functools.lru_cache(maxsize=None)
def planbench_set(folder: str) -> tuple:
    return tuple(load_instances(folder))


def setup(planbench, config):
    pool = planbench_set(str(planbench / "instances" / config))
    templates = f"planbench:{planbench / 'configs' / config}.yaml"
    return pool, load_template(templates, pool[0].domain), templates


@pytest.mark.parametrize("config", ["blocksworld", "mystery_blocksworld"])
def test_planbench_execution_prompts_are_reproduced_byte_for_byte(planbench, config):
    pool, template, _ = setup(planbench, config)
    by_number = {int(i.id.rsplit("-", 1)[-1]): i for i in pool}
    rows = [json.loads(line) for line in
            gzip.open(planbench / "prompts" / config / "task_7_plan_execution.jsonl.gz", "rt")]
    for row in rows:  # PlanBench's drawn prefixes: the lengths of its action sequences
        done = [b.split("[ACTION SEQUENCE END]")[0].strip("\n").count("\n") + 1
                for b in row["query"].split("[ACTION SEQUENCE]")[1:]]
        example, instance = by_number[row["example_instance_ids"][0]], by_number[row["instance_id"]]
        text = execution_prompt(template, [(example, done[0])], instance, done[1])
        assert text == row["query"], f"{config} instance {row['instance_id']}"
        vocab = vocabulary_of(instance)  # PlanBench's facts, as pred_obj_obj in its own words
        truth = {"_".join([vocab.own(f[0]), *map(vocab.obj, f[1:])])
                 for f in facts_after(instance, done[1])}
        assert truth == set(row["ground_truth_plan"])
    assert len(rows) == 500


@hsettings(max_examples=60, deadline=None)
@given(number=st.integers(0, 100), picks=st.lists(st.integers(0, 10_000), max_size=12))
def test_the_fact_reader_reads_back_any_set_of_facts(planbench, number, picks):
    pool, template, _ = setup(planbench, "mystery_blocksworld")
    instance = pool[number]
    facts = sorted(set(phrases(template, instance, "predicates").values()))
    chosen = {facts[p % len(facts)] for p in picks}
    assert set(read_facts(template, instance, state(template, instance, chosen))) == chosen


def test_the_scorer_grades_exact_missing_and_false_facts(planbench):
    pool, template, templates = setup(planbench, "blocksworld")
    instance = next(i for i in pool if i.optimal_length >= 4)
    settings = Settings(task="t7", templates=templates, seed=3)
    truth = facts_after(instance, drawn_prefix(instance, 3))
    task = get("t7")
    extraction, right = task.score(instance, state(template, instance, truth) + "\n[STATEMENT] x", settings)
    assert right.valid and right.reason == Reason.VALID and len(extraction.actions) == len(truth)
    _, short = task.score(instance, state(template, instance, truth[1:]), settings)
    assert not short.valid and short.reason == Reason.WRONG_ANSWER and len(short.unmet) == 1
    false = next(f for f in phrases(template, instance, "predicates").values() if f not in truth)
    extraction, extra = task.score(instance, state(template, instance, (*truth, false)), settings)
    assert not extra.valid and extra.unmet[0].startswith("(not ")
    assert share_right(len(extraction.actions), " ".join(extra.unmet)) == \
        pytest.approx(1 - 1 / (len(truth) + 1))
    assert share_right(len(truth) - 1, " ".join(short.unmet)) == pytest.approx(1 - 1 / len(truth))
    _, empty = task.score(instance, "", settings)
    assert not empty.valid and len(empty.unmet) == len(truth)
