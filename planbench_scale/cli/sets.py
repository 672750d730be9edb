"""Commands that make instance sets: generate, import."""

from __future__ import annotations

from pathlib import Path

import click

from planbench_scale import instances, runner
from planbench_scale.cli import options
from planbench_scale.domains import DOMAINS
from planbench_scale.domains.folder import DOMAIN_FILE, FolderDomain
from planbench_scale.errors import PlanbenchError


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
@click.option("--generalization", is_flag=True,
              help="A generalization set (PlanBench's t5): plans of one pattern (Blocksworld: one tower "
                   "from the table; Logistics: packages gathered at airports and flown on).")
@click.option("--vocabulary", default=None,
              help="Spell the set in this vocabulary of the domain, e.g. randomized:SEED (random names).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder to write domain.pddl, one problem PDDL per instance and manifest.jsonl.")
def generate(names, sizes, steps, per_step, seed, partial_goals, time_limit, unsolvable, generalization,
             vocabulary, out):
    """Generate an instance set stratified by optimal plan length.

    Initial and goal states are drawn uniformly over all states of the object count, goals are
    `on` facts; every instance carries a certified optimal plan. Progress goes to stderr.

    Example: planbench-scale generate --domain mystery --objects 3-20 --steps 2-40 --per-step 20 --out sets/m0
    """
    if generalization and (partial_goals or unsolvable):
        raise PlanbenchError("--generalization sets have full goals and a plan each: no "
                             "--partial-goals, no --unsolvable")
    runner.generate_sets(names, options.span(sizes), options.span(steps), per_step, seed, partial_goals, out,
                         options.say, time_limit, unsolvable, vocabulary, generalization)


@click.command("import")
@click.option("--domain", "domain", required=True,
              help="The STRIPS domain file (typed or untyped), or the name of a data-only domain of domains/.")
@click.option("--problems", default=None, type=click.Path(file_okay=False),
              help="Folder of problem files (*.pddl); default: the data-only domain's problems/.")
@click.option("--templates", default=None, type=click.Path(dir_okay=False),
              help="Prompt templates in PlanBench's config format (domain_intro, actions, predicates); "
                   "default: the domain's own, else the default wording built from its names.")
@click.option("--name", default=None,
              help="The domain's name in the set (default: the data-only domain's, else the PDDL domain name).")
@click.option("--time-limit", default=60.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds Fast Downward may take per problem; a problem past it is skipped (and said).")
@click.option("--memory-limit", default=2048, show_default=True, type=click.IntRange(64),
              help="MiB Fast Downward may take per problem.")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder for the set: domain.pddl, one problem PDDL per instance, manifest.jsonl.")
def import_(domain, problems, templates, name, time_limit, memory_limit, out):
    """Make a set of a STRIPS domain and its problem files, optimal plans from Fast Downward.

    Requirements beyond :strips, :typing and :equality are refused, named. Types become unary
    predicates. Progress (each problem's optimal length, or why it was skipped) goes to stderr.

    Example: planbench-scale import --domain gripper.pddl --problems gripper/ --out sets/gripper
    """
    domain_file, problems, templates, name = _sources(domain, problems, templates, name)
    folder, made = instances.import_set(domain_file, problems, out, name, templates, time_limit,
                                        memory_limit, options.say)
    solvable = sum(i.solvable for i in made)
    options.say(f"wrote {len(made)} instances ({solvable} solvable) to {folder}")


def _sources(domain, problems, templates, name):
    """(domain file, problems folder, templates, name) of --domain as a file or a data-only domain."""
    known = DOMAINS.get(domain)
    if isinstance(known, FolderDomain):
        folder = known.folder
        own = folder / f"{known.name}.yaml"
        return (folder / DOMAIN_FILE, problems or folder / "problems",
                templates or (own if own.is_file() else None), name or known.name)
    if not Path(domain).is_file():
        raise PlanbenchError(f"--domain {domain!r} is neither a domain file nor a data-only domain "
                             f"({', '.join(n for n, d in DOMAINS.items() if isinstance(d, FolderDomain))})")
    if problems is None:
        raise PlanbenchError("--problems is needed with a domain file")
    return domain, problems, templates, name


COMMANDS = [generate, import_]
"""The commands of this module, in the order `--help` lists them."""
