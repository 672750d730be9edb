"""Strategies compared at equal compute: solve rate against compute per strategy and plan
length, best-of-n selection, and the compute-optimal strategy within each budget.

Compute per instance is what its rows cost on the report's axis (`metrics.row_compute`, see
`ledger`: computed tokens by default, the prompt tokens the model computed plus those it
generated, for sampled, revised and scoring rows alike). Steps written without a model (legal
steps, random walks) cost nothing.

An instance counts as solved when the strategy's result is a valid plan: for repeated sampling,
any of k answers (the validator picks it: coverage); for revision, a chain valid within r
rounds; for a step search, any node; for best-of-n, the answer its scorer selects (no oracle).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from planbench_scale.analysis import metrics
from planbench_scale.analysis.metrics import k_values, mean_by, with_run

ORACLE_SCORES = ("distance",)
"""Step scores that read the exact answer (the optimal distance left): runs using them are
ceilings, shown beside the others but never chosen as compute-optimal."""

CURVE_COLUMNS = ("run", "unit", "budget", "compute", "solve_rate", "instances")
"""Columns of a `solve_curves` table, besides its groups."""

POINT_COLUMNS = ("run", "instance_id", "optimal_length", "unit", "budget", "compute", "n", "c",
                 "k", "y")
"""Columns of an `instance_points` table, besides its groups: per run, instance and setting
(`budget`), the instance's compute and success y; y is pass@k of c valid among n answers
(k = 1 for a chain's share of valid chains, n = 1 for a search), or, with n = 0, a fixed value
(the answer a best-of-n scorer selects)."""


def solved(instances: pd.DataFrame, by: Sequence[str] = ("domain", "steps")) -> pd.DataFrame:
    """Per run and group: the fraction of instances with any valid row (a search's result) and
    the mean tokens, compute and rows spent per instance (from `metrics.per_instance`)."""
    table = instances.assign(ok=(instances["valid_rows"] > 0).astype(float),
                             tokens=instances["prompt_tokens"] + instances["completion_tokens"])
    return table.groupby(["run", *by], observed=True).agg(
        instances=("ok", "size"), solved=("ok", "mean"), tokens=("tokens", "mean"),
        compute=("compute", "mean"), rows=("rows", "mean")).reset_index()


def selection_weights(n: int, k: int) -> np.ndarray:
    """For answers ranked best first, the share of the C(n, k) k-subsets whose best member is
    the answer at each rank: C(n-1-r, k-1) / C(n, k), by the ratio of consecutive terms."""
    ranks = np.arange(n - 1, dtype=float)
    ratios = np.clip((n - ranks - k) / (n - 1 - ranks), 0.0, None)
    return (k / n) * np.concatenate([[1.0], np.cumprod(ratios)])


def best_of_n_at_k(scores: np.ndarray, valid: np.ndarray, k: int) -> float:
    """Exact best-of-k of one instance: the mean over all k-subsets of its n answers of "the
    best-scored answer of the subset is valid". Ties go to the lower sample index and answers
    without a score rank last, in every subset alike. NaN when n < k."""
    n = len(scores)
    if n < k or k < 1:
        return math.nan
    ranked = np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((np.arange(n), -ranked))
    return float(selection_weights(n, k) @ np.asarray(valid, dtype=float)[order])


def best_of_n(samples: pd.DataFrame, ks: Sequence[int] | None = None,
              by: Sequence[str] = ("domain",)) -> pd.DataFrame:
    """Best-of-n accuracy per run and group of the best-of-n runs (`best_of_n_per_instance`
    averaged over instances)."""
    values = best_of_n_per_instance(samples, ks, by)
    if values.empty:
        return pd.DataFrame(columns=["run", *by, "k", "instances", "best_of_n"])
    return mean_by(values, ["run", *by, "k"], "best_of_n")


def best_of_n_per_instance(samples: pd.DataFrame, ks: Sequence[int] | None = None,
                           by: Sequence[str] = ("domain",)) -> pd.DataFrame:
    """Per best-of-n run, instance and k: `best_of_n_at_k` as "value". The score of a scoring
    or verification row counts for its parent answer."""
    s = with_run(samples)
    s = s.loc[(s["strategy"].astype(str) == "best-of-n") & (s["round"] == 0)]
    about = ~metrics.answer_rows(s)  # scoring and verification calls
    keys = ["run", "instance_id"]
    given = s.loc[about, [*keys, "parent", "score"]].rename(
        columns={"parent": "sample_index", "score": "given"}).dropna(subset=["given"])
    # (self-verify's probability writes two scoring rows an answer, one of them scored)
    answers = s.loc[~about].merge(given, on=[*keys, "sample_index"], how="left")
    answers["score"] = answers["given"].combine_first(answers["score"])
    answers = answers.sort_values([*keys, "sample_index"], kind="stable")
    groups = list(answers.groupby(keys, observed=True, sort=True))
    ks = list(ks) if ks is not None else k_values(max((len(g) for _, g in groups), default=0))
    rows = [{"run": key[0], "instance_id": key[1], **{b: group[b].iloc[0] for b in by},
             "k": k, "value": best_of_n_at_k(group["score"].to_numpy(float),
                                             group["valid"].to_numpy(bool), k)}
            for key, group in groups for k in ks]
    return pd.DataFrame(rows, columns=["run", "instance_id", *by, "k", "value"])


def instance_points(instances: pd.DataFrame, samples: pd.DataFrame, units: pd.Series,
                    by: Sequence[str] = ("domain", "steps")) -> pd.DataFrame:
    """Every instance's success and compute at every setting of its run (`POINT_COLUMNS`).

    `units` maps each row of `instances` (`metrics.per_instance`) to its strategy's unit.
    Sampled answers ("samples"): pass@k at k = 1, 2, 4, ... (or, for best-of-n, the answer its
    scorer selects) against k times the instance's mean compute per answer. Chains ("rounds"):
    the share of chains valid within r rounds against a chain's compute by then. Searches
    ("nodes"): solved (any valid node) against the compute spent."""
    keys = ["run", "instance_id", *by, "optimal_length"]
    unit = units.to_numpy()
    sampled = instances.loc[(unit == "samples") & (instances["n"] > 0).to_numpy()]
    parts = [_sampled_points(sampled, samples, keys, by)]
    chains = metrics.chain_rounds(samples, _names(instances, unit, "rounds"), by=by)
    parts.append(chains.assign(unit="rounds", budget=chains["round"], k=1, y=chains["ok"]))
    searched = instances.loc[unit == "nodes"]
    c = (searched["valid_rows"] > 0).astype(int)
    parts.append(searched.assign(unit="nodes", budget=1, n=1, c=c, k=1, y=c.astype(float)))
    columns = [*dict.fromkeys([*keys, *POINT_COLUMNS])]
    parts = [part[columns] for part in parts if len(part)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _names(instances: pd.DataFrame, unit: np.ndarray, wanted: str) -> list[str]:
    """The strategy names of the instances' rows whose unit is `wanted`."""
    return sorted(set(instances.loc[unit == wanted, "strategy"].astype(str)))


def _sampled_points(sampled: pd.DataFrame, samples: pd.DataFrame, keys, by) -> pd.DataFrame:
    """`instance_points` of the sampled runs: pass@k, or best-of-n's selected answer."""
    chosen = best_of_n_per_instance(samples, by=())
    parts = []
    for run, group in sampled.groupby("run", observed=True, sort=True):
        picks = chosen.loc[chosen["run"] == run]
        for k in (sorted(set(picks["k"])) if len(picks) else k_values(int(group["n"].max()))):
            point = group.assign(unit="samples", budget=k, k=k,
                                 compute=k * group["compute"] / group["n"])
            if len(picks):
                value = point[["instance_id"]].merge(picks.loc[picks["k"] == k], how="left",
                                                     on="instance_id")["value"]
                point = point.assign(n=0, y=value.to_numpy())
            else:
                point = point.assign(y=metrics.pass_at_k_many(group["n"], group["c"], k))
            parts.append(point)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def solve_curves(points: pd.DataFrame, by: Sequence[str] = ("domain", "steps")) -> pd.DataFrame:
    """Solve rate against compute per instance, one curve per run and group: the mean over
    instances of `instance_points` at each setting (NaN when any instance's value is)."""
    keys = ["run", *by, "unit", "budget"]
    columns = [*keys[:-2], *CURVE_COLUMNS[1:]]
    if points.empty:
        return pd.DataFrame(columns=columns)
    table = points.groupby(keys, observed=True, sort=True).agg(
        compute=("compute", "mean"), solve_rate=("y", lambda v: v.mean(skipna=False)),
        instances=("y", "size")).reset_index()
    return table[columns]


def compute_optimal(curves: pd.DataFrame, by: Sequence[str] = ("domain", "steps")) -> pd.DataFrame:
    """Per group and compute budget (every compute a curve point reached): the run with the
    highest solve rate among the points that spend at most that budget (ties: the cheaper
    point, then the run first by name)."""
    rows = []
    points = curves.dropna(subset=["compute", "solve_rate"])
    for key, group in points.groupby(list(by), observed=True, sort=True):
        group = group.sort_values(["compute", "run"], kind="stable")
        for budget in sorted(set(group["compute"])):
            within = group.loc[group["compute"] <= budget]
            best = within.loc[within["solve_rate"].idxmax()]
            rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                         "budget": budget, "best_run": best["run"], "unit": best["unit"],
                         "setting": best["budget"], "solve_rate": best["solve_rate"],
                         "compute": best["compute"]})
    return pd.DataFrame(rows, columns=[*by, "budget", "best_run", "unit", "setting",
                                       "solve_rate", "compute"])
