"""Strategies at equal compute: best-of-n selection against brute force over every k-subset,
search results, solve curves and the compute-optimal choice."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale.analysis import metrics
from planbench_scale.analysis.compute import (best_of_n, best_of_n_at_k, compute_optimal,
                                              instance_points, selection_weights, solve_curves,
                                              solved)

answers = st.lists(st.tuples(st.booleans(), st.one_of(st.none(), st.integers(-3, 3))),
                   min_size=1, max_size=8)


def frame(instances, scored_rows=False):
    rows = []
    for i, answers_ in enumerate(instances):
        for j, (valid, score) in enumerate(answers_):
            own = None if scored_rows else score
            rows.append(dict(run="r", instance_id=f"i{i}", domain="d", sample_index=j, parent=-1,
                             round=0, strategy="best-of-n", finish_reason="stop", valid=valid,
                             score=np.nan if own is None else float(own)))
            if scored_rows and score is not None:
                rows.append(dict(rows[-1], sample_index=100 + j, parent=j, score=float(score),
                                 finish_reason="scored"))
    return pd.DataFrame(rows)


def brute_best(answers_, k):
    """The definition: in every k-subset (indices in run order) the answer with the highest
    score wins, ties to the lower index, unscored last; the mean of "it is valid"."""
    values = []
    for subset in itertools.combinations(range(len(answers_)), k):
        top = max(subset, key=lambda i: (answers_[i][1] is not None,
                                         answers_[i][1] if answers_[i][1] is not None else 0, -i))
        values.append(float(answers_[top][0]))
    return float(np.mean(values))


@settings(max_examples=80, deadline=None)
@given(st.lists(answers, min_size=1, max_size=4), st.booleans())
def test_best_of_n_is_the_mean_over_all_k_subsets(instances, scored_rows):
    table = best_of_n(frame(instances, scored_rows), ks=[1, 2, 3, 5])
    for k in (1, 2, 3, 5):
        values = [brute_best(a, k) if len(a) >= k else np.nan for a in instances]
        got = table.loc[table.k == k, "best_of_n"].iloc[0]
        expected = np.mean(values)
        assert (np.isnan(got) and np.isnan(expected)) or abs(got - expected) < 1e-9


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_selection_weights_are_the_rank_distribution_of_the_best(case):
    n, k = case
    weights = selection_weights(n, k)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] == pytest.approx(math.comb(n - 1, k - 1) / math.comb(n, k))
    assert np.all(weights[n - k + 1:] == 0)


def test_best_of_n_at_k_known_values():
    scores, valid = np.array([1.0, 3.0, np.nan]), np.array([True, False, False])
    assert best_of_n_at_k(scores, valid, 1) == pytest.approx(1 / 3)
    assert best_of_n_at_k(scores, valid, 2) == pytest.approx(1 / 3)  # only {0, 2} picks 0
    assert best_of_n_at_k(scores, valid, 3) == 0.0 and math.isnan(best_of_n_at_k(scores, valid, 4))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 1000), st.floats(0, 1)),
                min_size=1, max_size=12))
def test_compute_optimal_is_the_best_point_within_each_budget(points):
    table = pd.DataFrame(points, columns=["run", "compute", "solve_rate"]).assign(
        domain="d", unit="samples", budget=1)
    best = compute_optimal(table, by=("domain",))
    assert sorted(best.budget) == sorted(set(table.compute))
    for row in best.itertuples():
        within = table.loc[table.compute <= row.budget]
        assert row.solve_rate == within.solve_rate.max() and row.compute <= row.budget
    assert best.solve_rate.is_monotonic_increasing


def test_a_search_counts_an_instance_solved_when_any_row_is_valid():
    inst = pd.DataFrame(dict(run="r", instance_id=["a", "b", "c"], domain="d", steps="1-2",
                             valid_rows=[0, 3, 1], prompt_tokens=[10, 20, 30],
                             completion_tokens=[1, 2, 3], compute=[4, 5, 6], rows=[4, 5, 6]))
    table = solved(inst)
    assert table.solved.iloc[0] == 2 / 3 and table.tokens.iloc[0] == 22
    assert table.compute.iloc[0] == 5 and table.rows.iloc[0] == 5




def rows(run, strategy, verdicts, completion=5, prompt=10, computed=(10, 0), finish="stop"):
    """Rows of one request per instance: its first answer computed computed[0] prompt tokens,
    the others computed[1]."""
    return [dict(run=run, instance_id=iid, domain="d", optimal_length=2, n_objects=3,
                 sample_index=j, round=0, strategy=strategy, prompt_tokens=prompt,
                 completion_tokens=completion, computed_tokens=computed[min(j, 1)],
                 valid=bool(ok), finish_reason=finish, parent=-1, score=np.nan)
            for iid, valid in verdicts.items() for j, ok in enumerate(valid)]


def test_solve_curves_put_every_strategy_on_one_compute_axis():
    samples = pd.DataFrame(
        rows("s", "sample", {"a": [0, 1], "b": [0, 0]})
        + rows("w", "random-legal", {"a": [1, 0], "b": [0, 0]}, completion=0, prompt=0,
               computed=(0, 0))
        + rows("beam", "beam", {"a": [0, 1, 0], "b": [0, 0, 0]}, completion=0, prompt=40,
               computed=(8, 8), finish="scored"))
    samples["steps"] = metrics.step_bucket(samples["optimal_length"])
    inst = metrics.per_instance(samples)
    units = inst["strategy"].map({"sample": "samples", "random-legal": "samples",
                                  "beam": "nodes"})
    points = instance_points(inst, samples, units)
    curves = solve_curves(points).set_index(["run", "budget"])
    # a request's prompt (10 tokens) computed once for its two answers: 10 + 2 x 5 per instance
    assert curves.loc[("s", 1), "compute"] == 10 and curves.loc[("s", 2), "compute"] == 20
    assert curves.loc[("s", 2), "solve_rate"] == 0.5 and curves.loc[("s", 2), "instances"] == 2
    assert curves.loc[("w", 2), "compute"] == 0 and curves.loc[("w", 2), "solve_rate"] == 0.5
    # scoring calls: 3 rows reading 40 tokens each, 8 of them computed (the rest cached)
    assert curves.loc[("beam", 1), "compute"] == 24 and curves.loc[("beam", 1), "unit"] == "nodes"
    assert metrics.per_instance(samples.loc[samples.run == "beam"])["n"].tolist() == [0, 0]
    by_instance = points.set_index(["run", "budget", "instance_id"])
    assert by_instance.loc[("s", 1, "a"), "y"] == 0.5
    assert by_instance.loc[("beam", 1, "a"), "y"] == 1
