"""Plan verification (t3): PlanBench's prompts byte for byte (with the plans PlanBench drew), the
plans drawn as PlanBench draws them, and the scorer on hand-written answers."""

import functools
import gzip
import json
import re

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from planbench_scale.config import Settings
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances
from planbench_scale.records import Reason
from planbench_scale.tasks import get
from planbench_scale.tasks.verification import (drawn_plan, examples, grade, message, read_claim,
                                                verdict_of, verification_prompt)
from planbench_scale.tasks.wording import phrases, state
from planbench_scale.text.prompts import load_template

CASE = re.compile(r"As initial conditions I have that, (.*)\.\nMy goal is to have that (.*)\. \n"
                  r"My plan is as follows:\n\n\[PLAN\]\n(.*?)\[PLAN END\]", re.S)


@functools.lru_cache(maxsize=None)
def planbench_set(folder: str) -> tuple:
    return tuple(load_instances(folder))


def setup(planbench, config):
    pool = planbench_set(str(planbench / "instances" / config))
    templates = f"planbench:{planbench / 'configs' / config}.yaml"
    return pool, load_template(templates, pool[0].domain), templates


def cases(template, by_text, query):
    """The (instance, plan) of each statement of a PlanBench t3 prompt: the instances found by
    their stated init and goal (`by_text`), the plans read back through the action phrases."""
    found = []
    for block in query.split("[STATEMENT]\n")[1:]:
        init, goal, lines = CASE.match(block).groups()
        instance = by_text[(init, goal)]
        actions = phrases(template, instance, "actions")
        found.append((instance, tuple(actions[line.lower()] for line in lines.splitlines() if line)))
    return found


@pytest.mark.parametrize("config", ["blocksworld", "mystery_blocksworld"])
def test_planbench_verification_prompts_are_reproduced_byte_for_byte(planbench, config):
    pool, template, _ = setup(planbench, config)
    by_number = {int(i.id.rsplit("-", 1)[-1]): i for i in pool}
    by_text = {(state(template, i, i.init), state(template, i, i.goal)): i for i in pool}
    rows = [json.loads(line) for line in
            gzip.open(planbench / "prompts" / config / "task_3_plan_verification.jsonl.gz", "rt")]
    for row in rows:
        shown = cases(template, by_text, row["query"])
        text = verification_prompt(template, shown[:-1], by_number[row["instance_id"]], shown[-1][1])
        assert text == row["query"], f"{config} instance {row['instance_id']}"
        # PlanBench's answer is the message our validator's verdict writes
        assert message(template, *shown[-1]).strip() == row["ground_truth_plan"].strip()
    assert len(rows) == 500


def test_drawn_plans_are_of_their_kind_and_the_examples_one_of_each(planbench):
    pool, _, _ = setup(planbench, "blocksworld")
    long = [i for i in pool if i.optimal_length >= 4][:20]
    for instance in long:
        assert verdict_of(instance, drawn_plan(instance, 0, "valid")).valid
        missed = verdict_of(instance, drawn_plan(instance, 0, "goal-unmet"))
        assert missed.reason in (Reason.GOAL_NOT_REACHED, Reason.EMPTY_PLAN)
        shuffled = drawn_plan(instance, 0, "inexecutable")
        assert len(shuffled) == instance.optimal_length - 1
        assert drawn_plan(instance, 0) == drawn_plan(instance, 0)  # seeded
    assert sum(not verdict_of(i, drawn_plan(i, 0, "inexecutable")).valid for i in long) == len(long)
    chosen = examples(long[0], pool, 0)
    assert len(chosen) == 3 and all(e.id != long[0].id for e, _ in chosen)
    kinds = {verdict_of(e, p).reason in (Reason.GOAL_NOT_REACHED, Reason.EMPTY_PLAN)
             for e, p in chosen if not verdict_of(e, p).valid}
    assert any(verdict_of(e, p).valid for e, p in chosen) and kinds


def hand_case(planbench):
    pool, template, templates = setup(planbench, "blocksworld")
    instance = next(i for i in pool if i.optimal_length >= 4)
    return instance, template, Settings(task="t3", templates=templates)


def scored(instance, settings, text):
    return get("t3").score(instance, text, settings)[1]


def test_the_scorer_grades_verdict_failure_and_facts_on_hand_written_answers(planbench):
    instance, template, settings = hand_case(planbench)
    seen = set()
    for seed in range(40):  # seeds that show each kind
        settings = Settings(task="t3", templates=settings.templates, seed=seed)
        shown = drawn_plan(instance, seed)
        truth = verdict_of(instance, shown)
        seen.add(truth.reason)
        right = message(template, instance, shown)
        assert scored(instance, settings, right + "\n[STATEMENT]\nmore").valid
        wrong_verdict = "The above plan is invalid." if truth.valid else "The above plan is valid."
        assert not scored(instance, settings, wrong_verdict).valid
        assert not scored(instance, settings, "I am not sure.").valid
        if truth.valid:
            assert scored(instance, settings, right).reason == Reason.VALID
            continue
        bare = scored(instance, settings, "The above plan is invalid.")
        assert not bare.valid and bare.reason == Reason.WRONG_ANSWER
        if truth.reason == Reason.INAPPLICABLE:
            step = truth.failed_step + 1
            moved = right.replace(f"at step {step}", f"at step {step + 1}")
            claim = read_claim(template, instance, moved)
            counts = grade(instance, claim, truth)
            assert counts == {"verdict": True, "failure": True, "facts": False}
            as_goal = "The above plan is invalid. This is the unmet goal condition:\n" + \
                state(template, instance, instance.goal)
            assert grade(instance, read_claim(template, instance, as_goal), truth)["failure"] is False
        else:
            claim = read_claim(template, instance, right)
            assert claim.reason == Reason.GOAL_NOT_REACHED and claim.facts
            other = "The above plan is invalid. This is the unmet goal condition:\n" + \
                state(template, instance, [f for f in instance.init if f[0] == "clear"][:1])
            assert grade(instance, read_claim(template, instance, other), truth) == \
                {"verdict": True, "failure": True, "facts": False}
    assert {Reason.VALID, Reason.INAPPLICABLE} < seen and seen & {Reason.GOAL_NOT_REACHED,
                                                                  Reason.EMPTY_PLAN}


@hsettings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), number=st.integers(0, 60))
def test_planbench_messages_read_back_as_exactly_right(planbench, seed, number):
    pool, template, templates = setup(planbench, "mystery_blocksworld")
    instance = pool[number]
    shown = drawn_plan(instance, seed)
    claim = read_claim(template, instance, message(template, instance, shown))
    assert all(grade(instance, claim, verdict_of(instance, shown)).values())


def test_t3_1_verifies_the_first_readable_plan_a_run_stored_and_refuses_what_it_cannot(tmp_path):
    """The plans' run: instance 0 answered an unknown action, then an inapplicable plan, then
    the optimal one; instance 1 only an empty answer. t3_1 shows instance 0's inapplicable
    plan in t3's prompt and grades against the validator; instance 1, a missing --plans-from,
    and an instance the run did not use are refused in one line."""
    from planbench_scale.backends import Request
    from planbench_scale.instances import generate_set
    from planbench_scale.records import Completion
    from planbench_scale.score import check
    from planbench_scale.store import RunWriter
    from planbench_scale.strategies.loop import sample_row
    from planbench_scale.text.prompts import render
    from tests.conftest import run_config

    pool = generate_set("blocksworld", (3, 4), (2, 4), 1, seed=3)
    first, second = pool[0], pool[1]
    vocab_plan = "\n".join(f"({' '.join(a)})" for a in first.optimal_plan)
    stored = [(first, 0, "(fly a)"), (first, 1, "(stack a b)\n(pick-up a)"),
              (first, 2, vocab_plan), (second, 0, "")]
    rows = [sample_row(i, Request(render(i), 1, 0), index, Completion(text, 1, 1, "stop"),
                       *check(i, text), "sample") for i, index, text in stored]
    with RunWriter(tmp_path, run_config(), [first, second]) as writer:
        writer.append(rows)
    t3_1, settings = get("t3_1"), Settings(task="t3_1", plans_from=str(tmp_path))
    t3_1.check([first], settings)
    shown = (("stack", "a", "b"), ("pick-up", "a"))
    assert t3_1.shown(first, settings) == shown
    template = load_template("default", first.domain)
    assert t3_1.prompt(first, pool, settings).text == verification_prompt(
        template, examples(first, pool, 0), first, shown)
    extraction, verdict = t3_1.score(first, "Plan is valid.", settings)
    assert extraction.actions == ("(stack a b)", "(pick-up a)") and not verdict.valid
    assert t3_1.score(first, "Plan is invalid. The action at step 1 has an unmet precondition.",
                      settings)[1].reason == Reason.INAPPLICABLE
    with pytest.raises(PlanbenchError, match="no answer with a readable plan for 1 of the 2"):
        t3_1.check([first, second], settings)
    with pytest.raises(PlanbenchError, match="give it with --plans-from RUN"):
        t3_1.check([first], Settings(task="t3_1"))
    other = generate_set("blocksworld", (5, 5), (4, 4), 1, seed=9)[0]
    with pytest.raises(PlanbenchError, match=f"did not run instance {other.id}"):
        t3_1.check([other], settings)
