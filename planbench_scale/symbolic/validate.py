"""Plan validation over a grounded `Task`: a bad plan is a `Verdict`, never an exception.

`validate` checks one plan and can record the state trace. `validate_many` (action strings) and
`validate_texts` (plan file texts) check many plans: each batch of plans is simulated together,
one numpy operation per step for the whole batch, so a million plans cost about as much Python
work as their action lookups; a batch of fewer than SMALL_BATCH plans is checked plan by plan.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import weakref
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from planbench_scale.errors import PlanSyntaxError
from planbench_scale.symbolic.pddl import MAX_PLAN_CHARS, parse_plan, plan_line
from planbench_scale.records import Reason, Verdict
from planbench_scale.symbolic.task import Task

BATCH = 4096
"""Plans simulated together; memory stays flat however many batches stream through."""
SMALL_BATCH = 32
"""Fewer plans than this are checked one by one with `validate`: below it, building a task's
numpy tables and stepping them costs more than it saves (one to five plans a problem)."""
MAX_LINES = 200_000
"""Distinct plan text lines remembered per task before the memory is emptied."""
MAX_VERDICTS = 100_000
"""Distinct failure verdicts remembered per task before the memory is emptied."""

VALID = Verdict(True, Reason.VALID)
"""The verdict of every valid plan (verdicts are immutable, so one object serves all)."""

_ACTION_TEXT = re.compile(r"\(?\s*([^\s()]+)((?:\s+[^\s()]+)*)\s*\)?")


def validate(task: Task, plan: Sequence[str], trace: bool = False) -> Verdict:
    """Check a plan (PDDL action strings, any case) against a task; record states on request."""
    state, states = task.init, [task.init]
    verdict = VALID
    for step, action in enumerate(plan):
        index = task.find(action)
        if index is None:
            verdict = Verdict(False, unknown_reason(task, action), step)
            break
        unmet = task.pre[index] & ~state
        if unmet:
            verdict = Verdict(False, Reason.INAPPLICABLE, step, task.ordered(unmet))
            break
        state = (state & ~task.delete[index]) | task.add[index]
        states.append(state)
    else:
        missing = task.goal & ~state
        if missing:
            reason = Reason.GOAL_NOT_REACHED if len(plan) else Reason.EMPTY_PLAN
            verdict = Verdict(False, reason, None, task.ordered(missing))
    if trace:
        named = tuple(frozenset(task.fact_names(s)) for s in states)
        verdict = dataclasses.replace(verdict, trace=named)
    return verdict


def unknown_reason(task: Task, action: str) -> Reason:
    """Why an action string names no action of the task."""
    match = _ACTION_TEXT.fullmatch(action.strip().lower())
    if not match or match.group(1) not in task.schemas:
        return Reason.UNKNOWN_ACTION
    args = match.group(2).split()
    if len(args) != task.schemas[match.group(1)]:
        return Reason.WRONG_ARITY
    return Reason.UNKNOWN_OBJECT  # an unknown object, or one of the wrong type


# ---- batches -------------------------------------------------------------------------------

def validate_many(task: Task, plans: Iterable[Sequence[str]]) -> Iterator[Verdict]:
    """Verdicts of many plans (sequences of action strings), in order, streamed batch by batch."""
    for batch in _batched(plans, BATCH):
        if len(batch) < SMALL_BATCH:
            yield from (validate(task, plan) for plan in batch)
            continue
        tables = _tables(task)
        ids = [[tables.ids.get(a, -1) for a in plan] for plan in batch]
        for plan, row in zip(batch, ids):
            if -1 in row:
                row[:] = [_row(task, tables, a) for a in plan]
        tables.sync(task)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64,
                           count=int(lengths.sum()))
        yield from _simulate(task, tables, flat, lengths)


def validate_texts(task: Task, texts: Iterable[str]) -> Iterator[Verdict | PlanSyntaxError]:
    """Verdicts of many plan texts (read as `parse_plan` reads them), in order.

    A text that is not a plan yields its PlanSyntaxError instead of a verdict (it is not raised).
    Each distinct line is read once per task and remembered, as sampled plans share most lines;
    a batch's lines are looked up all at once.
    """
    for batch in _batched(texts, BATCH):
        if len(batch) < SMALL_BATCH:
            yield from map(_text_verdict, itertools.repeat(task), batch)
            continue
        tables = _tables(task)
        flat, lengths, unreadable = _line_ids(task, tables, batch)
        tables.sync(task)
        verdicts = _simulate(task, tables, flat, lengths)
        for i in unreadable:
            verdicts[i] = _syntax_error(batch[i])
        yield from verdicts


_SKIP, _BAD, _MISS = -2, -3, -4


class _Lines(dict):
    """Plan text line -> action id, _SKIP (blank, comment) or _BAD; _MISS for a new line."""

    def __missing__(self, line: str) -> int:
        return _MISS


def _line_ids(task: Task, tables: _Tables, texts: list[str]):
    """(action ids of all texts, actions per text, indices of unreadable texts)."""
    texts = [t if len(t) <= MAX_PLAN_CHARS else "(" for t in texts]  # "(" reads as _BAD
    lines = "\n".join(texts).split("\n")
    ids = np.fromiter(map(tables.lines.__getitem__, lines), dtype=np.int64, count=len(lines))
    for at in np.flatnonzero(ids == _MISS).tolist():
        ids[at] = _line_id(task, tables, lines[at])
    text_of = np.repeat(np.arange(len(texts)),
                        np.fromiter(map(str.count, texts, itertools.repeat("\n")), np.int64) + 1)
    unreadable = np.unique(text_of[ids == _BAD])
    keep = ids >= 0
    if len(unreadable):
        keep[np.isin(text_of, unreadable)] = False
    lengths = np.bincount(text_of[keep], minlength=len(texts))
    return ids[keep], lengths, unreadable.tolist()


def _line_id(task: Task, tables: _Tables, line: str) -> int:
    index = tables.lines[line]
    if index == _MISS:
        try:
            action = plan_line(line)
            index = _SKIP if action is None else _row(task, tables, action)
        except PlanSyntaxError:
            index = _BAD
        if len(tables.lines) >= MAX_LINES:
            tables.lines.clear()
        tables.lines[line] = index
    return index


def _row(task: Task, tables: _Tables, action: str) -> int:
    """The table row of an action string: its id's, or the row of the reason it is unknown."""
    index = task.find(action)
    row = tables.unknown[unknown_reason(task, action)] if index is None else index + len(_UNKNOWN)
    if len(tables.ids) >= MAX_LINES:
        tables.ids.clear()
    tables.ids[action] = row
    return row


def _text_verdict(task: Task, text: str) -> Verdict | PlanSyntaxError:
    try:
        return validate(task, parse_plan(text))
    except PlanSyntaxError as error:
        return error


def _syntax_error(text: str) -> PlanSyntaxError:
    try:
        parse_plan(text)
    except PlanSyntaxError as error:
        return error
    raise AssertionError("validate_texts and parse_plan disagree on a plan text")


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


_UNKNOWN = (Reason.UNKNOWN_ACTION, Reason.WRONG_ARITY, Reason.UNKNOWN_OBJECT)


class _Tables:
    """A task's masks as numpy words: first one always-failing row per reason in _UNKNOWN, then
    one row per action the task has instantiated, in id order (`sync` adds the new ones)."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        """Action string "(stack a b)" -> row."""
        self.unknown = {reason: row for row, reason in enumerate(_UNKNOWN)}
        """Reason an action string names no action -> its always-failing row."""
        self.words = 0
        """uint64 words a row has: room for every fact and the last bit, which no state holds."""
        self.pre = self.keep = self.add = self.init = self.goal = np.zeros((0, 0), np.uint64)
        """(rows, words) precondition masks, complements of the delete masks, add masks;
        (words,) initial state and goal."""
        self.cache: dict = {}
        """Failure verdicts already built, by their key (see `_failure`)."""
        self.lines = _Lines()
        """Plan text lines already read -> row, _SKIP (blank, comment) or _BAD."""

    def sync(self, task: Task) -> None:
        """Add rows for the actions the task instantiated since; widen every row once its
        facts outgrow them (the failure keys change width, so their memory is emptied)."""
        count = len(task.actions)  # actions are listed last, after their masks
        if len(task.facts) >= self.words * 64:
            self.words = max(2 * self.words, (len(task.facts) + 64) // 64)
            never = [1 << (self.words * 64 - 1)] * len(_UNKNOWN)
            self.pre, self.keep, self.add = (np.zeros((0, self.words), np.uint64) for _ in range(3))
            self.init, self.goal = _words([task.init, task.goal], self.words)
            self._append(never, [0] * len(_UNKNOWN), [0] * len(_UNKNOWN))
            self.cache.clear()
        have = len(self.pre) - len(_UNKNOWN)
        if count > have:
            self._append(task.pre[have:count], task.delete[have:count], task.add[have:count])

    def _append(self, pre: list[int], delete: list[int], add: list[int]) -> None:
        self.pre = np.concatenate([self.pre, _words(pre, self.words)])
        self.keep = np.concatenate([self.keep, ~_words(delete, self.words)])
        self.add = np.concatenate([self.add, _words(add, self.words)])


_TABLES: weakref.WeakKeyDictionary[Task, _Tables] = weakref.WeakKeyDictionary()
"""Each live task's tables: kept as long as the task is (the task caches bound both)."""


def _tables(task: Task) -> _Tables:
    tables = _TABLES.get(task)
    if tables is None:
        tables = _TABLES[task] = _Tables()
    return tables


def _words(masks: list[int], words: int) -> np.ndarray:
    """Python int bitmasks as rows of little-endian uint64 words."""
    raw = b"".join(m.to_bytes(words * 8, "little") for m in masks)
    return np.frombuffer(raw, dtype="<u8").reshape(len(masks), words).astype(np.uint64)


def _simulate(task: Task, tables: _Tables, flat: np.ndarray, lengths: np.ndarray) -> list:
    """Verdicts of a batch of plans, simulated step by step together, longest first.

    `flat` holds the table rows of all plans' actions one after the other, `lengths` the
    number of actions of each plan.
    """
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = (np.cumsum(lengths) - lengths)[order], lengths[order]
    state = np.repeat(tables.init[None, :], len(lengths), axis=0)
    failed = np.full(len(lengths), -1, dtype=np.int64)
    rows = np.full(len(lengths), -1, dtype=np.int64)
    short = np.zeros_like(state)
    active = np.searchsorted(-lengths, -np.arange(int(lengths[0]) if len(lengths) else 0), "left")
    for step, n in enumerate(active.tolist()):
        action = flat[starts[:n] + step]
        now = state[:n]
        unmet = tables.pre[action] & ~now
        new = np.flatnonzero(unmet.any(axis=1) & (failed[:n] < 0))
        if len(new):
            failed[new], rows[new], short[new] = step, action[new], unmet[new]
        state[:n] = (now & tables.keep[action]) | tables.add[action]
    goal_short = np.where((failed < 0)[:, None], tables.goal & ~state, 0)
    return _verdicts(task, tables, order, lengths, failed, rows, short | goal_short)


def _verdicts(task, tables, order, lengths, failed, rows, short) -> list:
    """Turn the simulation's arrays into verdicts in input order, one object per distinct failure."""
    result = np.full(len(order), VALID, dtype=object)
    bad = np.flatnonzero((failed >= 0) | short.any(axis=1))
    keys = np.column_stack((failed[bad], rows[bad], lengths[bad] == 0, short[bad].view(np.int64)))
    raw, width = keys.tobytes(), keys.shape[1] * 8
    known = tables.cache.get
    verdicts = np.empty(len(bad), dtype=object)
    verdicts[:] = [known(key) or _failure(task, tables, key)
                   for key in (raw[k:k + width] for k in range(0, len(raw), width))]
    result[order[bad]] = verdicts
    return result.tolist()


def _failure(task: Task, tables: _Tables, key: bytes) -> Verdict:
    """The verdict of a failure key: int64 step, action row, empty plan, missing-fact words."""
    step, row, empty, *words = np.frombuffer(key, dtype=np.int64).tolist()
    if 0 <= row < len(_UNKNOWN):  # row -1: the plan ran to its end
        verdict = Verdict(False, _UNKNOWN[row], step)
    else:
        unmet = task.ordered(int.from_bytes(np.array(words, dtype=np.int64).tobytes(), "little"))
        verdict = Verdict(False, Reason.INAPPLICABLE, step, unmet) if step >= 0 else \
            Verdict(False, Reason.EMPTY_PLAN if empty else Reason.GOAL_NOT_REACHED, None, unmet)
    if len(tables.cache) >= MAX_VERDICTS:
        tables.cache.clear()
    tables.cache[key] = verdict
    return verdict
