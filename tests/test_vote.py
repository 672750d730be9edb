"""Majority vote: exact maj@k against brute force over every k-subset, votes over plans and over
final states, from real generated instances."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale import domains
from planbench_scale.analysis import vote


def brute_vote(codes, valid, k):
    """The definition: every k-subset, the most voted class wins, a tie goes to the class whose
    first sample comes first in the run, no vote is unsolved; the mean over subsets."""
    first = {}
    for i, c in enumerate(codes):
        first.setdefault(c, i)
    values = []
    for subset in itertools.combinations(range(len(codes)), k):
        votes = {}
        for i in subset:
            if codes[i] >= 0:
                votes[codes[i]] = votes.get(codes[i], 0) + 1
        if not votes:
            values.append(0.0)
            continue
        top = max(votes.values())
        winner = min((c for c, v in votes.items() if v == top), key=first.get)
        values.append(float(valid[first[winner]]))
    return float(np.mean(values))


answers = st.lists(st.integers(-1, 3), min_size=1, max_size=11)


@settings(max_examples=300, deadline=None)
@given(answers, st.data())
def test_vote_at_k_is_the_mean_over_all_k_subsets(codes, data):
    valid_class = data.draw(st.lists(st.booleans(), min_size=4, max_size=4))
    valid = [c >= 0 and valid_class[c] for c in codes]
    k = data.draw(st.integers(1, len(codes) + 1))
    got = vote.vote_at_k(np.array(codes), np.array(valid), k)
    if k > len(codes):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(brute_vote(codes, valid, k), abs=1e-9)


def test_vote_at_k_known_values():
    # two samples of a valid plan x and one of invalid y: with k = 2 a subset {x, y} is a tie
    # that goes to the class seen first in the run.
    assert vote.vote_at_k(np.array([0, 1, 0]), np.array([True, False, True]), 2) == pytest.approx(1.0)
    assert vote.vote_at_k(np.array([1, 0, 0]), np.array([False, True, True]), 2) == \
        pytest.approx(1 / 3)
    assert vote.vote_at_k(np.array([-1, -1]), np.array([False, False]), 1) == 0.0


def test_vote_at_k_scales_to_ten_thousand_samples():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 40, 10_000)
    codes[rng.random(10_000) < 0.01] = 99  # the valid plan, rarer than every wrong one
    value = vote.vote_at_k(codes, codes == 99, 2048)
    assert value == pytest.approx(0.0, abs=1e-9)
    codes[rng.random(10_000) < 0.3] = 99  # now the most common answer by far
    assert vote.vote_at_k(codes, codes == 99, 2048) == pytest.approx(1.0, abs=1e-9)


def test_plan_codes_canonicalise():
    codes = vote.plan_codes(pd.Series(["(Stack a b)\n(pick-up c)", " (stack  a b)\n\n(pick-up c)",
                                       "", None, "(put-down a)"]))
    assert codes[0] == codes[1] and codes[2] == codes[3] == -1
    assert codes[4] not in (codes[0], -1)


@pytest.fixture(scope="module")
def instance():
    return domains.get("blocksworld").generate((3, 3), (4, 4), 1, 0)[0]


def pddl(actions):
    return "\n".join(f"({' '.join(a)})" for a in actions)


def test_state_codes_group_plans_reaching_the_same_state(instance):
    optimal = pddl(instance.optimal_plan)
    first = instance.optimal_plan[0]
    undo = ("put-down" if first[0] == "pick-up" else "stack" if first[0] == "unstack" else None,
            *first[1:])
    detour = pddl([first, undo[:2] if undo[0] == "put-down" else undo, *instance.optimal_plan])
    plans = pd.Series([optimal, detour, "", "(stack z y)", pddl(instance.optimal_plan[:1])])
    codes = vote.state_codes([instance], pd.Series([instance.id] * 5), plans)
    assert codes[0] == codes[1] >= 0  # a detour back to the start then the optimal plan
    assert codes[2] == codes[3] == -1  # no plan, a plan that does not execute
    assert codes[4] not in (codes[0], -1)
    assert vote.final_state(instance, optimal) != vote.final_state(instance, plans[4])


def test_majority_vote_over_plans_and_states(instance):
    optimal = pddl(instance.optimal_plan)
    detour = pddl([*instance.optimal_plan, *instance.optimal_plan[-1:]])  # not executable
    plans = [optimal.upper(), optimal, "(stack z y)", detour]
    frame = pd.DataFrame(dict(run="r", instance_id=instance.id, domain="blocksworld",
                              sample_index=range(4), round=0, valid=[True, True, False, False],
                              plan=plans, finish_reason="stop"))
    frame["plan_code"] = vote.plan_codes(frame["plan"])
    frame["state_code"] = vote.state_codes([instance], frame["instance_id"], frame["plan"])
    by_plan = vote.majority_vote(frame, ks=[1, 4, 5]).set_index("k")["majority_vote"]
    by_state = vote.majority_vote(frame, ks=[1], code="state_code")["majority_vote"]
    assert by_plan[1] == pytest.approx(0.5) and by_plan[4] == pytest.approx(1.0)
    assert math.isnan(by_plan[5])
    assert by_state.item() == pytest.approx(0.5)  # two samples vote for the goal state, the others not at all
