"""Relaxed reachability: the parameter values of every ground action some relaxed state allows.

Each action's preconditions are joined over the facts reached so far, static ones (no action
adds or deletes them) first among equally bound atoms, as Fast Downward's translator does; the
add effects of what the join allows are reached in turn, until no new fact is. Actions whose
preconditions can never hold together are never instantiated, so an untyped domain with unary
type predicates (Logistics) grounds to the few thousand actions that make sense instead of the
fourth power of its objects.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from planbench_scale.errors import PDDLError
from planbench_scale.symbolic.schema import ActionSchema, Schema

@lru_cache(maxsize=4096)
def lifted(atom: str) -> tuple[str, tuple]:
    """A schema's atom format string "(on {0} b)" as (predicate, (0, "b"))."""
    name, *terms = atom[1:-1].split()
    return name, tuple(int(t[1:-1]) if t.startswith("{") else t for t in terms)


@dataclass(frozen=True)
class _Step:
    """One precondition atom in join order."""

    predicate: str
    known: tuple[int, ...]
    """Argument positions whose values are known when the atom is joined."""
    key: tuple
    """The term at each known position (parameter index or constant)."""
    new: tuple[tuple[int, int], ...]
    """(position, parameter) of every other position: parameters the atom binds first (one
    may stand at several positions, which must then hold the same value)."""


@lru_cache(maxsize=256)
def _join_order(schema: Schema, number: int) -> tuple[tuple[_Step, ...], tuple[int, ...]]:
    """The join order of action `number`'s preconditions and its parameters no atom binds.

    Greedy: next the atom with every term known, else the most known terms, static before
    fluent, then the fewest new parameters."""
    action, static = schema.actions[number], static_predicates(schema)
    atoms, bound, steps = [lifted(a) for a in action.pre], set(), []
    while atoms:
        def rank(atom):
            params = {t for t in atom[1] if isinstance(t, int)}
            return (params <= bound, len(params & bound), atom[0] in static, -len(params - bound))
        name, terms = atom = max(atoms, key=rank)
        atoms.remove(atom)
        known = tuple(i for i, t in enumerate(terms) if not isinstance(t, int) or t in bound)
        new = tuple((i, t) for i, t in enumerate(terms) if i not in known)
        steps.append(_Step(name, known, tuple(terms[i] for i in known), new))
        bound |= {t for _, t in new}
    return tuple(steps), tuple(i for i in range(len(action.params)) if i not in bound)


@lru_cache(maxsize=256)
def static_predicates(schema: Schema) -> frozenset[str]:
    """The predicates no action adds or deletes (types, maps): true or false for good."""
    changed = {lifted(a)[0] for action in schema.actions for a in (*action.add, *action.delete)}
    return frozenset(schema.predicates) - changed


def reachable_bindings(schema: Schema, objects, init, limit: int,
                       file: str | None = None) -> tuple[list[list[tuple[str, ...]]], int]:
    """(per action of the schema, the parameter values of its relaxed-reachable ground actions
    that pass its equality tests, in the order of `objects` (as a product of typed lists); the
    number of facts reached).

    `objects` are (name, type) pairs, `init` facts as PDDL strings. PDDLError once more than
    `limit` ground actions are found."""
    facts: dict[str, set[tuple]] = defaultdict(set)
    for fact in init:
        name, *args = fact[1:-1].split()
        facts[name].add(tuple(args))
    order = {name: i for i, (name, _) in enumerate(objects)}
    domains = [[_typed(schema, objects, kind) for kind in action.params] for action in schema.actions]
    found: list = [None] * len(schema.actions)
    seen: list = [None] * len(schema.actions)
    while True:
        grew = False
        for number, action in enumerate(schema.actions):
            sizes = tuple(len(facts[lifted(a)[0]]) for a in action.pre)
            if seen[number] == sizes:
                continue  # nothing new for its preconditions: its bindings stand
            seen[number], found[number] = sizes, _join(schema, number, facts, domains[number])
            if sum(map(len, (f for f in found if f is not None))) > limit:
                raise PDDLError(f"the problem grounds to more than {limit:,} actions "
                                f"(limit {limit:,})", file)
            grew |= _reach(action, found[number], facts)
        if not grew:
            return ([sorted(f, key=lambda values: [order[v] for v in values]) for f in found],
                    sum(map(len, facts.values())))


def _typed(schema: Schema, objects, kind: str) -> dict[str, None]:
    """The objects of a type, in order (a dict: ordered and quick to test)."""
    return dict.fromkeys(name for name, own in objects if kind in schema.types[own])


def _reach(action: ActionSchema, bindings, facts) -> bool:
    """Add the add effects of the bindings to the facts; whether any fact is new."""
    grew = False
    for atom in action.add:
        name, terms = lifted(atom)
        reached = facts[name]
        before = len(reached)
        reached.update(tuple(v[t] if isinstance(t, int) else t for t in terms) for v in bindings)
        grew |= len(reached) > before
    return grew


def _join(schema: Schema, number: int, facts, domains) -> list[tuple[str, ...]]:
    """The parameter values that satisfy every precondition over `facts` and the tests."""
    steps, free = _join_order(schema, number)
    partial = [[None] * len(domains)]
    for step in steps:
        index = defaultdict(list)
        for args in facts.get(step.predicate, ()):
            index[tuple(args[i] for i in step.known)].append(args)
        partial = [extended for values in partial
                   for extended in _extend(step, values, index, domains)]
        if not partial:
            return []
    if free:
        partial = [[*v] for values in partial for v in _fill(values, free, domains)]
    tests = schema.actions[number].tests
    return [tuple(values) for values in partial if _passes(tests, values)]


def _extend(step: _Step, values: list, index, domains):
    key = tuple(values[t] if isinstance(t, int) else t for t in step.key)
    for args in index.get(key, ()):
        extended = list(values)
        for position, param in step.new:
            value = args[position]
            if extended[param] is not None and extended[param] != value:
                break  # the atom repeats a new parameter with another value
            if value not in domains[param]:
                break
            extended[param] = value
        else:
            yield extended


def _fill(values: list, free: tuple[int, ...], domains):
    for choice in product(*(domains[i] for i in free)):
        filled = list(values)
        for param, value in zip(free, choice):
            filled[param] = value
        yield filled


def _passes(tests, values) -> bool:
    return all((left.format(*values) == right.format(*values)) == equal
               for equal, left, right in tests)
