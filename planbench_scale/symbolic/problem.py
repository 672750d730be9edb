"""PDDL problem files of the STRIPS subset, read by our s-expression reader against a `Schema`.

The subset: (define (problem NAME) (:domain NAME) (:requirements ...) (:objects typed list)
(:init atoms) (:goal an atom or an `and` of atoms)). Anything else (negative, disjunctive,
quantified or equality goals, numeric init, :constraints, :metric, ...) is refused as a
PDDLError at the file, line and column where it is written, naming the feature.
"""

from __future__ import annotations

from dataclasses import dataclass

from planbench_scale.symbolic import sexp
from planbench_scale.symbolic.schema import Schema, Scope, atom, conjuncts, define, unsupported
from planbench_scale.symbolic.sexp import Expr, Source, shown

_SECTIONS = {":constraints": "constraints (:constraints)", ":metric": "plan metrics (:metric)",
             ":length": "plan length constraints (:length)"}
_INIT = {"not": "negative initial facts (not)", "=": "numeric fluents (=)",
         "at": "timed initial literals (at)"}


@dataclass(frozen=True)
class Problem:
    """A problem's objects and facts, checked against its domain's schema."""

    name: str
    """Lower-case problem name."""
    objects: tuple[tuple[str, str], ...]
    """(name, type) of the domain's constants and the problem's objects, in order."""
    init: tuple[str, ...]
    """Initial facts as PDDL: "(on a b)"."""
    goal: tuple[str, ...]
    """Goal facts as PDDL."""


def read_problem(schema: Schema, text: str, file: str | None = None) -> Problem:
    """The problem of a PDDL text over `schema`; PDDLError (file:line:col) for anything else."""
    source = Source(text, file)
    name, sections = define(source, "problem")
    parts = {}
    for section in sections:
        key = section[0]
        if key in _SECTIONS:
            raise source.error(section.at, unsupported(_SECTIONS[key]))
        if key not in (":domain", ":requirements", ":objects", ":init", ":goal"):
            raise source.error(section.at, f"unknown problem section {shown(key)}")
        parts[key] = section
    _check_domain(source, schema, parts.get(":domain"))
    objects = sexp.typed_list(source, parts.get(":objects", Expr())[1:], "object")
    for _, kind in objects:
        if kind not in schema.types:
            raise source.error(kind.at, f"unknown type {shown(kind)}")
    everything = dict.fromkeys([*schema.constants, *((str(o), str(k)) for o, k in objects)])
    scope = Scope(source, schema.predicates, dict(everything.keys()), schema.types)
    return Problem(str(name), tuple(everything), _init(scope, parts.get(":init", Expr())),
                   _goal(scope, parts.get(":goal")))


def read_facts(schema: Schema, objects, facts, file: str | None = None) -> tuple[str, ...]:
    """Facts given as strings over (name, type) objects, checked and normalised: "(on a b)"."""
    names, read = dict(objects), []
    for fact in facts:
        source = Source(fact, file)
        read.append(atom(Scope(source, schema.predicates, names, schema.types), sexp.read(source)))
    return tuple(read)


def _check_domain(source: Source, schema: Schema, section) -> None:
    if section is None:
        return
    if len(section) != 2 or not isinstance(section[1], sexp.Word):
        raise source.error(section.at, "expected (:domain NAME)")
    if section[1] != schema.name:
        raise source.error(section[1].at, f"the problem is for domain {shown(section[1])}, "
                                          f"but the domain read is {shown(schema.name)}")


def _init(scope: Scope, section: Expr) -> tuple[str, ...]:
    facts = []
    for fact in section[1:]:
        if isinstance(fact, Expr) and fact and isinstance(fact[0], sexp.Word) \
                and fact[0] in _INIT and fact[0] not in scope.predicates:  # (at ?x) may be a fact
            raise scope.source.error(fact.at, unsupported(_INIT[fact[0]]))
        if not isinstance(fact, Expr):
            raise scope.source.error(fact.at, "expected an atom such as (on a b)")
        facts.append(atom(scope, fact))
    return tuple(facts)


def _goal(scope: Scope, section) -> tuple[str, ...]:
    if section is None:
        return ()
    if len(section) != 2:
        raise scope.source.error(section.at, "expected (:goal (and ...)) with one condition")
    goal = []
    for condition in conjuncts(scope.source, section[1], "goal"):
        if condition[0] in ("=", "not"):
            raise scope.source.error(condition.at, unsupported("equality in the goal (=)"))
        goal.append(atom(scope, condition))
    return tuple(goal)
