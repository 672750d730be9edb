"""The command line: thin click commands over the library functions.

Bad input (`PlanbenchError`) is reported as one clear line and exit code 2, never a traceback.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from . import __version__
from .errors import PlanbenchError
from .instances import generate_set, write_set
from .vocab import DOMAINS


class _Group(click.Group):
    """A click group that turns bad input into a message and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PlanbenchError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="planbench-scale")
def main() -> None:
    """Measure how well language models plan, and how much extra inference compute buys back.

    The stages, in order: generate (instance sets), prompt / extract / validate (one answer),
    run (sample or revise with a model), report (tables, plots, HTML).
    """


def _range(text: str) -> tuple[int, int]:
    """"3-20" -> (3, 20); "5" -> (5, 5)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise PlanbenchError(f"not a range: {text!r} (write it like 3-20, or 5)")
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if low > high:
        raise PlanbenchError(f"empty range: {text!r}")
    return low, high


@main.command()
@click.option("--domain", "domains", multiple=True, required=True, type=click.Choice(DOMAINS),
              help="Domain to write the set in; repeat it for several (each gets DIR/<domain>/, same problems).")
@click.option("--blocks", default="3-20", show_default=True,
              help="Block counts an instance may have, as LOW-HIGH.")
@click.option("--steps", default="2-40", show_default=True,
              help="Step counts (optimal plan lengths, in actions) to fill, as LOW-HIGH; only even ones exist.")
@click.option("--per-step", default=20, show_default=True, type=click.IntRange(min=1),
              help="Instances per step count.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the whole set (and of the Randomized vocabulary); same seed, same files.")
@click.option("--partial-goals", is_flag=True,
              help="Keep each `on` fact of the goal state with probability 1/2 instead of all of them.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder to write domain.pddl, one problem PDDL per instance and manifest.jsonl.")
def generate(domains, blocks, steps, per_step, seed, partial_goals, out):
    """Generate a Blocksworld instance set stratified by optimal plan length.

    Initial and goal states are drawn uniformly over all states of the block count, goals are
    `on` facts; every instance carries a certified optimal plan. Progress goes to stderr.

    Example: planbench-scale generate --domain mystery --blocks 3-20 --steps 2-40 --per-step 20 --out sets/m0
    """
    for domain in dict.fromkeys(domains):
        folder = Path(out) / domain if len(set(domains)) > 1 else Path(out)
        click.echo(f"{domain}: generating into {folder}", err=True)
        instances = generate_set(domain, _range(blocks), _range(steps), per_step, seed, partial_goals,
                                 progress=lambda message: click.echo(f"  {message}", err=True))
        write_set(instances, folder)
        click.echo(f"{domain}: wrote {len(instances)} instances to {folder}", err=True)


@main.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the CSV tables, figures/ (PNG and SVG) and index.html.")
def report_command(runs: tuple[Path, ...], out_dir: Path) -> None:
    """Tables, figures and one self-contained HTML page from one or more run folders.

    RUNS are folders written by `planbench-scale run` (results/NAME). Give several to compare
    them side by side (model vs model, sampling vs revision, Blocksworld vs Mystery).
    A run still being written, or instances without samples yet, give a report marked partial.

    Example: planbench-scale report results/gemma results/gemma-revise --out reports/gemma
    """
    from .report import build_report

    result = build_report(runs, out_dir)
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    state = "partial report" if result.notes else "report"
    click.echo(f"{state}: {result.html} ({len(result.tables)} tables, "
               f"{len(result.figures)} figure files)")
