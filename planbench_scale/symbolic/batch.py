"""Validate a JSONL stream of plans with flat memory: one result line per input line.

Input lines are JSON objects: {"plan": "(stack a b)\\n..." or ["(stack a b)", ...], "id": any
(optional, echoed), "domain": path, "problem": path (both optional when defaults are given)}.
Output lines: {"line": N, "id": ..., "valid": ..., "reason": ..., "failed_step": ..., "unmet":
[...]}, or {"line": N, "id": ..., "error": "..."} for a line that cannot be read (bad JSON, a
bad "plan", a plan text that is not a plan, unreadable PDDL). Lines are read and answered in
batches. The id is echoed whenever the line is a JSON object; output is strict JSON, so numbers
JSON cannot hold (NaN, Infinity, -Infinity, 1e999) are echoed as strings as written: "NaN".

Tasks are remembered by the content of their domain and problem (files by path, size and
modification time, so a file seen is not read again) up to MAX_TASK_BYTES of estimated memory:
a workload of thousands of problems in any order reads each problem once.
"""
from __future__ import annotations

import itertools
import json
import math
import os
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from planbench_scale.errors import PlanbenchError, PlanSyntaxError
from planbench_scale.symbolic.explain import verdict_members
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
                yield f'{{"line": {item.line}, "id": {json.dumps(item.id)}, {verdict_members(result)}}}\n'
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
    record = _record(text)
    if isinstance(record, PlanbenchError):
        return _Item(number, None, None, f"line {number}: {record}")
    plan, paths = record.get("plan"), (record.get("domain", domain), record.get("problem", problem))
    if not (isinstance(plan, str) or isinstance(plan, list) and all(isinstance(a, str) for a in plan)):
        error = 'expected "plan": a text or a list of action strings'
    elif None in paths:
        error = 'no PDDL: give "domain" and "problem" in the line or as defaults'
    else:
        error = task = _TASKS.get(*map(str, paths))
        if not isinstance(task, PlanbenchError):
            return _Item(number, record.get("id"), task, plan)
    return _Item(number, record.get("id"), None, f"line {number}: {error}")


def _record(text: str) -> dict | PlanbenchError:
    """The JSON object of a line (non-finite numbers kept as their text), or why it is not one."""
    if len(text) >= MAX_LINE_CHARS:
        return PlanbenchError(f"line longer than {MAX_LINE_CHARS:,} characters")
    try:
        record = json.loads(text, parse_constant=str, parse_float=_finite)
    except ValueError as error:
        return PlanbenchError(f"not JSON: {error}")
    return record if isinstance(record, dict) else PlanbenchError("expected a JSON object")


def _finite(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else text


MAX_TASK_BYTES = 2 * 2**30
"""Estimated memory of the tasks (and their validation tables) remembered at once."""


class _Tasks:
    """Tasks by (domain text, problem text), least recently used dropped past MAX_TASK_BYTES;
    file texts by (path, size, modification time), so a file seen is not read again."""

    def __init__(self):
        self.tasks: OrderedDict = OrderedDict()  # texts -> (Task or PlanbenchError, bytes)
        self.texts: OrderedDict = OrderedDict()  # (path, size, mtime) -> text
        self.bytes = 0

    def get(self, domain: str, problem: str) -> Task | PlanbenchError:
        """The task of a domain and problem file, or why it cannot be read (remembered either way)."""
        try:
            texts = self.text(domain), self.text(problem)
        except PlanbenchError as error:
            return error
        if texts in self.tasks:
            self.tasks.move_to_end(texts)
            return self.tasks[texts][0]
        try:
            task = read_task(*texts, domain, problem)
        except PlanbenchError as error:
            task = error
        cost = _cost(task) + len(texts[0]) + len(texts[1])
        self.tasks[texts], self.bytes = (task, cost), self.bytes + cost
        while self.bytes > MAX_TASK_BYTES and len(self.tasks) > 1:
            self.bytes -= self.tasks.popitem(last=False)[1][1]
        return task

    def text(self, path: str) -> str:
        """A PDDL file's text, read once per (path, size, modification time)."""
        try:
            stat = os.stat(path)
        except OSError as error:
            raise PlanbenchError(f"cannot read {path}: {error.strerror}") from None
        key = path, stat.st_size, stat.st_mtime_ns
        if key not in self.texts:
            self.texts[key] = read_text(path, MAX_PDDL_CHARS)
            while len(self.texts) > 2 * len(self.tasks) + 2:
                self.texts.popitem(last=False)
        self.texts.move_to_end(key)
        return self.texts[key]


_TASKS = _Tasks()
"""The tasks `validate_jsonl` remembers across calls."""


def _cost(task: Task | PlanbenchError) -> int:
    """Estimated bytes of a task with its validation tables (3 mask tables of uint64 words)."""
    if isinstance(task, PlanbenchError):
        return 200
    words = (len(task.facts) + 64) // 64
    return 300 * (len(task.actions) + len(task.facts)) + 6 * 8 * words * (len(task.actions) + 3)


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
