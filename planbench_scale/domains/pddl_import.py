"""Bring your own domain: a STRIPS domain (typed or untyped) and its problems, read through
unified-planning at this edge, as a canonical untyped domain and Instance records.

Only STRIPS with typing and equality is taken; a `:requirements` entry beyond those
(`:negative-preconditions`, `:conditional-effects`, `:disjunctive-preconditions`, ...) is refused
with the requirement and the file named, as is a construct beyond them written without its
requirement. Types are compiled away as the core likes them: each type becomes a unary
predicate of the same name ("is-" in front where that name is taken), a parameter of a type gets
that predicate as a precondition, and an object of a type holds it and those of the types above
it, so a typed problem is an untyped one with static type facts (as PlanBench's Logistics is).
Names are kept, in lower case; the parameters keep their names.
"""

from __future__ import annotations

import re
from pathlib import Path

from planbench_scale.errors import PDDLError
from planbench_scale.records import Fact, Instance

ALLOWED = (":strips", ":typing", ":equality")
"""The requirements an imported domain may declare."""
_REQUIREMENTS = re.compile(r"\(\s*:requirements([^()]*)\)", re.IGNORECASE)


def refuse_requirements(text: str, file: str) -> None:
    """Refuse a domain or problem text that declares a requirement beyond STRIPS, typing and
    equality (the first one, by name, with the file)."""
    for match in _REQUIREMENTS.finditer(re.sub(r";[^\n]*", "", text)):
        for requirement in match.group(1).lower().split():
            if requirement not in ALLOWED:
                raise PDDLError(f"requirement {requirement} is not supported: only STRIPS with "
                                f"{', '.join(ALLOWED[1:])} can be imported", file)


def read(domain_file: str | Path, problem_file: str | Path | None = None):
    """The unified-planning Problem of a domain (and problem) file, requirements checked first."""
    from unified_planning.io import PDDLReader
    files = [str(f) for f in (domain_file, problem_file) if f is not None]
    for file in files:
        try:
            refuse_requirements(Path(file).read_text(), file)
        except OSError as error:
            raise PDDLError(f"cannot read: {error.strerror or error}", file) from None
    try:
        return PDDLReader().parse_problem(*files)
    except Exception as error:  # unified-planning raises its own and pyparsing's errors
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise PDDLError(f"unified-planning cannot read it: {first}", files[-1]) from None


def type_predicates(problem) -> dict[str, str]:
    """Type name -> the unary predicate that stands for it in the untyped domain."""
    taken = {f.name.lower() for f in problem.fluents} | {a.name.lower() for a in problem.actions}
    names = {}
    for kind in problem.user_types:
        name = kind.name.lower()
        if name == "object":  # every object is one (unified-planning's type of untyped ones)
            continue
        while name in taken:
            name = "is-" + name
        taken.add(name)
        names[kind.name] = name
    return names


def untyped_domain(problem, file: str) -> str:
    """The domain of a unified-planning Problem as untyped STRIPS PDDL text (types compiled to
    unary predicates); a construct beyond STRIPS with equality is refused, named, with `file`."""
    kinds = type_predicates(problem)
    predicates = [f"({name} ?x)" for name in kinds.values()]
    predicates += [_atom(f.name, [f"?{p.name}" for p in f.signature]) for f in problem.fluents]
    actions = [_action(action, kinds, file) for action in problem.actions]
    equality = " :equality" if any("(= " in a for a in actions) else ""
    return (f"(define (domain {problem.name.lower()})\n  (:requirements :strips{equality})\n"
            f"  (:predicates {' '.join(predicates)})\n"
            + "".join(actions) + ")\n")


def _atom(name: str, args) -> str:
    return "(" + " ".join([name.lower(), *(str(a).lower() for a in args)]) + ")"


def _action(action, kinds: dict[str, str], file: str) -> str:
    where = f"action {action.name}"
    params = [f"?{p.name.lower()}" for p in action.parameters]
    pre = [_atom(kinds[t.name], [var]) for p, var in zip(action.parameters, params)
           for t in [p.type] if t.is_user_type() and t.name in kinds]
    for condition in action.preconditions:
        pre += _conditions(condition, f"{where}'s precondition", file)
    add, delete = [], []
    for effect in action.effects:
        if effect.is_conditional() or getattr(effect, "forall", ()):
            raise PDDLError(f"{where}: conditional or universal effects are not supported", file)
        if not effect.is_assignment() or not effect.value.is_bool_constant():
            raise PDDLError(f"{where}: numeric effects are not supported", file)
        target = add if effect.value.bool_constant_value() else delete
        target.append(_term_atom(effect.fluent, where, file))
    effects = add + [f"(not {atom})" for atom in delete]
    return (f"  (:action {action.name.lower()}\n    :parameters ({' '.join(params)})\n"
            f"    :precondition (and {' '.join(pre)})\n    :effect (and {' '.join(effects)}))\n")


def _conditions(node, where: str, file: str) -> list[str]:
    if node.is_and():
        return [atom for arg in node.args for atom in _conditions(arg, where, file)]
    if node.is_fluent_exp():
        return [_term_atom(node, where, file)]
    if node.is_equals():
        return ["(= " + " ".join(_term(a, where, file) for a in node.args) + ")"]
    if node.is_not() and node.arg(0).is_equals():
        return [f"(not {_conditions(node.arg(0), where, file)[0]})"]
    feature = ("negative preconditions (not)" if node.is_not() else
               "disjunctive preconditions (or)" if node.is_or() else
               "existential preconditions (exists)" if node.is_exists() else
               "universal preconditions (forall)" if node.is_forall() else
               "implications (imply)" if node.is_implies() else f"the condition {node}")
    raise PDDLError(f"{where}: {feature} are not supported: only STRIPS with equality", file)


def _term_atom(node, where: str, file: str) -> str:
    if not node.is_fluent_exp() or not node.fluent().type.is_bool_type():
        raise PDDLError(f"{where}: {node} is not a fact (numeric fluents are not supported)", file)
    return _atom(node.fluent().name, [_term(a, where, file) for a in node.args])


def _term(node, where: str, file: str) -> str:
    if node.is_parameter_exp():
        return f"?{node.parameter().name.lower()}"
    if node.is_object_exp():
        raise PDDLError(f"{where}: constants ({node}) are not supported in imported domains", file)
    raise PDDLError(f"{where}: {node} is not a parameter", file)


def instance_parts(problem, file: str) -> tuple[tuple[str, ...], tuple[Fact, ...], tuple[Fact, ...]]:
    """(objects, init, goal) of a unified-planning Problem as canonical names and facts: the
    init with the objects' type facts; the goal must be a conjunction of facts."""
    kinds = type_predicates(problem)
    objects = tuple(o.name.lower() for o in problem.all_objects)
    init = {(kinds[t.name], o.name.lower()) for o in problem.all_objects
            for t in _ancestry(o.type) if t.name in kinds}
    for fluent, value in problem.explicit_initial_values.items():
        if not value.is_bool_constant():
            raise PDDLError("numeric initial values are not supported", file)
        if value.bool_constant_value():
            init.add(_fact(fluent))
    goal = set()
    for condition in problem.goals:
        for node in (condition.args if condition.is_and() else [condition]):
            if not node.is_fluent_exp():
                raise PDDLError(f"the goal must be a conjunction of facts, not {node}", file)
            goal.add(_fact(node))
    return objects, tuple(sorted(init)), tuple(sorted(goal))


def _ancestry(kind):
    while kind is not None and kind.is_user_type():
        yield kind
        kind = kind.father


def _fact(node) -> Fact:
    return (node.fluent().name.lower(), *(str(a).lower() for a in node.args))


def instance(name: str, domain_file: Path, problem_file: Path) -> Instance:
    """The Instance (no plan yet) of one problem file of a domain file, read with
    unified-planning; its id is the file's stem, its source the file."""
    objects, init, goal = instance_parts(read(domain_file, problem_file), str(problem_file))
    return Instance(id=problem_file.stem, domain=name, vocabulary=name, objects=objects,
                    init=init, goal=goal, optimal_plan=(), source=str(problem_file.resolve()))
