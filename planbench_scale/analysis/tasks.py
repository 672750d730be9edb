"""The report per task: accuracy per task x domain x plan length for every run, and the tables a
task adds of its own (`Task.tables`: the verification confusion and the self-verification
precision and recall of plan verification, the share of facts right of plan execution)."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from planbench_scale import domains, tasks
from planbench_scale.analysis.metrics import answer_rows, verification_rows, wilson_interval
from planbench_scale.records import Instance
from planbench_scale.store import read_instances, read_samples

ROW_COLUMNS = ("instance_id", "sample_index", "round", "valid", "outcome", "plan", "n_actions",
               "reason", "failed_step", "unmet", "parent", "depth", "finish_reason")
"""The sample columns a task's own tables read."""
SCORE_COLUMNS = ("domain", "answers", "precision", "recall", "verdict_right", "failure_right",
                 "all_right")
"""Columns of a table of verification scores."""


def accuracy_by_task(runs: Sequence) -> pd.DataFrame:
    """Share of first answers (round 0; scoring and verification calls are none) that are right,
    per run, task, domain and length of the optimal plan asked for (`tasks.asked_length`: the
    re-plan's for replanning, the prefix's for plan reuse), with the 95% Wilson interval."""
    frames = []
    for run in runs:
        rows = run.samples.loc[(run.samples["round"] == 0) & answer_rows(run.samples)]
        frames.append(rows.assign(task=run.config.settings.task,
                                  optimal_length=asked_lengths(run, rows["instance_id"]))
                      [["run", "task", "domain", "optimal_length", "valid"]])
    if not frames:
        return pd.DataFrame(columns=["run", "task", "domain", "optimal_length", "answers",
                                     "correct", "accuracy", "ci_low", "ci_high"])
    table = pd.concat(frames, ignore_index=True).groupby(
        ["run", "task", "domain", "optimal_length"], observed=True).agg(
        answers=("valid", "size"), correct=("valid", "sum")).reset_index()
    table["accuracy"] = table["correct"] / table["answers"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["correct"], table["answers"])
    return table


def task_tables(runs: Sequence) -> dict[str, pd.DataFrame]:
    """Every task's own tables over the runs that asked it, stacked by table name."""
    found: dict[str, list[pd.DataFrame]] = {}
    for run in runs:
        task = tasks.get(run.config.settings.task)
        rows = read_samples(run.path, ROW_COLUMNS)
        for name, table in task.tables(rows, read_instances(run.path)).items():
            found.setdefault(name, []).append(table.assign(run=run.name)[["run", *table.columns]])
    return {name: pd.concat(frames, ignore_index=True) for name, frames in found.items()}


def asked_lengths(run, ids: pd.Series) -> list[int]:
    """The optimal length of the plan the run's task asked of each instance id."""
    task, settings = tasks.get(run.config.settings.task), run.config.settings
    if not hasattr(task, "asked"):
        return list(run.samples.loc[ids.index, "optimal_length"])
    known = by_instance(read_instances(run.path))
    lengths = {i: tasks.asked_length(task, known[i], settings) for i in set(ids)}
    return [lengths[i] for i in ids]


def by_instance(instances: Sequence[Instance]) -> dict[str, Instance]:
    """Instances by id."""
    return {i.id: i for i in instances}


def with_instance(rows: pd.DataFrame, instances: Sequence[Instance]) -> pd.DataFrame:
    """The rows of first answers (round 0) with their instance's domain and plan length."""
    return placed(rows.loc[(rows["round"] == 0) & answer_rows(rows)], instances)


def placed(rows: pd.DataFrame, instances: Sequence[Instance]) -> pd.DataFrame:
    """The rows of known instances with their instance's domain and plan length."""
    known = by_instance(instances)
    rows = rows.loc[rows["instance_id"].isin(known)].copy()
    rows["domain"] = [known[i].domain for i in rows["instance_id"]]
    rows["optimal_length"] = [known[i].optimal_length for i in rows["instance_id"]]
    return rows


def truth_kind(instance: Instance, plan: str) -> str:
    """What our validator says of a stored plan: "valid", "inapplicable" or "goal_not_reached"."""
    from planbench_scale.symbolic.validate import validate
    from planbench_scale.tasks.verification import GOAL_MISSED

    verdict = validate(domains.task_for(instance), [a for a in str(plan).split("\n") if a])
    return ("valid" if verdict.valid else
            "goal_not_reached" if verdict.reason in GOAL_MISSED else "inapplicable")


def verification(rows: pd.DataFrame, instances: Sequence[Instance]) -> dict[str, pd.DataFrame]:
    """Plan verification: the confusion (the validator's kind of the plan shown x the kind the
    answer claims) and, per domain, the model as a verifier of "valid": precision and recall
    against the validator, and the share right on the verdict, the failure and the facts."""
    rows = with_instance(rows, instances)
    confusion, scores = judged_tables(rows, instances)
    return {"verification_confusion": confusion, "self_verification": scores}


def judged_tables(rows: pd.DataFrame, instances: Sequence[Instance]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The confusion and the scores per domain of verification rows (`placed`)."""
    known = by_instance(instances)
    rows["truth"] = [truth_kind(known[i], p) for i, p in zip(rows["instance_id"], rows["plan"])]
    rows["claimed"] = [r if o == "plan" else "no verdict"
                       for r, o in zip(rows["reason"].astype(str), rows["outcome"].astype(str))]
    confusion = rows.groupby(["domain", "truth", "claimed"], observed=True).size().rename(
        "answers").reset_index()
    scores = []
    for domain, group in rows.groupby("domain", observed=True):
        said, true = group["claimed"] == "valid", group["truth"] == "valid"
        invalid = group.loc[~true]
        scores.append({"domain": domain, "answers": len(group),
                       "precision": (said & true).sum() / said.sum() if said.any() else float("nan"),
                       "recall": (said & true).sum() / true.sum() if true.any() else float("nan"),
                       "verdict_right": ((said == true) & (group["claimed"] != "no verdict")).mean(),
                       "failure_right": (invalid["claimed"] == invalid["truth"]).mean()
                       if len(invalid) else float("nan"),
                       "all_right": group["valid"].mean()})
    return confusion, pd.DataFrame(scores, columns=SCORE_COLUMNS)


def verification_calls(runs: Sequence) -> pd.DataFrame:
    """The model as its own verifier in the loop (`best-of-n --score self-verify` in verdict
    mode, `revise --critic self`), per run and domain: of its verification calls, precision
    and recall of "valid" against the validator's verdict on the plan it verified, and the
    share right on the verdict, the failure and all counts."""
    frames = []
    for run in runs:
        rows = read_samples(run.path, ROW_COLUMNS)
        calls = rows.loc[verification_rows(rows)]
        if len(calls):
            instances = read_instances(run.path)
            scores = judged_tables(placed(calls, instances), instances)[1]
            frames.append(scores.assign(run=run.name)[["run", *SCORE_COLUMNS]])
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=["run", *SCORE_COLUMNS]))


def execution(rows: pd.DataFrame, instances: Sequence[Instance]) -> dict[str, pd.DataFrame]:
    """Plan execution: per domain and plan length, the share of exact states and the mean share
    of facts right."""
    from planbench_scale.tasks.execution import share_right

    rows = with_instance(rows, instances)
    rows["share_right"] = [share_right(int(n), str(u)) for n, u in zip(rows["n_actions"], rows["unmet"])]
    table = rows.groupby(["domain", "optimal_length"], observed=True).agg(
        answers=("valid", "size"), exact=("valid", "mean"),
        share_right=("share_right", "mean")).reset_index()
    return {"execution_share_right": table}


def selection_vs_verifier(samples: pd.DataFrame, instances: pd.DataFrame) -> pd.DataFrame:
    """The best-of-n runs at equal compute (k answers), per domain and plan length: coverage
    (pass@k: the sound verifier picks), the answer the run's score selects (with self-verify,
    the model as its own verifier), majority vote@k, and the first sample."""
    from planbench_scale.analysis.compute import best_of_n
    from planbench_scale.analysis.metrics import pass_at_k_table
    from planbench_scale.analysis.vote import majority_vote

    by, keys = ["domain", "optimal_length"], ["run", "domain", "optimal_length", "k"]
    selected = best_of_n(samples, by=by)
    if selected.empty:
        return pd.DataFrame(columns=[*keys, "instances", "coverage", "selected", "majority_vote",
                                     "first_sample"])
    runs = set(selected["run"].astype(str))
    chosen = instances.loc[instances["run"].astype(str).isin(runs)]
    coverage = pass_at_k_table(chosen, by=by).rename(columns={"pass_at_k": "coverage"})
    votes = majority_vote(samples.loc[samples["run"].astype(str).isin(runs)], by=by)
    table = selected.rename(columns={"best_of_n": "selected"}).merge(
        coverage[[*keys, "coverage"]], on=keys, how="left").merge(
        votes[[*keys, "majority_vote"]], on=keys, how="left")
    first = coverage.loc[coverage["k"] == 1].set_index(keys[:3])["coverage"]
    table["first_sample"] = [first.get(tuple(row), float("nan"))
                             for row in table[keys[:3]].itertuples(index=False)]
    return table[[*keys, "instances", "coverage", "selected", "majority_vote", "first_sample"]]
