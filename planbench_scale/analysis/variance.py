"""How much the report's answers move with the instances drawn: bootstrap intervals (over
instances) on every point of solve rate against compute, and how often the bootstrap picks
the same compute-optimal run.

Each group (a plan-length bucket, or domain and bucket) is resampled as a whole: one draw of
its instances with replacement, shared by every run in it, so runs on the same instances are
compared on the same draw. A point's compute stays at its measured value; its solve rate is
the draw's mean success. Runs over seeds (`--seeds`) add the spread between seeds.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from planbench_scale.analysis.horizon import DRAWS, SEED

POINT = ["run", "unit", "budget"]
"""What names a curve point within its group."""


def with_intervals(points: pd.DataFrame, curves: pd.DataFrame, frontier: pd.DataFrame,
                   by: Sequence[str], draws: int = DRAWS, seed: int = SEED):
    """The curves with ci_low / ci_high (95% bootstrap over instances) and the frontier with
    same_pick: the share of draws whose best run within the budget is the measured one."""
    rng = np.random.default_rng(seed)
    curves = curves.assign(ci_low=np.nan, ci_high=np.nan)
    frontier = frontier.assign(same_pick=np.nan)
    for key, group in points.groupby(list(by), observed=True, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        where = np.logical_and.reduce([curves[b] == v for b, v in zip(by, key)])
        chosen = curves.index[where & curves["solve_rate"].notna()]
        means = _drawn_means(group, curves.loc[chosen], draws, rng)
        curves.loc[chosen, "ci_low"] = np.nanpercentile(means, 2.5, axis=0)
        curves.loc[chosen, "ci_high"] = np.nanpercentile(means, 97.5, axis=0)
        rows = np.logical_and.reduce([frontier[b] == v for b, v in zip(by, key)])
        rivals = _rivals(curves.loc[chosen])
        for row in frontier.index[rows]:
            frontier.loc[row, "same_pick"] = _agreement(curves.loc[chosen][rivals],
                                                        means[:, rivals], frontier.loc[row])
    return curves, frontier


def _drawn_means(group: pd.DataFrame, points: pd.DataFrame, draws: int, rng) -> np.ndarray:
    """Each point's mean success in each draw of the group's instances (draws x points)."""
    values = group.pivot_table(index=POINT, columns="instance_id", values="y", aggfunc="first",
                               observed=True)
    values = values.reindex(pd.MultiIndex.from_frame(points[POINT]))
    ids = values.columns
    counts = rng.multinomial(len(ids), np.full(len(ids), 1 / len(ids)), size=draws)
    present = values.notna().to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts @ values.fillna(0).to_numpy().T) / (counts @ present.T)


def _rivals(points: pd.DataFrame) -> np.ndarray:
    """Which points may be picked as compute-optimal: all but oracles (as the frontier)."""
    if "kind" not in points:
        return np.ones(len(points), bool)
    return (points["kind"] != "oracle").to_numpy()


def _agreement(points: pd.DataFrame, means: np.ndarray, best: pd.Series) -> float:
    """Share of draws whose best point within `best`'s budget (ties: the cheaper, then the run
    first by name, as `compute.compute_optimal`) belongs to `best`'s run."""
    order = np.lexsort((points["run"].astype(str).to_numpy(), points["compute"].to_numpy()))
    within = order[points["compute"].to_numpy()[order] <= best["budget"]]
    if not len(within):
        return np.nan
    picked = np.argmax(np.nan_to_num(means[:, within], nan=-np.inf), axis=1)
    runs = points["run"].astype(str).to_numpy()[within]
    return float(np.mean(runs[picked] == str(best["best_run"])))


def seed_spread(curves: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per curve point repeated over seeds (runs that differ only in their seed, named in a
    "seed" column): the seeds, and the mean, standard deviation, min and max solve rate."""
    table = curves.groupby(list(keys), observed=True, sort=True).agg(
        seeds=("seed", "nunique"), compute=("compute", "mean"),
        solve_rate=("solve_rate", "mean"), spread_sd=("solve_rate", "std"),
        lowest=("solve_rate", "min"), highest=("solve_rate", "max")).reset_index()
    return table
