"""A STRIPS domain read once into a lifted schema: typed parameters and atom templates per action.

`read_domain` reads a domain's text (remembered by text) with the s-expression reader and
refuses, at the file, line and column where it is written, every feature beyond STRIPS with
typing and equality. Atoms are kept as format strings over parameter values, "(on {0} {1})",
so grounding is string formatting; `conjuncts` and `atom` are shared with the problem reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from planbench_scale.errors import PDDLError
from planbench_scale.symbolic import sexp
from planbench_scale.symbolic.sexp import Expr, Source, Word, shown

MAX_PDDL_CHARS = 5_000_000
"""Longest domain or problem text read."""

STRIPS_ONLY = "only STRIPS (with typing and equality) is supported"

_CONDITIONS = {"not": "negative {where}s (not)", "or": "disjunctive conditions (or)",
               "imply": "implications (imply)", "exists": "existential conditions (exists)",
               "forall": "universal conditions (forall)", "when": "conditional effects (when)"}
_EFFECTS = {"when": "conditional effects (when)", "forall": "universal effects (forall)",
            **{op: f"numeric fluents ({op})" for op in
               ("increase", "decrease", "assign", "scale-up", "scale-down")}}
_SECTIONS = {":derived": "derived predicates (:derived)",
             ":durative-action": "durative actions (:durative-action)",
             ":functions": "numeric fluents (:functions)", ":constraints": "constraints (:constraints)",
             ":process": "processes (:process)", ":event": "events (:event)"}


@dataclass(frozen=True)
class ActionSchema:
    """One lifted action."""

    name: str
    """Lower-case action name."""
    params: tuple[str, ...]
    """The type of each parameter."""
    head: str
    """The ground action's PDDL as a format string: "(stack {0} {1})"."""
    pre: tuple[str, ...]
    """Precondition atoms as format strings over parameter values: "(clear {1})"."""
    add: tuple[str, ...]
    """Added atoms, as `pre`."""
    delete: tuple[str, ...]
    """Deleted atoms, as `pre`."""
    tests: tuple[tuple[bool, str, str], ...]
    """(equal, left, right): the terms' values must be equal (or differ when not `equal`)."""


@dataclass(frozen=True, eq=False)
class Schema:
    """A lifted STRIPS domain (hashed by identity: `read_domain` makes one per text)."""

    name: str
    """Lower-case domain name."""
    types: dict[str, frozenset[str]]
    """Type -> itself and every type above it (always including "object")."""
    constants: tuple[tuple[str, str], ...]
    """(name, type) of the domain's constants, in order."""
    predicates: dict[str, tuple[str, ...]]
    """Predicate -> the type of each argument."""
    actions: tuple[ActionSchema, ...]
    """The actions in the order the domain writes them."""


def unsupported(feature: str) -> str:
    """The message refusing a PDDL feature."""
    return f"unsupported PDDL feature: {feature}; {STRIPS_ONLY}"


def check_size(text: str, file: str | None) -> None:
    """Refuse a PDDL text that is empty or longer than MAX_PDDL_CHARS."""
    if len(text) > MAX_PDDL_CHARS:
        raise PDDLError(f"PDDL text of {len(text):,} characters is too large "
                        f"(limit {MAX_PDDL_CHARS:,})", file)
    if not text.strip():
        raise PDDLError("empty PDDL text", file)


def define(source: Source, kind: str) -> tuple[Word, list]:
    """(name, sections) of "(define (<kind> name) sections...)"."""
    check_size(source.text, source.file)
    tree = sexp.read(source)
    head = tree[1] if len(tree) > 1 else None
    if tree[0] != "define" or not isinstance(head, Expr) or len(head) != 2 or head[0] != kind \
            or not isinstance(head[1], Word):
        raise source.error(tree.at, f"expected (define ({kind} NAME) ...)")
    sections = tree[2:]
    for section in sections:
        if not isinstance(section, Expr) or not section or not isinstance(section[0], Word):
            raise source.error(section.at, "expected a section such as (:init ...)")
    return head[1], sections


@lru_cache(maxsize=64)
def read_domain(text: str, file: str | None = None) -> Schema:
    """The schema of a STRIPS domain text; PDDLError (file:line:col) for anything else."""
    source = Source(text, file)
    name, sections = define(source, "domain")
    types: dict[str, list[str]] = {"object": []}
    constants, predicates, actions = [], {}, []
    for section in sections:
        key = section[0]
        if key == ":types":
            for child, parent in sexp.typed_list(source, section[1:], "type"):
                types.setdefault(child, []).append(parent)
                types.setdefault(parent, [])
        elif key == ":constants":
            constants += sexp.typed_list(source, section[1:], "constant")
        elif key == ":predicates":
            predicates.update(_predicate(source, p) for p in section[1:])
        elif key == ":action":
            actions.append(section)
        elif key in _SECTIONS and len(section) > 1:  # an empty (:functions) says nothing
            raise source.error(section.at, unsupported(_SECTIONS[key]))
        elif key != ":requirements" and key not in _SECTIONS:
            raise source.error(section.at, f"unknown domain section {shown(key)}")
    ancestry = {t: _ancestors(source, t, types) for t in types}
    for constant, kind in constants:
        _known_type(source, kind, ancestry)
    for types_ in predicates.values():
        for kind in types_:
            _known_type(source, kind, ancestry)
    scope = Scope(source, predicates, {c: k for c, k in constants}, ancestry)
    return Schema(str(name), ancestry, tuple((str(c), str(k)) for c, k in constants), predicates,
                  tuple(_action(scope, a, ancestry) for a in actions))


def _ancestors(source: Source, kind: str, parents: dict[str, list[str]]) -> frozenset[str]:
    seen, todo = {kind, "object"}, list(parents[kind])
    while todo:
        parent = todo.pop()
        if parent == kind:
            raise source.error(parent.at, f"type {shown(parent)} is its own ancestor")
        if parent not in seen:
            seen.add(parent)
            todo += parents.get(parent, [])
    return frozenset(seen)


def _known_type(source: Source, kind: Word, ancestry: dict) -> None:
    if kind not in ancestry:
        raise source.error(kind.at, f"unknown type {shown(kind)}")


def _predicate(source: Source, expr) -> tuple[str, tuple[str, ...]]:
    if not isinstance(expr, Expr) or not expr or not isinstance(expr[0], Word):
        raise source.error(expr.at, "expected a predicate such as (on ?x ?y)")
    return str(expr[0]), tuple(str(k) for _, k in sexp.typed_list(source, expr[1:], "variable"))


@dataclass(frozen=True)
class Scope:
    """What an atom may name: the predicates and the objects (or parameters) in reach."""

    source: Source
    """The text the atoms are in."""
    predicates: dict[str, tuple[str, ...]]
    """Predicate -> argument types."""
    names: dict[str, str]
    """Object, constant or ?parameter -> its type."""
    types: dict[str, frozenset[str]]
    """Type -> itself and every type above it, as `Schema.types`."""


def atom(scope: Scope, expr: Expr, params: dict[str, int] | None = None) -> str:
    """An atom (p a ?x) as a format string "(p a {0})", checked against the scope."""
    if not expr or not all(isinstance(w, Word) for w in expr):
        raise scope.source.error(expr.at, "expected an atom such as (on a b)")
    name, *args = expr
    if name not in scope.predicates:
        raise scope.source.error(expr.at, f"unknown predicate {shown(name)} in {shown(expr)}")
    if len(args) != len(scope.predicates[name]):
        raise scope.source.error(expr.at, f"{name} takes {len(scope.predicates[name])} "
                                          f"arguments, not {len(args)}")
    for arg, kind in zip(args, scope.predicates[name]):
        if arg[0] != "?" and arg in scope.names and kind not in scope.types[scope.names[arg]]:
            raise scope.source.error(arg.at, f"{shown(arg)} is not a {kind}, as {name} needs")
    return "(" + " ".join([name, *(term(scope, a, params) for a in args)]) + ")"


def term(scope: Scope, word: Word, params: dict[str, int] | None) -> str:
    """An object name, or "{i}" for parameter i."""
    if word.startswith("?") and params is not None and word in params:
        return "{%d}" % params[word]
    if word not in scope.names or word.startswith("?"):
        raise scope.source.error(word.at, f"unknown {'variable' if word[0] == '?' else 'object'} "
                                          f"{shown(word)}")
    return str(word)


def conjuncts(source: Source, expr, where: str):
    """The atoms and (in)equalities of an `and` of them; refuse any other connective."""
    if not isinstance(expr, Expr):
        raise source.error(expr.at, f"expected a {where} such as (and (on a b))")
    if not expr or expr[0] == "and":
        for child in expr[1:]:
            yield from conjuncts(source, child, where)
    elif expr[0] == "not" and len(expr) == 2 and isinstance(expr[1], Expr) and expr[1][:1] == ["="]:
        yield expr
    elif isinstance(expr[0], Word) and expr[0] in _CONDITIONS:
        raise source.error(expr.at, unsupported(_CONDITIONS[expr[0]].format(where=where)))
    else:
        yield expr


def _action(scope: Scope, expr: Expr, ancestry) -> ActionSchema:
    source = scope.source
    if len(expr) < 2 or not isinstance(expr[1], Word) or len(expr) % 2:
        raise source.error(expr.at, "expected (:action NAME :parameters (...) :precondition ... "
                                    ":effect ...)")
    parts = dict(zip(expr[2::2], expr[3::2]))
    for key in parts:
        if key not in (":parameters", ":precondition", ":effect"):
            raise source.error(key.at, f"unknown action part {shown(key)}")
    typed = sexp.typed_list(source, parts.get(":parameters", []), "parameter")
    for variable, kind in typed:
        _known_type(source, kind, ancestry)
    inner = Scope(source, scope.predicates, {**scope.names, **dict(typed)}, ancestry)
    params = {v: i for i, (v, _) in enumerate(typed)}
    pre, tests = [], []
    for condition in conjuncts(source, parts.get(":precondition", Expr()), "precondition"):
        if condition[0] in ("=", "not"):
            equal = condition[0] == "="
            sides = condition[1:] if equal else condition[1][1:]
            if len(sides) != 2 or not all(isinstance(s, Word) for s in sides):
                raise source.error(condition.at, "expected (= a b) with two terms")
            tests.append((equal, *(term(inner, s, params) for s in sides)))
        else:
            pre.append(atom(inner, condition, params))
    add, delete = _effects(inner, parts.get(":effect", Expr()), params)
    head = "(" + " ".join([expr[1], *("{%d}" % i for i in range(len(typed)))]) + ")"
    return ActionSchema(str(expr[1]), tuple(str(k) for _, k in typed), head, tuple(pre),
                        tuple(add), tuple(delete), tuple(tests))


def _effects(scope: Scope, expr, params) -> tuple[list[str], list[str]]:
    add, delete = [], []
    todo = [expr]
    while todo:
        effect = todo.pop(0)
        if not isinstance(effect, Expr):
            raise scope.source.error(effect.at, "expected an effect such as (not (on a b))")
        if effect and isinstance(effect[0], Word) and effect[0] in _EFFECTS:
            raise scope.source.error(effect.at, unsupported(_EFFECTS[effect[0]]))
        if not effect or effect[0] == "and":
            todo[:0] = effect[1:]
        elif effect[0] == "not" and len(effect) == 2 and isinstance(effect[1], Expr):
            delete.append(atom(scope, effect[1], params))
        else:
            add.append(atom(scope, effect, params))
    return add, delete
