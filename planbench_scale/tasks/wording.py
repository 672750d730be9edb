"""PlanBench's fixed wording of its other tasks' prompts (from its `utils/task_utils.py`), written
over any Template: the template gives the introduction and the phrases of actions and facts, so
a domain's own templates (ours, or a PlanBench config) work the same."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from planbench_scale import domains
from planbench_scale.domains import vocabulary_of
from planbench_scale.records import Fact, Instance, Prompt
from planbench_scale.text.prompts import Template, facts_text, load_template, phrase


def template_of(instance: Instance, settings) -> Template:
    """The run's template for the instance's domain."""
    return load_template(settings.templates, instance.domain)


def state(template: Template, instance: Instance, facts: Sequence[Fact]) -> str:
    """Facts in PlanBench's order, "x, y and z"."""
    return facts_text(template, vocabulary_of(instance), facts)


def plan_block(template: Template, instance: Instance, plan: Sequence[Fact],
               end: str = "[PLAN END]") -> str:
    """PlanBench's plan text: a newline, one action a line, the end marker and a newline."""
    vocab = vocabulary_of(instance)
    return "\n" + "".join(phrase(template, vocab, a) + "\n" for a in plan) + end + "\n"


def statement(template: Template, instance: Instance, goal: Sequence[Fact], tail: str = "") -> str:
    """"[STATEMENT]" with the initial state and `goal`; `tail` follows the goal's full stop."""
    return (f"\n[STATEMENT]\nAs initial conditions I have that, "
            f"{state(template, instance, instance.init).strip()}.\n"
            f"My goal is to have that {state(template, instance, goal)}.{tail}")


def task_prompt(instance: Instance, template: Template, text: str, shots: int = 1) -> Prompt:
    """A task's prompt text for `instance`, in completion and chat form."""
    return Prompt(instance_id=instance.id, text=text,
                  messages=(("system", template.system), ("user", text)),
                  style="nl", shots=shots, template=template.name)


def phrases(template: Template, instance: Instance, kinds: str) -> dict[str, Fact]:
    """Every reachable ground fact ("predicates") or action ("actions") of the instance by its
    phrase in the template's words, lower case."""
    return dict(_phrases(template, instance, kinds))


@lru_cache(maxsize=4096)
def _phrases(template: Template, instance: Instance, kinds: str) -> tuple:
    task, vocab = domains.task_for(instance), vocabulary_of(instance)
    task.reachable  # grounds every reachable action, and so names every reachable fact
    names = list(task.actions if kinds == "actions" else task.facts)
    found = []
    for name in names:
        fact = domains.canonical(instance, name, kinds)
        found.append((phrase(template, vocab, fact).lower(), fact))
    return tuple(found)


def read_facts(template: Template, instance: Instance, text: str) -> tuple[Fact, ...]:
    """The ground facts whose phrases the text states (whole words, longest phrase first), in
    the order they are stated, each once."""
    table = phrases(template, instance, "predicates")
    pattern = _pattern(tuple(sorted(table, key=len, reverse=True)))
    seen = dict.fromkeys(table[m.group(0)] for m in pattern.finditer(text.lower()))
    return tuple(seen)


@lru_cache(maxsize=4096)
def _pattern(texts: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, texts)) + r")(?!\w)")


def own_answer(text: str) -> str:
    """The answer up to where it starts a new problem of its own ("[STATEMENT]")."""
    return text.split("[STATEMENT]", 1)[0]


def listed(template: Template, instance: Instance, facts: Sequence[Fact]) -> str:
    """Facts in the order given, "x, y and z"."""
    vocab = vocabulary_of(instance)
    parts = [phrase(template, vocab, f) for f in facts]
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)
