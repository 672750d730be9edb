"""Prompts: an instance written out for a model, in natural language or PDDL, zero- or one-shot.

Templates are data. "default" is the project's own wording, one file per domain in the domain's
folder (domains/blocksworld/blocksworld.yaml, mystery.yaml, randomized.yaml; domains/logistics/
logistics.yaml, mystery-logistics.yaml, randomized-logistics.yaml). "planbench:PATH" reads
one of PlanBench's YAML configs (domain_intro, actions, predicates, encoded_objects) over PlanBench's
fixed wording in text/planbench_layout.yaml, and reproduces PlanBench's prompts byte for byte;
PATH may also name a config shipped in a domain's planbench/ folder
("planbench:obfuscated_randomized_blocksworld", "planbench:logistics": PlanBench's Logistics
config as its published prompts were written from it).

PDDL-style prompts quote the instance's own PDDL files when it was imported from files (its
`source` and the domain file beside it), as PlanBench does, and otherwise the PDDL our writer makes.
The one-shot example is the pool instance just before the query in natural id order (the next one
for the first): PlanBench's rule, instance-(N-1) for instance-N.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

import yaml

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Fact, Instance, Prompt
from planbench_scale import domains
from planbench_scale.domains import Vocabulary, vocabulary_of
from planbench_scale.text import wording


_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Template:
    """Everything a prompt is written from: the wording and the phrases for actions, facts, objects."""

    name: str
    """"default" or "planbench:<config>"."""
    system: str
    """The system message of the chat form."""
    intro: str
    """The domain introduction; "{pick-up}", "{on}", ... stand for the vocabulary's own names."""
    statement: str
    """One problem statement, with "{init}" and "{goal}"."""
    question: str
    """The closing request of a zero-shot prompt."""
    plan_lead: str
    """Text before the plan delimiter where a plan follows (examples, one-shot query)."""
    plan_start: str
    """Opening plan delimiter, e.g. "[PLAN]"."""
    plan_end: str
    """Closing plan delimiter, e.g. "[PLAN END]"."""
    pddl_question: str
    """Opening request of a zero-shot PDDL prompt."""
    pddl_question_example: str
    """Opening request of a one-shot PDDL prompt."""
    pddl_plan_end: str
    """Closing plan delimiter of PDDL prompts."""
    actions: tuple[tuple[str, str], ...]
    """(action name, format string) pairs; names are own or canonical, "{}" the objects."""
    predicates: tuple[tuple[str, str], ...]
    """(predicate name, format string) pairs, like `actions`."""
    query_end: str = ""
    """What follows the opening plan delimiter that ends a one-shot prompt ("\n" in PlanBench's
    Logistics prompts, nothing in its Blocksworld ones)."""
    object_format: str = "{name}"
    """How an object reads: {name} its PDDL name, {index} its number, {colour} its colour."""
    objects: tuple[tuple[str, str], ...] = ()
    """Phrases by PDDL object name, or by its first letter with "{}" filled by the numbers in the
    name ("p": "package_{}" reads p3 as package_3; PlanBench's encoded_objects); they win over
    the format."""
    colours: tuple[str, ...] = ()
    """Colour names by block letter, for {colour}."""
    synonyms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Extraction only: (canonical action, other spellings a model may use for it)."""
    place_verbs: tuple[str, ...] = ()
    """Extraction only: verbs ("put", "place") whose action depends on where the object goes."""
    place_actions: tuple[tuple[str, str], ...] = ()
    """Extraction only: ("table", action) and ("object", action) for a place verb's destination."""
    intro_cost: str = ""
    """The introduction that also states each action's cost (PlanBench's domain_intro_cost, for
    optimal planning); empty: `intro`."""


def render(instance: Instance, style: str = "nl", shots: int = 0, pool: Sequence[Instance] = (),
           templates: str = "default") -> Prompt:
    """The prompt for `instance`; a one-shot prompt takes its solved example from `pool`."""
    if shots not in (0, 1):
        raise PlanbenchError(f"shots must be 0 or 1, not {shots}")
    template = load_template(templates, instance.domain)
    example = example_for(instance, pool) if shots == 1 else None
    if style == "nl":
        text = _nl_text(template, instance, example)
    elif style == "pddl":
        text = _pddl_text(template, instance, example)
    else:
        raise PlanbenchError(f"unknown prompt style {style!r}; known: nl, pddl")
    return Prompt(instance_id=instance.id, text=text,
                  messages=(("system", template.system), ("user", text)),
                  style=style, shots=shots, template=template.name)


def revision_prompt(prompt: Prompt, answer: str, feedback: str) -> Prompt:
    """The conversation continued: the model's answer, then our feedback as the next request."""
    text = f"{prompt.text}\n{answer.strip()}\n\n{feedback.strip()}\n"
    messages = prompt.messages + (("assistant", answer), ("user", feedback))
    return Prompt(instance_id=prompt.instance_id, text=text, messages=messages,
                  style=prompt.style, shots=prompt.shots, template=prompt.template)


def step_prompt(prompt: Prompt, plan: str, templates: str, domain: str) -> Prompt:
    """The prompt continued by the plan so far (`plan`: lines in the template's words), so that
    the model writes the next step; a zero-shot prompt gets the template's plan lead first."""
    template = load_template(templates, domain)
    opened = template.plan_start + template.query_end
    head = prompt.text[:len(prompt.text) - len(template.query_end)] if prompt.text.endswith(opened) else (
        f"{prompt.text.rstrip()}\n\n{template.plan_lead}{template.plan_start}")
    text = f"{head}\n{plan}"
    return Prompt(instance_id=prompt.instance_id, text=text,
                  messages=prompt.messages + (("assistant", text[len(prompt.text):]),),
                  style=prompt.style, shots=prompt.shots, template=prompt.template)


def describe_action(instance: Instance, action_pddl: str, templates: str = "default") -> str:
    """An action such as "(unstack a b)" in the prompt's English: "unstack the red block from ..."."""
    action = domains.canonical(instance, action_pddl, "actions")
    return phrase(load_template(templates, instance.domain), vocabulary_of(instance), action)


def describe_fact(instance: Instance, fact_pddl: str, templates: str = "default") -> str:
    """A fact such as "(clear a)" in the prompt's English: "the red block is clear"."""
    fact = domains.canonical(instance, fact_pddl, "predicates")
    return phrase(load_template(templates, instance.domain), vocabulary_of(instance), fact)


def example_for(instance: Instance, pool: Sequence[Instance]) -> Instance:
    """The one-shot example: the solvable pool instance of the same domain and vocabulary just
    before `instance` in natural id order (an unsolvable one has no plan to show; a pool of
    several sets, as the demo's, holds other domains' instances, which the prompt cannot show)."""
    key = natural_key(instance.id)
    others = [p for p in pool if p.id != instance.id and p.solvable
              and (p.domain, p.vocabulary) == (instance.domain, instance.vocabulary)]
    if not others:
        raise PlanbenchError(f"no example for {instance.id}: the pool holds no other solvable instance")
    before = [p for p in others if natural_key(p.id) < key]
    if before:
        return max(before, key=lambda p: natural_key(p.id))
    return min(others, key=lambda p: natural_key(p.id))


@lru_cache(maxsize=65536)
def natural_key(text: str) -> tuple:
    """Sort key that orders "instance-9" before "instance-10"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(text))


def phrase(template: Template, vocab: Vocabulary, fact: Fact) -> str:
    """A canonical fact or action in the template's words."""
    own = vocab.own(fact[0])
    table = dict(template.actions if fact[0] in domains.get(vocab.domain).actions else template.predicates)
    form = table.get(own, table.get(fact[0]))
    if form is None:
        raise PlanbenchError(f"template {template.name} has no phrase for {own!r} ({fact[0]})")
    try:
        return form.format(*(object_phrase(template, vocab, b) for b in fact[1:]), name=own)
    except IndexError:
        raise PlanbenchError(f"template {template.name}: the phrase of {own} asks for more "
                             f"objects than its {len(fact) - 1}: {form!r}") from None


def object_phrase(template: Template, vocab: Vocabulary, block: str) -> str:
    """How a canonical block reads in the template: "red block", "object a", "object_0", ..."""
    name = vocab.obj(block)
    phrases = dict(template.objects)
    fixed = phrases.get(name)
    if fixed is not None:
        return fixed
    by_letter = phrases.get(name[:1], "")
    if "{}" in by_letter:
        try:
            return by_letter.format(*_DIGITS.findall(name))
        except IndexError:
            raise PlanbenchError(f"template {template.name}: the phrase {by_letter!r} asks for more "
                                 f"numbers than object {name} has") from None
    index = vocab.index(block)
    colour = name
    if template.colours:
        colour = template.colours[index % len(template.colours)] + (block[1:] if len(block) > 1 else "")
    return template.object_format.format(name=name, index=index, colour=colour)


def facts_text(template: Template, vocab: Vocabulary, facts: Sequence[Fact]) -> str:
    """Facts in PlanBench's order (by their PDDL spelling), joined "x, y and z"; a fact whose
    phrase is empty (PlanBench's Logistics leaves out the type facts) is left out."""
    ordered = sorted(facts, key=lambda f: vocab.own(f[0]) + " " + " ".join(vocab.obj(b) for b in f[1:]))
    parts = [text for text in (phrase(template, vocab, f) for f in ordered) if text]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def plan_lines(template: Template, vocab: Vocabulary, plan: Sequence[Fact]) -> str:
    """A plan in the template's words, one action a line, each line ending in a newline."""
    return "".join(phrase(template, vocab, action) + "\n" for action in plan)


def intro_text(template: Template, instance: Instance, intro: str | None = None) -> str:
    """The domain introduction (`intro`, default the template's) in the instance's vocabulary."""
    names = dict(vocabulary_of(instance).names)
    return re.sub(r"\{([a-z-]+)\}", lambda m: names.get(m.group(1), m.group(0)),
                  template.intro if intro is None else intro)


def _nl_text(template: Template, instance: Instance, example: Instance | None) -> str:
    text = intro_text(template, instance)
    if example is not None:
        text += (_statement(template, example) + template.plan_lead + template.plan_start + "\n"
                 + plan_lines(template, vocabulary_of(example), example.optimal_plan)
                 + template.plan_end + "\n")
        return (text + _statement(template, instance) + template.plan_lead + template.plan_start
                + template.query_end)
    return text + _statement(template, instance) + template.question


def _statement(template: Template, instance: Instance) -> str:
    vocab = vocabulary_of(instance)
    body = template.statement.format(init=facts_text(template, vocab, instance.init),
                                     goal=facts_text(template, vocab, instance.goal))
    return f"\n{body}\n\n"


def _pddl_text(template: Template, instance: Instance, example: Instance | None) -> str:
    domain, problem = pddl_texts(instance)
    if example is None:
        return (f"{template.pddl_question}\n[DOMAIN]\n{domain}\n[QUERY PROBLEM]\n"
                f"{problem.strip()}\n\n\n")
    vocab = vocabulary_of(example)
    plan = "".join(vocab.fact(action) + "\n" for action in example.optimal_plan)
    return (f"{template.pddl_question_example}\n[DOMAIN]\n{domain}\n[PROBLEM]\n"
            f"{pddl_texts(example)[1].strip()}\n\n{template.plan_start}\n{plan}{template.pddl_plan_end}"
            f"\n\n[QUERY PROBLEM]\n{problem.strip()}\n\n\n")


def pddl_texts(instance: Instance) -> tuple[str, str]:
    """(domain, problem) PDDL of an instance: its imported files if it has them, else ours."""
    source = Path(instance.source)
    if instance.source != "generated" and source.is_file():
        files = sorted(source.parent.glob("*domain*.pddl"))
        if files:
            return files[0].read_text(), source.read_text()
    return domains.instance_pddl(instance)


@lru_cache(maxsize=None)
def load_template(templates: str, domain: str) -> Template:
    """The template named `templates` ("default" or "planbench:PATH") for a domain; "default" is
    the domain's `<name>.yaml`, or the default wording where it has none (text/wording.py)."""
    if templates == "default":
        own = domains.get(domain).templates / f"{domain}.yaml"
        return _template("default", _read_yaml(own) if own.is_file() else wording.default_for(domain))
    if templates.startswith("planbench:"):
        return _planbench_template(templates[len("planbench:"):], domain)
    raise PlanbenchError(f"unknown templates {templates!r}; use 'default' or 'planbench:PATH'")


def _planbench_template(path_text: str, domain: str) -> Template:
    """A PlanBench config over PlanBench's layout; a config without wording of its own (PlanBench's
    unsolvable_obfuscated_randomized_blocksworld.yaml has no domain_intro, actions, predicates)
    falls back on the domain's own template, which writes the instances' own vocabulary."""
    path = Path(path_text)
    if not path.is_file():
        path = next((Path(str(f)) for f in domains.template_files(path_text) if f.is_file()), path)
    if not path.is_file():
        raise PlanbenchError(f"PlanBench config not found: {path_text}")
    config = _read_yaml(path)
    layout = _read_yaml(resources.files("planbench_scale").joinpath("text/planbench_layout.yaml"))
    if "domain_name" not in config:
        raise PlanbenchError("not a PlanBench config, it lacks domain_name", file=str(path))
    if any(key not in config for key in ("domain_intro", "actions", "predicates")):
        data = _read_yaml(domains.get(domain).templates / f"{domain}.yaml")
    else:
        data = {**layout, **{key: config[key] for key in _WORDING if key in config},
                "intro": config["domain_intro"], "actions": config["actions"],
                "predicates": config["predicates"],
                "intro_cost": config.get("domain_intro_cost") or _cost_intro(path.stem)}
    if "obfuscated" in config["domain_name"]:
        data["object_format"] = "object_{index}"
    else:
        data["objects"] = config.get("encoded_objects") or {}
    return _template(f"planbench:{path.stem}", data)


_WORDING = set(Template.__dataclass_fields__) - {"name", "intro", "actions", "predicates", "objects"}
"""Template fields a PlanBench config may set over PlanBench's layout (our rebuilt configs do)."""


def _cost_intro(config: str) -> str:
    """PlanBench's domain_intro_cost of a config whose shared copy lacks it (text/planbench_cost.yaml)."""
    data = _read_yaml(resources.files("planbench_scale").joinpath("text/planbench_cost.yaml"))
    return data.get(config, "")


def _template(name: str, data: dict) -> Template:
    fields = {key: data[key] for key in Template.__dataclass_fields__ if key in data and key != "name"}
    for key in ("actions", "predicates", "objects"):
        fields[key] = tuple((str(k), str(v)) for k, v in (data.get(key) or {}).items())
    fields["colours"] = tuple(data.get("colours") or ())
    fields["synonyms"] = tuple((str(k), tuple(map(str, v))) for k, v in (data.get("synonyms") or {}).items())
    fields["place_verbs"] = tuple(map(str, data.get("place_verbs") or ()))
    fields["place_actions"] = tuple((str(k), str(v)) for k, v in (data.get("place_actions") or {}).items())
    try:
        template = Template(name=name, **fields)
    except TypeError as error:
        raise PlanbenchError(f"template {name} is incomplete: {error}") from None
    _check_fields(template)
    return template


_FIELDS = {"statement": {"init", "goal"}, "object_format": {"name", "index", "colour"}}
"""Named fields each format string may use; action and predicate phrases take "{}" and {name}."""


def _check_fields(template: Template) -> None:
    """Refuse format strings with unmatched braces or fields the renderer does not fill."""
    texts = [(key, getattr(template, key), allowed) for key, allowed in _FIELDS.items()]
    texts += [(f"phrase of {own}", form, {"", "name", "0", "1", "2"})
              for own, form in template.actions + template.predicates]
    for where, text, allowed in texts:
        try:
            used = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
        except ValueError as error:
            raise PlanbenchError(f"template {template.name}: {where}: {error} in {text!r}") from None
        if used - allowed:
            raise PlanbenchError(f"template {template.name}: {where}: unknown field "
                                 f"{{{sorted(used - allowed)[0]}}} in {text!r}")


def _read_yaml(path) -> dict:
    try:
        data = yaml.safe_load(Path(str(path)).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise PlanbenchError(f"cannot read template: {error}", file=str(path)) from None
    if not isinstance(data, dict):
        raise PlanbenchError("template file is not a mapping", file=str(path))
    return data
