"""A STRIPS task: facts as bit positions, ground actions as precondition/add/delete masks.

Reading a problem grounds nothing. `Task.find` instantiates the one action a plan names, the
first time it is named, so validating a plan costs its own steps whatever the problem's size;
`Task.reachable` grounds every action relaxed reachability allows (`ground.py`), for the
searches and the legal-step proposals that need them all. Both number facts and actions in
one table, in order of first mention (init and goal first); `ordered` lists facts in an
order that does not depend on which actions were named before.
"""

from __future__ import annotations

import threading
from functools import cached_property, lru_cache

from planbench_scale.errors import PDDLError
from planbench_scale.symbolic.ground import reachable_bindings
from planbench_scale.symbolic.schema import ActionSchema, Schema

MAX_GROUND_ACTIONS = 2_000_000
"""Most ground actions `Task.reachable` grounds; larger problems are refused as bad input."""
MAX_GROUND_BITS = 1_000_000_000
"""Most (ground action, fact) pairs `Task.reachable` grounds: each action holds masks over all
facts, so this bounds the masks' memory (about 3/8 byte a pair: 0.35 GiB), which grows as the
fourth power of the objects in Blocksworld (140 blocks fit, 150 do not)."""


class Task:
    """A STRIPS problem over a lifted schema; bit i of a mask stands for `facts[i]`."""

    def __init__(self, schema: Schema, name: str, objects, init, goal, file: str | None = None):
        self.name = name
        """The PDDL problem name."""
        self.schema = schema
        """The domain's lifted schema."""
        self.kinds: dict[str, str] = dict(objects)
        """Object (and constant) name, lower case -> its type."""
        self.objects = frozenset(self.kinds)
        """Object (and constant) names, lower case."""
        self.schemas = {a.name: len(a.params) for a in schema.actions}
        """Action name -> number of parameters."""
        self.file = file
        """The problem's file, for error messages."""
        self.facts: list[str] = []
        """Every fact numbered so far, as PDDL: "(on a b)"."""
        self.bits: dict[str, int] = {}
        """Fact -> its bit."""
        self.actions: list[str] = []
        """Every ground action instantiated so far, as PDDL, lower case: "(stack a b)"."""
        self.index: dict[str, int] = {}
        """Action string "(stack a b)" -> action id."""
        self.pre: list[int] = []
        """Precondition mask of each action."""
        self.add: list[int] = []
        """Add mask of each action."""
        self.delete: list[int] = []
        """Delete mask of each action (an add wins over a delete of the same fact)."""
        self.init = self.mask(init)
        """Facts true in the initial state."""
        self.goal = self.mask(goal)
        """Facts the goal asks for."""
        self.stated = len(self.facts)
        """Facts below this bit are the problem's own (init, then goal), numbered as it states
        them; the others are numbered as actions are instantiated, in no fixed order."""
        self._lock = threading.Lock()

    def mask(self, facts) -> int:
        """The mask of facts given as PDDL strings, numbering the new ones."""
        bits, mask = self.bits, 0
        for fact in facts:
            bit = bits.get(fact)
            if bit is None:
                bit = bits[fact] = len(self.facts)
                self.facts.append(fact)
            mask |= 1 << bit
        return mask

    def fact_names(self, mask: int) -> tuple[str, ...]:
        """The facts of a mask as PDDL strings, in bit order."""
        names = []
        while mask:
            low = mask & -mask
            names.append(self.facts[low.bit_length() - 1])
            mask ^= low
        return tuple(names)

    def ordered(self, mask: int) -> tuple[str, ...]:
        """The facts of a mask as the problem states them (init, then goal), then the others
        sorted: what a verdict lists as unmet."""
        names = self.fact_names(mask & ((1 << self.stated) - 1))
        return names + tuple(sorted(self.fact_names(mask >> self.stated << self.stated)))

    def find(self, action: str) -> int | None:
        """The id of an action string such as "(Stack A  B)", instantiated on first use; None if
        it names no action, the wrong number of objects, an unknown object, one of the wrong
        type, or values its equality tests forbid."""
        index = self.index.get(action)
        if index is None:
            key = "(" + " ".join(action.strip().strip("()").lower().split()) + ")"
            index = self.index.get(key)
            if index is None:
                name, *args = key[1:-1].split() or [""]
                schema = _by_name(self.schema).get(name)
                if schema is not None and self._allows(schema, args):
                    index = self._instantiate(schema, args)
        return index

    def _allows(self, action: ActionSchema, args: list[str]) -> bool:
        types, kinds = self.schema.types, self.kinds
        if len(args) != len(action.params) or \
                not all(a in kinds and k in types[kinds[a]] for a, k in zip(args, action.params)):
            return False
        return all((left.format(*args) == right.format(*args)) == equal
                   for equal, left, right in action.tests)

    def _instantiate(self, action: ActionSchema, values) -> int:
        template, cut, end = _template(action)
        head, *atoms = template.format(*values).split("\0")
        with self._lock:
            if head in self.index:
                return self.index[head]
            add = self.mask(atoms[cut:end])
            self.pre.append(self.mask(atoms[:cut]))
            self.add.append(add)
            self.delete.append(self.mask(atoms[end:]) & ~add)
            self.actions.append(head)
            self.index[head] = number = len(self.actions) - 1
        return number

    @cached_property
    def reachable(self) -> tuple[int, ...]:
        """Ids of every ground action relaxed reachability allows: the schema's actions in
        order, each one's parameter values in the order of the objects. PDDLError if the
        masks would not fit in memory."""
        objects = list(self.kinds.items())
        found, reached = reachable_bindings(self.schema, objects, self.fact_names(self.init),
                                            MAX_GROUND_ACTIONS, self.file)
        count = sum(map(len, found))
        facts = reached + len(self.facts) - self.init.bit_count()  # the goal's may be unreached
        if count * facts > MAX_GROUND_BITS:
            raise PDDLError(f"the problem grounds to {count:,} actions over up to {facts:,} facts: "
                            f"their masks would take about {count * facts * 3 / 8 / 2**30:,.1f} GiB "
                            f"(limit {MAX_GROUND_BITS:,} action-fact pairs, {len(objects):,} "
                            f"objects)", self.file)
        return tuple(self._instantiate(action, values)
                     for action, bindings in zip(self.schema.actions, found) for values in bindings)

    def applicable(self, state: int) -> list[int]:
        """Ids of the reachable actions whose preconditions hold in `state`, in their order."""
        pre = self.pre
        return [i for i in self.reachable if pre[i] & state == pre[i]]


@lru_cache(maxsize=256)
def _by_name(schema: Schema) -> dict[str, ActionSchema]:
    return {action.name: action for action in schema.actions}


@lru_cache(maxsize=4096)
def _template(action: ActionSchema) -> tuple[str, int, int]:
    """(head and atoms joined by NULs, end of the preconditions, end of the adds)."""
    template = "\0".join((action.head, *action.pre, *action.add, *action.delete))
    return template, len(action.pre), len(action.pre) + len(action.add)

