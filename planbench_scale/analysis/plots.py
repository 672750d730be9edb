"""Figures for the report, one per question, drawn from the tables in `metrics` (Agg backend).

Every figure is written as PNG (for the HTML page) and SVG (for print), with labelled axes and
units, and legends naming the run (model and strategy) and the domain. Each function returns
the paths it wrote; an empty table writes nothing and returns [].
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from planbench_scale.analysis.metrics import PowerLawFit  # noqa: E402

STYLE = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 9,
         "lines.linewidth": 2.0, "lines.markersize": 5, "axes.grid": True, "grid.alpha": 0.3,
         "svg.fonttype": "none", "figure.dpi": 100}
"""Print-friendly defaults: large fonts, thick lines, text kept as text in SVG."""

COLORS = plt.get_cmap("tab10").colors
MANY_COLORS = plt.get_cmap("tab20").colors
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", ":", "-.")
MOST_BANDS = 4
"""Confidence bands are drawn when at most this many runs share a panel (more would hide the lines)."""


def _save(fig, out_dir: Path, name: str) -> list[Path]:
    """Write `name`.png and `name`.svg into out_dir and close the figure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.svg"]
    fig.savefig(paths[0], dpi=200, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def _label(run: str, domain: str, extra: str = "") -> str:
    """A legend entry: run (model · strategy), domain, and an optional detail."""
    return " · ".join(part for part in (str(run), str(domain), extra) if part)


def _legend(ax, entries: int) -> None:
    """Legend inside the axes when short, to the right of it when long."""
    if entries > 6:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    elif entries:
        ax.legend(frameon=False)


def _pick_ks(ks: Sequence[int], most: int = 3) -> list[int]:
    """Up to `most` values of k > 1, spread evenly on a log scale, largest included."""
    ks = sorted(k for k in set(ks) if k > 1)
    if len(ks) <= most:
        return ks
    picks = np.unique(np.round(np.linspace(0, len(ks) - 1, most)).astype(int))
    return [ks[i] for i in picks]


def accuracy_vs_length(accuracy: pd.DataFrame, pass_k: pd.DataFrame, out_dir: Path) -> list[Path]:
    """First-sample accuracy (95% band) and pass@k against optimal plan length: one panel per
    domain, a colour per run, a line style per k."""
    if accuracy.empty:
        return []
    with plt.rc_context(STYLE):
        domains = sorted(accuracy["domain"].unique())
        runs = sorted(accuracy["run"].unique())
        fig, axes = plt.subplots(1, len(domains), figsize=(5.2 * len(domains) + 2.5, 4.4),
                                 squeeze=False, sharey=True)
        ks = _pick_ks(pass_k["k"].unique(), most=3) if not pass_k.empty else []
        for ax, domain in zip(axes.flat, domains):
            palette = COLORS if len(runs) <= len(COLORS) else MANY_COLORS
            for i, run in enumerate(runs):
                look = dict(color=palette[i % len(palette)], marker=MARKERS[i % len(MARKERS)])
                _length_lines(ax, accuracy[(accuracy["run"] == run) & (accuracy["domain"] == domain)],
                              pass_k[(pass_k["run"] == run) & (pass_k["domain"] == domain)]
                              if not pass_k.empty else pass_k, ks, look, run,
                              band=len(runs) <= MOST_BANDS)
            ax.set_title(f"domain: {domain}")
            ax.set_xlabel("optimal plan length (steps)")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_ylim(-2, 102)
        axes.flat[0].set_ylabel("accuracy (% of instances)")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        for ax in axes.flat[1:]:
            more = ax.get_legend_handles_labels()
            handles += [h for h, l in zip(*more) if l not in labels]
            labels += [l for l in more[1] if l not in labels]
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False)
        fig.suptitle("Accuracy against optimal plan length" + (
            " (band: 95% Wilson interval)" if len(runs) <= MOST_BANDS else ""))
        fig.tight_layout()
        return _save(fig, out_dir, "accuracy_vs_length")


def _length_lines(ax, accuracy: pd.DataFrame, pass_k: pd.DataFrame, ks: Sequence[int],
                  look: dict, run: str, band: bool) -> None:
    """One run's first-sample line (with its 95% band when `band`), and its pass@k lines."""
    if accuracy.empty:
        return
    color = look["color"]
    group = accuracy.sort_values("optimal_length")
    ax.plot(group["optimal_length"], 100 * group["accuracy"], **look,
            label=_label(run, "", "first sample"))
    if band:
        ax.fill_between(group["optimal_length"], 100 * group["ci_low"], 100 * group["ci_high"],
                        color=color, alpha=0.12, linewidth=0)
    for j, k in enumerate(ks):
        curve = pass_k[pass_k["k"] == k].sort_values("optimal_length")
        if curve["pass_at_k"].notna().any():
            ax.plot(curve["optimal_length"], 100 * curve["pass_at_k"], color=color,
                    linestyle=LINESTYLES[1 + j % 3], marker=".", label=_label(run, "", f"pass@{k}"))


def _panels(table: pd.DataFrame):
    """A figure with one axes per (run, domain) of `table`, and the groups in order."""
    groups = list(table.groupby(["run", "domain"], sort=True))
    cols = min(3, len(groups))
    rows = math.ceil(len(groups) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    return fig, list(zip(axes.flat, groups))


def _fit_for(fits: pd.DataFrame, run, domain, steps) -> PowerLawFit | None:
    """The fitted power law of one panel line, if the fit exists."""
    row = fits[(fits["run"] == run) & (fits["domain"] == domain) & (fits["steps"] == steps)]
    if row.empty or not np.isfinite(row["a"].iloc[0]):
        return None
    r = row.iloc[0]
    return PowerLawFit(a=r["a"], b=r["b"], points=int(r["points"]), rmse=r["rmse"])


def _coverage_figure(coverage: pd.DataFrame, fits: pd.DataFrame, fail: bool):
    """Coverage (or fail@k = 1 - coverage, log-log) against k per step bucket, with fitted curves."""
    fig, panels = _panels(coverage)
    order = _bucket_order(coverage["steps"])
    colors = {b: plt.get_cmap("viridis")(0.9 * i / max(len(order) - 1, 1)) for i, b in enumerate(order)}
    for ax, ((run, domain), group) in panels:
        buckets = [b for b in order if b in set(group["steps"])]
        for steps in buckets:
            curve = group[group["steps"] == steps].sort_values("k").dropna(subset=["coverage"])
            y = 1 - curve["coverage"] if fail else curve["coverage"]
            keep = y > 0 if fail else np.ones(len(y), dtype=bool)
            ax.plot(curve["k"][keep], (y if fail else 100 * y)[keep], marker="o", linestyle="none",
                    color=colors[steps])
            fit = _fit_for(fits, run, domain, steps)
            if fit is not None and len(curve):
                k = np.geomspace(1, curve["k"].max(), 100)
                fitted = 1 - fit.coverage(k) if fail else 100 * fit.coverage(k)
                shown = fitted > 0 if fail else np.ones(len(k), dtype=bool)  # log axis: no zeros
                ax.plot(k[shown], fitted[shown], color=colors[steps], linestyle="--", linewidth=1.5)
        ax.set_xscale("log", base=2 if not fail else 10)
        if fail:
            _log_y(ax)
        ax.set_xlabel("samples per instance k (log scale)")
        ax.set_ylabel("fail@k = 1 - coverage (log scale)" if fail else "coverage (% of instances)")
        ax.set_title(_label(run, domain))
    handles = [plt.Line2D([], [], color=colors[b], marker="o", linestyle="--", label=f"{b} steps")
               for b in order]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.92), frameon=False,
               title="optimal length\ndots: measured\ndashed: fitted")
    fig.suptitle("Failure rate against samples (log-log)" if fail else
                 "Coverage against samples, with exponentiated power-law fits")
    fig.tight_layout()
    return fig


def _log_y(ax) -> None:
    """A log y axis; a panel with nothing above zero (every instance solved) says so instead."""
    if not any(len(line.get_ydata()) for line in ax.get_lines()):
        ax.set_ylim(1e-3, 1)
        ax.text(0.5, 0.5, "fail@k = 0: every instance solved", transform=ax.transAxes,
                ha="center", va="center")
    ax.set_yscale("log")


def _bucket_order(steps: pd.Series) -> list:
    """The step buckets present, in their natural order."""
    present = set(steps.dropna())
    if isinstance(steps.dtype, pd.CategoricalDtype):
        return [b for b in steps.cat.categories if b in present]
    return sorted(present)


def _curves(coverage: pd.DataFrame) -> pd.DataFrame:
    """The (run, domain) groups of a coverage table that have more than one k (a curve)."""
    if coverage.empty:
        return coverage
    spread = coverage.groupby(["run", "domain"], observed=True)["k"].transform("nunique")
    return coverage[spread > 1]


def coverage_vs_samples(coverage: pd.DataFrame, fits: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Coverage against samples on a log axis, one panel per run and domain, a line per bucket
    (runs with one sample per instance have no curve and are left out)."""
    coverage = _curves(coverage)
    if coverage.empty:
        return []
    with plt.rc_context(STYLE):
        return _save(_coverage_figure(coverage, fits, fail=False), out_dir,
                     "coverage_vs_samples")


def fail_at_k(coverage: pd.DataFrame, fits: pd.DataFrame, out_dir: Path) -> list[Path]:
    """fail@k = 1 - coverage on log-log axes, one panel per run and domain, a line per bucket."""
    coverage = _curves(coverage)
    if coverage.empty:
        return []
    with plt.rc_context(STYLE):
        return _save(_coverage_figure(coverage, fits, fail=True), out_dir, "fail_at_k")


def accuracy_vs_round(rounds: pd.DataFrame, out_dir: Path) -> list[Path]:
    """First-valid accuracy after r revision rounds, per run and domain."""
    if rounds.empty:
        return []
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 4.8))
        groups = list(rounds.groupby(["run", "domain"], sort=True))
        for i, ((run, domain), group) in enumerate(groups):
            group = group.sort_values("round")
            ax.plot(group["round"], 100 * group["accuracy"], marker="o",
                    color=COLORS[i % len(COLORS)], label=_label(run, domain))
        ax.set_xlabel("revision rounds r (0 = first answer)")
        ax.set_ylabel("valid within r rounds (% of chains)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylim(-2, 102)
        ax.set_title("Accuracy against revision rounds")
        _legend(ax, len(groups))
        return _save(fig, out_dir, "accuracy_vs_round")


UNITS = {"samples": ("o", "-", "more samples"), "rounds": ("s", "--", "more rounds"),
         "nodes": ("^", ":", "step search")}
"""Marker, line style and legend words of each compute unit."""


def accuracy_vs_tokens(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Accuracy (coverage or first-valid) against tokens spent per instance, all strategies."""
    table = table.dropna(subset=["accuracy", "tokens"])
    table = table[table["tokens"] > 0]
    if table.empty:
        return []
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 4.8))
        groups = list(table.groupby(["run", "domain", "unit"], sort=True))
        for i, ((run, domain, unit), group) in enumerate(groups):
            group = group.sort_values("tokens")
            marker, linestyle, words = UNITS.get(unit, UNITS["rounds"])
            ax.plot(group["tokens"], 100 * group["accuracy"], color=COLORS[i % len(COLORS)],
                    marker=marker, linestyle=linestyle, label=_label(run, domain, words))
        ax.set_xscale("log")
        ax.set_xlabel("tokens spent per instance (prompt + generated, log scale)")
        ax.set_ylabel("solved (% of instances)")
        ax.set_ylim(-2, 102)
        ax.set_title("Accuracy against compute")
        _legend(ax, len(groups))
        return _save(fig, out_dir, "accuracy_vs_tokens")
