"""The report: run folders in, CSV tables, figures and one self-contained HTML page out.

Several runs are compared side by side: every table has a "run" column naming the run by its
model and strategy. Problems that do not stop a report (a run still being written, instances
without samples yet, runs covering different instances of a domain) are listed at the top of the
page and in `Report.notes`; a report built despite them is marked partial.
"""

from __future__ import annotations

import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from planbench_scale.analysis import (compute, horizon, ledger, metrics, page, plots, reasoning,
                                      tasks, trees, variance, vote)
from planbench_scale.errors import PlanbenchError
from planbench_scale.config import RunConfig, Settings
from planbench_scale.interop.answers import verdict_agreement
from planbench_scale.records import Instance
from planbench_scale.score import SELF_VERIFY
from planbench_scale.strategies import STRATEGIES
from planbench_scale.store import read_config, read_instances, read_samples

COLUMNS = ("instance_id", "sample_index", "round", "strategy", "prompt_tokens",
           "completion_tokens", "valid", "plan", "parent", "depth", "score", "finish_reason",
           "cached_tokens", "computed_tokens", "schema_version")
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


def _label(config: RunConfig, path: Path, scored: bool = False) -> str:
    """"model · strategy" from the config (the folder name without a model); searches add
    where their steps come from, revision its critic when not the validator, and runs that
    store scores their score (self-verify with its mode), marked when it is an oracle."""
    model, settings = config.engine.model, config.settings
    parts = [Path(model).name if model else path.name, settings.strategy]
    if settings.task != Settings().task:
        parts.insert(1, f"task {settings.task}")
    if STRATEGIES.get(settings.strategy) and STRATEGIES[settings.strategy].unit == "nodes":
        parts.append(f"{settings.propose} steps")
    if settings.critic != Settings().critic:
        parts.append(f"critic {settings.critic}")
    if scored:
        oracle = " (oracle)" if settings.score in compute.ORACLE_SCORES else ""
        mode = f" ({settings.self_verify})" if settings.score == SELF_VERIFY else ""
        parts.append(f"score {settings.score}{mode}{oracle}")
    return " · ".join(p for p in parts if p)


def _scored(path: Path) -> bool:
    """Whether any stored row of the run carries a score."""
    try:
        return bool(read_samples(path, ["score"])["score"].notna().any())
    except (pa.ArrowException, OSError, KeyError):
        return False


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


def _instance_table(instances: Sequence[Instance]) -> pd.DataFrame:
    """The run's instances as a small table."""
    rows = [{"instance_id": i.id, "domain": i.domain, "vocabulary": i.vocabulary,
             "n_objects": len(i.objects), "optimal_length": i.optimal_length}
            for i in instances]
    return pd.DataFrame(rows, columns=["instance_id", "domain", "vocabulary", "n_objects",
                                       "optimal_length"])


def load_run(path: str | Path, name: str | None = None) -> Run:
    """Read one run folder: config, instances and the sample columns the report needs."""
    path = Path(path)
    if not path.is_dir():
        raise PlanbenchError(f"not a run folder: {path}")
    config = read_config(path)
    name = name or _label(config, path, _scored(path))
    records = read_instances(path)
    instances = _instance_table(records)
    damaged: list[str] = []
    try:
        samples = read_samples(path, COLUMNS, on_damage=damaged.append)
    except (pa.ArrowException, OSError) as error:
        raise PlanbenchError(f"cannot read the samples of {path}: {error}") from None
    samples["state_code"] = vote.state_codes(records, samples["instance_id"], samples["plan"])
    samples["plan_code"] = vote.plan_codes(samples.pop("plan"))
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
    searched = config.settings.strategy not in _strategies("samples") + _strategies("rounds")
    if not (budgeted or searched) and len(counts) and counts.min() < wanted:
        short = int((counts < wanted).sum())
        yield f"{path}: {short} instances have fewer than the configured k = {wanted} samples"


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Load several runs with distinct names (the folder name is added to clashing labels)."""
    if not paths:
        raise PlanbenchError("no run folders given")
    configs = [(Path(p), read_config(p)) for p in paths]
    labels = [_label(c, p, _scored(p)) for p, c in configs]
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


def compute_tables(runs: Sequence[Run], target: float = 0.9,
                   axis: str = "tokens") -> dict[str, pd.DataFrame]:
    """Every metric table of the report, keyed by CSV name; `target` is the coverage for which
    the power-law fits predict the samples needed, `axis` the compute axis (`ledger.UNITS`)."""
    samples = _concat([r.samples for r in runs if len(r.samples)])
    samples["steps"] = metrics.step_bucket(samples["optimal_length"])
    samples["cost"] = ledger.row_cost(samples, {r.name: r.config.engine for r in runs}, axis)
    inst = metrics.per_instance(samples)
    answered = inst.loc[inst["strategy"].astype(str).isin(_strategies("samples")
                                                          + _strategies("rounds"))]
    sampled = inst.loc[inst["strategy"].astype(str).isin(_strategies("samples"))]
    cov_steps = metrics.coverage(sampled, by=("domain", "steps"))
    rounds = metrics.revision_rounds(samples, _strategies("rounds"))
    answers = samples.loc[samples["strategy"].astype(str).isin(_strategies("samples"))]
    return {**_compute_tables(runs, inst, samples), **reasoning.compute_tables(runs),
        "ledger": ledger.ledger_names(samples).assign(axis=axis, unit=ledger.UNITS[axis]),
        "accuracy_by_domain": metrics.accuracy(answered, "domain"),
        "accuracy_by_length": metrics.accuracy(answered, ["domain", "optimal_length"]),
        "accuracy_by_blocks": metrics.accuracy(answered, ["domain", "n_objects"]),
        "pass_at_k": metrics.pass_at_k_table(sampled, by=("domain", "optimal_length")),
        "coverage": metrics.coverage(sampled, by=("domain",)),
        "coverage_by_steps": cov_steps,
        "coverage_fits": metrics.coverage_fits(cov_steps, target=target),
        "majority_vote": vote.majority_vote(answers),
        "majority_vote_state": vote.majority_vote(answers, code="state_code"),
        "revision_rounds": rounds,
        "cost": metrics.cost(inst, by=("domain",)),
        "accuracy_by_task": tasks.accuracy_by_task(runs), **tasks.task_tables(runs),
        "selection_vs_verifier": tasks.selection_vs_verifier(samples, inst),
        "verification_calls": tasks.verification_calls(runs),
        "imported_verdicts": verdict_agreement(runs),
    }


def _strategies(unit: str) -> list[str]:
    """The names of the strategies that spend compute in `unit`."""
    return [name for name, strategy in STRATEGIES.items() if strategy.unit == unit]


def _kinds(runs: Sequence[Run], inst: pd.DataFrame) -> dict[str, str]:
    """Each run's kind: "oracle" (an oracle step score), "no model" (no tokens spent) or "model"."""
    spent = inst.groupby("run", observed=True)["compute"].sum()
    return {r.name: "oracle" if (r.config.settings.score in compute.ORACLE_SCORES
                                 and "(oracle)" in r.name)
            else "no model" if spent.get(r.name, 0) == 0 else "model" for r in runs}


def _compute_tables(runs: Sequence[Run], inst: pd.DataFrame,
                    samples: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Solve rate against compute for every strategy (over all domains, and per domain) with
    bootstrap intervals, the compute-optimal run within each budget (oracles left out) with how
    often the bootstrap picks it, the plan-length horizons, searches and best-of-n."""
    units = inst["strategy"].astype(str).map({n: s.unit for n, s in STRATEGIES.items()})
    kinds, tables = _kinds(runs, inst), {}
    for suffix, by in (("", ("steps",)), ("_by_domain", ("domain", "steps"))):
        points = compute.instance_points(inst, samples, units, by)
        curves = compute.solve_curves(points, by)
        curves["kind"] = curves["run"].astype(str).map(kinds)
        frontier = compute.compute_optimal(curves.loc[curves["kind"] != "oracle"], by=by)
        curves, frontier = variance.with_intervals(points, curves, frontier, by)
        tables[f"solve_rate_vs_compute{suffix}"] = curves
        tables[f"compute_optimal{suffix}"] = frontier
    pooled = compute.instance_points(inst, samples, units, ("domain",))
    tables["horizon"] = horizon.horizons(pooled).assign(
        kind=lambda t: t["run"].astype(str).map(kinds))
    tables["horizon_by_domain"] = horizon.horizons(pooled, by=("domain",))
    tables["seed_spread"] = _seed_spread(runs, tables["solve_rate_vs_compute"])
    return {**tables, "search_solved": compute.solved(inst.loc[units == "nodes"]),
            "best_of_n": compute.best_of_n(samples)}


def _seed_spread(runs: Sequence[Run], curves: pd.DataFrame) -> pd.DataFrame:
    """The spread of solve rates between runs that differ only in their seed (`--seeds`)."""
    family = {r.name: _label(r.config, r.path) for r in runs}
    seeds = {r.name: r.config.settings.seed for r in runs}
    curves = curves.assign(family=curves["run"].astype(str).map(family),
                           seed=curves["run"].astype(str).map(seeds))
    repeated = curves.groupby("family")["seed"].transform("nunique") > 1
    return variance.seed_spread(curves.loc[repeated], ["family", "steps", "unit", "budget"])


def draw_figures(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """All figures of the report, into out_dir, the answer first."""
    unit = str(tables["ledger"]["unit"].iloc[0]) if len(tables["ledger"]) else "tokens"
    return [*plots.horizon_vs_compute(tables["horizon"], out_dir, unit),
            *plots.solve_rate_vs_compute(tables["solve_rate_vs_compute"],
                                         tables["compute_optimal"], out_dir, unit),
            *plots.accuracy_vs_length(tables["accuracy_by_length"], tables["pass_at_k"], out_dir),
            *plots.coverage_vs_samples(tables["coverage_by_steps"], tables["coverage_fits"], out_dir),
            *plots.fail_at_k(tables["coverage_by_steps"], tables["coverage_fits"], out_dir),
            *plots.accuracy_vs_round(tables["revision_rounds"], out_dir),
            *reasoning.draw_figures(tables, out_dir)]


def build_report(run_dirs: Sequence[str | Path], out_dir: str | Path,
                 target: float = 0.9, compute_axis: str = "tokens") -> Report:
    """Load the runs, write the CSV tables, the figures and index.html into out_dir; compute
    is counted on `compute_axis` ("tokens", "flops" or "dollars", see `ledger`)."""
    if not 0 < target < 1:
        raise PlanbenchError(f"target coverage must be between 0 and 1, not {target}")
    ledger.check_axis(compute_axis)
    runs = load_runs(run_dirs)
    notes = [n for r in runs for n in r.notes] + instance_set_notes(runs)
    tables = compute_tables(runs, target, compute_axis)
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
    figures = draw_figures(tables, out / "figures") + trees.draw_search_trees(runs, out / "figures")
    index = out / "index.html"
    index.write_text(page.render_html(runs, tables, figures, notes))
    return Report(html=index, tables=tuple(csvs), figures=tuple(figures), notes=tuple(notes))
