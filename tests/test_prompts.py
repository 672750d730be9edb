"""Prompt rendering: our templates, PlanBench's templates (byte for byte), describe_*, revision."""

import functools
import gzip
import json
from dataclasses import replace

import pytest

from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances
from planbench_scale.text.prompts import (describe_action, describe_fact, example_for, load_template,
                                     render, revision_prompt)
from planbench_scale.records import Instance
from planbench_scale.domains.blocksworld.vocab import get

# b on a, c on the table; goal: a on b. Optimal: unstack b a, put-down b, pick-up a, stack a b.
THREE = Instance(
    id="bw-b03-s04-0002", domain="blocksworld", vocabulary="blocksworld", objects=("a", "b", "c"),
    init=(("clear", "b"), ("clear", "c"), ("handempty",), ("on", "b", "a"), ("ontable", "a"),
          ("ontable", "c")),
    goal=(("on", "a", "b"),),
    optimal_plan=(("unstack", "b", "a"), ("put-down", "b"), ("pick-up", "a"), ("stack", "a", "b")))
OTHER = replace(THREE, id="bw-b03-s04-0001", goal=(("on", "c", "b"),),
                optimal_plan=(("pick-up", "c"), ("stack", "c", "b")))
LATER = replace(THREE, id="bw-b03-s04-0010")


def planbench_config(planbench, name):
    return f"planbench:{planbench / 'configs' / name}.yaml"


def test_zero_shot_default_states_init_goal_and_asks_for_a_plan():
    prompt = render(THREE)
    assert "the blue block is on top of the red block" in prompt.text
    assert "My goal is that the red block is on top of the blue block." in prompt.text
    assert prompt.text.endswith("in the same words as above.")
    assert prompt.messages[0][0] == "system" and prompt.messages[1] == ("user", prompt.text)
    assert (prompt.style, prompt.shots, prompt.template) == ("nl", 0, "default")


def test_one_shot_takes_the_previous_pool_instance_never_the_query():
    assert example_for(THREE, [LATER, THREE, OTHER]) is OTHER
    assert example_for(OTHER, [LATER, THREE, OTHER]) is THREE
    prompt = render(THREE, shots=1, pool=[OTHER, THREE])
    example_plan = "[PLAN]\npick up the orange block\nstack the orange block on top of the blue block\n[PLAN END]"
    assert example_plan in prompt.text
    assert prompt.text.endswith("My plan is as follows:\n\n[PLAN]")
    assert "unstack the blue block" not in prompt.text
    impossible = replace(OTHER, optimal_plan=(), solvable=False)
    assert example_for(THREE, [LATER, THREE, impossible]) is LATER  # no plan to show


def test_one_shot_without_another_instance_is_an_error():
    with pytest.raises(PlanbenchError, match="no example"):
        render(THREE, shots=1, pool=[THREE])
    with pytest.raises(PlanbenchError, match="shots"):
        render(THREE, shots=2)
    with pytest.raises(PlanbenchError, match="style"):
        render(THREE, style="yaml")


def test_pddl_style_of_a_generated_instance_uses_our_writer():
    prompt = render(THREE, style="pddl", shots=1, pool=[OTHER])
    assert "(define (domain blocksworld-4ops)" in prompt.text
    assert "[PLAN]\n(pick-up c)\n(stack c b)\n[PLAN END]" in prompt.text
    assert prompt.text.count("(define (problem") == 2


def test_mystery_and_randomized_speak_their_own_vocabulary():
    mystery = replace(THREE, domain="mystery", vocabulary="mystery")
    assert describe_action(mystery, "(feast b a)") == "feast object b from object a"
    assert describe_fact(mystery, "(craves b a)") == "object b craves object a"
    randomized = replace(THREE, domain="randomized", vocabulary="randomized:3")
    text = render(randomized).text
    assert "{" not in text and "stack" not in text and "block" not in text
    stack_c_b = describe_action(randomized, get("randomized:3").fact(("stack", "c", "b")))
    example = replace(OTHER, domain="randomized", vocabulary="randomized:3")
    assert f"\n{stack_c_b}\n[PLAN END]" in render(randomized, shots=1, pool=[example]).text


def test_describe_with_planbench_templates(planbench):
    config = planbench_config(planbench, "blocksworld")
    assert describe_action(THREE, "(UNSTACK b a)", config) == \
        "unstack the blue block from on top of the red block"
    assert describe_fact(THREE, "(ontable c)", config) == "the orange block is on the table"
    random = planbench_config(planbench, "random_blocksworld")
    assert describe_action(THREE, "(stack a b)", random) == "2ijg9q8swj2shjel object a from object b"


def test_describe_rejects_names_outside_the_instance():
    with pytest.raises(PlanbenchError):
        describe_action(THREE, "(stack a z)")
    with pytest.raises(PlanbenchError):
        describe_action(THREE, "(clear a)")
    with pytest.raises(PlanbenchError):
        describe_fact(THREE, "(on a)")


def test_revision_prompt_adds_answer_and_feedback():
    first = render(THREE)
    revised = revision_prompt(first, "pick up the red block", "Step 1 fails: the red block is not clear.")
    assert revised.messages[:2] == first.messages
    assert revised.messages[2:] == (("assistant", "pick up the red block"),
                                    ("user", "Step 1 fails: the red block is not clear."))
    assert revised.text.startswith(first.text) and revised.text.endswith("is not clear.\n")
    assert revised.hash != first.hash


def test_bad_template_sources_are_clear_errors(tmp_path):
    with pytest.raises(PlanbenchError, match="not found"):
        load_template("planbench:/no/such/config.yaml", "blocksworld")
    bad = tmp_path / "bad.yaml"
    bad.write_text("domain_intro: x\nactions: {}\n")
    with pytest.raises(PlanbenchError, match="lacks domain_name"):
        load_template(f"planbench:{bad}", "blocksworld")
    bad.write_text("[unclosed")
    with pytest.raises(PlanbenchError, match="cannot read"):
        load_template(f"planbench:{bad}", "blocksworld")
    with pytest.raises(PlanbenchError, match="unknown templates"):
        load_template("ours", "blocksworld")


def test_a_planbench_config_without_wording_falls_back_on_the_instances_vocabulary(planbench):
    """PlanBench's unsolvable_obfuscated_randomized_blocksworld.yaml names only its files: prompts
    and extraction use the domain's own template, in the instances' vocabulary, objects as object_N."""
    from planbench_scale.text.extract import extract

    config = planbench_config(planbench, "unsolvable_obfuscated_randomized_blocksworld")
    instance = planbench_set(str(planbench / "instances" / "unsolvable_obfuscated_randomized_blocksworld"))[0]
    template = load_template(config, instance.domain)
    assert template.name == "planbench:unsolvable_obfuscated_randomized_blocksworld"
    assert template.object_format == "object_{index}"
    assert template.actions == load_template("default", instance.domain).actions
    vocab = get(instance.vocabulary)
    prompt = render(instance, templates=config).text
    assert vocab.own("unstack") in prompt and "object_0" in prompt
    assert extract(f"{vocab.own('pick-up')} object_0", instance, config).actions == (f"({vocab.own('pick-up')} o0)",)


# PlanBench prompt folder -> (instance set it is about, config that renders it); the randomized
# sets' configs are not published by PlanBench and ship rebuilt in domains/planbench/.
PLANBENCH_PROMPTS = {
    "blocksworld": ("blocksworld", "configs/blocksworld.yaml"),
    "blocksworld_3": ("blocksworld_3", "configs/blocksworld_3.yaml"),
    "mystery_blocksworld": ("mystery_blocksworld", "configs/mystery_blocksworld.yaml"),
    "mystery_blocksworld_3": ("mystery_blocksworld_3", "configs/mystery_blocksworld_3.yaml"),
    "random_blocksworld": ("blocksworld", "configs/random_blocksworld.yaml"),
    "random_blocksworld_3": ("blocksworld_3", "configs/random_blocksworld.yaml"),
    "obfuscated_randomized_blocksworld": ("obfuscated_randomized_blocksworld",
                                          "obfuscated_randomized_blocksworld"),
    "obfuscated_randomized_blocksworld_3": ("obfuscated_randomized_blocksworld_3",
                                            "obfuscated_randomized_blocksworld_3"),
}
PROMPT_TYPES = {"t1": ("nl", 1), "t1_zero_shot": ("nl", 0), "t1_pddl": ("pddl", 1),
                "t1_zero_shot_pddl": ("pddl", 0)}


@functools.lru_cache(maxsize=None)
def planbench_set(folder: str) -> tuple:
    return tuple(load_instances(folder))


@pytest.mark.parametrize("config", sorted(PLANBENCH_PROMPTS))
def test_planbench_prompts_are_reproduced_byte_for_byte(planbench, config):
    instance_set, template = PLANBENCH_PROMPTS[config]
    pool = planbench_set(str(planbench / "instances" / instance_set))
    by_number = {i.id.rsplit("-", 1)[-1]: i for i in pool}
    path = planbench / "configs" / template.removeprefix("configs/")
    templates = f"planbench:{path if template.startswith('configs/') else template}"
    checked = 0
    for prompt_type, (style, shots) in PROMPT_TYPES.items():
        file = planbench / "prompts" / config / f"{prompt_type}.jsonl.gz"
        if not file.exists():
            continue
        for line in gzip.open(file, "rt"):
            row = json.loads(line)
            instance = by_number[str(row["instance_id"])]
            prompt = render(instance, style, shots, pool, templates)
            assert prompt.text == row["query"], f"{config}/{prompt_type} instance {row['instance_id']}"
            checked += 1
    assert checked >= 100


def test_cli_prompt_prints_a_prompt_for_a_file_or_set_and_id(planbench):
    from click.testing import CliRunner

    from planbench_scale.cli import main

    folder = planbench / "instances" / "blocksworld"
    config = f"planbench:{planbench / 'configs' / 'blocksworld.yaml'}"
    by_file = CliRunner().invoke(main, ["prompt", "--instance", str(folder / "instance-2.pddl"),
                                        "--shots", "1", "--templates", config])
    assert by_file.exit_code == 0, by_file.output
    expected = next(json.loads(line)["query"] for line in gzip.open(planbench / "prompts/blocksworld/t1.jsonl.gz", "rt")
                    if json.loads(line)["instance_id"] == 2)
    assert by_file.output == expected + "\n"
    chat = CliRunner().invoke(main, ["prompt", "--instance", f"{folder}:instance-2", "--style", "pddl",
                                     "--form", "chat"])
    assert chat.exit_code == 0 and [m["role"] for m in json.loads(chat.output)] == ["system", "user"]
    missing = CliRunner().invoke(main, ["prompt", "--instance", f"{folder}:instance-99999"])
    assert missing.exit_code == 2 and "names 0 instances" in missing.output
