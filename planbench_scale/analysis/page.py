"""The report's HTML page: the answer first (solve rate against compute per strategy and plan
length, and the compute-optimal strategy within each budget), then every figure with a line
saying what it shows, then the tables. Self-contained: figures are embedded PNGs.

A value that does not exist (too few samples for that k, nothing to divide by) shows as "–".
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

MISSING = "–"
"""How a value that does not exist is shown."""

COMPUTE_WORDS = ("compute per instance = generated tokens + tokens read by scoring calls "
                 "(prompt tokens of the rows whose finish_reason is \"scored\"); the prompts of "
                 "sampled answers are not counted")
"""The definition of compute, named under every figure and table that uses it."""

FIGURES = {
    "solve_rate_vs_compute": (
        "Solve rate against compute, per plan length",
        "One panel per optimal plan length. Each run is a line over its compute settings "
        "(k samples, r revision rounds; a search is one point). Solved: the strategy's result "
        "is a valid plan (for sampling, any of k answers, picked by the validator; for "
        "best-of-n, the answer its scorer picks). A run that spent no tokens (the random-legal "
        "control, searches over legal steps without model scores) is a dashed level; oracle "
        "scores are dotted. The black steps are the compute-optimal frontier: the best "
        "non-oracle run within each budget. " + COMPUTE_WORDS + "."),
    "accuracy_vs_length": (
        "Accuracy against optimal plan length",
        "First-sample accuracy (the band is its 95% Wilson interval when few runs share a "
        "panel) and pass@k for up to three k, per domain."),
    "coverage_vs_samples": (
        "Coverage against samples per instance",
        "Share of instances solved by at least one of k samples (dots), per step bucket, with "
        "the exponentiated power-law fit of Large Language Monkeys (dashed; drawn only where "
        "coverage lies strictly between 0 and 100% at two k or more)."),
    "fail_at_k": (
        "fail@k against samples (log-log)",
        "1 - coverage on log axes: a straight line means a power law. Points at 0 cannot be "
        "drawn on a log axis and are left out."),
    "accuracy_vs_round": (
        "Accuracy against revision rounds",
        "Share of revision chains with a valid plan within r rounds (0 = the first answer)."),
    "solve_rate_vs_tokens": (
        "Solve rate against generated tokens (reasoning included)",
        "pass@k on solvable instances against what k samples generate per instance."),
    "solve_rate_vs_dollars": (
        "Solve rate against dollars spent",
        "pass@k on solvable instances against what k samples cost per instance."),
    "reasoning_tokens_vs_length": (
        "Reasoning tokens against optimal plan length",
        "Mean reasoning tokens per answer on solvable instances."),
}
"""Title and the line under each figure, by file stem."""

SECTIONS = (
    ("Solve rate against compute, per run and plan length", "solve_rate_vs_compute", None),
    ("Compute-optimal per domain: the best run within each budget", "compute_optimal_by_domain",
     None),
    ("Accuracy per domain (first sample)", "accuracy_by_domain", None),
    ("Coverage (pass@k): rows k samples, columns run · domain", "coverage", ("k", "coverage")),
    ("Power-law fits of coverage: log(coverage) = a·k^b per step bucket", "coverage_fits", None),
    ("Majority vote@k over canonical plans (exact mean over all k-subsets): rows k, columns "
     "run · domain", "majority_vote", ("k", "majority_vote")),
    ("Majority vote@k over the final state plans reach (plans that do not execute do not "
     "vote): rows k, columns run · domain", "majority_vote_state", ("k", "majority_vote")),
    ("Valid within r revision rounds: rows r, columns run · domain", "revision_rounds",
     ("round", "accuracy")),
    ("Step searches: solved, tokens, compute and rows per instance, per plan length",
     "search_solved", None),
    ("Best-of-n: the best-scored answer of n is valid (exact mean over all n-subsets); rows n, "
     "columns run · domain", "best_of_n", ("k", "best_of_n")),
    ("Cost: tokens and estimated FLOPs (2 × parameters × tokens)", "cost", None),
    ("Cost in dollars (--price-in, --price-out; reasoning billed as output)", "dollars", None),
    ("Unsolvable instances: accuracy on solvable ones, no-plan recall and false no-plan rate",
     "unsolvable", None),
    ("Accuracy per optimal plan length (first sample)", "accuracy_by_length", None),
    ("Accuracy per number of blocks (first sample)", "accuracy_by_blocks", None),
)
"""The tables shown on the page, in order: heading, table name (every table is also a CSV), and
for curves the (row, value) columns of a side-by-side view with one column per run and domain."""

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
line-height:1.4}table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f2f2f2}
figure{margin:1em 0 2em}img{width:100%;display:block}figcaption{font-size:14px;color:#444;
margin-top:.3em}.partial{background:#fff3cd;border:1px solid #e0b000;padding:.5em 1em}
.scroll{overflow-x:auto}pre{background:#f7f7f7;padding:.5em;overflow:auto;font-size:12px}"""


def headline(accuracy: pd.DataFrame) -> pd.DataFrame:
    """First-sample accuracy per domain (rows) and run (columns), as "12.3% [9.8, 15.2] (n=600)"."""
    cells = accuracy.assign(cell=[
        f"{100 * a:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] (n={n})" if n else "n/a"
        for a, lo, hi, n in zip(accuracy["accuracy"], accuracy["ci_low"], accuracy["ci_high"],
                                accuracy["instances"])])
    return cells.pivot(index="domain", columns="run", values="cell").fillna(MISSING)


def budget_grid(frontier: pd.DataFrame) -> list[float]:
    """Budgets for the answer table: 0 and powers of ten up to the largest compute reached."""
    top = float(frontier["budget"].max()) if len(frontier) else 0.0
    tens = [10.0 ** e for e in range(1, int(np.ceil(np.log10(top))) + 1)] if top > 1 else []
    return [0.0, *tens]


def frontier_table(frontier: pd.DataFrame) -> pd.DataFrame:
    """The compute-optimal run per plan length (rows) within each budget of `budget_grid`
    (columns), as "run: 25%" ("none solved" when no run solved any; a dash where no run fits
    within the budget)."""
    budgets, rows = budget_grid(frontier), {}
    for steps, group in frontier.groupby("steps", observed=True, sort=True):
        cells = {}
        for budget in budgets:
            within = group.loc[group["budget"] <= budget]
            best = within.iloc[-1] if len(within) else None
            cells[f"≤ {budget:,.0f} tokens"] = _frontier_cell(best)
        rows[f"{steps} steps"] = cells
    return pd.DataFrame.from_dict(rows, orient="index")


def _frontier_cell(best) -> str:
    """"run: 25%", "none solved" when the best run solved nothing, a dash when none fits."""
    if best is None:
        return MISSING
    if best["solve_rate"] == 0:
        return "none solved"
    return f"{best['best_run']}: {100 * best['solve_rate']:.0f}%"


def run_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per run (rows) and plan length (columns): the solve rate at the run's largest setting
    and the compute it took, as "25% at 1,234 tokens"."""
    last = curves.dropna(subset=["solve_rate"]).sort_values("budget").groupby(
        ["run", "steps"], observed=True).tail(1)
    last = last.assign(cell=[f"{100 * r:.0f}% at {c:,.0f} tokens"
                             for r, c in zip(last["solve_rate"], last["compute"])])
    table = last.pivot(index="run", columns="steps", values="cell").fillna(MISSING)
    table.columns = [f"{c} steps" for c in table.columns]
    table.index.name = None
    return table


def _figure(path: Path) -> str:
    """One embedded figure with its title and the line saying what it shows."""
    title, caption = FIGURES.get(path.stem, (path.stem, ""))
    data = base64.b64encode(path.read_bytes()).decode()
    return (f"<h3>{html.escape(title)}</h3><figure><img alt='{path.stem}' "
            f"src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}"
            f"</figcaption></figure>")


def _table(table: pd.DataFrame, index: bool = True) -> str:
    """A table as HTML: no NaN (a dash), four significant digits."""
    return ("<div class='scroll'>" + table.to_html(index=index, na_rep=MISSING,
                                                   float_format=lambda v: f"{v:.4g}")
            + "</div>")


def _answer(tables: dict[str, pd.DataFrame], figures: Sequence[Path]) -> list[str]:
    """The page's lead: the solve-rate-against-compute figure, the compute-optimal run per
    plan length and budget, and each run's result."""
    curves, frontier = tables["solve_rate_vs_compute"], tables["compute_optimal"]
    parts = ["<h2>The answer: solve rate against compute, per strategy and plan length</h2>"]
    parts += [_figure(f) for f in figures if f.stem == "solve_rate_vs_compute"]
    if len(frontier):
        parts += ["<h3>Compute-optimal: the best run within each budget per instance "
                  "(all domains; oracle scores left out)</h3>", _table(frontier_table(frontier))]
    if len(curves):
        parts += ["<h3>Each run at its largest setting: solved and compute per instance</h3>",
                  _table(run_summary(curves))]
    parts.append(f"<p>{html.escape(COMPUTE_WORDS[0].upper() + COMPUTE_WORDS[1:])}. "
                 f"{MISSING} in a table: no value (no run within the budget, or too few samples "
                 "for that k).</p>")
    return parts


def _side_by_side(table: pd.DataFrame, row: str, value: str) -> pd.DataFrame:
    """A long curve table as rows `row` and one column per "run · domain"."""
    columns = table["run"].astype(str) + " · " + table["domain"].astype(str)
    return table.assign(curve=columns).pivot_table(index=row, columns="curve", values=value,
                                                   aggfunc="first", dropna=False, observed=True)


def render_html(runs: Sequence, tables: dict[str, pd.DataFrame], figures: Sequence[Path],
                notes: Sequence[str]) -> str:
    """One self-contained page: notes, the answer, runs, headline, figures, tables, configs."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>planbench_scale report</title>"
             f"<style>{STYLE}</style><h1>planbench_scale report</h1>"]
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f"<div class='partial'><b>Partial report.</b><ul>{items}</ul></div>")
    parts += _answer(tables, [f for f in figures if f.suffix == ".png"])
    runs_table = pd.DataFrame([{"run": r.name, "folder": str(r.path),
                                "instances": len(r.instances), "samples": len(r.samples)}
                               for r in runs])
    parts += ["<h2>Runs</h2>", _table(runs_table, index=False),
              "<h2>First-sample accuracy, 95% Wilson interval</h2>",
              _table(headline(tables["accuracy_by_domain"]))]
    parts += ["<h2>Figures</h2>"] + [_figure(f) for f in figures if f.suffix == ".png"
                                     and f.stem != "solve_rate_vs_compute"]
    parts.append("<h2>Tables</h2>")
    for heading, name, curve in SECTIONS:
        table = tables[name]
        if not table.empty:
            shown = _side_by_side(table, *curve) if curve else table
            parts += [f"<h3>{html.escape(heading)}</h3>", _table(shown, index=bool(curve))]
    parts.append("<h2>Run configs</h2>")
    for run in runs:
        parts.append(f"<details><summary>{html.escape(run.name)}</summary><pre>"
                     f"{html.escape(json.dumps(run.config.to_json(), indent=2, default=str))}"
                     "</pre></details>")
    return "\n".join(parts)
