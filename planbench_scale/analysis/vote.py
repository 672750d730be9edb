"""Majority vote: answers grouped by their canonical plan or by the final state their plan
reaches, and maj@k as the exact average over every k-subset of an instance's n samples.

The vote of a subset: the answer with the most votes wins; a tie goes to the answer whose first
sample comes first in the run (a fixed order, the same in every subset); a subset without a
single vote (only empty plans, or only plans that do not execute when voting over states)
counts as unsolved. maj@k of an instance is the mean over all C(n, k) subsets of "the winner is
a valid plan", computed exactly (see `vote_at_k`), not from the first k samples.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import binom

from planbench_scale.analysis.metrics import answer_rows, k_values, mean_by, with_run
from planbench_scale.domains import task_for
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Instance, Reason
from planbench_scale.symbolic.validate import validate

NEGLIGIBLE = 1e-18
"""Terms (and class tails) below this probability are left out of `vote_at_k`: its error stays
below n * 1e-18 / P(total = k) <= 1e-12 for n up to 10,000 samples."""


def plan_codes(plans: pd.Series) -> np.ndarray:
    """Integer codes of canonicalised plans (lower case, one action a line, spaces collapsed);
    -1 for an empty plan. Equal codes mean the same plan."""
    raw, uniques = pd.factorize(plans, use_na_sentinel=True)
    canonical = ["\n".join(" ".join(line.split()) for line in str(p).lower().splitlines()
                           if line.strip()) for p in uniques]
    codes, canon = pd.factorize(pd.Series([*canonical, ""], dtype=object))
    codes = np.where(np.asarray(canon, dtype=object)[codes] == "", -1, codes)
    return codes[raw].astype(np.int64)


def final_state(instance: Instance, plan: str) -> frozenset | None:
    """The facts true after a plan (one action a line) whose every step applies; None for an
    empty plan, one with a step that is unknown or does not apply, or an instance whose task
    cannot be built."""
    actions = [line for line in str(plan).splitlines() if line.strip()]
    if not actions:
        return None
    try:
        task = task_for(instance)
    except PlanbenchError:  # an instance without a task of its own (imported answers only)
        return None
    verdict = validate(task, actions, trace=True)
    if verdict.reason not in (Reason.VALID, Reason.GOAL_NOT_REACHED):
        return None
    return verdict.trace[-1]


def state_codes(instances: Iterable[Instance], instance_ids: pd.Series,
                plans: pd.Series) -> np.ndarray:
    """Integer codes of the final state each (instance, plan) reaches, equal codes for the same
    state of the same instance; -1 where the plan has no final state (`final_state`). Each
    distinct (instance, plan) pair is executed once."""
    by_id = {i.id: i for i in instances}
    pairs = pd.MultiIndex.from_arrays([instance_ids.astype(str).to_numpy(),
                                       plans.fillna("").astype(str).to_numpy()])
    rows, unique = pd.factorize(pairs)
    states = [final_state(by_id[iid], plan) if iid in by_id else None for iid, plan in unique]
    keys = pd.Series([None if state is None else (iid, state)
                      for (iid, _), state in zip(unique, states)], dtype=object)
    codes, _ = pd.factorize(keys)  # None: -1
    return codes[rows].astype(np.int64)


def vote_at_k(codes: np.ndarray, valid: np.ndarray, k: int) -> float:
    """Exact maj@k of one instance: the mean over all k-subsets of its n samples (in run order)
    of "the subset's winner is valid"; NaN when n < k. `codes` < 0 cast no vote.

    Uniform k-subsets are independent binomial draws, one per answer class with p = k/n,
    conditioned on drawing k in all (multivariate hypergeometric = binomials given their sum).
    Class a wins with j votes when every class before it has at most j-1 and every class after
    it at most j; the other samples are free. Summed over valid classes and j, divided by
    P(total = k): polynomial products of truncated binomial pmfs, no subset enumeration."""
    n = len(codes)
    if n < k:
        return math.nan
    counts, class_valid = _classes(np.asarray(codes), np.asarray(valid, dtype=bool))
    if k == 0 or not class_valid.any():
        return 0.0
    p = k / n
    total = sum(_wins(counts, a, n, k, p) for a in np.flatnonzero(class_valid))
    return float(min(max(total / binom.pmf(k, n, p), 0.0), 1.0))


def _classes(codes: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vote counts and validity of each answer class, in the order of first appearance."""
    voting = np.flatnonzero(codes >= 0)
    _, first, counts = np.unique(codes[voting], return_index=True, return_counts=True)
    order = np.argsort(first)
    return counts[order], valid[voting[first[order]]]


def _wins(counts: np.ndarray, a: int, n: int, k: int, p: float) -> float:
    """P(class a wins, total drawn = k) under independent binomial draws with probability p."""
    others = np.delete(np.arange(len(counts)), a)
    won = 0.0
    for j in range(1, min(int(counts[a]), k) + 1):
        weight = binom.pmf(j, counts[a], p)
        if weight < NEGLIGIBLE:
            continue
        bounds = np.where(others < a, j - 1, j)
        tails = binom.sf(bounds, counts[others], p)
        bound = tails >= NEGLIGIBLE
        poly = _bounded(counts[others][bound], bounds[bound], p, k - j)
        free = n - counts[a] - int(counts[others][bound].sum())
        won += weight * float(poly @ binom.pmf(k - j - np.arange(len(poly)), free, p))
    return won


def _bounded(counts: np.ndarray, bounds: np.ndarray, p: float, most: int) -> np.ndarray:
    """The pmf of the summed draws of classes each held to at most its bound, up to `most`."""
    poly = np.ones(1)
    pairs, sizes = np.unique(np.stack([counts, bounds]), axis=1, return_counts=True)
    for (m, bound), size in zip(pairs.T, sizes):
        pmf = binom.pmf(np.arange(min(int(bound), most) + 1), m, p)
        poly = _truncated(poly, _power(pmf, int(size), most), most)
    return poly


def _power(pmf: np.ndarray, times: int, most: int) -> np.ndarray:
    """pmf convolved with itself `times` times, cut after index `most` (by squaring)."""
    result, base = np.ones(1), pmf
    while times:
        if times & 1:
            result = _truncated(result, base, most)
        times >>= 1
        if times:
            base = _truncated(base, base, most)
    return result


def _truncated(left: np.ndarray, right: np.ndarray, most: int) -> np.ndarray:
    """The convolution of two coefficient arrays, cut after index `most`."""
    return np.convolve(left, right)[:most + 1]


def majority_vote(samples: pd.DataFrame, ks: Sequence[int] | None = None,
                  by: Sequence[str] = ("domain",), code: str = "plan_code") -> pd.DataFrame:
    """maj@k per run and group: the mean over instances of `vote_at_k`, voting by the `code`
    column ("plan_code" from `plan_codes`, or "state_code" from `state_codes`).

    Voters are the independent answers: round 0, scoring and verification calls left out. NaN for a group with
    an instance of fewer than k answers. Needs columns run, instance_id, sample_index, round,
    valid and `code` (and finish_reason, parent and depth when present)."""
    s = with_run(samples)
    keep = (s["round"].to_numpy() == 0) & answer_rows(s)
    groups = [b for b in by if b in s]
    s = s.loc[keep, ["run", "instance_id", "sample_index", code, "valid", *groups]]
    s = s.sort_values(["run", "instance_id", "sample_index"], kind="stable")
    starts = np.flatnonzero(~s.duplicated(["run", "instance_id"]).to_numpy())
    bounds = np.append(starts, len(s))
    ks = list(ks) if ks is not None else k_values(int(np.diff(bounds).max(initial=0)))
    codes, valid = s[code].to_numpy(), s["valid"].to_numpy(dtype=bool)
    votes = np.array([[vote_at_k(codes[a:b], valid[a:b], k) for k in ks]
                      for a, b in zip(bounds[:-1], bounds[1:])]).reshape(len(starts), len(ks))
    heads = s.iloc[starts][["run", *groups]].reset_index(drop=True)
    parts = [heads.assign(k=k, value=votes[:, i]) for i, k in enumerate(ks)]
    if not parts:
        return pd.DataFrame(columns=["run", *groups, "k", "instances", "majority_vote"])
    return mean_by(pd.concat(parts, ignore_index=True), ["run", *groups, "k"], "majority_vote")
