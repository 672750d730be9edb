"""Validate a JSONL stream of plans with flat memory: one result line per input line.

Input lines are JSON objects: {"plan": "(stack a b)\\n..." or ["(stack a b)", ...], "id": any
(optional, echoed), "domain": path, "problem": path (both optional when defaults are given)}.
Output lines: {"line": N, "id": ..., "valid": ..., "reason": ..., "failed_step": ..., "unmet":
[...]}, or {"line": N, "id": ..., "error": "..."} for a line that cannot be read (bad JSON, a
plan text that is not a plan, unreadable PDDL). Lines are read and answered in batches.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

from planbench_scale.errors import PlanbenchError, PlanSyntaxError
from planbench_scale.symbolic.pddl import MAX_PDDL_CHARS, MAX_PLAN_CHARS, read_task, read_text
from planbench_scale.records import Verdict
from planbench_scale.symbolic.task import Task
from planbench_scale.symbolic.validate import BATCH, validate_many, validate_texts

MAX_LINE_CHARS = MAX_PLAN_CHARS + 10_000
"""Longest input line read; a longer one is answered with an error and skipped."""


@dataclass(frozen=True)
class _Item:
    """One input line, read."""

    line: int
    """1-based line number."""
    id: object
    """The line's "id", echoed back (None when absent)."""
    task: Task | None
    """The task to validate against; None when the line is bad."""
    plan: object
    """Plan text or list of action strings; for a bad line, the error message."""


def lines_of(stream: IO[str]) -> Iterator[str]:
    """The lines of a text stream, each cut to MAX_LINE_CHARS (the rest is skipped)."""
    while line := stream.readline(MAX_LINE_CHARS):
        if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := stream.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass
        yield line


def validate_jsonl(lines: Iterable[str], domain: str | None = None, problem: str | None = None,
                   counts: Counter | None = None) -> Iterator[str]:
    """Result lines (JSON, newline-terminated) for JSONL input lines, in order, batch by batch.

    `counts` (if given) is updated with "valid", "invalid" and "error" as results go out.
    """
    counts = Counter() if counts is None else counts
    numbered = enumerate(lines, start=1)
    while batch := list(itertools.islice(numbered, BATCH)):
        items = [_read_item(n, text, domain, problem) for n, text in batch]
        results = _validate_items(items)
        for item, result in zip(items, results):
            if isinstance(result, Verdict):
                counts["valid" if result.valid else "invalid"] += 1
                yield f'{{"line": {item.line}, "id": {json.dumps(item.id)}, {_verdict_json(result)}}}\n'
            else:
                counts["error"] += 1
                yield json.dumps({"line": item.line, "id": item.id,
                                  "error": _message(item.line, result)}) + "\n"


def _message(line: int, error) -> str:
    if isinstance(error, PlanSyntaxError):
        return (f"line {line}: plan text line {error.line}, column {error.column}: "
                f"{error.message}")
    return str(error)


def _read_item(number: int, text: str, domain: str | None, problem: str | None) -> _Item:
    try:
        record = _record(text)
    except PlanbenchError as error:
        return _Item(number, None, None, f"line {number}: {error}")
    paths = record.get("domain", domain), record.get("problem", problem)
    if None in paths:
        error = 'no PDDL: give "domain" and "problem" in the line or as defaults'
        return _Item(number, record.get("id"), None, f"line {number}: {error}")
    task = _task(*map(str, paths))
    if isinstance(task, PlanbenchError):
        return _Item(number, record.get("id"), None, f"line {number}: {task}")
    return _Item(number, record.get("id"), task, record["plan"])


def _record(text: str) -> dict:
    """The JSON object of a line, checked to have a usable "plan"."""
    if len(text) >= MAX_LINE_CHARS:
        raise PlanbenchError(f"line longer than {MAX_LINE_CHARS:,} characters")
    try:
        record = json.loads(text)
    except ValueError as error:
        raise PlanbenchError(f"not JSON: {error}") from None
    plan = record.get("plan") if isinstance(record, dict) else None
    if not (isinstance(plan, str) or isinstance(plan, list) and all(isinstance(a, str) for a in plan)):
        raise PlanbenchError('expected a JSON object with "plan": a text or a list of action strings')
    return record


@lru_cache(maxsize=64)
def _task(domain: str, problem: str) -> Task | PlanbenchError:
    """The task of a domain and problem file, or why it cannot be read (remembered either way)."""
    try:
        return read_task(read_text(domain, MAX_PDDL_CHARS), read_text(problem, MAX_PDDL_CHARS),
                         domain, problem)
    except PlanbenchError as error:
        return error


def _validate_items(items: list[_Item]) -> list:
    """A Verdict or an error (message or PlanSyntaxError) per item, grouped by task and form."""
    results: list = [item.plan for item in items]
    groups: dict = {}
    for i, item in enumerate(items):
        if item.task is not None:
            groups.setdefault((item.task, isinstance(item.plan, str)), []).append(i)
    for (task, is_text), where in groups.items():
        plans = [items[i].plan for i in where]
        verdicts = validate_texts(task, plans) if is_text else validate_many(task, plans)
        for i, verdict in zip(where, verdicts):
            results[i] = verdict
    return results


@lru_cache(maxsize=100_000)
def _verdict_json(verdict: Verdict) -> str:
    """The verdict's fields as JSON members, without braces (verdicts repeat: built once)."""
    body = json.dumps({"valid": verdict.valid, "reason": verdict.reason.value,
                       "failed_step": verdict.failed_step, "unmet": list(verdict.unmet)})
    return body[1:-1]
