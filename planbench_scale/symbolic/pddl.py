"""PDDL text: write domains and problems in any vocabulary; read tasks (unified-planning) and plans."""

from __future__ import annotations

import re
from functools import lru_cache

from planbench_scale.errors import PDDLError, PlanbenchError, PlanSyntaxError
from planbench_scale.records import Instance
from planbench_scale.symbolic.task import Task, ground


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
    """The task of a problem given as object names and PDDL facts ("(on a b)") over a domain."""
    problem = (f"(define (problem {_problem_name(name)}) (:domain d) (:objects {' '.join(objects)})"
               f" (:init {' '.join(init)}) (:goal (and {' '.join(goal)})))")
    return read_task(domain_text, problem, "<domain>", f"<{name}>")


def _problem_name(instance_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", instance_id)


# ---- reading -------------------------------------------------------------------------------

MAX_PDDL_CHARS = 5_000_000
"""Longest domain or problem text `read_task` accepts; pyparsing needs minutes beyond that."""
MAX_PLAN_CHARS = 10_000_000
"""Longest plan text `parse_plan` accepts."""

_UNPARSEABLE = {":derived": "derived predicates (:derived)",
                ":durative-action": "durative actions (:durative-action)"}
_POSITION = re.compile(r"line:? ?(\d+), col:? ?(\d+)")


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
    """Read a STRIPS domain and problem with unified-planning and ground them to a `Task`.

    Raises PDDLError with file, line and column where unified-planning reports them, and the
    name of any feature beyond STRIPS (typing and equality are fine).
    """
    for text, file in ((domain_text, domain_file), (problem_text, problem_file)):
        _check_size(text, file)
        _reject_unparseable(text, file)
    problem = _parse(domain_text, problem_text, domain_file, problem_file)
    return ground(problem, domain_file or problem_file)


def _check_size(text: str, file: str | None) -> None:
    if len(text) > MAX_PDDL_CHARS:
        raise PDDLError(f"PDDL text of {len(text):,} characters is too large "
                        f"(limit {MAX_PDDL_CHARS:,})", file)
    if not text.strip():
        raise PDDLError("empty PDDL text", file)


def _reject_unparseable(text: str, file: str | None) -> None:
    """Name the features unified-planning cannot even parse, where they are written."""
    lowered = text.lower()
    for keyword, feature in _UNPARSEABLE.items():
        at = lowered.find("(" + keyword)
        if at >= 0:
            line, column = _line_column(text, at)
            raise PDDLError(f"unsupported PDDL feature: {feature}; only STRIPS "
                            f"(with typing and equality) is supported", file, line, column)


def _parse(domain_text: str, problem_text: str, domain_file, problem_file):
    """The unified-planning problem; the domain's parse is reused across its problems."""
    from unified_planning.io.utils import parse_string

    reader = _reader()
    domain_text = domain_text.replace("\t", " ").lower()  # as PDDLReader.parse_problem_string
    problem_text = problem_text.replace("\t", " ").lower()
    domain = _parse_domain(domain_text, domain_file)
    try:
        problem = parse_string(reader._pp_problem, problem_text, parse_all=True)
        return reader._parse_problem(domain, domain_text, problem, problem_text)
    except Exception as error:  # unified-planning raises SyntaxError, pyparsing and KeyError
        try:
            reader._parse_problem(domain, domain_text, None, None)
        except Exception as domain_error:
            raise _pddl_error(domain_error, domain_file, domain_text) from None
        raise _pddl_error(error, problem_file, problem_text) from None


@lru_cache(maxsize=1)
def _reader():
    from unified_planning.io import PDDLReader

    return PDDLReader()


@lru_cache(maxsize=16)
def _parse_domain(domain_text: str, domain_file: str | None):
    """pyparsing's reading of a domain (most of the time of reading a domain + problem)."""
    from unified_planning.io.utils import parse_string

    try:
        return parse_string(_reader()._pp_domain, domain_text, parse_all=True)
    except Exception as error:
        raise _pddl_error(error, domain_file, domain_text) from None


def _pddl_error(error: Exception, file: str | None, text: str) -> PDDLError:
    """unified-planning's error as a PDDLError pointing into the file where it could."""
    message = " ".join(str(error.args[0] if error.args else error).split())
    line, column = getattr(error, "lineno", None), getattr(error, "column", None)
    match = _POSITION.search(message)
    if line is None and match:
        line, column = int(match.group(1)), int(match.group(2))
    if isinstance(error, KeyError):
        message = f"unknown name {message}"
        line, column = _find_name(text, message.split()[-1].strip("'\""))
    return PDDLError(f"cannot read PDDL: {message}", file, line, column)


def _find_name(text: str, name: str) -> tuple[int | None, int | None]:
    match = re.search(rf"(?<![\w?-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
    return _line_column(text, match.start()) if match else (None, None)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


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
