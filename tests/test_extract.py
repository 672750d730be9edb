"""Plan extraction: what models really write, bad input, and round trips through our own prompts."""

import functools
import gzip
import json
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from planbench_scale.text.extract import UNREADABLE_STEP, extract
from planbench_scale.instances import load_instances
from planbench_scale.text.prompts import load_template, plan_lines
from planbench_scale.records import Instance, Outcome
from planbench_scale.domains import task_for
from planbench_scale.symbolic.validate import validate
from planbench_scale.domains.blocksworld.vocab import ACTIONS, ARITY, block_names, get

# a=red, b=blue, c=orange, d=yellow. b on a; goal a on b.
BW = Instance(
    id="t/instance-1", domain="blocksworld", vocabulary="blocksworld", objects=("a", "b", "c", "d"),
    init=(("clear", "b"), ("clear", "c"), ("clear", "d"), ("handempty",), ("on", "b", "a"),
          ("ontable", "a"), ("ontable", "c"), ("ontable", "d")),
    goal=(("on", "a", "b"),),
    optimal_plan=(("unstack", "b", "a"), ("put-down", "b"), ("pick-up", "a"), ("stack", "a", "b")))
MYSTERY = replace(BW, domain="mystery", vocabulary="mystery")
RANDOM = replace(BW, domain="randomized", vocabulary="planbench-randomized")
PLAN = ("(unstack b a)", "(put-down b)", "(pick-up a)", "(stack a b)")


def plan_of(text, instance=BW, templates="default"):
    extraction = extract(text, instance, templates)
    assert extraction.outcome == Outcome.PLAN, extraction
    return extraction.actions


def test_numbered_list_with_colours_markdown_and_punctuation():
    text = ("Here is the plan:\n\n1. **Unstack the Blue block from on top of the red block.**\n"
            "2) Put down the blue block;\n3. pick up RED block\n4. Stack red on blue.\n")
    assert plan_of(text) == PLAN


def test_plan_block_wins_over_an_explanation_list_after_it():
    text = ("[PLAN]\nunstack the blue block from on top of the red block\nput down the blue block\n"
            "pick up the red block\nstack the red block on top of the blue block\n[PLAN END]\n\n"
            "The key steps are:\n1. Use the blue block first.\n2. Stack red on blue to finish.\n")
    assert plan_of(text) == PLAN


def test_a_restated_plan_is_taken_once_and_the_final_statement_wins():
    draft = "1. Unstack blue from red\n2. Put down blue\n3. Pick up red\n4. Stack red on yellow\n"
    final = "1. Unstack blue from red\n2. Put down blue\n3. Pick up red\n4. Stack red on blue\n"
    text = f"Let me try:\n{draft}\nWait, the goal is red on blue. Final plan:\n{final}"
    extraction = extract(text, BW)
    assert extraction.actions == PLAN
    assert {s.why for s in extraction.skipped} == {"another statement of the plan was preferred"}
    unnumbered = "Plan:\nunstack blue from red\nput down blue\nSo the plan is:\nunstack blue from red\nput down blue\n"
    assert plan_of(unnumbered) == PLAN[:2]


def test_pddl_s_expressions_in_a_code_fence_and_a_plan_wrapper():
    text = "```pddl\n(plan\n  (unstack b a)\n  (put-down b)\n  (pick-up a) (stack a b)\n)\n```"
    assert plan_of(text) == PLAN
    assert plan_of("1. (UNSTACK B A)\n2. (put-down b)") == PLAN[:2]


def test_think_blocks_are_reasoning_not_the_answer():
    text = "<think>\n1. Pick up the yellow block\n2. Stack yellow on blue\n</think>\n" + "\n".join(PLAN)
    assert plan_of(text) == PLAN
    assert extract("<think>1. Pick up the yellow block", BW).outcome == Outcome.NO_PLAN


def test_explanation_lines_that_mention_blocks_are_not_actions():
    text = ("Initial state: the blue block is on the red block.\n"
            "1. Unstack the blue block from the red block\n   - This makes the red block clear.\n"
            "   - Preconditions: the blue block is clear, the hand is empty.\n"
            "   - Pick up the blue block from the red block, since blue is clear.\n"
            "2. Put down the blue block\n3. Pick up the red block\n4. Stack the red block on the blue block\n"
            "Result: the red block is on top of the blue block.\n")
    extraction = extract(text, BW)
    assert extraction.actions == PLAN
    assert [s.why for s in extraction.skipped] == ["its numbered step already has an action"]


def test_state_tracking_answers_take_the_action_line_of_each_step():
    text = ("1. Current State: the blue block is clear, the hand is empty\n"
            "   Action: unstack the blue block from on top of the red block\n"
            "   Reason: the blue block is clear.\n   Resulting State: the hand is holding the blue block\n"
            "2. Current State: the hand is holding the blue block\n   Action: put down the blue block\n")
    assert plan_of(text) == PLAN[:2]


def test_put_and_place_read_as_put_down_or_stack():
    text = "1. Unstack blue from red\n2. Put blue on the table\n3. Pick up red\n4. Place red on blue"
    assert plan_of(text) == PLAN


def test_mystery_vocabulary_object_letters_and_emphasis():
    text = "1. **Feast object b from object a**\n2. **Succumb _b_**\n3. Attack a\n4. Overcome a b"
    assert plan_of(text, MYSTERY) == ("(feast b a)", "(succumb b)", "(attack a)", "(overcome a b)")
    assert extract("Pick up a block and put it down.", MYSTERY).outcome == Outcome.NO_PLAN


def test_randomized_vocabulary_reads_planbench_object_names():
    text = "1. Perform `j4gv801gnu2it0yj` on `object_0` and `object_1`.\n2. u64y1a9apusmslxb o2"
    assert plan_of(text, RANDOM) == ("(j4gv801gnu2it0yj o0 o1)", "(u64y1a9apusmslxb o2)")


def test_planbench_random_config_reads_its_tokens_for_blocksworld_instances(planbench):
    config = f"planbench:{planbench / 'configs' / 'random_blocksworld.yaml'}"
    text = "xptxjrdkbi3pqsqr object b from object a\n9big8ruzarkkquyu object b\n[PLAN END]"
    assert plan_of(text, BW, config) == PLAN[:2]


def test_a_step_that_cannot_be_read_keeps_its_place():
    extraction = extract("1. Unstack blue from red\n2. Put down blue\n3. Stack red\n4. Stack red on blue", BW)
    assert extraction.actions == (*PLAN[:2], UNREADABLE_STEP, PLAN[3])
    assert [(s.line, s.why) for s in extraction.skipped] == [(3, "stack needs 2 object(s)")]


def test_a_new_problem_the_model_invents_after_its_plan_is_ignored():
    text = "pick up the red block\n[PLAN END]\n\n[STATEMENT]\nAs initial conditions...\n[PLAN]\nput down the red block"
    assert plan_of(text) == ("(pick-up a)",)


def test_bad_input_gives_an_outcome_never_an_exception():
    assert extract("", BW).outcome == Outcome.EMPTY
    assert extract(" \n\t ", BW).outcome == Outcome.EMPTY
    assert extract("\x00\x01\x02\x03binary\xff\x00\x00" * 50, BW).outcome == Outcome.UNREADABLE
    assert extract("I cannot find a plan; the goal is impossible.", BW).outcome == Outcome.NO_PLAN
    assert extract("1. Attack object a\n2. Succumb object a", BW).outcome == Outcome.NO_PLAN
    assert extract("(stack a z)\n(fly a b)", BW).outcome == Outcome.NO_PLAN
    huge = "unstack the blue block from on top of the red block\n" + "blah " * 400_000
    assert plan_of(huge) == PLAN[:1]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_junk_never_raises(text):
    extraction = extract(text, BW)
    assert extraction.outcome in Outcome
    assert all(action.startswith("(") for action in extraction.actions)


VOCABULARIES = [("blocksworld", "blocksworld"), ("mystery", "mystery"),
                ("randomized", "planbench-randomized"), ("randomized", "randomized:5")]


@st.composite
def rendered_plans(draw):
    domain, vocabulary = draw(st.sampled_from(VOCABULARIES))
    blocks = block_names(draw(st.integers(3, 12)))
    plan = draw(st.lists(st.sampled_from(ACTIONS).flatmap(
        lambda a: st.tuples(st.just(a), *[st.sampled_from(blocks)] * ARITY[a])), min_size=1, max_size=12))
    instance = replace(BW, domain=domain, vocabulary=vocabulary, objects=blocks)
    return instance, plan, draw(st.sampled_from(["", "{}. ", "- ", "Step {}: ", "**{}.** "]))


PLANBENCH_TEMPLATES = {"blocksworld": "configs/blocksworld.yaml", "mystery": "configs/mystery_blocksworld.yaml",
                       "planbench-randomized": "obfuscated_randomized_blocksworld"}


@settings(max_examples=150, deadline=None)
@given(rendered_plans())
def test_a_plan_rendered_in_our_words_or_planbench_s_reads_back(planbench, case):
    instance, plan, marker = case
    vocab = get(instance.vocabulary)
    expected = tuple(vocab.fact(a) for a in plan)
    config = PLANBENCH_TEMPLATES.get(instance.vocabulary)
    sources = ["default"] + ([f"planbench:{planbench / config if '/' in config else config}"] if config else [])
    for templates in sources:
        lines = plan_lines(load_template(templates, instance.domain), vocab, plan).splitlines()
        text = "Here is my plan:\n" + "\n".join(marker.format(i) + line for i, line in enumerate(lines, 1))
        assert extract(text, instance, templates).actions == expected, templates
    assert extract("\n".join(expected), instance).actions == expected


def test_function_call_syntax_and_asides_in_parentheses():
    text = "1. **Unstack(Blue, Red)**\n2. Put down(blue)\n3. Pick up the red block (it is clear now)\n" \
           "4. Stack the red block (with nothing on it) on top of the blue block"
    assert plan_of(text) == PLAN


def test_a_list_the_answer_concludes_is_no_plan_is_not_a_plan():
    text = ("Let me check each action:\n- Unstack blue from red: possible.\n- Stack red on blue: not yet.\n\n"
            "So there is no valid plan that reaches the goal.")
    extraction = extract(text, BW)
    assert extraction.outcome == Outcome.NO_PLAN
    assert {s.why for s in extraction.skipped} == {"the answer concludes that no plan exists"}


def test_cli_extract_reads_stdin_and_validates(planbench):
    from click.testing import CliRunner

    from planbench_scale.cli import main

    spec = f"{planbench / 'instances' / 'blocksworld'}:instance-2"
    answer = "1. Unstack the red block from on top of the blue block\n2. Put down the red block\n3. Stack red\n"
    result = CliRunner().invoke(main, ["extract", "--instance", spec], input=answer)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["(unstack a b)", "(put-down a)", UNREADABLE_STEP]
    assert "skipped line 3 (stack needs 2 object(s))" in result.stderr
    checked = CliRunner().invoke(main, ["extract", "--instance", spec, "--validate"], input="pick up the red block")
    assert checked.stdout.splitlines()[-1].startswith("invalid: ")


# PlanBench answer sets: config -> (instance set, templates the answers were asked in).
def answer_sources(planbench, config):
    instance_set = config.removeprefix("random_")
    name = "random_blocksworld" if config.startswith("random_") else config
    config_file = planbench / "configs" / f"{name}.yaml"
    templates = f"planbench:{config_file}" if config_file.exists() else f"planbench:{name}"
    return planbench / "instances" / instance_set, templates


@functools.lru_cache(maxsize=None)
def numbered(folder):
    return {i.id.rsplit("-", 1)[-1]: i for i in load_instances(folder)}


def planbench_answers(planbench):
    for path in sorted((planbench / "responses").glob("*/*.jsonl.gz")):
        for line in gzip.open(path, "rt"):
            yield json.loads(line)


def test_no_planbench_answer_makes_the_extractor_raise(planbench):
    outcomes, count = set(), 0
    for row in planbench_answers(planbench):
        if row["config"].startswith("unsolvable"):  # PlanBench's unsolvable sets are not imported
            continue
        folder, templates = answer_sources(planbench, row["config"])
        instance = numbered(folder)[str(row["instance_id"])]
        outcomes.add(extract(row["raw_response"] or "", instance, templates).outcome)
        count += 1
    assert count > 21000 and outcomes == {Outcome.PLAN, Outcome.NO_PLAN, Outcome.EMPTY}


def test_disagreements_with_planbench_stay_as_recorded(planbench):
    """tests/data/extract_disagreements.jsonl: every answer where our verdict differs from
    PlanBench's, with the reason (scripts/eval_extractor.py --disagreements regenerates it)."""
    table = [json.loads(line) for line in open(Path(__file__).parent / "data" / "extract_disagreements.jsonl")]
    keyed = {(r["config"], r["model"], r["prompt_type"], r["instance_id"]): r for r in table}
    seen = 0
    for row in planbench_answers(planbench):
        recorded = keyed.get((row["config"], row["model"], row["prompt_type"], row["instance_id"]))
        if recorded is None:
            continue
        folder, templates = answer_sources(planbench, row["config"])
        instance = numbered(folder)[str(row["instance_id"])]
        actions = extract(row["raw_response"], instance, templates).actions
        assert list(actions) == recorded["ours_plan"], recorded
        assert validate(task_for(instance), actions).valid == recorded["ours_valid"], recorded
        assert recorded["ours_valid"] != bool(row["planbench_correct"]) and recorded["reason"]
        seen += 1
    assert seen == len(table) > 300


def test_s_expressions_with_colour_names_and_unreadable_pddl_steps():
    assert plan_of("(unstack blue red)\n(put-down blue)") == PLAN[:2]
    extraction = extract("```lisp\n(unstack blue red)\n(put-down blue table)\n(pick-up red)\n```", BW)
    assert extraction.actions == (PLAN[0], UNREADABLE_STEP, PLAN[2])


def test_unreadable_unnumbered_steps_keep_their_place_so_no_step_is_dropped():
    # "green" is no block here and unstack needs two objects: dropping those lines would leave
    # the valid 4-step plan, which the answer does not state.
    text = ("unstack the blue block from on top of the red block\nput down the blue block\n"
            "unstack the green block from on top of the red block\npick up the red block\n"
            "stack the red block on top of the blue block\nunstack the yellow block\n")
    extraction = extract(text, BW)
    assert extraction.actions == (*PLAN[:2], UNREADABLE_STEP, *PLAN[2:], UNREADABLE_STEP)
    assert [s.line for s in extraction.skipped] == [3, 6]
    assert not validate(task_for(BW), extraction.actions).valid


def test_an_introduction_starting_with_a_verb_is_not_a_step():
    text = "Stack them in this order, carefully:\n" + "\n".join(
        ["unstack the blue block from on top of the red block", "put down the blue block",
         "pick up the red block", "stack the red block on top of the blue block"])
    assert plan_of(text) == PLAN
