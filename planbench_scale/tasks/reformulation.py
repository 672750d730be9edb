"""Goal reformulation (PlanBench's t8): the same problem posed once with its plan, then again
with its goal said another way. t8_1 shuffles the goal's facts, t8_2 shows the full final state
as the example's goal and asks for the partial goal, t8_3 the other way round. The answer is a
plan, validated against the goal the query states."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Sequence

from planbench_scale.backends import derive_seed
from planbench_scale.records import Extraction, Fact, Instance, Prompt, Verdict
from planbench_scale.score import check
from planbench_scale.tasks import need_solvable
from planbench_scale.tasks.execution import facts_after
from planbench_scale.tasks.wording import listed, state, task_prompt, template_of
from planbench_scale.text.prompts import Template, intro_text, plan_lines
from planbench_scale.domains import vocabulary_of


@dataclass(frozen=True)
class Reformulation:
    """One goal reformulation: how the example states its goal, and how the query does."""

    name: str
    title: str
    example_goal: str
    """"given" (the instance's goal facts), "full" (the whole final state of its plan)."""
    query_goal: str
    """"given", "full" or "shuffled" (the goal facts in a random order)."""
    asks: str = "a plan for the problem just solved in the prompt, its goal said another way"
    scored: str = "the validator's verdict on the plan, against the goal the query states"

    @property
    def answers_plan(self) -> bool:
        """Revision and searches see the instance's own goal: they fit unless the query's
        goal is another (the full final state)."""
        return self.query_goal != "full"

    def check(self, instances: Sequence[Instance], settings) -> None:
        need_solvable(self, instances)

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        template = template_of(instance, settings)
        text = reformulation_prompt(template, instance,
                                    self._goal(template, instance, self.example_goal, settings),
                                    self._goal(template, instance, self.query_goal, settings))
        return task_prompt(instance, template, text)

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        if self.query_goal == "full":
            instance = replace(instance, goal=tuple(sorted(full_goal(instance))))
        return check(instance, text, settings.templates)

    def tables(self, rows, instances) -> dict:
        """No tables of its own: the accuracy per task covers it."""
        return {}

    def _goal(self, template: Template, instance: Instance, kind: str, settings) -> str:
        if kind == "full":
            return state(template, instance, full_goal(instance))
        if kind == "shuffled":
            return listed(template, instance, shuffled_goal(instance, settings.seed))
        return state(template, instance, instance.goal)


def full_goal(instance: Instance) -> tuple[Fact, ...]:
    """Every fact of the state the optimal plan ends in."""
    return facts_after(instance, instance.optimal_length)


def shuffled_goal(instance: Instance, seed: int) -> list[Fact]:
    """The goal facts in PlanBench's sorted order, shuffled from the run seed and the instance."""
    vocab = vocabulary_of(instance)
    facts = sorted(instance.goal, key=lambda f: vocab.own(f[0]) + " " + " ".join(map(vocab.obj, f[1:])))
    random.Random(derive_seed(seed, instance.id, "t8_1")).shuffle(facts)
    return facts


def reformulation_prompt(template: Template, instance: Instance, example_goal: str,
                         query_goal: str) -> str:
    """PlanBench's t8 prompt: the instance with `example_goal` and its plan, then with `query_goal`."""
    vocab = vocabulary_of(instance)
    return (intro_text(template, instance) + _posed(template, instance, example_goal) + "\n"
            + plan_lines(template, vocab, instance.optimal_plan) + template.plan_end + "\n"
            + _posed(template, instance, query_goal))


def _posed(template: Template, instance: Instance, goal: str) -> str:
    body = template.statement.format(init=state(template, instance, instance.init), goal=goal)
    return f"\n{body}\n\n{template.plan_lead}{template.plan_start}"


REFORMULATIONS = (
    Reformulation("t8_1", "goal shuffling", "given", "shuffled"),
    Reformulation("t8_2", "full to partial goal", "full", "given"),
    Reformulation("t8_3", "partial to full goal", "given", "full"),
)
