"""Commands that make instance sets: generate."""

from __future__ import annotations

import click

from planbench_scale import runner
from planbench_scale.cli import options
from planbench_scale.domains import DOMAINS


@click.command()
@click.option("--domain", "names", multiple=True, required=True, type=click.Choice(list(DOMAINS)),
              help="Domain to write the set in; repeat it for several (each gets DIR/<domain>/, same problems).")
@click.option("--objects", "--blocks", "sizes", default="3-20", show_default=True,
              help="Object (block) counts an instance may have, as LOW-HIGH.")
@click.option("--steps", default="2-40", show_default=True,
              help="Step counts (optimal plan lengths, in actions) to fill, as LOW-HIGH; only even ones exist.")
@click.option("--per-step", default=20, show_default=True, type=click.IntRange(min=1),
              help="Instances per step count.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the whole set (and of the Randomized vocabulary); same seed, same files.")
@click.option("--partial-goals", is_flag=True,
              help="Keep each `on` fact of the goal state with probability 1/2 instead of all of them.")
@click.option("--time-limit", default=20.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds the optimal search may take per drawn instance before it is skipped.")
@click.option("--unsolvable", default=0.0, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Fraction of the set whose goal no state satisfies (right answer: no plan), marked in the manifest.")
@click.option("--vocabulary", default=None,
              help="Spell the set in this vocabulary of the domain, e.g. randomized:SEED (random names).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder to write domain.pddl, one problem PDDL per instance and manifest.jsonl.")
def generate(names, sizes, steps, per_step, seed, partial_goals, time_limit, unsolvable, vocabulary, out):
    """Generate an instance set stratified by optimal plan length.

    Initial and goal states are drawn uniformly over all states of the object count, goals are
    `on` facts; every instance carries a certified optimal plan. Progress goes to stderr.

    Example: planbench-scale generate --domain mystery --objects 3-20 --steps 2-40 --per-step 20 --out sets/m0
    """
    runner.generate_sets(names, options.span(sizes), options.span(steps), per_step, seed, partial_goals, out,
                         options.say, time_limit, unsolvable, vocabulary)


COMMANDS = [generate]
"""The commands of this module, in the order `--help` lists them."""
