"""The Blocksworld generator: a time limit per drawn instance, and a stop when nothing can fill."""

from planbench_scale.domains import get
from planbench_scale.domains.blocksworld.generate import generate_set


def test_instances_too_slow_to_plan_are_skipped_and_the_set_stops_short():
    said = []
    instances = generate_set(get("blocksworld").vocabulary(), (150, 150), (2, 4), 1, 0,
                             progress=said.append, time_limit=0.2)
    assert instances == []
    assert sum("took over 0.2 s to plan optimally: skipped" in m for m in said) == 3
    assert any("ran out of time: stopping" in m for m in said)
    assert said[-1].startswith("0 of 2 step counts filled after 3 draws")


def test_a_negative_seed_draws_a_randomized_vocabulary():
    vocab = get("randomized").vocabulary(None, -5)
    assert vocab.name == "randomized:-5" and get("randomized").vocabulary("randomized:-5") == vocab
    [instance] = generate_set(vocab, (3, 3), (2, 2), 1, -5)
    assert instance.vocabulary == "randomized:-5" and instance.optimal_length == 2


def test_unsolvable_instances_have_impossible_goals_certified_and_the_same_in_every_vocabulary():
    from planbench_scale.domains.blocksworld import states
    from planbench_scale.domains.blocksworld.generate import unsatisfiable, unsolvable_set
    made = unsolvable_set(get("blocksworld").vocabulary(), (2, 6), 40, seed=3)
    kinds = set()
    for instance in made:
        assert not instance.solvable and instance.optimal_plan == () and unsatisfiable(instance.objects, instance.goal)
        lowers = [fact[2] for fact in instance.goal]
        kinds.add("two on one" if len(set(lowers)) < len(lowers) else "cycle")
        assert states.state_of_facts(instance.objects, instance.init)  # a real initial state
    assert kinds == {"two on one", "cycle"} and len({i.id for i in made}) == 40
    mystery = unsolvable_set(get("mystery").vocabulary(), (2, 6), 40, seed=3)
    assert [(i.init, i.goal) for i in mystery] == [(i.init, i.goal) for i in made]
    assert not unsatisfiable(("a", "b", "c"), (("on", "a", "b"), ("on", "b", "c")))


def test_a_generated_set_mixes_in_the_asked_fraction_of_unsolvable_instances():
    from planbench_scale.instances import generate_set as generate
    instances = generate("blocksworld", (3, 4), (2, 4), per_step=3, seed=1, unsolvable=0.25)
    assert len(instances) == 8 and sum(not i.solvable for i in instances) == 2
    assert generate("blocksworld", (3, 4), (2, 4), per_step=3, seed=1) == instances[:6]
