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
