"""Blocksworld states: uniform random sampling, canonical facts, certified optimal plans.

A state with the hand empty is a tuple `below`: below[i] is the index of the block under block i,
or TABLE. Goals are sets of `on` facts; a block the goal does not put on anything may end anywhere.

Sampling follows Slaney & Thiebaux's bwstates: exact counts of the ways to finish a partial
state make every state of n blocks equally likely. Optimal plans come from an A* search over
block moves (`search.py`); the tests check it against a plain breadth-first search.
"""

from __future__ import annotations

import random
from functools import lru_cache

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Fact
from planbench_scale.domains.blocksworld.search import FREE, TABLE, optimal_moves, towers

State = tuple[int, ...]
"""below[i]: index of the block under block i, or TABLE (-1)."""


@lru_cache(maxsize=None)
def count_states(floating: int, grounded: int = 0) -> int:
    """bwstates' g(n, k): ways to place `floating` towers given `grounded` towers already on the table."""
    if floating == 0:
        return 1
    return (count_states(floating - 1, grounded + 1)
            + (floating - 1 + grounded) * count_states(floating - 1, grounded))


def random_state(n: int, rng: random.Random) -> State:
    """A state of n blocks drawn uniformly from all count_states(n) states (bwstates)."""
    floating = [[i] for i in range(n)]
    grounded: list[list[int]] = []
    while floating:
        tower = floating.pop()
        rest, k = len(floating), len(grounded)
        draw = rng.randrange(count_states(rest + 1, k))
        to_table = count_states(rest, k + 1)
        if draw < to_table:
            grounded.append(tower)
        else:
            j = (draw - to_table) // count_states(rest, k)
            (floating[j] if j < rest else grounded[j - rest]).extend(tower)
    return state_of_towers(grounded, n)


def state_of_towers(towers: list[list[int]], n: int) -> State:
    """The state whose towers (lists of block indices, bottom first) are given."""
    below = [TABLE] * n
    for tower in towers:
        for lower, upper in zip(tower, tower[1:]):
            below[upper] = lower
    return tuple(below)


def state_facts(blocks: tuple[str, ...], below: State) -> tuple[Fact, ...]:
    """The canonical facts of a hand-empty state, sorted."""
    covered = {lower for lower in below if lower != TABLE}
    facts = [("handempty",)]
    for i, lower in enumerate(below):
        facts.append(("ontable", blocks[i]) if lower == TABLE else ("on", blocks[i], blocks[lower]))
        if i not in covered:
            facts.append(("clear", blocks[i]))
    return tuple(sorted(facts))


def on_facts(blocks: tuple[str, ...], below: State) -> tuple[Fact, ...]:
    """The `on` facts of a state, sorted: the full goal that describes it."""
    return tuple(sorted(("on", blocks[i], blocks[lower]) for i, lower in enumerate(below) if lower != TABLE))


def state_of_facts(blocks: tuple[str, ...], facts: tuple[Fact, ...]) -> State:
    """The state of a set of canonical facts; PlanbenchError unless it is a hand-empty state."""
    index = {name: i for i, name in enumerate(blocks)}
    below: list[int | None] = [None] * len(blocks)
    try:
        for fact in facts:
            if fact[0] in ("on", "ontable"):
                lower = index[fact[2]] if fact[0] == "on" else TABLE
                if below[index[fact[1]]] not in (None, lower):
                    raise PlanbenchError(f"block {fact[1]} is in two places")
                below[index[fact[1]]] = lower
            elif fact[0] == "holding":
                raise PlanbenchError("the initial state must have the hand empty")
    except KeyError as error:
        raise PlanbenchError(f"unknown block {error.args[0]!r} in the state") from None
    if None in below:
        raise PlanbenchError(f"block {blocks[below.index(None)]} is neither on the table nor on a block")
    state = tuple(below)
    if sum(len(t) for t in towers(state)) != len(blocks):
        raise PlanbenchError("the state has a cycle of blocks on each other")
    return state


def goal_targets(blocks: tuple[str, ...], goal: tuple[Fact, ...]) -> tuple[int, ...]:
    """target[i]: the block the goal puts block i on, or FREE; PlanbenchError if unsatisfiable."""
    index = {name: i for i, name in enumerate(blocks)}
    target = [FREE] * len(blocks)
    for fact in goal:
        if fact[0] != "on" or len(fact) != 3 or fact[1] not in index or fact[2] not in index:
            raise PlanbenchError(f"unsupported goal fact {fact!r}: goals are (on X Y) facts of known blocks")
        upper, lower = index[fact[1]], index[fact[2]]
        if target[upper] not in (FREE, lower) or upper == lower:
            raise PlanbenchError(f"the goal is unsatisfiable: block {fact[1]} cannot be in two places")
        target[upper] = lower
    lowers = [t for t in target if t != FREE]
    if len(set(lowers)) != len(lowers):
        raise PlanbenchError("the goal is unsatisfiable: two blocks on the same block")
    for start in range(len(blocks)):
        seen, i = set(), start
        while target[i] != FREE:
            if i in seen:
                raise PlanbenchError("the goal is unsatisfiable: its blocks stand on each other in a cycle")
            seen.add(i)
            i = target[i]
    return tuple(target)


def optimal_plan(blocks: tuple[str, ...], init: tuple[Fact, ...], goal: tuple[Fact, ...],
                 deadline: float | None = None) -> tuple[Fact, ...]:
    """A certified optimal plan (canonical 4-operator actions) from init to the `on` goal;
    `search.SearchTimeout` once `time.monotonic()` passes `deadline`."""
    below = state_of_facts(blocks, init)
    moves = optimal_moves(below, goal_targets(blocks, goal), deadline)
    return actions_of_moves(blocks, below, moves)


def actions_of_moves(blocks: tuple[str, ...], below: State, moves: list[tuple[int, int]]) -> tuple[Fact, ...]:
    """Each block move (block, destination) as two actions: pick-up/unstack, then put-down/stack."""
    state, actions = list(below), []
    for block, dest in moves:
        name = blocks[block]
        actions.append(("pick-up", name) if state[block] == TABLE else ("unstack", name, blocks[state[block]]))
        actions.append(("put-down", name) if dest == TABLE else ("stack", name, blocks[dest]))
        state[block] = dest
    return tuple(actions)


def distance(blocks: tuple[str, ...], state: tuple[Fact, ...], goal: tuple[Fact, ...]) -> int:
    """The optimal number of actions from `state` (canonical facts, the hand empty or holding
    one block) to the `on` goal: with a block in hand, 1 + the best of putting it down or
    stacking it on a clear block."""
    held = [fact[1] for fact in state if fact[0] == "holding"]
    if not held:
        return len(optimal_plan(blocks, state, goal))
    rest = [fact for fact in state if fact[0] != "holding"]
    places = [("ontable", held[0])] + [("on", held[0], f[1]) for f in rest if f[0] == "clear"]
    return 1 + min(len(optimal_plan(blocks, tuple(rest + [place]), goal)) for place in places)
