"""Prompt rendering: our templates, PlanBench's templates (byte for byte), describe_*, revision."""

import functools
import gzip
import json
import re
from dataclasses import replace
from pathlib import Path

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
    mystery = replace(OTHER, domain="mystery", vocabulary="mystery")
    assert example_for(THREE, [mystery, THREE, LATER]) is LATER  # a pool of several domains' sets


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


# --- Logistics -------------------------------------------------------------------------------

def planbench_logistics_plans(planbench) -> dict[int, tuple]:
    """PlanBench's own optimal plans of its Logistics set (Fast Downward's choice among the
    optimal plans; ours are as short but often choose another airplane or order): the ground truth
    stored with its answers for instances 2-201, and instance 1's from Fast Downward, as PlanBench
    computed them."""
    from planbench_scale.symbolic.fast_downward import optimal_plan

    plans = {}
    for line in gzip.open(planbench / "responses/logistics/gpt-4_chat__t1.jsonl.gz", "rt"):
        row = json.loads(line)
        plans[row["instance_id"]] = row["ground_truth_plan"]
    folder = planbench / "instances/logistics"
    plans[1] = optimal_plan((folder / "generated_domain.pddl").read_text(),
                            (folder / "instance-1.pddl").read_text())
    return {number: tuple(tuple(a.strip("()").lower().split()) for a in plan) for number, plan in plans.items()}


def test_planbench_logistics_prompts_are_reproduced_byte_for_byte(planbench, tmp_path):
    """Every published Logistics prompt (200 one-shot, 200 one-shot PDDL) from the imported set and
    PlanBench's config as the prompts were written from it (planbench:logistics, shipped). The
    examples show PlanBench's plans, each as long as our certified optimal one. PlanBench's domain
    file then had a blank line holding one space and a final newline that the repository's copy
    lacks: the PDDL prompts quote such a copy."""
    imported = planbench_set(str(planbench / "instances" / "logistics"))
    theirs = planbench_logistics_plans(planbench)
    number = lambda instance: int(instance.id.rsplit("-", 1)[-1])  # noqa: E731
    assert all(len(theirs[number(i)]) == len(i.optimal_plan) for i in imported if number(i) in theirs)
    folder = planbench / "instances/logistics"
    domain = (folder / "generated_domain.pddl").read_text()
    (tmp_path / "generated_domain.pddl").write_text(domain.replace("))\n\n  ;", "))\n \n  ;", 1) + "\n")
    pool = []
    for instance in imported:
        (tmp_path / f"instance-{number(instance)}.pddl").write_bytes(Path(instance.source).read_bytes())
        pool.append(replace(instance, optimal_plan=theirs.get(number(instance), instance.optimal_plan),
                            source=str(tmp_path / f"instance-{number(instance)}.pddl")))
    by_number = {number(i): i for i in pool}
    for prompt_type, style in (("t1", "nl"), ("t1_pddl", "pddl")):
        rows = [json.loads(line) for line in gzip.open(planbench / f"prompts/logistics/{prompt_type}.jsonl.gz", "rt")]
        assert len(rows) == 200
        for row in rows:
            prompt = render(by_number[row["instance_id"]], style, 1, pool, "planbench:logistics")
            assert prompt.text == row["query"], f"logistics/{prompt_type} instance {row['instance_id']}"


def test_the_repository_logistics_config_differs_from_the_published_wording_by_whitespace(planbench):
    """PlanBench's configs/logistics.yaml as it is renders the published prompts but for four spaces
    at the end of intro lines and the newline after the final [PLAN]."""
    pool = planbench_set(str(planbench / "instances" / "logistics"))
    row = json.loads(gzip.open(planbench / "prompts/logistics/t1.jsonl.gz", "rt").readline())
    instance = next(i for i in pool if i.id.endswith(f"-{row['instance_id'] + 5}"))
    ours = render(instance, "nl", 1, pool, planbench_config(planbench, "logistics")).text
    shipped = render(instance, "nl", 1, pool, "planbench:logistics").text
    assert ours.count(". \n") == shipped.count(". \n") + 4
    assert ours.replace(". \n", ".\n") + "\n" == shipped.replace(". \n", ".\n")
    assert "package_0 is at location_" in ours and "is an airport" in ours and "obj" not in ours


def test_obfuscated_logistics_configs_render_their_own_words(planbench):
    """PlanBench's deceptive and randomized Logistics configs (no published prompts): instance-2,
    checked by hand. Airplane o0 at o7 flies to o6 with package o8: load-airplane is "sip" /
    "e6tbvxb13cxqiqfm", fly-airplane "memory" / "i43ia3g2ygc7vwqf", unload-airplane "paltry" /
    "kl6t91ujyqzora0b"; type facts are listed ("hand object_8": o8 is a package)."""
    words = {"obfuscated_deceptive_logistics": ("sip", "memory", "paltry", "hand", "next"),
             "obfuscated_randomized_logistics": ("e6tbvxb13cxqiqfm", "i43ia3g2ygc7vwqf", "kl6t91ujyqzora0b",
                                                 "zwcd0caosqrvypn9", "uiat7ywwr0i6j87c")}
    for config, (load, fly, unload, package, at) in words.items():
        pool = planbench_set(str(planbench / "instances" / config))
        second, third = (next(i for i in pool if i.id.endswith(f"/instance-{n}")) for n in (2, 3))
        text = render(third, "nl", 1, pool, planbench_config(planbench, config)).text
        example = (f"[PLAN]\n{load} object_8 object_0 object_7\n{fly} object_0 object_7 object_6\n"
                   f"{unload} object_8 object_0 object_6\n[PLAN END]")
        assert example in text
        assert f"{package} object_8" in text and f"My goal is to have that {at} object_8 object_6.\n" in text
        assert text.endswith("[PLAN]") and second.optimal_plan[0] == ("load-airplane", "o8", "o0", "o7")


def test_default_logistics_templates_speak_each_vocabulary(planbench):
    pool = planbench_set(str(planbench / "instances" / "logistics"))
    first, second = pool[:2]
    text = render(second, "nl", 1, pool).text
    assert ("At the start, location 0-0 is an airport, location 1-0 is an airport, airplane 0 is at "
            "location 1-0") in text
    assert "location 0-0 is in city 0 and location 1-0 is in city 1.\nMy goal is that package 0 is at location 0-0." in text
    assert describe_action(first, "(load-airplane p0 a1 l1-0)") == "load package 0 into airplane 1 at location 1-0"
    assert describe_action(first, "(drive-truck t0 l0-0 l0-0 c0)") == "drive truck 0 from location 0-0 to location 0-0 in city 0"
    mystery = replace(second, domain="mystery-logistics", vocabulary="mystery-logistics")
    assert describe_action(mystery, "(memory a0 l0-0 l1-0)") == "memory object a0 object l0-0 object l1-0"
    assert describe_fact(mystery, "(collect l0-0 c0)") == "object l0-0 collect object c0"
    assert "To sip A B C, hand A, cats B, texture C, A next C and B next C must be true." in render(mystery).text
    randomized = replace(second, domain="randomized-logistics", vocabulary="randomized:7")
    text = render(randomized).text
    assert "{" not in text and not re.search(r"\b(?:truck|package|airplane|l0-0|p0)\b", text)
    from planbench_scale.domains.logistics.vocab import get as logistics_vocabulary
    vocab = logistics_vocabulary("randomized:7")
    assert f"To {vocab.own('fly-airplane')} A B C, {vocab.own('airplane')} A," in text
    assert f"object {vocab.obj('p0')} {vocab.own('at')} object {vocab.obj('l1-0')}" in text


def test_an_object_phrase_by_letter_needs_the_numbers_it_names():
    from planbench_scale.domains.logistics.vocab import LOGISTICS
    from planbench_scale.text.prompts import object_phrase

    template = replace(load_template("default", "logistics"), objects=(("l", "location {}-{}"),))
    assert object_phrase(template, LOGISTICS, "l12-3") == "location 12-3"
    with pytest.raises(PlanbenchError, match="more numbers than object l3"):
        object_phrase(template, LOGISTICS, "l3")
