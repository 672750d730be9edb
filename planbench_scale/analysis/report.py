"""The report: run folders in, CSV tables, figures and one self-contained HTML page out.

Several runs are compared side by side: every table has a "run" column naming the run by its
model and strategy. Problems that do not stop a report (a run still being written, instances
without samples yet, runs covering different instances of a domain) are listed at the top of the
page and in `Report.notes`; a report built despite them is marked partial.
"""

from __future__ import annotations

import base64
import fcntl
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from planbench_scale.analysis import compute, metrics
from planbench_scale.analysis import plots, reasoning
from planbench_scale.errors import PlanbenchError
from planbench_scale.config import RunConfig
from planbench_scale.strategies import STRATEGIES
from planbench_scale.store import read_config, read_instances, read_samples

COLUMNS = ("instance_id", "sample_index", "round", "strategy", "prompt_tokens",
           "completion_tokens", "valid", "plan", "parent", "score", "finish_reason")
"""The sample columns the report reads (never the large text column)."""


@dataclass(frozen=True)
class Run:
    """One run folder, loaded for the report."""

    name: str
    """Label used in tables and legends: "model · strategy" (with the folder name if needed)."""
    path: Path
    """The run folder."""
    config: RunConfig
    """The stored run config."""
    instances: pd.DataFrame
    """One row per instance the run used: instance_id, domain, vocabulary, n_objects, optimal_length."""
    samples: pd.DataFrame
    """The samples (COLUMNS, "plan" replaced by "plan_code") joined with the instance columns."""
    notes: tuple[str, ...]
    """Why this run's figures are partial, if they are."""


@dataclass(frozen=True)
class Report:
    """What `build_report` wrote."""

    html: Path
    """The self-contained HTML page."""
    tables: tuple[Path, ...]
    """The CSV tables."""
    figures: tuple[Path, ...]
    """The figures (PNG and SVG)."""
    notes: tuple[str, ...]
    """Problems found; non-empty means the report is partial."""


def _label(config: RunConfig, path: Path) -> str:
    """"model · strategy" from the config, falling back to the folder name."""
    model = config.engine.model
    return " · ".join(p for p in (Path(model).name if model else path.name,
                                  config.settings.strategy) if p)


def _being_written(path: Path) -> bool:
    """True when a writer holds the run folder's lock right now."""
    lock = path / ".lock"
    if not lock.exists():
        return False
    with open(lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _instance_table(path: Path) -> pd.DataFrame:
    """The run's instances as a small table."""
    rows = [{"instance_id": i.id, "domain": i.domain, "vocabulary": i.vocabulary,
             "n_objects": len(i.objects), "optimal_length": i.optimal_length}
            for i in read_instances(path)]
    return pd.DataFrame(rows, columns=["instance_id", "domain", "vocabulary", "n_objects",
                                       "optimal_length"])


def load_run(path: str | Path, name: str | None = None) -> Run:
    """Read one run folder: config, instances and the sample columns the report needs."""
    path = Path(path)
    if not path.is_dir():
        raise PlanbenchError(f"not a run folder: {path}")
    config = read_config(path)
    name = name or _label(config, path)
    instances = _instance_table(path)
    damaged: list[str] = []
    try:
        samples = read_samples(path, COLUMNS, on_damage=damaged.append)
    except (pa.ArrowException, OSError) as error:
        raise PlanbenchError(f"cannot read the samples of {path}: {error}") from None
    samples["plan_code"] = metrics.plan_codes(samples.pop("plan"))
    samples["strategy"] = samples["strategy"].astype("category")
    samples, unknown = _with_instance_columns(samples, instances)
    samples["run"] = pd.Categorical.from_codes(np.zeros(len(samples), dtype=np.int8), [name])
    notes = damaged + ([f"{path}: {unknown} samples name instances missing from instances.jsonl "
                        "(left out)"] if unknown else [])
    return Run(name=name, path=path, config=config, instances=instances, samples=samples,
               notes=(*notes, *_run_notes(path, config, samples)))


def _with_instance_columns(samples: pd.DataFrame, instances: pd.DataFrame):
    """The samples with the instance columns added (looked up once per instance), leaving out
    samples whose instance instances.jsonl lacks; returns them and how many were left out."""
    table = instances.drop_duplicates("instance_id").set_index("instance_id")
    codes, uniques = pd.factorize(samples["instance_id"])
    rows = np.append(table.index.get_indexer(uniques), -1)[codes]  # -1: unknown or missing id
    known = rows >= 0
    if not known.all():
        samples, rows = samples.loc[known].reset_index(drop=True), rows[known]
    ids = pd.Categorical.from_codes(rows, categories=table.index)
    samples["instance_id"] = ids
    for column in ("domain", "vocabulary"):
        values = pd.Categorical(table[column])
        samples[column] = pd.Categorical.from_codes(values.codes[ids.codes], values.categories)
    for column in ("n_objects", "optimal_length"):
        samples[column] = table[column].to_numpy()[ids.codes]
    return samples, int((~known).sum())


def _run_notes(path: Path, config: RunConfig, samples: pd.DataFrame):
    """Why a run's figures may be partial."""
    if _being_written(path):
        yield f"{path}: the run is still being written; this report is a snapshot"
    if samples.empty:
        yield f"{path}: no samples stored yet"
        return
    counts = samples["instance_id"][samples["round"].to_numpy() == 0].value_counts()
    missing = int((counts == 0).sum())
    if missing:
        yield f"{path}: {missing} of {len(counts)} instances have no samples yet"
    wanted, counts = config.settings.k, counts[counts > 0]
    budgeted = (config.settings.budget_samples or config.settings.budget_tokens) is not None
    if not budgeted and len(counts) and counts.min() < wanted:
        short = int((counts < wanted).sum())
        yield f"{path}: {short} instances have fewer than the configured k = {wanted} samples"


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Load several runs with distinct names (the folder name is added to clashing labels)."""
    if not paths:
        raise PlanbenchError("no run folders given")
    configs = [(Path(p), read_config(p)) for p in paths]
    labels = [_label(c, p) for p, c in configs]
    names = [f"{label} ({p.name})" if labels.count(label) > 1 else label
             for label, (p, _) in zip(labels, configs)]
    if len(set(names)) < len(names):
        raise PlanbenchError("the same run folder is given twice")
    return [load_run(p, name) for (p, _), name in zip(configs, names)]


def instance_set_notes(runs: Sequence[Run]) -> list[str]:
    """Runs that cover the same domain with different instances cannot be compared directly."""
    notes = []
    for domain in sorted({d for r in runs for d in r.instances["domain"].unique()}):
        sets = {r.name: frozenset(r.instances.loc[r.instances["domain"] == domain, "instance_id"])
                for r in runs}
        sets = {name: ids for name, ids in sets.items() if ids}
        if len(set(sets.values())) > 1:
            shared = len(frozenset.intersection(*sets.values()))
            sizes = ", ".join(f"{name}: {len(ids)}" for name, ids in sets.items())
            notes.append(f"domain {domain}: the runs use different instance sets ({sizes}; "
                         f"{shared} shared); their numbers are not over the same instances")
    return notes


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack the runs' samples, keeping categorical columns categorical (shared categories)."""
    if not frames:
        raise PlanbenchError("no samples in any of the runs: nothing to report yet")
    if len(frames) == 1:
        return frames[0]
    shared = {}
    for column in frames[0].select_dtypes("category"):
        shared[column] = pd.Index(sorted({c for f in frames for c in f[column].cat.categories}))
    frames = [f.assign(**{c: f[c].cat.set_categories(cats) for c, cats in shared.items()})
              for f in frames]
    return pd.concat(frames, ignore_index=True)


def compute_tables(runs: Sequence[Run], target: float = 0.9) -> dict[str, pd.DataFrame]:
    """Every metric table of the report, keyed by CSV name; `target` is the coverage for which
    the power-law fits predict the samples needed."""
    samples = _concat([r.samples for r in runs if len(r.samples)])
    inst = metrics.per_instance(samples)
    cov_steps = metrics.coverage(inst, by=("domain", "steps"))
    chained = [name for name, strategy in STRATEGIES.items() if strategy.unit == "rounds"]
    rounds = metrics.revision_rounds(samples, chained)
    params = {r.name: r.config.engine.parameters for r in runs}
    return {**reasoning.compute_tables(runs), **_search_tables(inst, rounds, samples),
        "accuracy_by_domain": metrics.accuracy(inst, "domain"),
        "accuracy_by_length": metrics.accuracy(inst, ["domain", "optimal_length"]),
        "accuracy_by_blocks": metrics.accuracy(inst, ["domain", "n_objects"]),
        "pass_at_k": metrics.pass_at_k_table(inst, by=("domain", "optimal_length")),
        "coverage": metrics.coverage(inst, by=("domain",)),
        "coverage_by_steps": cov_steps,
        "coverage_fits": metrics.coverage_fits(cov_steps, target=target),
        "majority_vote": metrics.majority_vote(samples),
        "revision_rounds": rounds,
        "cost": metrics.cost(inst, {k: v for k, v in params.items() if v}, by=("domain",)),
    }


def _search_tables(inst: pd.DataFrame, rounds: pd.DataFrame,
                   samples: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Searches and best-of-n beside the other strategies at equal tokens, and the
    compute-optimal strategy per plan length (sampling at every k, searches as one point)."""
    units = inst["strategy"].astype(str).map({n: s.unit for n, s in STRATEGIES.items()})
    searched, others = inst.loc[units == "nodes"], inst.loc[units != "nodes"]
    no_rounds = rounds.iloc[:0].assign(steps=pd.Series(dtype=object))
    by_steps = metrics.tokens_vs_accuracy(inst.loc[units == "samples"], no_rounds,
                                          by=("domain", "steps"))
    found = compute.solved(searched, by=("domain", "steps")).rename(columns={"solved": "accuracy"})
    overall = compute.solved(searched, by=("domain",)).rename(columns={"solved": "accuracy"})
    return {"tokens_vs_accuracy": pd.concat(
                [metrics.tokens_vs_accuracy(others, rounds), overall.assign(unit="nodes")],
                ignore_index=True),
            "search_solved": compute.solved(searched, by=("domain", "steps")),
            "best_of_n": compute.best_of_n(samples),
            "compute_optimal": compute.compute_optimal(pd.concat([by_steps, found],
                                                                 ignore_index=True))}


def draw_figures(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """All figures of the report, into out_dir."""
    return [*plots.accuracy_vs_length(tables["accuracy_by_length"], tables["pass_at_k"], out_dir),
            *plots.coverage_vs_samples(tables["coverage_by_steps"], tables["coverage_fits"], out_dir),
            *plots.fail_at_k(tables["coverage_by_steps"], tables["coverage_fits"], out_dir),
            *plots.accuracy_vs_round(tables["revision_rounds"], out_dir),
            *plots.accuracy_vs_tokens(tables["tokens_vs_accuracy"], out_dir),
            *reasoning.draw_figures(tables, out_dir)]


def build_report(run_dirs: Sequence[str | Path], out_dir: str | Path,
                 target: float = 0.9) -> Report:
    """Load the runs, write the CSV tables, the figures and index.html into out_dir."""
    if not 0 < target < 1:
        raise PlanbenchError(f"target coverage must be between 0 and 1, not {target}")
    runs = load_runs(run_dirs)
    notes = [n for r in runs for n in r.notes] + instance_set_notes(runs)
    tables = compute_tables(runs, target)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PlanbenchError(f"{out} is a file; --out names the report's folder")
    try:
        return _write_report(runs, tables, notes, out)
    except OSError as error:
        raise PlanbenchError(f"cannot write the report into {out}: {error.strerror or error}") from None


def _write_report(runs, tables, notes, out: Path) -> Report:
    out.mkdir(parents=True, exist_ok=True)
    csvs = []
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)  # a value that does not exist: empty cell
        csvs.append(out / f"{name}.csv")
    figures = draw_figures(tables, out / "figures")
    page = out / "index.html"
    page.write_text(render_html(runs, tables, figures, notes))
    return Report(html=page, tables=tuple(csvs), figures=tuple(figures), notes=tuple(notes))


def headline(accuracy: pd.DataFrame) -> pd.DataFrame:
    """First-sample accuracy per domain (rows) and run (columns), as "12.3% [9.8, 15.2] (n=600)"."""
    cells = accuracy.assign(cell=[
        f"{100 * a:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] (n={n})" if n else "n/a"
        for a, lo, hi, n in zip(accuracy["accuracy"], accuracy["ci_low"], accuracy["ci_high"],
                                accuracy["instances"])])
    return cells.pivot(index="domain", columns="run", values="cell").fillna("—")


SECTIONS = (
    ("Accuracy per domain (first sample)", "accuracy_by_domain", None),
    ("Coverage (pass@k): rows k samples, columns run · domain", "coverage", ("k", "coverage")),
    ("Power-law fits of coverage: log(coverage) = a·k^b per step bucket", "coverage_fits", None),
    ("Majority vote@k: rows k samples, columns run · domain", "majority_vote",
     ("k", "majority_vote")),
    ("Valid within r revision rounds: rows r, columns run · domain", "revision_rounds",
     ("round", "accuracy")),
    ("Step searches: solved, tokens and rows per instance, per plan length", "search_solved",
     None),
    ("Best-of-n: the best-scored of n answers is valid; rows n, columns run · domain",
     "best_of_n", ("k", "best_of_n")),
    ("Compute-optimal: the best run within each token budget, per plan length",
     "compute_optimal", None),
    ("Cost: tokens and estimated FLOPs (2 × parameters × tokens)", "cost", None),
    ("Cost in dollars (--price-in, --price-out; reasoning billed as output)", "dollars", None),
    ("Unsolvable instances: accuracy on solvable ones, no-plan recall and false no-plan rate",
     "unsolvable", None),
    ("Accuracy per optimal plan length (first sample)", "accuracy_by_length", None),
    ("Accuracy per number of blocks (first sample)", "accuracy_by_blocks", None),
)
"""The tables shown on the page, in order: heading, table name (every table is also a CSV), and
for curves the (row, value) columns of a side-by-side view with one column per run and domain."""

FIGURE_TITLES = {"accuracy_vs_length": "Accuracy against optimal plan length",
                 "coverage_vs_samples": "Coverage against samples per instance",
                 "fail_at_k": "fail@k against samples (log-log)",
                 "accuracy_vs_round": "Accuracy against revision rounds",
                 "accuracy_vs_tokens": "Accuracy against tokens spent",
                 "solve_rate_vs_tokens": "Solve rate against generated tokens (reasoning included)",
                 "solve_rate_vs_dollars": "Solve rate against dollars spent",
                 "reasoning_tokens_vs_length": "Reasoning tokens against optimal plan length"}


def _side_by_side(table: pd.DataFrame, row: str, value: str) -> pd.DataFrame:
    """A long curve table as rows `row` and one column per "run · domain"."""
    columns = table["run"].astype(str) + " · " + table["domain"].astype(str)
    return table.assign(curve=columns).pivot_table(index=row, columns="curve", values=value,
                                                   aggfunc="first", dropna=False, observed=True)


STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:2px 6px;text-align:right}th{background:#f2f2f2}img{max-width:100%;margin:1em 0}
.partial{background:#fff3cd;border:1px solid #e0b000;padding:.5em 1em}pre{background:#f7f7f7;
padding:.5em;overflow:auto;font-size:12px}"""


def render_html(runs: Sequence[Run], tables: dict[str, pd.DataFrame], figures: Sequence[Path],
                notes: Sequence[str]) -> str:
    """One self-contained page: notes, runs, headline, figures (embedded PNG), tables, configs."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>planbench_scale report</title>"
             f"<style>{STYLE}</style><h1>planbench_scale report</h1>"]
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f"<div class='partial'><b>Partial report.</b><ul>{items}</ul></div>")
    runs_table = pd.DataFrame([{"run": r.name, "folder": str(r.path),
                                "instances": len(r.instances), "samples": len(r.samples)}
                               for r in runs])
    parts += ["<h2>Runs</h2>", runs_table.to_html(index=False),
              "<h2>Headline: first-sample accuracy, 95% Wilson interval</h2>",
              headline(tables["accuracy_by_domain"]).to_html(na_rep="-")]
    for figure in (f for f in figures if f.suffix == ".png"):
        data = base64.b64encode(figure.read_bytes()).decode()
        title = FIGURE_TITLES.get(figure.stem, figure.stem)
        parts.append(f"<h3>{html.escape(title)}</h3>"
                     f"<img alt='{figure.stem}' src='data:image/png;base64,{data}'>")
    for heading, name, curve in SECTIONS:
        table = tables[name]
        if not table.empty:
            shown = _side_by_side(table, *curve) if curve else table
            parts += [f"<h2>{html.escape(heading)}</h2>",
                      shown.to_html(index=bool(curve), na_rep="-",
                                    float_format=lambda v: f"{v:.4g}")]
    parts.append("<h2>Run configs</h2>")
    for run in runs:
        parts.append(f"<details><summary>{html.escape(run.name)}</summary><pre>"
                     f"{html.escape(json.dumps(run.config.to_json(), indent=2, default=str))}</pre></details>")
    return "\n".join(parts)
