"""The default wording: phrases built from predicate and action names, the intro from the
domain's PDDL, and prompts and extraction through it in any vocabulary."""

from dataclasses import replace

from hypothesis import given, strategies as st

from planbench_scale import domains, score
from planbench_scale.records import Instance
from planbench_scale.text import prompts, wording

GRIPPER_TYPES = ("room", "ball", "gripper")


def test_phrases_follow_the_documented_rules():
    data = wording.default_for("gripper")
    assert {k: data["predicates"][k] for k in ("ball", "free", "at")} == {
        "ball": "{} is a {name}", "free": "{} is {name}", "at": "{} is {name} {}"}
    assert data["actions"]["pick"] == "{name} {} {} {}"
    assert wording.predicate_phrase(0) == "{name}"
    assert wording.predicate_phrase(3) == "{name} holds for {}, {} and {}"
    assert "{pick} ?obj ?room ?gripper: possible when ?obj is a {ball}" in data["intro"]
    assert "no longer true that ?obj is {at} ?room and ?gripper is {free}" in data["intro"]


@given(st.integers(0, 6), st.lists(st.sampled_from(["x", "rooma", "b1", "o_2"]), min_size=6, max_size=6))
def test_every_phrase_takes_exactly_its_objects(arity, names):
    objects = names[:arity]
    action = wording.action_phrase(arity).format(*objects, name="go")
    assert action.split() == ["go", *objects]
    fact = wording.predicate_phrase(arity).format(*objects, name="p")
    assert all(o in fact.split() or o + "," in fact.split() for o in objects)
    assert fact.count("p") >= 1


def _gripper(vocabulary="gripper") -> Instance:
    init = (("at", "ball1", "rooma"), ("at-robby", "rooma"), ("ball", "ball1"), ("free", "left"),
            ("gripper", "left"), ("room", "rooma"), ("room", "roomb"))
    return Instance("g1", "gripper", vocabulary, ("rooma", "roomb", "left", "ball1"), init,
                    (("at", "ball1", "roomb"),),
                    (("pick", "ball1", "rooma", "left"), ("move", "rooma", "roomb"),
                     ("drop", "ball1", "roomb", "left")))


def test_a_prompt_in_the_default_wording_reads_and_its_plan_extracts_back():
    instance = _gripper()
    text = prompts.render(instance).text
    assert "At the start, ball1 is at rooma, rooma is at-robby, ball1 is a ball" in text
    assert "My goal is that ball1 is at roomb." in text
    answer = "[PLAN]\npick ball1 rooma left\nmove rooma roomb\ndrop ball1 roomb left\n[PLAN END]"
    extraction, verdict = score.check(instance, answer)
    assert extraction.actions == ("(pick ball1 rooma left)", "(move rooma roomb)",
                                  "(drop ball1 roomb left)") and verdict.valid


def test_randomized_names_stay_hidden_in_the_default_wording():
    instance = _gripper("randomized:5")
    vocab = domains.vocabulary_of(instance)
    text = prompts.render(instance).text
    for name in ("pick ", "at-robby", "a gripper", "rooma", "ball1"):  # parameter names stay
        assert name not in text
    assert f"{vocab.own('pick')} ?obj ?room ?gripper" in text
    plan = prompts.plan_lines(prompts.load_template("default", "gripper"), vocab, instance.optimal_plan)
    assert score.check(instance, f"[PLAN]\n{plan}[PLAN END]")[1].valid
    assert replace(instance, vocabulary="gripper") != instance
