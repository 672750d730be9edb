"""The report's reasoning-model views: dollars, solve rate at equal spend, reasoning tokens
against plan length, and what models answer on unsolvable instances.

- `dollars`: per run and domain, tokens (reasoning included in the generated ones) and dollars
  per instance and per valid plan, from the run's prices (`ledger`: computed prompt tokens at
  --price-in, cached ones at --price-cached-in, generated at --price-out; NaN without them).
- `solve_rate_vs_spend`: per run, the solve rate on solvable instances at k = 1, 2, 4, ...
  samples (pass@k over independent samples) against what k samples cost per instance in
  generated tokens and in dollars: Epoch AI's comparison of models at equal spend, one line
  per model.
- `reasoning_by_length`: per run, domain and optimal plan length, mean reasoning and generated
  tokens per answer on solvable instances (PlanBench's o1 plot of thinking against steps).
- `unsolvable`: per run and domain, accuracy on solvable instances (valid answers), no-plan
  recall on unsolvable ones (answers the extractor reads as a no-plan claim) and the false
  no-plan rate on solvable ones, each over all answers, with 95% Wilson intervals.

Each run is read from its folder (a few integer columns and the outcome), so these views need
only a run's `name`, `path` and `config`, whatever else the report loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import pandas as pd

from planbench_scale.analysis import ledger, metrics, plots
from planbench_scale.records import Outcome
from planbench_scale.config import RunConfig
from planbench_scale.store import read_instances, read_samples

COLUMNS = ("instance_id", "sample_index", "round", "prompt_tokens", "completion_tokens",
           "reasoning_tokens", "valid", "outcome", "cached_tokens", "computed_tokens",
           "finish_reason", "parent", "depth")
"""The sample columns these views read."""


class RunLike(Protocol):
    """What these views need of a loaded run (the report's `Run` has it)."""

    name: str
    """Label in tables and legends."""
    path: Path
    """The run folder."""
    config: RunConfig
    """Its config (prices come from its engine)."""


def answers(run: RunLike) -> pd.DataFrame:
    """The run's samples with its name, the instance columns (domain, optimal_length,
    solvable), each row's dollars (NaN without prices) and whether it is an answer (not a
    scoring or verification call, whose `valid` says something else)."""
    instances = pd.DataFrame(
        [(i.id, i.domain, i.optimal_length, i.solvable) for i in read_instances(run.path)],
        columns=["instance_id", "domain", "optimal_length", "solvable"])
    samples = read_samples(run.path, COLUMNS)
    samples["instance_id"] = samples["instance_id"].astype(str)
    samples = samples.merge(instances, on="instance_id", how="inner")
    samples = samples.assign(run=run.name)
    samples["dollars"] = ledger.row_cost(samples, {run.name: run.config.engine}, "dollars")
    samples["no_plan"] = samples["outcome"].astype(str) == Outcome.NO_PLAN.value
    samples["answer"] = metrics.answer_rows(samples)
    return samples


def compute_tables(runs: Sequence[RunLike]) -> dict[str, pd.DataFrame]:
    """The reasoning-model tables, keyed by CSV name."""
    frame = pd.concat([answers(run) for run in runs], ignore_index=True)
    answered = frame[frame["answer"]]
    return {"dollars": dollars(frame), "solve_rate_vs_spend": solve_rate_vs_spend(answered),
            "reasoning_by_length": reasoning_by_length(answered), "unsolvable": unsolvable(answered)}


def dollars(frame: pd.DataFrame) -> pd.DataFrame:
    """Tokens and dollars per instance and per valid plan (answers only), per run and domain,
    over every row (verification and scoring calls cost too)."""
    frame = frame.assign(valid_answer=frame["valid"] & frame["answer"])
    table = frame.groupby(["run", "domain"], observed=True).agg(
        instances=("instance_id", "nunique"), samples=("valid", "size"),
        valid_plans=("valid_answer", "sum"), prompt_tokens=("prompt_tokens", "sum"),
        generated_tokens=("completion_tokens", "sum"),
        reasoning_tokens=("reasoning_tokens", "sum"),
        dollars=("dollars", lambda d: d.sum(min_count=1))).reset_index()
    table["dollars_per_instance"] = table["dollars"] / table["instances"]
    table["dollars_per_valid_plan"] = table["dollars"] / table["valid_plans"].where(
        table["valid_plans"] > 0)
    return table


def solve_rate_vs_spend(frame: pd.DataFrame) -> pd.DataFrame:
    """Solve rate (pass@k on solvable instances) against generated tokens and dollars spent per
    instance for k samples, per run (all domains together)."""
    first = frame[frame["solvable"] & (frame["round"] == 0)]
    rows = []
    for run, group in first.groupby("run", sort=True):
        per = group.groupby("instance_id").agg(n=("valid", "size"), c=("valid", "sum"))
        tokens, spent = group["completion_tokens"].mean(), group["dollars"].mean()
        for k in metrics.k_values(int(per["n"].max())):
            solved = metrics.pass_at_k_many(per["n"].to_numpy(), per["c"].to_numpy(), k)
            rows.append({"run": run, "k": k, "instances": len(per),
                         "solve_rate": float(np.mean(solved)),
                         "generated_tokens_per_instance": k * tokens,
                         "dollars_per_instance": k * spent})
    return pd.DataFrame(rows, columns=["run", "k", "instances", "solve_rate",
                                       "generated_tokens_per_instance", "dollars_per_instance"])


def reasoning_by_length(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean reasoning and generated tokens per answer against optimal plan length."""
    solvable = frame[frame["solvable"]]
    return solvable.groupby(["run", "domain", "optimal_length"], observed=True).agg(
        answers=("valid", "size"), reasoning_tokens=("reasoning_tokens", "mean"),
        generated_tokens=("completion_tokens", "mean"),
        accuracy=("valid", "mean")).reset_index()


def unsolvable(frame: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on solvable instances, no-plan recall on unsolvable ones and the false no-plan
    rate on solvable ones, per run and domain (over all answers), with Wilson intervals."""
    frame = frame.assign(valid_solvable=frame["valid"] & frame["solvable"],
                         claim_unsolvable=frame["no_plan"] & ~frame["solvable"],
                         claim_solvable=frame["no_plan"] & frame["solvable"])
    table = frame.groupby(["run", "domain"], observed=True).agg(
        solvable_answers=("solvable", "sum"),
        unsolvable_answers=("solvable", lambda s: int((~s).sum())),
        valid=("valid_solvable", "sum"), no_plan_on_unsolvable=("claim_unsolvable", "sum"),
        no_plan_on_solvable=("claim_solvable", "sum")).reset_index()
    rates = {"accuracy_solvable": ("valid", "solvable_answers"),
             "no_plan_recall": ("no_plan_on_unsolvable", "unsolvable_answers"),
             "false_no_plan_rate": ("no_plan_on_solvable", "solvable_answers")}
    for name, (hits, total) in rates.items():
        trials = table[total].where(table[total] > 0)
        table[name] = table[hits] / trials
        table[f"{name}_low"], table[f"{name}_high"] = metrics.wilson_interval(table[hits], trials)
    return table


def draw_figures(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Solve rate against generated tokens and against dollars (one line per run), and
    reasoning tokens against optimal plan length (one line per run and domain)."""
    spend = tables["solve_rate_vs_spend"]
    paths = [*_spend_figure(spend, "generated_tokens_per_instance",
                            "generated tokens per instance (reasoning included, log scale)",
                            out_dir, "solve_rate_vs_tokens"),
             *_spend_figure(spend, "dollars_per_instance", "US dollars per instance (log scale)",
                            out_dir, "solve_rate_vs_dollars")]
    return paths + _length_figure(tables["reasoning_by_length"], out_dir)


def _spend_figure(table: pd.DataFrame, x: str, label: str, out_dir: Path, name: str) -> list[Path]:
    table = table[table[x] > 0].dropna(subset=[x])
    if table.empty:
        return []
    with plots.plt.rc_context(plots.STYLE):
        fig, panels = plots.grid(1)
        ax = panels[0]
        for i, (run, group) in enumerate(table.groupby("run", sort=True)):
            ax.plot(group[x], 100 * group["solve_rate"], marker="o", label=str(run),
                    color=plots.COLORS[i % len(plots.COLORS)], clip_on=False)
        plots.log_x(ax, label)
        plots.rate_axis(ax, "solved (% of solvable instances)")
        plots.legend(fig, panels)
        return plots.save(fig, out_dir, name)


def _length_figure(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    table = table[table["reasoning_tokens"] > 0]
    if table.empty:
        return []
    with plots.plt.rc_context(plots.STYLE):
        fig, panels = plots.grid(1)
        ax = panels[0]
        for i, ((run, domain), group) in enumerate(table.groupby(["run", "domain"], sort=True)):
            ax.plot(group["optimal_length"], group["reasoning_tokens"], marker="o",
                    label=plots._label(run, domain), color=plots.COLORS[i % len(plots.COLORS)])
        ax.set_xlabel("optimal plan length (steps)")
        ax.set_ylabel("reasoning tokens per answer (mean)")
        plots.legend(fig, panels)
        return plots.save(fig, out_dir, "reasoning_tokens_vs_length")
