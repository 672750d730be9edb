"""Metrics over a run's samples: accuracy by step count, pass@k and coverage, majority vote,
revision rounds, the coverage power-law fit of Large Language Monkeys, and cost.

Everything works on pandas DataFrames with `records.Sample`'s columns plus a "run" column naming
the run (several runs are compared side by side). The 6-million-row case is handled by
aggregating to one row per instance (`per_instance`) first; only majority vote and revision
rounds look at single samples again, and they read only small integer columns.

Conventions: pass@k, coverage and majority vote use the independent samples (round 0); the
first-sample accuracy is sample 0 of round 0 (the greedy answer when temperature is 0).
A value that needs k samples where an instance has fewer is NaN, and a group mean that would
need such an instance is NaN too (no silent averaging over a shrinking subset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from planbench_scale import records

STEP_EDGES = (1, 3, 5, 7, 9, 13, 17, 21, 31, 41)
"""Left edges of the step-count buckets used for coverage fits: 1-2, 3-4, ..., 31-40, 41+."""

INSTANCE_COLUMNS = ("domain", "vocabulary", "n_objects", "optimal_length")
"""Sample columns that describe the instance, carried through `per_instance` when present."""


def wilson_interval(successes, trials, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval (95% for z = 1.96) for successes out of trials, elementwise.

    Its ends are exactly 0 at no success and 1 at all successes, and within [0, 1] otherwise
    (rounding would leave values such as -2.8e-17)."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(x == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021) for c correct out of n samples, in the stable product form.

    1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i); NaN when n < k.
    """
    if n < k:
        return math.nan
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=float)))


def pass_at_k_many(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """`pass_at_k` for arrays of (n, c): for each distinct n, the products of `pass_at_k` for
    every c at once (a cumulative product), looked up by c."""
    n, c = np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64)
    values = np.full(n.shape, np.nan)
    for size in np.unique(n):
        if size < k:
            continue
        factors = np.clip(1.0 - k / np.arange(size, 0, -1, dtype=float), 0.0, None)
        left = np.concatenate([[1.0], np.cumprod(factors)])  # C(n-c, k) / C(n, k), c = 0..n
        where = n == size
        values[where] = 1.0 - left[c[where]]
    return values


def k_values(max_samples: int) -> list[int]:
    """k = 1, 2, 4, ... up to max_samples, and max_samples itself."""
    ks = [2 ** i for i in range(max(int(max_samples), 1).bit_length()) if 2 ** i <= max_samples]
    return ks + [int(max_samples)] if max_samples > 0 and ks[-1] != max_samples else ks


def step_bucket(optimal_length: pd.Series, edges: Sequence[int] = STEP_EDGES) -> pd.Series:
    """Step-count bucket labels ("1-2", "3-4", ..., "41+") as an ordered categorical."""
    labels = [f"{lo}-{hi - 1}" if hi - 1 > lo else str(lo) for lo, hi in zip(edges, edges[1:])]
    labels.append(f"{edges[-1]}+")
    return pd.cut(optimal_length, bins=[*edges, np.inf], right=False, labels=labels)


def with_run(samples: pd.DataFrame, name: str = "run") -> pd.DataFrame:
    """The samples with a "run" column (added, named `name`, when missing)."""
    return samples if "run" in samples else samples.assign(run=name)


def scoring_rows(samples: pd.DataFrame) -> np.ndarray:
    """Which rows are scoring calls (finish_reason "scored": the model read a text, wrote none)."""
    if "finish_reason" not in samples:
        return np.zeros(len(samples), dtype=bool)
    return samples["finish_reason"].astype(str).to_numpy() == "scored"


def verification_rows(samples: pd.DataFrame) -> np.ndarray:
    """Which rows are verification calls (the model verifying an answer of its own: a
    self-verify verdict, a self critic's critique): generated rows with a parent answer outside
    a tree (depth 0)."""
    if "parent" not in samples or "depth" not in samples:
        return np.zeros(len(samples), dtype=bool)
    return ((samples["parent"].to_numpy() >= 0) & (samples["depth"].to_numpy() == 0)
            & ~scoring_rows(samples))


def answer_rows(samples: pd.DataFrame) -> np.ndarray:
    """Which rows are answers: neither scoring calls nor verification calls."""
    return ~scoring_rows(samples) & ~verification_rows(samples)


def row_compute(samples: pd.DataFrame) -> np.ndarray:
    """The compute of each row: its "cost" column where the report put one (`ledger.row_cost`:
    tokens, FLOPs or dollars), else computed tokens as budgets count them
    (`records.compute_tokens`: prompt tokens computed plus generated tokens)."""
    if "cost" in samples:
        return samples["cost"].to_numpy(float)
    return records.compute_tokens(samples["completion_tokens"].to_numpy(),
                                  samples["computed_tokens"].to_numpy())


def per_instance(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, instance): independent answers n (round 0, scoring and verification
    calls left out),
    valid among them c, first-sample verdict, token sums and compute (`row_compute`, a float)
    over all rows, and the instance columns (domain, lengths, blocks)."""
    s = with_run(samples)
    group, first_rows = _groups(s, ["run", "instance_id"])
    answers = (s["round"].to_numpy() == 0) & answer_rows(s)
    valid = s["valid"].to_numpy(dtype=bool)
    first = answers & (s["sample_index"].to_numpy() == 0)
    counted = {"n": answers, "c": answers & valid, "has_first": first,
               "first_valid": first & valid, "rows": None, "valid_rows": valid,
               "prompt_tokens": s["prompt_tokens"].to_numpy(),
               "completion_tokens": s["completion_tokens"].to_numpy(),
               "computed_tokens": s["computed_tokens"].to_numpy()}
    carried = ["run", "instance_id", *(c for c in (*INSTANCE_COLUMNS, "strategy") if c in s)]
    table = s[carried].iloc[first_rows].reset_index(drop=True)
    for name, weights in counted.items():
        sums = np.bincount(group, weights=weights, minlength=len(first_rows))
        table[name] = np.rint(sums).astype(np.int64)
    table["compute"] = np.bincount(group, weights=row_compute(s), minlength=len(first_rows))
    table = table.sort_values(["run", "instance_id"], kind="stable").reset_index(drop=True)
    if "optimal_length" in table:
        table["steps"] = step_bucket(table["optimal_length"])
    return table


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Group number of every row (0..g-1) by the key columns, and each group's first row."""
    combined = np.zeros(len(frame), dtype=np.int64)
    for key in keys:
        codes, uniques = pd.factorize(frame[key])
        combined = combined * max(len(uniques), 1) + codes
    group, uniques = pd.factorize(combined)
    _, first_rows = np.unique(group, return_index=True)
    return group, first_rows


def accuracy(instances: pd.DataFrame, by: str | Sequence[str] = "domain") -> pd.DataFrame:
    """First-sample accuracy per run and `by` group, with the 95% Wilson interval.

    Instances whose sample 0 is missing (a partial run) are left out and counted in "missing".
    """
    keys = ["run", *([by] if isinstance(by, str) else by)]
    has = instances["has_first"] > 0
    table = instances.assign(has=has, ok=instances["first_valid"] > 0).groupby(
        keys, observed=True).agg(instances=("has", "sum"), correct=("ok", "sum"),
                                  missing=("has", lambda h: int((~h).sum()))).reset_index()
    table["accuracy"] = table["correct"] / table["instances"].where(table["instances"] > 0)
    table["ci_low"], table["ci_high"] = wilson_interval(table["correct"], table["instances"])
    return table


def pass_at_k_table(instances: pd.DataFrame, by: Sequence[str] = ("domain", "optimal_length"),
                    ks: Sequence[int] | None = None) -> pd.DataFrame:
    """Mean pass@k over instances per run and `by` group, for k = 1, 2, 4, ... (long form).

    Columns: run, *by, k, instances, pass_at_k; NaN where any instance has fewer than k samples.
    """
    keys = ["run", *by]
    if instances.empty and ks is None:  # no sampled instances (only step searches): no rows
        return pd.DataFrame(columns=[*keys, "k", "instances", "pass_at_k"])
    ks = list(ks) if ks is not None else k_values(int(instances["n"].max()))
    n, c = instances["n"].to_numpy(), instances["c"].to_numpy()
    parts = [instances[keys].assign(k=k, value=pass_at_k_many(n, c, k)) for k in ks]
    return mean_by(pd.concat(parts, ignore_index=True), [*keys, "k"], "pass_at_k")


def coverage(instances: pd.DataFrame, by: Sequence[str] = ("domain",),
             ks: Sequence[int] | None = None) -> pd.DataFrame:
    """Coverage curves: the fraction of instances solved by at least one of k samples, per group."""
    return pass_at_k_table(instances, by=by, ks=ks).rename(columns={"pass_at_k": "coverage"})


def mean_by(values: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    """Group mean of the "value" column that stays NaN when any member is NaN, with counts."""
    grouped = values.groupby(keys, observed=True, sort=True)["value"]
    table = grouped.agg(instances="size", **{name: lambda v: v.mean(skipna=False)})
    return table.reset_index()


def revision_rounds(samples: pd.DataFrame, strategies: Sequence[str],
                    by: Sequence[str] = ("domain",)) -> pd.DataFrame:
    """First-valid accuracy after r rounds of revision, and tokens (prompt + generated) and
    compute (`row_compute`) spent by then, per group: `chain_rounds` averaged over instances."""
    per_inst = chain_rounds(samples, strategies, by)
    keys = ["run", *[b for b in by if b in per_inst], "round"]
    if per_inst.empty:
        return pd.DataFrame(columns=["run", *by, "round", "instances", "accuracy", "tokens",
                                     "compute"])
    return per_inst.groupby(keys, observed=True).agg(
        instances=("ok", "size"), accuracy=("ok", "mean"), tokens=("tokens", "mean"),
        compute=("compute", "mean")).reset_index()


def chain_rounds(samples: pd.DataFrame, strategies: Sequence[str],
                 by: Sequence[str] = ("domain",)) -> pd.DataFrame:
    """Per run, instance and round r: its chains (n), those valid within r rounds (c), their
    share (ok) and the mean tokens and compute of a chain by then.

    A chain (run, instance, sample_index) counts as solved after r rounds when any of its rounds
    0..r is valid; chains stop at their first valid plan. Only samples of the chain `strategies`
    (names, e.g. revise) are included; a verification call (`revise --critic self`) counts in
    the compute of its chain's round."""
    s = with_run(samples)
    s = s.loc[s["strategy"].isin(list(strategies))]
    critiques = verification_rows(s)  # a self critic's calls: compute of their chain's round
    if critiques.any():
        s = s.assign(sample_index=np.where(critiques, s["parent"], s["sample_index"]),
                     valid=s["valid"].to_numpy(dtype=bool) & ~critiques)
    kept = [b for b in dict.fromkeys([*by, "optimal_length"]) if b in s]
    s = s[["run", "instance_id", "sample_index", "round", "valid", "prompt_tokens",
           "completion_tokens", *kept]].assign(compute=row_compute(s))
    if s.empty:
        return pd.DataFrame(columns=["run", "instance_id", *kept, "round", "n", "c", "ok",
                                     "tokens", "compute"])
    chain = ["run", "instance_id", "sample_index"]
    s = s.assign(tokens=s["prompt_tokens"] + s["completion_tokens"],
                 solved_at=s["round"].where(s["valid"].astype(bool), np.inf))
    s = s.assign(solved_at=s.groupby(chain, observed=True)["solved_at"].transform("min"))
    parts = []
    for r in range(int(s["round"].max()) + 1):
        upto = s.loc[s["round"] <= r].groupby(chain, observed=True).agg(
            solved_at=("solved_at", "first"), tokens=("tokens", "sum"),
            compute=("compute", "sum"), **{b: (b, "first") for b in kept}).reset_index()
        upto["ok"] = (upto["solved_at"] <= r).astype(float)
        per_inst = upto.groupby(["run", "instance_id", *kept], observed=True).agg(
            n=("ok", "size"), c=("ok", "sum"), ok=("ok", "mean"), tokens=("tokens", "mean"),
            compute=("compute", "mean")).reset_index()
        parts.append(per_inst.assign(round=r))
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class PowerLawFit:
    """log(coverage) = a * k**b, fitted in log-log space on -log(coverage) (Brown et al. 2024)."""

    a: float
    """Scale: log-coverage at k = 1 (negative when coverage is below 1)."""
    b: float
    """Exponent: negative when coverage rises toward 1 with more samples."""
    points: int
    """Number of (k, coverage) points with 0 < coverage < 1 used in the fit."""
    rmse: float
    """Root-mean-square error of the fit in log(-log coverage)."""

    def coverage(self, k) -> np.ndarray:
        """Predicted coverage at k samples."""
        return np.exp(self.a * np.power(np.asarray(k, dtype=float), self.b))

    def samples_for(self, target: float) -> float:
        """Predicted k reaching `target` coverage: (log target / a) ** (1 / b); inf if never."""
        if not (self.a < 0 and self.b < 0 and 0 < target < 1):
            return math.inf if self.a < 0 and target < 1 else math.nan
        return float((math.log(target) / self.a) ** (1 / self.b))


def fit_power_law(k: Sequence[float], cov: Sequence[float]) -> PowerLawFit | None:
    """Least-squares fit of log(-log coverage) = log(-a) + b log k; None with < 2 usable points."""
    k, cov = np.asarray(k, dtype=float), np.asarray(cov, dtype=float)
    use = np.isfinite(cov) & (cov > 0) & (cov < 1)
    if use.sum() < 2 or len(np.unique(k[use])) < 2:
        return None
    x, y = np.log(k[use]), np.log(-np.log(cov[use]))
    b, intercept = np.polyfit(x, y, 1)
    rmse = float(np.sqrt(np.mean((intercept + b * x - y) ** 2)))
    return PowerLawFit(a=-float(np.exp(intercept)), b=float(b), points=int(use.sum()), rmse=rmse)


def coverage_fits(cov: pd.DataFrame, by: Sequence[str] = ("domain", "steps"),
                  target: float = 0.9) -> pd.DataFrame:
    """Power-law fit per run and group of a `coverage` table, with the k predicted for `target`."""
    rows = []
    for key, group in cov.groupby(["run", *by], observed=True, sort=True):
        fit = fit_power_law(group["k"], group["coverage"])
        rows.append({**dict(zip(["run", *by], key)), "a": fit.a if fit else math.nan,
                     "b": fit.b if fit else math.nan, "points": fit.points if fit else 0,
                     "rmse": fit.rmse if fit else math.nan, "target": target,
                     "k_for_target": fit.samples_for(target) if fit else math.nan})
    return pd.DataFrame(rows, columns=["run", *by, "a", "b", "points", "rmse", "target",
                                       "k_for_target"])


def cost(instances: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per run: tokens read, computed and generated per instance, and compute (the report's
    axis, `row_compute`) per instance and per valid plan."""
    keys = ["run", *by]
    table = instances.groupby(keys, observed=True).agg(
        instances=("instance_id", "size"), samples=("rows", "sum"), valid_plans=("valid_rows", "sum"),
        prompt_tokens=("prompt_tokens", "sum"), computed_tokens=("computed_tokens", "sum"),
        completion_tokens=("completion_tokens", "sum"),
        compute=("compute", lambda v: v.sum(skipna=False)),  # unknown (no prices): NaN
    ).reset_index()
    for name in ("prompt_tokens", "computed_tokens", "completion_tokens", "compute"):
        table[f"{name}_per_instance"] = table[name] / table["instances"]
    table["compute_per_valid_plan"] = table["compute"] / table["valid_plans"].where(
        table["valid_plans"] > 0)
    return table
