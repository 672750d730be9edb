"""Plain breadth-first search over the 4-operator Blocksworld actions: the reference the optimal
planner is checked against in tests (small instances only)."""

from collections import deque

from planbench_scale.records import Fact


def bfs_plan(blocks: tuple[str, ...], init: tuple[Fact, ...], goal: tuple[Fact, ...]) -> tuple[Fact, ...] | None:
    """A shortest plan by plain breadth-first search over the 4-operator actions (small instances only)."""
    start, wanted, rules = frozenset(init), frozenset(goal), strips_rules(blocks)
    parent: dict[frozenset, tuple[frozenset, Fact] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if wanted <= state:
            plan = []
            while parent[state] is not None:
                state, action = parent[state]
                plan.append(action)
            return tuple(reversed(plan))
        for action, pre, add, delete in rules:
            if pre <= state:
                following = (state - delete) | add
                if following not in parent:
                    parent[following] = (state, action)
                    queue.append(following)
    return None


def strips_rules(blocks: tuple[str, ...]) -> list[tuple[Fact, frozenset, frozenset, frozenset]]:
    """(action, preconditions, adds, deletes) of every ground 4-operator action, as the domain states them."""
    rules = []
    for x in blocks:
        hand = ("handempty",)
        rules.append((("pick-up", x), {("clear", x), ("ontable", x), hand}, {("holding", x)},
                      {("clear", x), ("ontable", x), hand}))
        rules.append((("put-down", x), {("holding", x)}, {("clear", x), hand, ("ontable", x)}, {("holding", x)}))
        for y in (y for y in blocks if y != x):
            rules.append((("stack", x, y), {("clear", y), ("holding", x)}, {hand, ("clear", x), ("on", x, y)},
                          {("clear", y), ("holding", x)}))
            rules.append((("unstack", x, y), {("on", x, y), ("clear", x), hand}, {("holding", x), ("clear", y)},
                          {("on", x, y), ("clear", x), hand}))
    return [(action, frozenset(pre), frozenset(add), frozenset(delete)) for action, pre, add, delete in rules]
