"""Strategies compared at equal compute: what each search solved and spent, best-of-n, and the
compute-optimal strategy per plan length.

Tokens per instance count every stored row: prompt and generated tokens of sampled answers and
steps, and every token a scoring call read (its prompt tokens). Steps written without a model
(legal steps, random walks) cost no tokens; their count is the "rows" column.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from planbench_scale.analysis.metrics import k_values, with_run


def solved(instances: pd.DataFrame, by: Sequence[str] = ("domain", "steps")) -> pd.DataFrame:
    """Per run and group: the fraction of instances with any valid row (a search's result) and
    the mean tokens and rows spent per instance (from `metrics.per_instance`)."""
    table = instances.assign(ok=(instances["valid_rows"] > 0).astype(float),
                             tokens=instances["prompt_tokens"] + instances["completion_tokens"])
    return table.groupby(["run", *by], observed=True).agg(
        instances=("ok", "size"), solved=("ok", "mean"), tokens=("tokens", "mean"),
        rows=("rows", "mean")).reset_index()


def best_of_n(samples: pd.DataFrame, ks: Sequence[int] | None = None,
              by: Sequence[str] = ("domain",)) -> pd.DataFrame:
    """Best-of-n accuracy: the answer of an instance is the best-scored of its first n answers
    (ties go to the lower index; answers without a score rank last); the fraction of instances
    whose answer is valid, per run and group. A scoring row's score counts for its parent."""
    s = with_run(samples)
    s = s.loc[s["strategy"].astype(str) == "best-of-n"]
    scoring = s["finish_reason"].astype(str) == "scored"
    keys = ["run", "instance_id"]
    given = s.loc[scoring, [*keys, "parent", "score"]].rename(
        columns={"parent": "sample_index", "score": "given"})
    answers = s.loc[~scoring].merge(given, on=[*keys, "sample_index"], how="left")
    answers["score"] = answers["given"].combine_first(answers["score"])
    answers = answers.sort_values([*keys, "sample_index"], kind="stable")
    groups = list(answers.groupby(keys, observed=True, sort=True))
    ks = list(ks) if ks is not None else k_values(max((len(g) for _, g in groups), default=0))
    rows = [{"run": key[0], **{b: group[b].iloc[0] for b in by}, "k": k,
             "value": _best(group["score"].to_numpy(float), group["valid"].to_numpy(bool), k)}
            for key, group in groups for k in ks]
    if not rows:
        return pd.DataFrame(columns=["run", *by, "k", "instances", "best_of_n"])
    table = pd.DataFrame(rows).groupby(["run", *by, "k"], observed=True)["value"]
    return table.agg(instances="size", best_of_n=lambda v: v.mean(skipna=False)).reset_index()


def _best(scores: np.ndarray, valid: np.ndarray, k: int) -> float:
    """Whether the best-scored of the first k answers is valid; NaN with fewer than k."""
    if len(scores) < k:
        return math.nan
    head = np.where(np.isnan(scores[:k]), -np.inf, scores[:k])
    return float(valid[int(np.argmax(head))])


def compute_optimal(points: pd.DataFrame, by: Sequence[str] = ("domain", "steps")) -> pd.DataFrame:
    """Per group and token budget (every budget a run reached): the run with the highest accuracy
    among those whose point spends at most that budget. `points` has columns run, *by, tokens,
    accuracy (one row per run and compute setting)."""
    rows = []
    for key, group in points.dropna(subset=["tokens", "accuracy"]).groupby(list(by), observed=True):
        for budget in sorted(set(group["tokens"])):
            within = group.loc[group["tokens"] <= budget]
            best = within.loc[within["accuracy"].idxmax()]
            rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                         "budget_tokens": budget, "best_run": best["run"],
                         "accuracy": best["accuracy"], "tokens": best["tokens"]})
    return pd.DataFrame(rows, columns=[*by, "budget_tokens", "best_run", "accuracy", "tokens"])
