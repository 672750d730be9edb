"""PDDL text: write problems in any vocabulary; read tasks (domain schema + problem) and plans."""

from __future__ import annotations

import re

from planbench_scale.errors import PlanbenchError, PlanSyntaxError
from planbench_scale.records import Instance
from planbench_scale.symbolic.problem import read_facts, read_problem
from planbench_scale.symbolic.schema import MAX_PDDL_CHARS, read_domain
from planbench_scale.symbolic.task import Task

__all__ = ["MAX_PDDL_CHARS", "MAX_PLAN_CHARS", "format_plan", "parse_plan", "plan_line",
           "problem_pddl", "read_task", "read_text", "rename", "task_from_facts", "up_readable"]


def problem_pddl(name: str, vocab, instance: Instance) -> str:
    """An instance as a PDDL problem spelled in `vocab` (objects untyped, goal a conjunction)."""
    objects = " ".join(vocab.obj(o) for o in instance.objects)
    init = "\n    ".join(vocab.fact(f) for f in instance.init)
    goal = "\n      ".join(vocab.fact(f) for f in instance.goal)
    return (f"(define (problem {_problem_name(name)})\n"
            f"  (:domain {vocab.pddl_domain})\n"
            f"  (:objects {objects})\n"
            f"  (:init\n    {init})\n"
            f"  (:goal (and\n      {goal})))\n")


def rename(text: str, renames: dict[str, str]) -> str:
    """PDDL text with whole names replaced (never inside a longer name or a ?variable)."""
    pattern = re.compile(r"(?<![\w?-])(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True)))
                         + r")(?![\w-])")
    return pattern.sub(lambda m: renames[m.group(1)], text)


def task_from_facts(domain_text: str, name: str, objects, init, goal) -> Task:
    """The task of a problem given as object names and PDDL facts ("(on a b)") over a domain.

    Built straight from the domain's schema: no problem text is written or read.
    """
    schema = read_domain(domain_text, "<domain>")
    objects = tuple(dict.fromkeys([*schema.constants, *((o.lower(), "object") for o in objects)]))
    facts = [read_facts(schema, objects, part, f"<{name}>") for part in (init, goal)]
    return Task(schema, _problem_name(name).lower(), objects, *facts, f"<{name}>")


def up_readable(domain: str) -> str:
    """A domain text without empty (:types), (:constants) and (:functions) sections, which
    PlanBench's obfuscated Logistics domains have and unified-planning's reader refuses."""
    return re.sub(r"\(\s*:(types|constants|functions)\s*\)", "", domain, flags=re.IGNORECASE)


def _problem_name(instance_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", instance_id)


# ---- reading -------------------------------------------------------------------------------

MAX_PLAN_CHARS = 10_000_000
"""Longest plan text `parse_plan` accepts."""


def read_text(path: str, limit: int) -> str:
    """A UTF-8 text file of at most `limit` characters; PlanbenchError says why not."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read(limit + 1)
    except (OSError, UnicodeDecodeError) as error:
        raise PlanbenchError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}")
    if len(text) > limit:
        raise PlanbenchError(f"{path} is too large (limit {limit:,} characters)")
    return text


def read_task(domain_text: str, problem_text: str, domain_file: str | None = None,
              problem_file: str | None = None) -> Task:
    """Read a STRIPS domain and problem as a `Task` (which grounds its actions when named).

    The domain's schema is read once per text; the problem is read by `problem.read_problem`.
    Raises PDDLError with file, line and column, naming any feature beyond STRIPS (typing and
    equality are fine).
    """
    schema = read_domain(domain_text, domain_file)
    problem = read_problem(schema, problem_text, problem_file)
    return Task(schema, problem.name, problem.objects, problem.init, problem.goal, problem_file)


# ---- plans ---------------------------------------------------------------------------------

_PLAN_LINE = re.compile(r"\s*(?:(?:\d+(?:\.\d+)?\s*[:.)]?\s*)?\(\s*([^()\s;]+(?:\s+[^()\s;]+)*)\s*\)"
                        r"\s*(?:\[[^\]]*\]\s*)?)?(?:;.*)?")


def plan_line(line: str) -> str | None:
    """One line of a plan file -> its action "(stack a b)", or None for a blank or comment line.

    Raises PlanSyntaxError (with the column) for anything else.
    """
    match = _PLAN_LINE.fullmatch(line)
    if match is None:
        column = len(line) - len(line.lstrip()) + 1
        raise PlanSyntaxError(f"expected one action such as (stack a b) per line, "
                              f"got {line.strip()[:80]!r}", column=column)
    body = match.group(1)
    return None if body is None else "(" + " ".join(body.lower().split()) + ")"


def parse_plan(text: str, file: str | None = None) -> list[str]:
    """Plan file text -> normalised lower-case action strings such as "(stack a b)".

    Accepts one action per line, optionally numbered ("1:", "1.", "0.000:") and followed by a
    "[duration]" or a "; comment"; blank lines and "; cost = 4" comment lines are skipped.
    Raises PlanSyntaxError with line and column for any other line.
    """
    if len(text) > MAX_PLAN_CHARS:
        raise PlanSyntaxError(f"plan text of {len(text):,} characters is too large "
                              f"(limit {MAX_PLAN_CHARS:,})", file)
    actions = []
    for number, line in enumerate(text.split("\n"), start=1):
        try:
            action = plan_line(line)
        except PlanSyntaxError as error:
            raise PlanSyntaxError(error.message, file, number, error.column) from None
        if action is not None:
            actions.append(action)
    return actions


def format_plan(actions) -> str:
    """Action strings as a plan file, one per line: the inverse of `parse_plan`."""
    return "".join(action + "\n" for action in actions)
