"""Strategies compared at equal compute: solve rate against compute per strategy and plan
length, best-of-n selection, and the compute-optimal strategy within each budget.

Compute per instance is counted in tokens (`metrics.compute_tokens`): every generated token,
plus every token a scoring call read (a row with finish_reason "scored": its prompt tokens).
Steps written without a model (legal steps, random walks) cost nothing.

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

CURVE_COLUMNS = ("run", "unit", "budget", "compute", "solve_rate")
"""Columns of a `solve_curves` table, besides its groups."""


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
    """Best-of-n accuracy per run and group of the best-of-n runs (`best_of_n_at_k` averaged
    over instances). A scoring row's score counts for its parent answer."""
    s = with_run(samples)
    s = s.loc[(s["strategy"].astype(str) == "best-of-n") & (s["round"] == 0)]
    scoring = metrics.scoring_rows(s)
    keys = ["run", "instance_id"]
    given = s.loc[scoring, [*keys, "parent", "score"]].rename(
        columns={"parent": "sample_index", "score": "given"})
    answers = s.loc[~scoring].merge(given, on=[*keys, "sample_index"], how="left")
    answers["score"] = answers["given"].combine_first(answers["score"])
    answers = answers.sort_values([*keys, "sample_index"], kind="stable")
    groups = list(answers.groupby(keys, observed=True, sort=True))
    ks = list(ks) if ks is not None else k_values(max((len(g) for _, g in groups), default=0))
    rows = [{"run": key[0], **{b: group[b].iloc[0] for b in by}, "k": k,
             "value": best_of_n_at_k(group["score"].to_numpy(float),
                                     group["valid"].to_numpy(bool), k)}
            for key, group in groups for k in ks]
    if not rows:
        return pd.DataFrame(columns=["run", *by, "k", "instances", "best_of_n"])
    return mean_by(pd.DataFrame(rows), ["run", *by, "k"], "best_of_n")


def solve_curves(instances: pd.DataFrame, rounds: pd.DataFrame, selected: pd.DataFrame,
                 units: pd.Series, by: Sequence[str] = ("domain", "steps")) -> pd.DataFrame:
    """Solve rate against compute per instance, one curve per run and group.

    `units` maps each row of `instances` to its strategy's unit. Sampled answers ("samples"):
    coverage at k, or for runs in `selected` (best-of-n) the selected answer, against k times
    the mean compute of one answer. Chains ("rounds", from `rounds`): valid within r rounds
    against the compute of a chain by then. Searches ("nodes"): one point, solved against
    the mean compute spent."""
    keys = ["run", *by]
    sampled = instances.loc[(units == "samples").to_numpy() & (instances["n"] > 0).to_numpy()]
    per_answer = sampled.assign(c1=sampled["compute"] / sampled["n"]).groupby(
        keys, observed=True)["c1"].mean().rename("per_answer")
    chosen = set(selected["run"])
    cov = metrics.coverage(sampled.loc[~sampled["run"].isin(chosen)], by=by)
    picks = selected.loc[selected["run"].isin(set(sampled["run"]))].rename(
        columns={"best_of_n": "coverage"})
    answers = pd.concat([cov, picks], ignore_index=True).join(per_answer, on=keys)
    answers = answers.assign(unit="samples", budget=answers["k"],
                             compute=answers["k"] * answers["per_answer"],
                             solve_rate=answers["coverage"])
    chains = rounds.assign(unit="rounds", budget=rounds["round"], solve_rate=rounds["accuracy"])
    searched = solved(instances.loc[(units == "nodes").to_numpy()], by=by)
    searched = searched.assign(unit="nodes", budget=1, solve_rate=searched["solved"])
    columns = [*keys, *CURVE_COLUMNS[1:]]
    parts = [part[columns] for part in (answers, chains, searched) if len(part)]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


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
