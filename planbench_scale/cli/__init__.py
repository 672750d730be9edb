"""The command line: option parsing and printing only, over the library's functions.

One module per group of commands (sets, answers, runs, batch, report), each listing its commands
in COMMANDS; option groups shared between commands live in options.py and hosted.py. `--help`
lists the commands under their group's heading. Bad input (`PlanbenchError`) is reported as one
clear line and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from planbench_scale import __version__
from planbench_scale.cli import answers, batch, interop, report, runs, sets
from planbench_scale.errors import PlanbenchError

SECTIONS = (("Instance sets", sets.COMMANDS), ("One answer", answers.COMMANDS),
            ("Runs", [*runs.COMMANDS, batch.batch_commands(runs.run)]),
            ("Answers made elsewhere", interop.COMMANDS), ("Reports", report.COMMANDS))
"""The command groups, in the order `--help` lists them."""


class _Group(click.Group):
    """A click group that turns bad input, ours or click's, into one line and exit code 2, and
    lists its commands by section."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PlanbenchError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except click.UsageError as error:
            command = " ".join(filter(None, [ctx.command_path, ctx.invoked_subcommand]))
            click.echo(f"error: {error.format_message()} (see {command} --help)", err=True)
            sys.exit(2)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, commands in SECTIONS:
            rows = [(c.name, c.get_short_help_str(formatter.width)) for c in commands]
            with formatter.section(title):
                formatter.write_dl(rows)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="planbench-scale")
def main() -> None:
    """Measure how well language models plan, and how much extra inference compute buys back.

    The stages, in order: generate (instance sets), prompt / extract / validate (one answer),
    run (sample or revise with a model), report (tables, plots, HTML).
    """


for _title, _commands in SECTIONS:
    for _command in _commands:
        main.add_command(_command)
