"""Commands on finished runs: report."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the CSV tables, figures/ (PNG and SVG) and index.html.")
@click.option("--target-coverage", default=0.9, show_default=True, type=float,
              help="Coverage for which the power-law fits predict the samples needed (0-1).")
@click.option("--compute", "compute_axis", type=click.Choice(["tokens", "flops", "dollars"]),
              default="tokens", show_default=True,
              help="The compute axis: tokens (prompt tokens computed + generated), flops "
                   "(forward FLOPs, where the model's size is known) or dollars (the run's "
                   "prices).")
def report_command(runs: tuple[Path, ...], out_dir: Path, target_coverage: float,
                   compute_axis: str) -> None:
    """Tables, figures and one self-contained HTML page from one or more run folders.

    RUNS are folders written by `planbench-scale run` (results/NAME). Give several to compare
    them side by side (model vs model, sampling vs revision, Blocksworld vs Mystery).
    A run still being written, or instances without samples yet, give a report marked partial.

    Example: planbench-scale report results/gemma results/gemma-revise --out reports/gemma
    """
    from planbench_scale.analysis.report import build_report

    print_report(build_report(runs, out_dir, target=target_coverage, compute_axis=compute_axis))


def print_report(result) -> None:
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    state = "partial report" if result.notes else "report"
    click.echo(f"{state}: {result.html} ({len(result.tables)} tables, "
               f"{len(result.figures)} figure files)")


@click.command("trees")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def trees_command(run_dir: Path, out_dir: Path) -> None:
    """Write a step search's trees as GraphML and DOT.

    One tree per instance of the beam or dvts run in RUN_DIR, as OUT_DIR/<instance>.graphml
    and .dot: per node its step, score, validity and tokens.

    Example: planbench-scale trees results/beam trees/ && dot -Tsvg trees/ID.dot > ID.svg
    """
    from planbench_scale.analysis.trees import is_search, write_trees
    from planbench_scale.errors import PlanbenchError

    if not is_search(run_dir):
        raise PlanbenchError(f"{run_dir} is not a step search (beam, dvts): it has no trees")
    written = write_trees(run_dir, out_dir)
    click.echo(f"{out_dir}: {len(written) // 2} trees (GraphML and DOT)", err=True)


COMMANDS = [report_command, trees_command]
"""The commands of this module, in the order `--help` lists them."""
