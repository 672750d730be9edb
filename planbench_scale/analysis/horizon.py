"""The plan-length horizon: the optimal plan length at which a model succeeds half the time
(h50) or four times in five (h80), after METR's time-horizon method (Kwa et al. 2025,
"Measuring AI Ability to Complete Long Tasks"), with plan length in place of task length.

Per run and compute setting, instance success y (`compute.instance_points`: pass@k, the share
of chains valid by round r, a search's result) is fitted by a logistic regression on
x = log2(optimal plan length):  P(success) = 1 / (1 + exp(-(a + b (x - x0)))), x0 the middle
of the lengths tried, by penalised maximum likelihood (Newton's method; an L2 penalty of
`RIDGE` on a and b keeps the fit finite when successes and failures separate perfectly).
h_q = 2 ** (x0 + (logit(q) - a) / b). The 95% interval is the 2.5-97.5 percentile of `DRAWS`
hierarchical bootstrap draws: instances resampled with replacement, then each instance's
answers (or chains) resampled within it. A horizon the fit places below the shortest length
tried or beyond the longest is reported as such, never as an extrapolated number; so are
interval ends that reach past them.

Unsolvable instances (optimal length 0) are left out.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from planbench_scale.analysis import metrics

RIDGE = 0.1
"""L2 penalty on the intercept and slope (a weak prior: 50% at the middle length, flat)."""
DRAWS = 1000
"""Bootstrap draws per interval."""
SEED = 0
"""Seed of the bootstrap draws (a report regenerates the same intervals)."""
LEVELS = (0.5, 0.8)
"""The success rates whose plan lengths are reported (h50, h80)."""
BELOW, BEYOND = "below the shortest length tried", "beyond the longest length tried"
"""How a horizon outside the lengths tried is reported."""


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                 iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Penalised weighted logistic fits of y on x (rows: one data set each, y in [0, 1]; x may
    be one row for all): the (a, b) maximising sum w (y log p + (1 - y) log(1 - p)) - RIDGE/2 (a²+b²)
    with p = sigmoid(a + b x), one pair per row."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    w = np.broadcast_to(np.ones_like(y) if weights is None else weights, y.shape)
    x = np.broadcast_to(np.asarray(x, dtype=float), y.shape)
    a, b = np.zeros(len(y)), np.zeros(len(y))
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(a[:, None] + b[:, None] * x)))
        residual, curvature = w * (y - p), w * p * (1 - p)
        ga, gb = residual.sum(1) - RIDGE * a, (residual * x).sum(1) - RIDGE * b
        haa = curvature.sum(1) + RIDGE
        hab, hbb = (curvature * x).sum(1), (curvature * x * x).sum(1) + RIDGE
        det = haa * hbb - hab * hab
        step_a, step_b = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = a + step_a, b + step_b
        if max(np.abs(step_a).max(), np.abs(step_b).max()) < 1e-10:
            break
    return a, b


def crossing(a, b, q: float, span: tuple[float, float]) -> np.ndarray:
    """log2 length (centred) where the fit reaches success rate q: -inf when it is below q
    over the whole span of lengths tried, +inf when it is at or above q over all of it."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    logit = math.log(q / (1 - q))
    at_low, at_high = a + b * span[0], a + b * span[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (logit - a) / b
    inside = (np.minimum(at_low, at_high) < logit) & (np.maximum(at_low, at_high) >= logit)
    return np.where(inside, x, np.where(np.maximum(at_low, at_high) < logit, -np.inf, np.inf))


def horizon(lengths: np.ndarray, n: np.ndarray, c: np.ndarray, k: np.ndarray, y: np.ndarray,
            draws: int = DRAWS, seed: int = SEED) -> dict:
    """h50 and h80 of one run at one setting, their intervals and the fit's slope, from its
    instances' optimal lengths and successes (`compute.instance_points` columns)."""
    tried, where = np.unique(np.asarray(lengths, dtype=float), return_inverse=True)
    x = np.log2(tried)
    x0 = (x.min() + x.max()) / 2
    span = (x.min() - x0, x.max() - x0)
    y = np.asarray(y, dtype=float)
    a, b = fit_logistic(x - x0, *_per_length(where[None, :], y[None, :], len(x)))
    picks, drawn = _resampled(n, c, k, y, draws, seed)
    boot_a, boot_b = fit_logistic(x - x0, *_per_length(where[picks], drawn, len(x)))
    row = {"instances": len(y), "shortest": float(tried[0]), "longest": float(tried[-1]),
           "slope": float(b[0])}
    for q in LEVELS:
        name = f"h{round(100 * q)}"
        row[name] = _length(crossing(a, b, q, span)[0], x0)
        drawn = crossing(boot_a, boot_b, q, span)
        low, high = np.percentile(drawn, [2.5, 97.5], method="inverted_cdf")
        row[f"{name}_low"], row[f"{name}_high"] = _length(low, x0), _length(high, x0)
    return row


def _per_length(where: np.ndarray, y: np.ndarray, lengths: int):
    """Data sets (rows) of instances at length indices `where` as mean success per length and
    the number of instances there: the same fit, over few points (weights 0 where none)."""
    flat = (np.arange(len(where))[:, None] * lengths + where).ravel()
    size = len(where) * lengths
    counts = np.bincount(flat, minlength=size).reshape(-1, lengths).astype(float)
    sums = np.bincount(flat, weights=np.ravel(y), minlength=size).reshape(-1, lengths)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, 0.0), counts


def _length(x: float, x0: float) -> float:
    """A centred log2 length as a plan length (±inf kept: outside the lengths tried)."""
    return float(x) if math.isinf(x) else float(2 ** (x + x0))


def _resampled(n, c, k, y, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap data sets (draws x instances): which instances were drawn (with replacement)
    and their successes, each drawn instance's answers drawn within it (c ~ Binomial(n, c/n),
    its success pass@k again,
    k the setting's, the same for all); instances with n = 0 keep their fixed value."""
    rng = np.random.default_rng(seed)
    n, c, y = np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64), np.asarray(y, float)
    picks = rng.integers(0, len(y), size=(draws, len(y)))
    trials, drawn = np.maximum(n[picks], 1), np.where(n[picks] > 0, c[picks], 0)
    many = np.flatnonzero(n > 1)  # one answer (a search, a single sample) has nothing to draw
    if len(many):
        inner = np.isin(picks, many)
        drawn = drawn.copy()
        drawn[inner] = rng.binomial(trials[inner], c[picks][inner] / trials[inner])
    setting = max(int(np.max(k)), 1)
    values = metrics.pass_at_k_many(trials.ravel(), drawn.ravel(), setting).reshape(drawn.shape)
    return picks, np.where(n[picks] > 0, values, y[picks])


def horizons(points: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """`horizon` per run, setting and group of an `instance_points` table, with the mean
    compute per instance; settings with a missing value (too few samples) are left out."""
    points = points.loc[points["optimal_length"] > 0]
    rows = []
    for key, group in points.groupby(["run", *by, "unit", "budget"], observed=True, sort=True):
        if group["y"].isna().any() or group["optimal_length"].nunique() < 2:
            continue
        row = horizon(group["optimal_length"], group["n"], group["c"], group["k"], group["y"])
        rows.append({**dict(zip(["run", *by, "unit", "budget"], key)),
                     "compute": group["compute"].mean(), "solve_rate": group["y"].mean(), **row})
    names = [f"h{round(100 * q)}{end}" for q in LEVELS for end in ("", "_low", "_high")]
    return pd.DataFrame(rows, columns=["run", *by, "unit", "budget", "compute", "solve_rate",
                                       "instances", "shortest", "longest", "slope", *names])


def describe(value: float, low: float, high: float) -> str:
    """A horizon and its interval in words: "5.3 [3.1, 8.0] steps", with "below the shortest
    length tried" / "beyond the longest length tried" where the fit or an end reaches past."""
    def one(v: float) -> str:
        return "below" if v == -math.inf else "beyond" if v == math.inf else f"{v:.1f}"
    if value == -math.inf:
        return BELOW + ("" if high == -math.inf else f" (interval up to {one(high)})")
    if value == math.inf:
        return BEYOND + ("" if low == math.inf else f" (interval from {one(low)})")
    return f"{value:.1f} [{one(low)}, {one(high)}] steps"
