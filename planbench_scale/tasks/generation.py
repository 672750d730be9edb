"""Plan generation (t1, the task every run asked before tasks existed) and optimal planning
(t2: PlanBench's `task_2_plan_optimality`, the one-shot prompt with action costs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from planbench_scale.records import Extraction, Instance, Prompt, Reason, Verdict
from planbench_scale.score import check
from planbench_scale.tasks import need_solvable
from planbench_scale.tasks.wording import plan_block, statement, task_prompt, template_of
from planbench_scale.text.prompts import Template, example_for, intro_text, render

MINIMIZE = " I want to minimize the time taken to achieve my goal.\nMy plan is as follows:\n\n[PLAN]"
"""PlanBench's t2 words after the goal, up to the plan."""


@dataclass(frozen=True)
class Generation:
    """Plan generation: the run's prompt style, shots and templates."""

    name: str = "t1"
    title: str = "plan generation"
    asks: str = "a plan that reaches the goal"
    scored: str = "the validator's verdict on the extracted plan"
    answers_plan: bool = True

    def check(self, instances: Sequence[Instance], settings) -> None:
        """Any instance: on an unsolvable one the right answer is a no-plan claim."""

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        return render(instance, settings.style, settings.shots, pool, settings.templates)

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        return check(instance, text, settings.templates)

    def tables(self, rows, instances) -> dict:
        """No tables of its own: the accuracy per task covers it."""
        return {}


@dataclass(frozen=True)
class Optimal:
    """Optimal planning: PlanBench's one-shot prompt (the example instance before, with its
    optimal plan and its cost), every action costing one minute."""

    name: str = "t2"
    title: str = "optimal planning"
    asks: str = "a plan of least cost (every action costs 1: the fewest steps)"
    scored: str = "valid by the validator and no longer than the certified optimal plan"
    answers_plan: bool = True

    def check(self, instances: Sequence[Instance], settings) -> None:
        need_solvable(self, instances)

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        template = template_of(instance, settings)
        text = optimal_prompt(template, example_for(instance, pool), instance)
        return task_prompt(instance, template, text)

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        extraction, verdict = check(instance, text, settings.templates)
        if verdict.valid and len(extraction.actions) > instance.optimal_length:
            verdict = Verdict(False, Reason.NOT_OPTIMAL)
        return extraction, verdict

    def tables(self, rows, instances) -> dict:
        """No tables of its own: the accuracy per task covers it."""
        return {}


def optimal_prompt(template: Template, example: Instance, instance: Instance) -> str:
    """PlanBench's t2 prompt: the cost introduction, the example solved with its cost, the query."""
    cost = example.optimal_length
    minutes = f"The total time to execute the plan is {cost} minute" + ("s.\n" if cost > 1 else ".\n")
    return (intro_text(template, instance, template.intro_cost or template.intro)
            + statement(template, example, example.goal, MINIMIZE)
            + plan_block(template, example, example.optimal_plan) + minutes
            + statement(template, instance, instance.goal, MINIMIZE) + " ")


GENERATION, OPTIMAL = Generation(), Optimal()
