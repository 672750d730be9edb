"""A grounded STRIPS task: facts as bit positions, actions as precondition/add/delete masks.

`ground` turns a unified-planning problem (read by `pddl.read_task`) into a `Task`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

from planbench_scale.errors import PDDLError

MAX_GROUND_ACTIONS = 2_000_000
"""Most ground actions a task may have; larger problems are refused as bad input."""

_STRIPS_ONLY = "only STRIPS (with typing and equality) is supported"


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


def ground(problem, file: str | None = None) -> Task:
    """Ground a unified-planning problem into a `Task`; PDDLError names any non-STRIPS feature."""
    _check_kind(problem, file)
    facts: dict[str, int] = {}
    bit = lambda fact: 1 << facts.setdefault(fact, len(facts))  # noqa: E731
    init = _mask([_template(f, []) for f, v in problem.explicit_initial_values.items()
                  if v.is_true()], (), bit)
    goals = list(_conjuncts(problem.goals, "goal"))
    if not all(g.is_fluent_exp() for g in goals):
        raise PDDLError(f"unsupported PDDL feature: equality in the goal; {_STRIPS_ONLY}", file)
    goal = _mask([_template(g, []) for g in goals], (), bit)
    names, pre, add, delete = [], [], [], []
    for action in problem.actions:
        for name, masks in _ground_action(problem, action, bit):
            names.append(name)
            pre.append(masks[0]), add.append(masks[1]), delete.append(masks[2] & ~masks[1])
    return Task(problem.name.lower(), tuple(facts), tuple(names), tuple(pre), tuple(add),
                tuple(delete), init, goal,
                {a.name.lower(): len(a.parameters) for a in problem.actions},
                frozenset(o.name.lower() for o in problem.all_objects))


def _check_kind(problem, file: str | None) -> None:
    """Refuse what is not STRIPS, naming it, and problems too large to ground."""
    from unified_planning.model import InstantaneousAction

    features = set()
    if any(not f.type.is_bool_type() for f in problem.fluents):
        features.add("numeric fluents")
    for action in problem.actions:
        if not isinstance(action, InstantaneousAction):
            features.add("durative actions")
            continue
        for effect in action.effects:
            if effect.is_conditional():
                features.add("conditional effects (when)")
            if effect.is_forall():
                features.add("universal effects (forall)")
            if not effect.is_assignment():
                features.add("numeric fluents")
    if features:
        raise PDDLError(f"unsupported PDDL feature: {', '.join(sorted(features))}; {_STRIPS_ONLY}",
                        file)
    total = sum(_count(len(list(problem.objects(p.type))) for p in action.parameters)
                for action in problem.actions)
    if total > MAX_GROUND_ACTIONS:
        raise PDDLError(f"the problem grounds to {total:,} actions (limit {MAX_GROUND_ACTIONS:,})",
                        file)


def _count(sizes) -> int:
    total = 1
    for size in sizes:
        total *= size
    return total


_CONNECTIVES = {"is_or": "disjunctive conditions (or)", "is_exists": "existential conditions (exists)",
                "is_forall": "universal conditions (forall)", "is_implies": "implications (imply)"}


def _conjuncts(conditions, where: str):
    """Flatten a list of `and` conditions into atoms and (in)equalities; refuse anything else."""
    for condition in conditions:
        if condition.is_and():
            yield from _conjuncts(condition.args, where)
        elif condition.is_true():
            continue
        elif condition.is_fluent_exp() or condition.is_equals() or (
                condition.is_not() and condition.arg(0).is_equals()):
            yield condition
        else:
            feature = next((name for test, name in _CONNECTIVES.items()
                            if getattr(condition, test)()), f"negative {where}s (not)"
                           if condition.is_not() else f"{where} {condition}")
            raise PDDLError(f"unsupported PDDL feature: {feature}; {_STRIPS_ONLY}")


def _template(expression, params: list[str]) -> str:
    """A fluent or a term as a format string over parameter values: "(on {0} b)", "{1}"."""
    if expression.is_parameter_exp():
        return "{%d}" % params.index(expression.parameter().name)
    if expression.is_object_exp():
        return expression.object().name.lower()
    args = [_template(arg, params) for arg in expression.args]
    return "(" + " ".join([expression.fluent().name.lower(), *args]) + ")"


def _ground_action(problem, action, bit):
    """(name, (pre, add, delete)) for every binding of the action's parameters."""
    params = [p.name for p in action.parameters]
    conditions = list(_conjuncts(action.preconditions, "precondition"))
    atoms = [_template(c, params) for c in conditions if c.is_fluent_exp()]
    tests = [(c.is_equals(), *(_template(arg, params) for arg in (c if c.is_equals() else c.arg(0)).args))
             for c in conditions if not c.is_fluent_exp()]
    adds = [_template(e.fluent, params) for e in action.effects if e.value.bool_constant_value()]
    deletes = [_template(e.fluent, params) for e in action.effects
               if not e.value.bool_constant_value()]
    domains = [[o.name.lower() for o in problem.objects(p.type)] for p in action.parameters]
    head = "(" + " ".join([action.name.lower(), *("{%d}" % i for i in range(len(params)))]) + ")"
    for values in itertools.product(*domains):
        if all((left.format(*values) == right.format(*values)) == equal for equal, left, right in tests):
            yield head.format(*values), (_mask(atoms, values, bit), _mask(adds, values, bit),
                                         _mask(deletes, values, bit))


def _mask(templates: list[str], values: tuple[str, ...], bit) -> int:
    mask = 0
    for template in templates:
        mask |= bit(template.format(*values))
    return mask
