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

STYLE = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8.5,
         "lines.linewidth": 1.8, "lines.markersize": 5, "axes.grid": True, "grid.alpha": 0.3,
         "svg.fonttype": "none", "figure.dpi": 100}
"""One style for every figure: the same fonts and lines, text kept as text in SVG."""

WIDTH = 11.0
"""Every figure is this wide (inches), so the page shows them all at one scale."""
PANEL_HEIGHT = 3.2
"""Height of one row of panels (inches)."""
MOST_COLUMNS = 3
"""Panels per row."""

COLORS = plt.get_cmap("tab10").colors
MANY_COLORS = plt.get_cmap("tab20").colors
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", ":", "-.")
MOST_BANDS = 4
"""Confidence bands are drawn when at most this many runs share a panel (more would hide the lines)."""


def grid(count: int):
    """A figure of `count` panels, MOST_COLUMNS to a row, WIDTH wide (unused cells hidden)."""
    cols = max(min(MOST_COLUMNS, count), 1)
    rows = math.ceil(max(count, 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, PANEL_HEIGHT * rows + 0.6),
                             squeeze=False, layout="constrained")
    for ax in axes.flat[count:]:
        ax.set_axis_off()
    return fig, list(axes.flat[:count])


def save(fig, out_dir: Path, name: str) -> list[Path]:
    """Write `name`.png and `name`.svg into out_dir at the figure's own size and close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.svg"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def _label(run: str, domain: str, extra: str = "") -> str:
    """A legend entry: run (model · strategy), domain, and an optional detail."""
    return " · ".join(part for part in (str(run), str(domain), extra) if part)


def legend(fig, panels: list, handles=None, title: str | None = None) -> None:
    """The legend inside the figure: in the panel when there is one, else in a row under the
    panels (the figure keeps its width)."""
    if handles is None:
        handles = _unique_handles(panels)
    if not handles:
        return
    if len(panels) == 1 and len(handles) <= 8:
        panels[0].legend(handles=handles, loc="best", framealpha=0.85, title=title)
    else:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)),
                   frameon=False, title=title)


def _unique_handles(panels: list) -> list:
    """The labelled lines of all panels, each label once."""
    seen = {}
    for ax in panels:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return list(seen.values())


def log_x(ax, label: str, base: int = 10) -> None:
    """A log x axis with plain numbers at the powers of `base` only (no crowded minor labels)."""
    ax.set_xscale("log", base=base)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.6g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(label)


def rate_axis(ax, label: str) -> None:
    """A rate axis fixed at 0-100%, whatever the data."""
    ax.set_ylim(0, 100)
    ax.set_ylabel(label)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter())


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
        fig, panels = grid(len(domains))
        ks = _pick_ks(pass_k["k"].unique(), most=3) if not pass_k.empty else []
        palette = COLORS if len(runs) <= len(COLORS) else MANY_COLORS
        for ax, domain in zip(panels, domains):
            for i, run in enumerate(runs):
                look = dict(color=palette[i % len(palette)], marker=MARKERS[i % len(MARKERS)])
                _length_lines(ax, accuracy[(accuracy["run"] == run) & (accuracy["domain"] == domain)],
                              pass_k[(pass_k["run"] == run) & (pass_k["domain"] == domain)]
                              if not pass_k.empty else pass_k, ks, look, run,
                              band=len(runs) <= MOST_BANDS)
            ax.set_title(f"domain: {domain}")
            ax.set_xlabel("optimal plan length (steps)")
            ax.xaxis.get_major_locator().set_params(integer=True)
            rate_axis(ax, "accuracy (% of instances)")
        legend(fig, panels)
        return save(fig, out_dir, "accuracy_vs_length")


def _length_lines(ax, accuracy: pd.DataFrame, pass_k: pd.DataFrame, ks: Sequence[int],
                  look: dict, run: str, band: bool) -> None:
    """One run's first-sample line (with its 95% band when `band`), and its pass@k lines."""
    if accuracy.empty:
        return
    color = look["color"]
    group = accuracy.sort_values("optimal_length")
    ax.plot(group["optimal_length"], 100 * group["accuracy"], **look, clip_on=False,
            label=_label(run, "", "first sample"))
    if band:
        ax.fill_between(group["optimal_length"], 100 * group["ci_low"], 100 * group["ci_high"],
                        color=color, alpha=0.12, linewidth=0)
    for j, k in enumerate(ks):
        curve = pass_k[pass_k["k"] == k].sort_values("optimal_length")
        if curve["pass_at_k"].notna().any():
            ax.plot(curve["optimal_length"], 100 * curve["pass_at_k"], color=color, clip_on=False,
                    linestyle=LINESTYLES[1 + j % 3], marker=".", label=_label(run, "", f"pass@{k}"))


def _fit_for(fits: pd.DataFrame, run, domain, steps) -> PowerLawFit | None:
    """The fitted power law of one panel line, if the fit exists."""
    row = fits[(fits["run"] == run) & (fits["domain"] == domain) & (fits["steps"] == steps)]
    if row.empty or not np.isfinite(row["a"].iloc[0]):
        return None
    r = row.iloc[0]
    return PowerLawFit(a=r["a"], b=r["b"], points=int(r["points"]), rmse=r["rmse"])


def _coverage_figure(coverage: pd.DataFrame, fits: pd.DataFrame, fail: bool):
    """Coverage (or fail@k = 1 - coverage, log-log) against k per step bucket, with fitted curves:
    one panel per run and domain."""
    groups = list(coverage.groupby(["run", "domain"], sort=True, observed=True))
    fig, panels = grid(len(groups))
    order = _bucket_order(coverage["steps"])
    colors = {b: plt.get_cmap("viridis")(0.9 * i / max(len(order) - 1, 1)) for i, b in enumerate(order)}
    for ax, ((run, domain), group) in zip(panels, groups):
        for steps in [b for b in order if b in set(group["steps"])]:
            curve = group[group["steps"] == steps].sort_values("k").dropna(subset=["coverage"])
            y = 1 - curve["coverage"] if fail else 100 * curve["coverage"]
            keep = y > 0 if fail else np.ones(len(y), dtype=bool)
            ax.plot(curve["k"][keep], y[keep], marker="o", linestyle="none", clip_on=False,
                    color=colors[steps])
            fit = _fit_for(fits, run, domain, steps)
            if fit is not None and len(curve):
                k = np.geomspace(1, curve["k"].max(), 100)
                fitted = 1 - fit.coverage(k) if fail else 100 * fit.coverage(k)
                shown = fitted > 0 if fail else np.ones(len(k), dtype=bool)  # log axis: no zeros
                ax.plot(k[shown], fitted[shown], color=colors[steps], linestyle="--", linewidth=1.5)
        log_x(ax, "samples per instance k (log scale)", base=2)
        if fail:
            _log_y(ax)
            ax.set_ylabel("fail@k = 1 - coverage (log scale)")
        else:
            rate_axis(ax, "coverage (% of instances)")
        ax.set_title(_label(run, domain), fontsize=8.5, wrap=True)
    handles = [plt.Line2D([], [], color=colors[b], marker="o", linestyle="--", label=f"{b} steps")
               for b in order]
    legend(fig, panels, handles, title="optimal length (dots: measured, dashed: fit)")
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
        return save(_coverage_figure(coverage, fits, fail=False), out_dir,
                     "coverage_vs_samples")


def fail_at_k(coverage: pd.DataFrame, fits: pd.DataFrame, out_dir: Path) -> list[Path]:
    """fail@k = 1 - coverage on log-log axes, one panel per run and domain, a line per bucket."""
    coverage = _curves(coverage)
    if coverage.empty:
        return []
    with plt.rc_context(STYLE):
        return save(_coverage_figure(coverage, fits, fail=True), out_dir, "fail_at_k")


def accuracy_vs_round(rounds: pd.DataFrame, out_dir: Path) -> list[Path]:
    """First-valid accuracy after r revision rounds, per run and domain."""
    if rounds.empty:
        return []
    with plt.rc_context(STYLE):
        fig, panels = grid(1)
        ax = panels[0]
        for i, ((run, domain), group) in enumerate(rounds.groupby(["run", "domain"], sort=True)):
            group = group.sort_values("round")
            ax.plot(group["round"], 100 * group["accuracy"], marker="o", clip_on=False,
                    color=COLORS[i % len(COLORS)], label=_label(run, domain))
        ax.set_xlabel("revision rounds r (0 = first answer)")
        rate_axis(ax, "valid within r rounds (% of chains)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        legend(fig, panels)
        return save(fig, out_dir, "accuracy_vs_round")


def solve_rate_vs_compute(curves: pd.DataFrame, frontier: pd.DataFrame, out_dir: Path,
                          unit: str = "tokens", name: str = "solve_rate_vs_compute") -> list[Path]:
    """Solve rate against compute per instance (in `unit`), one panel per step bucket: a line
    per run (a point for a search) with its 95% bootstrap band where few runs share the panel,
    runs that spend nothing as a level across the panel, and the compute-optimal frontier
    (`compute.compute_optimal`) as a black step line."""
    if curves.empty:
        return []
    with plt.rc_context(STYLE):
        buckets = _bucket_order(curves["steps"])
        fig, panels = grid(len(buckets))
        runs = sorted(curves["run"].astype(str).unique())
        palette = COLORS if len(runs) <= len(COLORS) else MANY_COLORS
        looks = {run: dict(color=palette[i % len(palette)], marker=MARKERS[i % len(MARKERS)])
                 for i, run in enumerate(runs)}
        for ax, steps in zip(panels, buckets):
            panel = curves[curves["steps"] == steps]
            bands = panel["run"].nunique() <= MOST_BANDS and "ci_low" in panel
            for run, group in panel.groupby("run", observed=True):
                _compute_line(ax, str(run), group.sort_values("compute"), looks[str(run)], bands)
            best = frontier[frontier["steps"] == steps].sort_values("budget")
            best = best[best["budget"] > 0]
            ax.step(best["budget"], 100 * best["solve_rate"], where="post", color="black",
                    linewidth=1.2, alpha=0.7, label="compute-optimal (best within budget)")
            log_x(ax, f"compute per instance ({unit}, log scale)")
            ax.set_title(f"optimal plan length {steps} steps")
            rate_axis(ax, "solved (% of instances)")
        legend(fig, panels)
        return save(fig, out_dir, name)


def _compute_line(ax, run: str, group: pd.DataFrame, look: dict, band: bool = False) -> None:
    """One run's points (with its bootstrap band when `band`); a run that spent nothing is a
    dashed level line instead."""
    if (group["compute"] > 0).any():
        style = ":" if (group["kind"] == "oracle").any() else "-"
        ax.plot(group["compute"], 100 * group["solve_rate"], linestyle=style, clip_on=False,
                label=run, **look)
        if band and len(group) > 1:
            ax.fill_between(group["compute"], 100 * group["ci_low"], 100 * group["ci_high"],
                            color=look["color"], alpha=0.12, linewidth=0)
        elif band:
            ax.errorbar(group["compute"], 100 * group["solve_rate"], color=look["color"],
                        yerr=[100 * (group["solve_rate"] - group["ci_low"]),
                              100 * (group["ci_high"] - group["solve_rate"])], capsize=3)
    else:
        ax.axhline(100 * group["solve_rate"].max(), color=look["color"], linestyle="--",
                   label=f"{run} (no tokens)")


def horizon_vs_compute(horizons: pd.DataFrame, out_dir: Path, unit: str = "tokens",
                       name: str = "horizon_vs_compute") -> list[Path]:
    """The plan-length horizon h50 against compute per instance, a line per run with its 95%
    bootstrap interval; a horizon below the shortest length tried is a down-triangle on it,
    one beyond the longest an up-triangle there (dashed lines: the lengths tried); a run that
    spent nothing is a level line."""
    if horizons.empty:
        return []
    with plt.rc_context(STYLE):
        fig, (ax,) = grid(1)
        shortest, longest = horizons["shortest"].min(), horizons["longest"].max()
        runs = horizons.groupby("run", observed=True, sort=True)
        palette = COLORS if len(runs) <= len(COLORS) else MANY_COLORS
        for i, (run, group) in enumerate(runs):
            _horizon_line(ax, str(run), group.sort_values("compute"), shortest, longest,
                          palette[i % len(palette)])
        for edge in (shortest, longest):
            ax.axhline(edge, color="grey", linestyle="--", linewidth=0.8)
        log_x(ax, f"compute per instance ({unit}, log scale)")
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_ylim(shortest / 1.5, longest * 1.5)
        ax.set_ylabel("h50: plan length solved half the time (steps)")
        legend(fig, [ax])
        return save(fig, out_dir, name)


def _horizon_line(ax, run: str, group: pd.DataFrame, shortest: float, longest: float,
                  color) -> None:
    """One run's h50 points, clipped to the lengths tried, with interval bars."""
    shown = group["h50"].clip(shortest, longest)
    low, high = group["h50_low"].clip(shortest, longest), group["h50_high"].clip(shortest, longest)
    if not (group["compute"] > 0).any():
        ax.axhline(float(shown.iloc[-1]), color=color, linestyle="--", label=f"{run} (no tokens)")
        return
    style = ":" if "kind" in group and (group["kind"] == "oracle").any() else "-"
    ax.errorbar(group["compute"], shown, yerr=[shown - low, high - shown], color=color,
                linestyle=style, marker="o", capsize=3, label=run)
    for edge, marker, outside in ((shortest, "v", group["h50"] < shortest),
                                  (longest, "^", group["h50"] > longest)):
        ax.plot(group.loc[outside, "compute"], [edge] * int(outside.sum()), marker, color=color,
                markersize=8, linestyle="none")
