import collections
import itertools
import json
import random

import pytest
from blocks_bfs import bfs_plan, strips_rules
from hypothesis import given, settings, strategies as st

from planbench_scale.domains import DOMAINS, instance_pddl
from planbench_scale.domains.blocksworld import states as bw
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances
from planbench_scale.domains.blocksworld.feedback import disjoint_cycles, feedback_bound
from planbench_scale.domains.blocksworld.vocab import block_names


def run_plan(names, init, plan):
    """The state a plan of canonical actions reaches, or None when an action does not apply."""
    rules = {action: (pre, add, delete) for action, pre, add, delete in strips_rules(names)}
    state = frozenset(init)
    for action in plan:
        pre, add, delete = rules[action]
        if not pre <= state:
            return None
        state = (state - delete) | add
    return state


def random_problem(n, seed, keep):
    rng = random.Random(seed)
    names = block_names(n)
    init = bw.state_facts(names, bw.random_state(n, rng))
    goal = tuple(f for f in bw.on_facts(names, bw.random_state(n, rng)) if rng.random() < keep)
    return names, init, goal


def test_state_counts_are_bwstates_numbers():
    # OEIS A000262: the number of states of n blocks.
    assert [bw.count_states(n) for n in range(1, 9)] == [1, 3, 13, 73, 501, 4051, 37633, 394353]


def test_random_states_are_uniform_over_all_states():
    rng = random.Random(3)
    draws = collections.Counter(bw.random_state(4, rng) for _ in range(73 * 300))
    assert len(draws) == 73
    chi2 = sum((k - 300) ** 2 / 300 for k in draws.values())
    assert chi2 < 116  # chi-square, 72 degrees of freedom, p = 0.001
    for state in draws:
        names = block_names(4)
        assert bw.state_of_facts(names, bw.state_facts(names, state)) == state


def test_random_states_follow_the_seed():
    assert bw.random_state(30, random.Random(5)) == bw.random_state(30, random.Random(5))
    assert bw.random_state(30, random.Random(5)) != bw.random_state(30, random.Random(6))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**32), keep=st.sampled_from([1.0, 0.6, 0.3]))
def test_optimal_plan_matches_breadth_first_search(n, seed, keep):
    names, init, goal = random_problem(n, seed, keep)
    plan = bw.optimal_plan(names, init, goal)
    assert len(plan) == len(bfs_plan(names, init, goal))
    assert set(goal) <= run_plan(names, init, plan)


def test_deadlock_costs_one_extra_move():
    names = block_names(4)
    init = (("clear", "a"), ("clear", "c"), ("handempty",), ("on", "a", "b"), ("on", "c", "d"),
            ("ontable", "b"), ("ontable", "d"))
    goal = (("on", "a", "d"), ("on", "c", "b"))
    plan = bw.optimal_plan(names, init, goal)
    assert len(plan) == 6 and set(goal) <= run_plan(names, init, plan)


def test_block_above_its_own_target_moves_twice():
    names = block_names(3)  # a on b on c, a must end on c
    init = bw.state_facts(names, (1, 2, bw.TABLE))
    plan = bw.optimal_plan(names, init, (("on", "a", "c"),))
    assert len(plan) == 6


@pytest.mark.parametrize("goal, why", [
    ((("on", "a", "b"), ("on", "a", "c")), "two places"),
    ((("on", "a", "c"), ("on", "b", "c")), "same block"),
    ((("on", "a", "b"), ("on", "b", "a")), "cycle"),
    ((("ontable", "a"),), "unsupported goal fact"),
    ((("on", "a", "z"),), "unsupported goal fact"),
])
def test_unsatisfiable_or_unsupported_goals_are_refused(goal, why):
    names = block_names(3)
    with pytest.raises(PlanbenchError, match=why):
        bw.optimal_plan(names, bw.state_facts(names, (bw.TABLE,) * 3), goal)


@pytest.mark.parametrize("init, why", [
    ((("holding", "a"), ("ontable", "b")), "hand empty"),
    ((("ontable", "a"),), "neither on the table"),
    ((("on", "a", "b"), ("on", "b", "a")), "cycle"),
    ((("ontable", "a"), ("on", "a", "b"), ("ontable", "b")), "two places"),
])
def test_bad_initial_states_are_refused(init, why):
    with pytest.raises(PlanbenchError, match=why):
        bw.optimal_plan(block_names(2), init, (("on", "a", "b"),))


def test_large_random_plans_are_valid():
    for n, seed, keep in [(30, 1, 1.0), (40, 2, 1.0), (50, 3, 0.5)]:
        names, init, goal = random_problem(n, seed, keep)
        plan = bw.optimal_plan(names, init, goal)
        assert set(goal) <= run_plan(names, init, plan) and len(plan) % 2 == 0


def test_trivial_goal_needs_no_plan():
    names = block_names(2)
    init = bw.state_facts(names, (1, bw.TABLE))
    assert bw.optimal_plan(names, init, (("on", "a", "b"),)) == ()


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 7).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4 * n))))
def test_feedback_bound_is_the_minimum_feedback_vertex_set(graph):
    n, edges = graph
    preds = {v: 0 for v in range(n)}
    for u, v in edges:
        preds[v] |= 1 << u
    exact = _minimum_feedback_vertex_set(n, edges)
    assert disjoint_cycles(preds) <= feedback_bound(preds, budget=1) <= feedback_bound(preds) == exact


def _minimum_feedback_vertex_set(n, edges):
    for size in range(n + 1):
        for removed in itertools.combinations(range(n), size):
            if _acyclic([v for v in range(n) if v not in removed], edges):
                return size


def _acyclic(vertices, edges):
    kept = set(vertices)
    left = {(u, v) for u, v in edges if u in kept and v in kept}
    while kept:
        sources = [v for v in kept if not any(e[1] == v for e in left)]
        if not sources:
            return False
        kept -= set(sources)
        left = {e for e in left if e[0] in kept}
    return True


@pytest.mark.parametrize("config", ["blocksworld", "blocksworld_hard"])
def test_optimal_lengths_match_every_planbench_plan(planbench, config):
    folder = planbench / "instances" / config
    shipped = json.loads((folder / "info.json").read_text())
    instances = load_instances(folder)
    assert len(instances) == len(shipped)
    for instance in instances:
        length = shipped[instance.id.split("/")[1] + ".pddl"]["length"]
        plan = bw.optimal_plan(instance.objects, instance.init, instance.goal)
        assert len(plan) == length == instance.optimal_length, instance.id
        assert set(instance.goal) <= run_plan(instance.objects, instance.init, plan)


def test_optimal_lengths_match_fast_downward():
    from unified_planning.engines import PlanGenerationResultStatus
    from unified_planning.io import PDDLReader
    from unified_planning.model.metrics import MinimizeSequentialPlanLength
    from unified_planning.shortcuts import OneshotPlanner, get_environment

    from planbench_scale.domains.blocksworld import vocab
    from planbench_scale.records import Instance

    get_environment().credits_stream = None
    for n, seed, keep in [(5, 1, 1.0), (6, 2, 0.5), (7, 3, 1.0), (8, 4, 0.5), (9, 5, 1.0)]:
        names, init, goal = random_problem(n, seed, keep)
        plan = bw.optimal_plan(names, init, goal)
        instance = Instance(f"fd-{n}", "blocksworld", "blocksworld", names, init, goal, plan)
        problem = PDDLReader().parse_problem_string(DOMAINS["blocksworld"].domain_pddl(vocab.get("blocksworld")),
                                                    instance_pddl(instance)[1])
        problem.add_quality_metric(MinimizeSequentialPlanLength())  # so it reports optimality
        with OneshotPlanner(name="fast-downward-opt") as planner:
            result = planner.solve(problem)
        assert result.status == PlanGenerationResultStatus.SOLVED_OPTIMALLY
        assert len(result.plan.actions) == len(plan), (n, seed, keep)
