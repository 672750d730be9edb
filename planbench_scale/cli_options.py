"""Option groups of the command line, kept apart so that cli.py stays a list of commands."""

from __future__ import annotations

import click

from planbench_scale.score import STEP_SCORES
from planbench_scale.strategies.search import PROPOSALS


def sampling(function):
    """The sampling options of `run`."""
    for option in reversed([
            click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(0)),
            click.option("--top-p", default=1.0, show_default=True, type=click.FloatRange(0, 1)),
            click.option("--max-tokens", default=512, show_default=True, type=click.IntRange(1),
                         help="Most tokens per answer; longer answers are cut (finish_reason length)."),
            click.option("--stop", multiple=True, help='A string that ends an answer, e.g. '
                         '"[PLAN END]" for base models (repeatable).')]):
        function = option(function)
    return function


def search(function):
    """The step search options of `run`."""
    for option in reversed([
            click.option("--beam-width", default=4, show_default=True, type=click.IntRange(1),
                         help="Step searches, M: beam keeps M partial plans and samples k/M "
                         "steps for each; dvts grows k/M subtrees, sampling M steps for each."),
            click.option("--depth", default=0, show_default=True, type=click.IntRange(0),
                         help="Step searches and random-legal: most steps of a plan (0: twice "
                         "each instance's optimal length)."),
            click.option("--retries", default=2, show_default=True, type=click.IntRange(0),
                         help="Step searches with sampled steps: times a node none of whose "
                         "steps applies is asked again (new seeds)."),
            click.option("--propose", type=click.Choice(PROPOSALS), default="sample",
                         show_default=True, help="Step searches: sample each candidate step "
                         "from the model, or take every applicable action."),
            click.option("--score", type=click.Choice(list(STEP_SCORES)), default="valid-prefix",
                         show_default=True, help="Step score: valid-prefix (verifier only), "
                         "goal-count, distance (optimal steps left: an oracle), logprob (the "
                         "model's own; needs prompt log-probabilities).")]):
        function = option(function)
    return function
