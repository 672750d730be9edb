"""Plan reuse (t4): PlanBench's wording (its `generate_plan_subset`; it shares no t4 prompts), the
drawn prefix, and the scorer on hand-written plans."""

from planbench_scale.config import Settings
from planbench_scale.domains import vocabulary_of
from planbench_scale.instances import load_instances
from planbench_scale.records import Reason
from planbench_scale.tasks import get
from planbench_scale.tasks.execution import facts_after
from planbench_scale.tasks.reuse import reuse_prefix, reuse_prompt
from planbench_scale.tasks.wording import state
from planbench_scale.text.prompts import load_template, plan_lines


def setup(planbench):
    pool = load_instances(planbench / "instances" / "blocksworld")[:40]
    templates = f"planbench:{planbench / 'configs' / 'blocksworld.yaml'}"
    return pool, load_template(templates, pool[0].domain), Settings(task="t4", templates=templates)


def test_the_prompt_shows_the_plan_then_asks_for_the_state_a_prefix_reaches(planbench):
    pool, template, settings = setup(planbench)
    instance = next(i for i in pool if i.optimal_length >= 4)
    vocab = vocabulary_of(instance)
    init = state(template, instance, instance.init)
    expected = (template.intro + f"\n[STATEMENT]\nAs initial conditions I have that, {init}.\n"
                f"My goal is to have that {state(template, instance, instance.goal)}.\n"
                "My plan is as follows:\n\n[PLAN]\n"
                + plan_lines(template, vocab, instance.optimal_plan) + "[PLAN END]\n "
                f"\n[STATEMENT]\nAs initial conditions I have that, {init}.\nMy goal is to have "
                f"that {state(template, instance, facts_after(instance, 2))}.\n"
                "My plan is as follows:\n\n[PLAN]")
    assert reuse_prompt(template, instance, 2) == expected
    prefixes = {reuse_prefix(instance, seed) for seed in range(50)}
    assert prefixes == set(range(1, instance.optimal_length))  # PlanBench's 1 .. length-1
    assert get("t4").prompt(instance, pool, settings).text == \
        reuse_prompt(template, instance, reuse_prefix(instance, settings.seed))


def test_the_prefix_is_right_and_the_whole_plan_overshoots(planbench):
    pool, template, settings = setup(planbench)
    instance = next(i for i in pool if i.optimal_length >= 4)
    vocab, prefix = vocabulary_of(instance), reuse_prefix(instance, settings.seed)
    _, right = get("t4").score(instance, plan_lines(template, vocab, instance.optimal_plan[:prefix]),
                               settings)
    assert right.valid
    _, beyond = get("t4").score(instance, plan_lines(template, vocab, instance.optimal_plan), settings)
    assert not beyond.valid and beyond.reason == Reason.GOAL_NOT_REACHED
