"""Bootstrap intervals on solve rate against compute, and how often the bootstrap picks the
same compute-optimal run."""

import numpy as np
import pandas as pd

from planbench_scale.analysis import compute, variance


def _points(rows):
    """Per-instance points: (run, kind, compute, successes over instances)."""
    out = []
    for run, _, cost, successes in rows:
        for i, y in enumerate(successes):
            out.append({"steps": 2, "run": run, "unit": "samples", "budget": 1,
                        "instance_id": f"i{i}", "compute": cost, "y": float(y)})
    return pd.DataFrame(out)


def _curves(points, kinds):
    curves = points.groupby(["steps", "run", "unit", "budget"], as_index=False).agg(
        compute=("compute", "mean"), solve_rate=("y", "mean"))
    return curves.assign(kind=curves["run"].map(kinds))


def test_an_oracle_is_never_the_bootstrap_pick():
    rows = [("oracle", "oracle", 0.0, [1] * 8), ("control", "no model", 0.0, [1, 0] * 4),
            ("model", "model", 50.0, [0] * 8)]
    points = _points(rows)
    curves = _curves(points, {r[0]: r[1] for r in rows})
    frontier = compute.compute_optimal(curves.loc[curves["kind"] != "oracle"], by=("steps",))
    curves, frontier = variance.with_intervals(points, curves, frontier, ("steps",), draws=200)
    assert set(frontier["best_run"]) == {"control"}
    assert (frontier["same_pick"] == 1.0).all()  # the only rival solves nothing


def test_two_close_runs_are_picked_in_part_and_intervals_hold_the_rate():
    rows = [("a", "model", 10.0, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]),
            ("b", "model", 10.0, [1, 1, 0, 0, 1, 0, 1, 0, 1, 0])]
    points = _points(rows)
    curves = _curves(points, {"a": "model", "b": "model"})
    frontier = compute.compute_optimal(curves, by=("steps",))
    curves, frontier = variance.with_intervals(points, curves, frontier, ("steps",), draws=400)
    assert 0.05 < frontier["same_pick"].iloc[0] < 0.95  # equal rates: either may win a draw
    assert (curves["ci_low"] <= curves["solve_rate"]).all()
    assert (curves["solve_rate"] <= curves["ci_high"]).all()
    assert np.all(curves["ci_high"] - curves["ci_low"] > 0.1)
