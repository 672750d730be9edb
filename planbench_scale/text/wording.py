"""The default wording: a prompt template for a domain that has none of its own, built from its
predicate and action names (and the parameter names of its PDDL), and PlanBench's config format
turned into a template.

The phrases ("{}" are the objects in order, {name} the predicate's or action's own spelling in
the instance's vocabulary, so Randomized names stay hidden):
- a unary predicate no action changes (a type, such as `(ball ?b)`): "ball1 is a ball";
- a predicate of no arguments, `(handempty)`: "handempty";
- of one, `(free ?g)`: "left is free";
- of two, `(at ?b ?r)`: "ball1 is at rooma";
- of three or more, `(path ?a ?b ?c)`: "path holds for x, y and z";
- an action, `(pick ?obj ?room ?gripper)`: "pick ball1 rooma left" (its name, then its objects).
The intro lists each action with its parameters, what it needs, what it makes true and what it
makes false, in those phrases over the parameter names ("pick ?obj ?room ?gripper: ..."; the
parameter names stay in every vocabulary, as they do in the renamed PDDL). The fixed parts (statement, question, plan delimiters) are in text/wording.yaml.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import yaml

from planbench_scale import domains
from planbench_scale.domains import obfuscation
from planbench_scale.errors import PlanbenchError
from planbench_scale.symbolic.pddl import up_readable

_OWN = re.compile(r"[a-z-]+")
"""Names the intro writes as "{name}" (replaced by their spelling in the vocabulary)."""


def _fixed(name: str) -> dict:
    return yaml.safe_load(resources.files("planbench_scale").joinpath(f"text/{name}.yaml").read_text())


def default_for(domain: str) -> dict:
    """The data of the default template (as a template YAML file holds it) of a registered domain,
    built from its PDDL in its canonical names."""
    known = domains.get(domain)
    names = obfuscation.identity(domain, domain, domain, (*known.predicates, *known.actions))
    return default_template(known.domain_pddl(names))


def default_template(domain_pddl: str) -> dict:
    """The data of the default template of a domain's PDDL text (canonical names)."""
    from unified_planning.io import PDDLReader
    problem = PDDLReader().parse_problem_string(up_readable(domain_pddl))
    changed = {e.fluent.fluent().name for a in problem.actions for e in a.effects}
    predicates = {f.name: predicate_phrase(len(f.signature), f.name not in changed and
                                           len(f.signature) == 1) for f in problem.fluents}
    actions = {a.name: action_phrase(len(a.parameters)) for a in problem.actions}
    return {**_fixed("wording"), "intro": _intro(problem, predicates, actions),
            "predicates": predicates, "actions": actions}


def predicate_phrase(arity: int, is_type: bool = False) -> str:
    """The default phrase of a predicate of `arity` arguments (a type: "{} is a {name}")."""
    if is_type:
        return "{} is a {name}"
    if arity >= 3:
        return "{name} holds for " + ", ".join(["{}"] * (arity - 1)) + " and {}"
    return ("{name}", "{} is {name}", "{} is {name} {}")[arity]


def action_phrase(arity: int) -> str:
    """The default phrase of an action of `arity` parameters: its name, then its objects."""
    return " ".join(["{name}"] + ["{}"] * arity)


def _intro(problem, predicates: dict, actions: dict) -> str:
    lines = ["I am solving a planning problem. The world is a set of facts about objects, and "
             "actions change them.", "", "I can do these actions:"]
    for action in problem.actions:
        params = [f"?{p.name}" for p in action.parameters]
        needs = [_words(predicates, c) for pre in action.preconditions for c in _conjuncts(pre)]
        adds = [_words(predicates, e.fluent) for e in action.effects if e.value.bool_constant_value()]
        deletes = [_words(predicates, e.fluent) for e in action.effects
                   if not e.value.bool_constant_value()]
        head = _fill(actions[action.name], _own(action.name), params)
        lines.append(f"{head}: possible when {_join(needs) or 'always'}. Afterwards it is true that "
                     f"{_join(adds) or 'nothing new'}, and no longer true that {_join(deletes) or 'nothing'}.")
    lines.append("Objects are named as in the problem.")
    return "\n".join(lines) + "\n"


def _conjuncts(node):
    return [c for arg in node.args for c in _conjuncts(arg)] if node.is_and() else [node]


def _words(predicates: dict, node) -> str:
    if node.is_fluent_exp():
        name = node.fluent().name
        return _fill(predicates[name], _own(name), [f"?{a.parameter().name}" if a.is_parameter_exp()
                                                    else str(a) for a in node.args])
    if node.is_not() and node.arg(0).is_equals():
        left, right = (f"?{a.parameter().name}" for a in node.arg(0).args)
        return f"{left} is not {right}"
    left, right = (f"?{a.parameter().name}" for a in node.args)
    return f"{left} is {right}"


def _own(name: str) -> str:
    """A name as the intro writes it: "{name}" is spelled by the vocabulary where it can be."""
    return "{" + name + "}" if _OWN.fullmatch(name) else name


def _fill(phrase: str, name: str, args) -> str:
    return phrase.format(*args, name=name)


def _join(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def from_planbench(config: dict) -> dict:
    """The data of a template made of a PlanBench config (domain_intro, actions, predicates,
    encoded_objects) over PlanBench's fixed wording (text/planbench_layout.yaml)."""
    return {**_fixed("planbench_layout"), "intro": config["domain_intro"],
            "actions": config["actions"], "predicates": config["predicates"],
            "objects": config.get("encoded_objects") or {}}


def template_file(path, domain_pddl: str) -> str:
    """The YAML text of an imported set's template from a templates file: PlanBench's config
    format (domain_intro, actions, predicates) or the project's own (intro, ...). A predicate
    it leaves out that is a type takes the default phrase; any other action or predicate it
    leaves out is refused, named, with the file."""
    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise PlanbenchError(f"cannot read the templates: {error}", str(path)) from None
    if not isinstance(config, dict) or not ({"domain_intro", "intro"} & set(config)):
        raise PlanbenchError("not a templates file: it has neither domain_intro (PlanBench's "
                             "config format) nor intro", str(path))
    data = from_planbench(config) if "domain_intro" in config else config
    default = default_template(domain_pddl)
    for key in ("actions", "predicates"):
        given = {str(k).lower(): v for k, v in (data.get(key) or {}).items()}
        missing = [n for n in default[key] if n not in given and default[key][n] != "{} is a {name}"]
        if missing:
            raise PlanbenchError(f"the templates have no phrase for the {key[:-1]} {missing[0]}",
                                 str(path))
        data[key] = {**default[key], **given}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
