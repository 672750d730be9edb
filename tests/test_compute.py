"""Strategies at equal compute: best-of-n selection, search results and the compute-optimal
choice, checked against direct definitions on random tables."""

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from planbench_scale.analysis.compute import best_of_n, compute_optimal, solved

answers = st.lists(st.tuples(st.booleans(), st.one_of(st.none(), st.integers(-3, 3))),
                   min_size=1, max_size=8)


def frame(instances, scored_rows=False):
    rows = []
    for i, answers_ in enumerate(instances):
        for j, (valid, score) in enumerate(answers_):
            own = None if scored_rows else score
            rows.append(dict(run="r", instance_id=f"i{i}", domain="d", sample_index=j, parent=-1,
                             strategy="best-of-n", finish_reason="stop", valid=valid,
                             score=np.nan if own is None else float(own)))
            if scored_rows and score is not None:
                rows.append(dict(rows[-1], sample_index=100 + j, parent=j, score=float(score),
                                 finish_reason="scored"))
    return pd.DataFrame(rows)


def chosen_valid(answers_, k):
    """The direct definition: the first answer with the highest score among the first k."""
    head = answers_[:k]
    top = max((s for _, s in head if s is not None), default=None)
    pick = next(v for v, s in head if s == top) if top is not None else head[0][0]
    return float(pick)


@settings(max_examples=60, deadline=None)
@given(st.lists(answers, min_size=1, max_size=5), st.booleans())
def test_best_of_n_takes_the_best_scored_answer(instances, scored_rows):
    table = best_of_n(frame(instances, scored_rows), ks=[1, 2, 4])
    for k in (1, 2, 4):
        values = [chosen_valid(a, k) if len(a) >= k else np.nan for a in instances]
        got = table.loc[table.k == k, "best_of_n"].iloc[0]
        expected = np.mean(values)
        assert (np.isnan(got) and np.isnan(expected)) or abs(got - expected) < 1e-12


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 1000), st.floats(0, 1)),
                min_size=1, max_size=12))
def test_compute_optimal_is_the_best_point_within_each_budget(points):
    table = pd.DataFrame(points, columns=["run", "tokens", "accuracy"]).assign(domain="d")
    best = compute_optimal(table, by=("domain",))
    assert sorted(best.budget_tokens) == sorted(set(table.tokens))
    for row in best.itertuples():
        within = table.loc[table.tokens <= row.budget_tokens]
        assert row.accuracy == within.accuracy.max() and row.tokens <= row.budget_tokens
    assert best.accuracy.is_monotonic_increasing


def test_a_search_counts_an_instance_solved_when_any_row_is_valid():
    inst = pd.DataFrame(dict(run="r", instance_id=["a", "b", "c"], domain="d", steps="1-2",
                             valid_rows=[0, 3, 1], prompt_tokens=[10, 20, 30],
                             completion_tokens=[1, 2, 3], rows=[4, 5, 6]))
    table = solved(inst)
    assert table.solved.iloc[0] == 2 / 3 and table.tokens.iloc[0] == 22 and table.rows.iloc[0] == 5
