"""A grounded STRIPS task: facts as bit positions, actions as precondition/add/delete masks.

`ground` builds a `Task` from a domain's lifted `Schema` and a problem's objects and facts.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from planbench_scale.errors import PDDLError
from planbench_scale.symbolic.schema import ActionSchema, Schema

MAX_GROUND_ACTIONS = 2_000_000
"""Most ground actions a task may have; larger problems are refused as bad input."""
MAX_GROUND_BITS = 1_000_000_000
"""Most (ground action, fact) pairs a task may have: each action holds masks over all facts,
so this bounds the masks' memory (about 3/8 byte a pair: 0.35 GiB), which grows as the
fourth power of the objects in Blocksworld (140 blocks fit, 150 do not)."""
SHARED_ACTIONS = 5_000
"""Problems with at most this many ground actions share them with earlier problems over the
same objects (64 object lists remembered, about 1.5 MB each at most)."""


@dataclass(frozen=True, eq=False)
class Task:
    """A grounded STRIPS task; bit i of a mask stands for `facts[i]`."""

    name: str
    """The PDDL problem name."""
    facts: tuple[str, ...]
    """Every fact that the init, the goal or an action mentions, as PDDL: "(on a b)"."""
    actions: tuple[str, ...]
    """Every ground action as PDDL, lower case: "(stack a b)"."""
    pre: tuple[int, ...]
    """Precondition mask of each action."""
    add: tuple[int, ...]
    """Add mask of each action."""
    delete: tuple[int, ...]
    """Delete mask of each action (an add wins over a delete of the same fact)."""
    init: int
    """Facts true in the initial state."""
    goal: int
    """Facts the goal asks for."""
    schemas: dict[str, int] = field(repr=False)
    """Action name -> number of parameters."""
    objects: frozenset[str] = field(repr=False)
    """Object (and constant) names, lower case."""

    @cached_property
    def index(self) -> dict[str, int]:
        """Action string "(stack a b)" -> action id."""
        return {action: i for i, action in enumerate(self.actions)}

    def fact_names(self, mask: int) -> tuple[str, ...]:
        """The facts of a mask as PDDL strings, in bit order."""
        names = []
        while mask:
            low = mask & -mask
            names.append(self.facts[low.bit_length() - 1])
            mask ^= low
        return tuple(names)


def ground(schema: Schema, name: str, objects, init, goal, file: str | None = None) -> Task:
    """The task of a problem: (name, type) objects and facts ("(on a b)") over a schema.

    Facts take bits in order of first mention: the init, the goal, then each ground action's
    precondition, add and delete atoms. PDDLError if the task is too large to validate.
    """
    objects = tuple(objects)
    small = _check_size(schema, objects, file) <= SHARED_ACTIONS
    atoms, names, ids = (_shared_actions if small else _ground_actions)(schema, objects)
    facts = _Numbering()
    init, goal = _mask(facts, init), _mask(facts, goal)
    bits = [1 << facts[atom] for atom in atoms]
    pre, add, delete = ([sum([bits[i] for i in masks[k]]) for masks in ids] for k in range(3))
    delete = [d & ~a for d, a in zip(delete, add)]
    return Task(name, tuple(facts), names, tuple(pre), tuple(add), tuple(delete), init, goal,
                {a.name: len(a.params) for a in schema.actions}, frozenset(o for o, _ in objects))


def _ground_actions(schema: Schema, objects: tuple) -> tuple:
    """(atoms in order of first mention, ground action names, (pre, add, delete) atom indices
    of each action): the part of grounding that problems over the same objects share."""
    atoms = _Numbering()
    names, ids = [], []
    for action in schema.actions:
        template = "\0".join((action.head, *action.pre, *action.add, *action.delete))
        cut, end = len(action.pre), len(action.pre) + len(action.add)
        for values in _bindings(schema, action, objects):
            head, *found = template.format(*values).split("\0")
            numbers = [atoms[atom] for atom in found]
            names.append(head)
            ids.append(tuple(tuple(dict.fromkeys(part)) for part in
                             (numbers[:cut], numbers[cut:end], numbers[end:])))
    return tuple(atoms), tuple(names), tuple(ids)


_shared_actions = lru_cache(maxsize=64)(_ground_actions)


class _Numbering(dict):
    """Fact -> number, numbering each new fact next."""

    def __missing__(self, fact: str) -> int:
        self[fact] = number = len(self)
        return number


def _mask(facts: _Numbering, atoms) -> int:
    return sum({1 << facts[atom] for atom in atoms})


def _bindings(schema: Schema, action: ActionSchema, objects):
    """The parameter values of every ground action that passes the equality tests."""
    domains = [[o for o, kind in objects if wanted in schema.types[kind]] for wanted in action.params]
    for values in itertools.product(*domains):
        if all((left.format(*values) == right.format(*values)) == equal
               for equal, left, right in action.tests):
            yield values


def _check_size(schema: Schema, objects, file: str | None) -> int:
    """The number of ground actions; PDDLError if their masks would not fit in memory."""
    count = {kind: sum(kind in schema.types[k] for _, k in objects) for kind in schema.types}
    actions = sum(math.prod(count[t] for t in a.params) for a in schema.actions)
    facts = sum(math.prod(count[t] for t in types) for types in schema.predicates.values())
    if actions > MAX_GROUND_ACTIONS:
        raise PDDLError(f"the problem grounds to {actions:,} actions (limit "
                        f"{MAX_GROUND_ACTIONS:,})", file)
    if actions * facts > MAX_GROUND_BITS:
        raise PDDLError(f"the problem grounds to {actions:,} actions over up to {facts:,} facts: "
                        f"their masks would take about {actions * facts * 3 / 8 / 2**30:,.1f} GiB "
                        f"(limit {MAX_GROUND_BITS:,} action-fact pairs, {len(objects):,} objects)",
                        file)
    return actions
