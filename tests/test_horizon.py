"""The plan-length horizon: the logistic fit against brute-force maximum likelihood, the
bootstrap interval's coverage on data drawn from a known logistic, and horizons outside the
lengths tried."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale.analysis import horizon


def objective(a, b, x, y):
    """The penalised log-likelihood `fit_logistic` maximises, for arrays of (a, b)."""
    z = a[..., None] + b[..., None] * x
    loglik = (y * -np.logaddexp(0, -z) + (1 - y) * -np.logaddexp(0, z)).sum(-1)
    return loglik - horizon.RIDGE / 2 * (a ** 2 + b ** 2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2, 4, 6, 8, 12]), st.sampled_from([0.0, 0.5, 1.0])),
                min_size=2, max_size=10))
def test_the_fit_is_the_maximum_of_the_likelihood_on_a_fine_grid(data):
    x = np.log2([length for length, _ in data]) - 2.5
    y = np.array([value for _, value in data])
    a, b = horizon.fit_logistic(x, y)
    grid = np.linspace(-12, 12, 481)
    ga, gb = np.meshgrid(grid, grid, indexing="ij")
    values = objective(ga, gb, x, y)
    best = np.unravel_index(np.argmax(values), values.shape)
    fitted = objective(a, b, x, y)[0]
    assert fitted >= values.max() - 1e-9
    assert abs(ga[best] - a[0]) <= 0.1 and abs(gb[best] - b[0]) <= 0.1


def test_fits_of_many_data_sets_at_once_are_the_fits_of_each():
    rng = np.random.default_rng(3)
    x = np.log2(np.repeat([2, 4, 8, 16], 5)) - 2.5
    ys = (rng.random((6, len(x))) < 0.5).astype(float)
    a, b = horizon.fit_logistic(x, ys)
    for i, y in enumerate(ys):
        one_a, one_b = horizon.fit_logistic(x, y)
        assert a[i] == pytest.approx(one_a[0]) and b[i] == pytest.approx(one_b[0])


def known_logistic(rng, h50=6.0, slope=-2.0, per_length=8, answers=4):
    """Instances at lengths 2-16 whose answers succeed with a known logistic probability."""
    lengths = np.repeat([2, 3, 4, 6, 8, 12, 16], per_length)
    p = 1 / (1 + np.exp(-slope * (np.log2(lengths) - np.log2(h50))))
    c = rng.binomial(answers, p)
    return lengths, np.full(len(lengths), answers), c, np.ones(len(lengths), int), c / answers


def test_the_interval_holds_the_true_h50_at_about_the_stated_rate():
    rng = np.random.default_rng(20)
    trials, inside = 120, 0
    for trial in range(trials):
        lengths, n, c, k, y = known_logistic(rng)
        row = horizon.horizon(lengths, n, c, k, y, draws=300, seed=trial)
        inside += row["h50_low"] <= 6.0 <= row["h50_high"]
    # 95% intervals: 114 of 120 expected; 103 is 3.4 standard deviations below
    assert inside >= 103, inside


def test_the_estimate_is_close_to_the_truth_with_many_instances():
    lengths, n, c, k, y = known_logistic(np.random.default_rng(1), per_length=200)
    row = horizon.horizon(lengths, n, c, k, y, draws=200)
    assert row["h50"] == pytest.approx(6.0, rel=0.1) and row["slope"] == pytest.approx(-2.0, rel=0.15)
    assert row["h80"] < row["h50"] and row["h50_low"] < row["h50"] < row["h50_high"]


def test_horizons_outside_the_lengths_tried_are_named_not_extrapolated():
    lengths = np.repeat([2, 4, 8], 4)
    ones, zeros = np.ones(len(lengths)), np.zeros(len(lengths))
    solved_all = horizon.horizon(lengths, ones, ones, ones, ones, draws=50)
    solved_none = horizon.horizon(lengths, ones, zeros, ones, zeros, draws=50)
    assert solved_all["h50"] == math.inf and solved_all["h50_high"] == math.inf
    assert solved_none["h50"] == -math.inf and solved_none["h80"] == -math.inf
    assert horizon.describe(math.inf, 4.0, math.inf) == (
        "beyond the longest length tried (interval from 4.0)")
    assert horizon.describe(-math.inf, -math.inf, -math.inf) == "below the shortest length tried"
    assert horizon.describe(math.inf, math.inf, math.inf) == "beyond the longest length tried"
    assert horizon.describe(-math.inf, -math.inf, 2.94) == (
        "below the shortest length tried (interval up to 2.9)")
    assert horizon.describe(5.0, -math.inf, 7.25) == "5.0 [below, 7.2] steps"


def test_within_instance_resampling_keeps_fixed_values_and_varies_answers():
    n, c, k, y = np.array([0, 10]), np.array([0, 5]), np.array([1, 1]), np.array([0.3, 0.5])
    picks, drawn = horizon._resampled(n, c, k, y, draws=400, seed=0)
    assert np.all(drawn[picks == 0] == 0.3)
    answered = drawn[picks == 1]
    assert 0.4 < answered.mean() < 0.6 and answered.std() > 0.1


def test_horizons_per_run_and_setting_of_a_points_table():
    lengths, n, c, k, y = known_logistic(np.random.default_rng(2))
    points = pd.DataFrame({"run": "r", "instance_id": [f"i{i}" for i in range(len(y))],
                           "optimal_length": lengths, "unit": "samples", "budget": 1,
                           "compute": 10.0, "n": n, "c": c, "k": k, "y": y})
    unsolvable = points.iloc[:1].assign(optimal_length=0, instance_id="u")
    missing = points.assign(budget=8, y=np.nan)  # k = 8 > n answers: no value
    table = horizon.horizons(pd.concat([points, unsolvable, missing]))
    assert len(table) == 1 and table["instances"].item() == len(y)
    assert table["shortest"].item() == 2 and table["longest"].item() == 16
    assert table["compute"].item() == 10 and table["solve_rate"].item() == pytest.approx(y.mean())
