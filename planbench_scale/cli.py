"""The command line: thin click commands over the library functions.

Bad input (`PlanbenchError`) is reported as one clear line and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .errors import PlanbenchError


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
