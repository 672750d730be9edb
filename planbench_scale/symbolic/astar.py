"""Optimal plans of a grounded task by A* over its reachable actions, with a heuristic the
domain supplies (it must never overestimate: then the first goal state expanded is optimal).
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Callable

from planbench_scale.errors import PlanbenchError
from planbench_scale.symbolic.task import Task

Heuristic = Callable[[int], int]
"""State mask -> a lower bound on the actions still needed to reach the goal."""


class SearchLimit(PlanbenchError):
    """The search ran past its deadline or its node limit."""


def optimal_plan(task: Task, heuristic: Heuristic, deadline: float | None = None,
                 max_nodes: int = 1_000_000) -> list[int]:
    """Action ids of a shortest plan; PlanbenchError if the goal is unreachable, SearchLimit
    once `time.monotonic()` passes `deadline` or `max_nodes` states were expanded."""
    goal, start = task.goal, task.init
    best, came = {start: 0}, {start: (None, -1)}
    tie = itertools.count()
    heap = [(heuristic(start), 0, next(tie), start)]  # (f, -g, ...): deeper first on ties
    expanded = 0
    while heap:
        _, minus_g, _, state = heapq.heappop(heap)
        g = -minus_g
        if g > best[state]:
            continue
        if state & goal == goal:
            return _path(came, state)
        expanded += 1
        if expanded > max_nodes or (deadline is not None and expanded % 256 == 0
                                    and time.monotonic() > deadline):
            raise SearchLimit(f"no optimal plan within the limits ({expanded:,} states expanded)")
        for action in task.applicable(state):
            child = (state & ~task.delete[action]) | task.add[action]
            if g + 1 < best.get(child, g + 2):
                best[child], came[child] = g + 1, (state, action)
                heapq.heappush(heap, (g + 1 + heuristic(child), -g - 1, next(tie), child))
    raise PlanbenchError("the goal cannot be reached from the initial state")


def _path(came, state) -> list[int]:
    actions = []
    while came[state][0] is not None:
        state, action = came[state]
        actions.append(action)
    return actions[::-1]
