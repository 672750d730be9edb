"""The report's HTML page: the answer first (the plan-length horizon and the solve rate against
compute per strategy and plan length, the compute-optimal strategy within each budget, the
ledger compute was counted with), then every figure with a line
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

from planbench_scale.analysis.horizon import describe

MISSING = "–"
"""How a value that does not exist is shown."""
LEAD = ("horizon_vs_compute", "solve_rate_vs_compute")
"""The figures the page leads with (not repeated under "Figures")."""

COMPUTE_WORDS = {
    "tokens": "compute per instance = prompt tokens the model computed (not those served from "
              "its prefix cache) + generated tokens, for sampled, revised and scoring calls "
              "alike (what --budget-tokens counts)",
    "flops": "compute per instance = forward FLOPs: 2 × parameters per computed or generated "
             "token + 2 × layers × attention width × the tokens it attends to (Kaplan et al. "
             "2020)",
    "dollars": "compute per instance = US dollars: computed prompt tokens at --price-in, cached "
               "ones at --price-cached-in, generated tokens at --price-out"}
"""The definition of compute on each axis (`--compute`), named under the answer."""

FIGURES = {
    "horizon_vs_compute": (
        "Plan-length horizon against compute",
        "h50: the optimal plan length at which the run succeeds half the time, from a logistic "
        "fit of instance success on log2 plan length (METR's time-horizon method), with its "
        "95% interval from a bootstrap over instances and over answers within them. A "
        "triangle on a dashed line: the horizon lies below the shortest (▽) or beyond the "
        "longest (△) length tried, so no number is claimed."),
    "solve_rate_vs_compute": (
        "Solve rate against compute, per plan length",
        "One panel per optimal plan length. Each run is a line over its compute settings "
        "(k samples, r revision rounds; a search is one point). Solved: the strategy's result "
        "is a valid plan (for sampling, any of k answers, picked by the validator; for "
        "best-of-n, the answer its scorer picks). A run that spent no tokens (the random-legal "
        "control, searches over legal steps without model scores) is a dashed level; oracle "
        "scores are dotted. The black steps are the compute-optimal frontier: the best "
        "non-oracle run within each budget. Bands: 95% bootstrap intervals over instances."),
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
    ("Plan-length horizon per domain", "horizon_by_domain", None),
    ("Solve rate against compute, per run and plan length (95% bootstrap interval)",
     "solve_rate_vs_compute", None),
    ("Spread over seeds (--seeds): the same run repeated with other seeds", "seed_spread", None),
    ("The compute ledger each run was measured with", "ledger", None),
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
    ("Cost: tokens read, computed and generated, and compute per instance and valid plan",
     "cost", None),
    ("Cost in dollars (--price-in, --price-cached-in, --price-out; reasoning billed as output)",
     "dollars", None),
    ("Unsolvable instances: accuracy on solvable ones, no-plan recall and false no-plan rate",
     "unsolvable", None),
    ("Imported answers: valid by our validator and by the tool that made them (PlanBench's "
     "own verdict for its results), and how often the two agree", "imported_verdicts", None),
    ("Accuracy per optimal plan length (first sample)", "accuracy_by_length", None),
    ("Accuracy per number of blocks (first sample)", "accuracy_by_blocks", None),
    ("Accuracy per task, domain and plan length (first answers; 95% Wilson interval)",
     "accuracy_by_task", None),
    ("Plan verification: the validator's kind of the plan shown x the kind the answer claims",
     "verification_confusion", None),
    ("Plan verification: the model as verifier of \"valid\", precision and recall against the "
     "validator; share right on the verdict, the failure type and all counts", "self_verification",
     None),
    ("Plan execution: exact resulting states and the mean share of facts right",
     "execution_share_right", None),
    ("Best-of-n at equal compute (k answers) per plan length: coverage (the sound verifier "
     "picks), the answer the run's score selects (self-verify: the model as its own verifier), "
     "majority vote and the first sample", "selection_vs_verifier", None),
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


def amount(value: float, unit: str) -> str:
    """A compute amount in its unit: "1,234 tokens", "3.1e+12 FLOPs", "$0.0042"."""
    if unit == "USD":
        return f"${value:.2g}" if value < 1 else f"${value:,.2f}"
    if unit == "FLOPs":
        return f"{value:.2g} FLOPs"
    return f"{value:,.0f} {unit}"


def budget_grid(frontier: pd.DataFrame) -> list[float]:
    """Budgets for the answer table: 0 and the powers of ten from the smallest budget a run
    reached to the largest (at most eight)."""
    budgets = frontier["budget"][frontier["budget"] > 0] if len(frontier) else pd.Series([])
    if budgets.empty:
        return [0.0]
    low, high = np.floor(np.log10(budgets.min())), np.ceil(np.log10(budgets.max()))
    return [0.0, *(10.0 ** e for e in np.arange(max(low, high - 7), high + 1))]


def frontier_table(frontier: pd.DataFrame, unit: str = "tokens") -> pd.DataFrame:
    """The compute-optimal run per plan length (rows) within each budget of `budget_grid`
    (columns), as "run: 25% (same pick in 80% of draws)" ("none solved" when no run solved
    any; a dash where no run fits within the budget)."""
    budgets, rows = budget_grid(frontier), {}
    for steps, group in frontier.groupby("steps", observed=True, sort=True):
        cells = {}
        for budget in budgets:
            within = group.loc[group["budget"] <= budget]
            best = within.iloc[-1] if len(within) else None
            cells[f"≤ {amount(budget, unit)}"] = _frontier_cell(best)
        rows[f"{steps} steps"] = cells
    return pd.DataFrame.from_dict(rows, orient="index")


def _frontier_cell(best) -> str:
    """"run: 25% (same pick in 80% of draws)", "none solved" when the best run solved
    nothing, a dash when none fits."""
    if best is None:
        return MISSING
    if best["solve_rate"] == 0:
        return "none solved"
    pick = best.get("same_pick", np.nan)
    agreement = "" if pd.isna(pick) else f" (same pick in {100 * pick:.0f}% of draws)"
    return f"{best['best_run']}: {100 * best['solve_rate']:.0f}%{agreement}"


def run_summary(curves: pd.DataFrame, unit: str = "tokens") -> pd.DataFrame:
    """Per run (rows) and plan length (columns): the solve rate at the run's largest setting,
    its 95% bootstrap interval and the compute it took, as "25% [10, 45] at 1,234 tokens"."""
    last = curves.dropna(subset=["solve_rate"]).sort_values("budget").groupby(
        ["run", "steps"], observed=True).tail(1)
    low = last.get("ci_low", pd.Series(np.nan, index=last.index))
    high = last.get("ci_high", pd.Series(np.nan, index=last.index))
    last = last.assign(cell=[f"{100 * r:.0f}%{_interval(lo, hi)} at {amount(c, unit)}"
                             for r, lo, hi, c in zip(last["solve_rate"], low, high,
                                                     last["compute"])])
    table = last.pivot(index="run", columns="steps", values="cell").fillna(MISSING)
    table.columns = [f"{c} steps" for c in table.columns]
    table.index.name = None
    return table


def _interval(low: float, high: float) -> str:
    """" [10, 45]" in percent, or nothing where there is no interval."""
    return "" if pd.isna(low) or pd.isna(high) else f" [{100 * low:.0f}, {100 * high:.0f}]"


def horizon_table(horizons: pd.DataFrame, unit: str = "tokens") -> pd.DataFrame:
    """Per run and compute setting: compute, solve rate, h50 and h80 with their intervals in
    words (`horizon.describe`) and the fit's slope."""
    rows = [{"run": h["run"], "setting": f"{h['unit']} = {h['budget']:g}",
             "compute": amount(h["compute"], unit), "solved": f"{100 * h['solve_rate']:.0f}%",
             "h50": describe(h["h50"], h["h50_low"], h["h50_high"]),
             "h80": describe(h["h80"], h["h80_low"], h["h80_high"]),
             "slope (per doubling)": f"{h['slope']:.2f}",
             "lengths tried": f"{h['shortest']:g}-{h['longest']:g}"}
            for _, h in horizons.iterrows()]
    return pd.DataFrame(rows)


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
    """The page's lead: the horizon against compute (figure and table), the solve rate
    against compute, the compute-optimal run per plan length and budget, each run's result,
    and the ledger it was measured with."""
    curves, frontier = tables["solve_rate_vs_compute"], tables["compute_optimal"]
    book = tables["ledger"]
    axis = str(book["axis"].iloc[0]) if len(book) else "tokens"
    unit = str(book["unit"].iloc[0]) if len(book) else "tokens"
    parts = ["<h2>How far it plans: the plan-length horizon against compute</h2>"]
    parts += [_figure(f) for f in figures if f.stem == "horizon_vs_compute"]
    if len(tables["horizon"]):
        parts.append(_table(horizon_table(tables["horizon"], unit), index=False))
    parts.append("<h2>The answer: solve rate against compute, per strategy and plan length</h2>")
    parts += [_figure(f) for f in figures if f.stem == "solve_rate_vs_compute"]
    if len(frontier):
        parts += ["<h3>Compute-optimal: the best run within each budget per instance "
                  "(all domains; oracle scores left out)</h3>",
                  _table(frontier_table(frontier, unit))]
    if len(curves):
        parts += ["<h3>Each run at its largest setting: solved [95% bootstrap interval] and "
                  "compute per instance</h3>", _table(run_summary(curves, unit))]
    words = COMPUTE_WORDS[axis]
    measured = "; ".join(f"{r}: {l}" for r, l in zip(book["run"], book["ledger"]))
    parts.append(f"<p>{html.escape(words[0].upper() + words[1:])}. Ledger: "
                 f"{html.escape(measured)}. {MISSING} in a table: no value (no run within the "
                 "budget, or too few samples for that k).</p>")
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
                                     and f.stem not in LEAD]
    parts.append("<h2>Tables</h2>")
    for heading, name, curve in SECTIONS:
        table = tables.get(name, pd.DataFrame())
        if not table.empty:
            shown = _side_by_side(table, *curve) if curve else table
            parts += [f"<h3>{html.escape(heading)}</h3>", _table(shown, index=bool(curve))]
    parts.append("<h2>Run configs</h2>")
    for run in runs:
        parts.append(f"<details><summary>{html.escape(run.name)}</summary><pre>"
                     f"{html.escape(json.dumps(run.config.to_json(), indent=2, default=str))}"
                     "</pre></details>")
    return "\n".join(parts)
