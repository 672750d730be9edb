"""Commands on one answer: the prompt a model sees, the plan an answer states, and verdicts.

Option parsing and printing only; registered on the `planbench-scale` group in cli/__init__.py.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

import click

from planbench_scale.cli.options import say
from planbench_scale.errors import PlanbenchError

COMMANDS = []
"""The commands of this module, in the order `--help` lists them."""


def _command(name=None):
    def register(function):
        command = click.command(name)(function)
        COMMANDS.append(command)
        return command
    return register


INSTANCE = click.option("--instance", "spec", required=True, help=(
    "The instance: a problem file inside a set folder (generated or PlanBench's, e.g. "
    "../shared/planbench/instances/blocksworld/instance-7.pddl), or SET_DIR:ID "
    "(e.g. ../shared/planbench/instances/mystery_blocksworld:instance-7)."))
TEMPLATES = click.option("--templates", default="default", show_default=True, help=(
    "'default' (our wording, in each domain's folder) or planbench:PATH to one of PlanBench's "
    "YAML configs, e.g. planbench:../shared/planbench/configs/blocksworld.yaml."))


@_command()
@INSTANCE
@click.option("--style", type=click.Choice(["nl", "pddl"]), default="nl", show_default=True,
              help="Natural language or PDDL.")
@click.option("--shots", type=click.IntRange(0, 1), default=0, show_default=True,
              help="1 adds a solved example: the set's instance just before this one.")
@TEMPLATES
@click.option("--form", type=click.Choice(["text", "chat"]), default="text", show_default=True,
              help="text: the completion prompt; chat: the system and user messages as JSON.")
@click.option("--task", default="t1", show_default=True,
              help="The task asked (see run --task); --style and --shots apply to t1 only.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Run seed the task's draws come from (plans to verify, prefixes).")
def prompt(spec: str, style: str, shots: int, templates: str, form: str, task: str,
           seed: int) -> None:
    """Print the prompt a model sees for one instance."""
    from planbench_scale import tasks
    from planbench_scale.config import Settings
    from planbench_scale.instances import resolve

    instance, pool = resolve(spec)
    asked = tasks.get(task)
    settings = Settings(style=style, shots=shots, templates=templates, task=task, seed=seed)
    asked.check([instance], settings)
    rendered = asked.prompt(instance, pool, settings)
    click.echo(json.dumps([{"role": r, "content": c} for r, c in rendered.messages], indent=2)
               if form == "chat" else rendered.text)


@_command()
@INSTANCE
@TEMPLATES
@click.option("--validate", is_flag=True, help="Also print the validator's verdict on the plan.")
@click.option("--explain", is_flag=True, help=(
    "Also print (to stderr) the candidate statements of the plan found, in order, and why the "
    "chosen one won."))
def extract(spec: str, templates: str, validate: bool, explain: bool) -> None:
    """Read a model's answer on stdin and print the plan it states, one PDDL action a line.

    The outcome and the lines that were skipped (and why) go to stderr. Example:
    echo "1. Pick up the red block" | planbench-scale extract --instance SET_DIR:ID --validate
    """
    from planbench_scale.instances import resolve
    from planbench_scale.score import check
    from planbench_scale.symbolic.explain import verdict_summary
    from planbench_scale.text.extract import explain as explained

    instance, _ = resolve(spec)
    answer = sys.stdin.read()
    extraction, verdict = check(instance, answer, templates)
    for action in extraction.actions:
        click.echo(action)
    click.echo(f"outcome: {extraction.outcome.value}, {len(extraction.actions)} action(s)", err=True)
    for skipped in extraction.skipped:
        click.echo(f"skipped line {skipped.line} ({skipped.why}): {skipped.text}", err=True)
    for note in explained(answer, instance, templates)[1] if explain else ():
        click.echo(f"explain: {note}", err=True)
    if validate:
        click.echo(verdict_summary(verdict))


@_command()
@click.option("--domain", required=True, type=click.Path(exists=True, dir_okay=False),
              help="PDDL domain file (STRIPS; typing and equality are fine).")
@click.option("--problem", required=True, type=click.Path(exists=True, dir_okay=False),
              help="PDDL problem file.")
@click.option("--plan", "plan_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help='Plan file: one action per line, such as "(stack a b)"; step numbers ("1:"), '
                   'blank lines and "; cost" comments are fine.')
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.option("--trace", is_flag=True, help="Also print the state before each step and after the last.")
def validate(domain, problem, plan_file, as_json, trace):
    """Check one plan: exit 0 if it is valid, 1 if not, 2 if an input cannot be read.

    An invalid plan is explained: the failing step (1-based here) and exactly the unmet
    preconditions, or the goal facts still missing at the end.

    \b
    Example: planbench-scale validate --domain domain.pddl --problem p01.pddl --plan p01.plan
    """
    from planbench_scale.symbolic.explain import verdict_dict, verdict_lines
    from planbench_scale.symbolic.pddl import MAX_PDDL_CHARS, MAX_PLAN_CHARS, parse_plan, read_task, read_text
    from planbench_scale.symbolic.validate import validate as check

    task = read_task(read_text(domain, MAX_PDDL_CHARS), read_text(problem, MAX_PDDL_CHARS),
                     domain, problem)
    plan = parse_plan(read_text(plan_file, MAX_PLAN_CHARS), plan_file)
    if not plan:
        raise PlanbenchError(f"{plan_file}: no actions in the plan file")
    verdict = check(task, plan, trace=trace)
    click.echo(json.dumps(verdict_dict(task, plan, verdict), indent=1) if as_json
               else verdict_lines(task, plan, verdict))
    sys.exit(0 if verdict.valid else 1)


@_command("validate-batch")
@click.argument("plans", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--domain", type=click.Path(exists=True, dir_okay=False),
              help='PDDL domain file for lines that give no "domain".')
@click.option("--problem", type=click.Path(exists=True, dir_okay=False),
              help='PDDL problem file for lines that give no "problem".')
@click.option("--out", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the results (JSONL); - is stdout.")
def validate_batch(plans, domain, problem, out):
    """Check many plans from a JSONL file (- reads stdin), streaming: memory stays flat.

    Each line is a JSON object with "plan" (the plan text, or a list of action strings) and
    optionally "id" (echoed back), "domain" and "problem" (paths; default --domain/--problem):

      {"id": 7, "plan": "(unstack b a)\\n(put-down b)"}

    Each result line says {"line", "id", "valid", "reason", "failed_step" (0-based), "unmet"},
    or {"line", "id", "error"} for a line that cannot be read. A summary goes to stderr.
    Exit 0 if every plan is valid, 1 if some are invalid, 2 if some lines could not be read.

    \b
    Example: planbench-scale validate-batch --domain domain.pddl --problem p01.pddl plans.jsonl
    """
    from planbench_scale.symbolic.batch import lines_of, validate_jsonl

    counts, start = Counter(), time.perf_counter()
    with click.open_file(plans, encoding="utf-8", errors="replace") as source, \
            click.open_file(out, "w", encoding="utf-8") as sink:
        for result in validate_jsonl(lines_of(source), domain, problem, counts):
            sink.write(result)
    seconds, total = time.perf_counter() - start, sum(counts.values())
    say(f"{total:,} lines: {counts['valid']:,} valid, {counts['invalid']:,} invalid, "
         f"{counts['error']:,} unreadable in {seconds:.2f} s ({total / max(seconds, 1e-9):,.0f} lines/s)")
    sys.exit(2 if counts["error"] else 1 if counts["invalid"] else 0)
