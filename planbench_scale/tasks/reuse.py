"""Plan reuse (t4, PlanBench's `task_4_plan_reuse`, from its `generate_plan_subset`; PlanBench
shares no prompts of it): the instance shown with its optimal plan, then asked again from the
same initial state with the goal of being in the state a prefix of that plan reaches (1 to
length-1 actions, drawn from the run seed and the instance). The answer is a plan, validated
against that state as the goal; the prefix itself is one."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Sequence

from planbench_scale.backends import derive_seed
from planbench_scale.records import Extraction, Instance, Prompt, Verdict
from planbench_scale.score import check
from planbench_scale.tasks import need_solvable
from planbench_scale.tasks.execution import facts_after
from planbench_scale.tasks.wording import plan_block, statement, task_prompt, template_of
from planbench_scale.text.prompts import Template, intro_text

SHOWN = "\nMy plan is as follows:\n\n[PLAN]"
"""PlanBench's t4 words after the goal, up to the plan."""


@dataclass(frozen=True)
class Reuse:
    """Plan reuse: reach a state the shown plan passes through."""

    name: str = "t4"
    title: str = "plan reuse"
    asks: str = "a plan to the state a prefix of the shown plan reaches"
    scored: str = "the validator's verdict on the plan, with that whole state as the goal"
    answers_plan: bool = False
    """The goal is another than the instance's: revision and searches do not fit."""

    def check(self, instances: Sequence[Instance], settings) -> None:
        need_solvable(self, instances)

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        template = template_of(instance, settings)
        text = reuse_prompt(template, instance, reuse_prefix(instance, settings.seed))
        return task_prompt(instance, template, text, shots=0)

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        return check(self.asked(instance, settings), text, settings.templates)

    def asked(self, instance: Instance, settings) -> Instance:
        """The instance whose goal is the state the drawn prefix reaches (the prefix its plan)."""
        return reused(instance, reuse_prefix(instance, settings.seed))

    def tables(self, rows, instances) -> dict:
        """No tables of its own: the accuracy per task covers it."""
        return {}


def reuse_prefix(instance: Instance, seed: int) -> int:
    """How many actions of the optimal plan reach the asked state: one of 1 .. length-1 (1 for
    a plan of one step), from the run seed and the instance."""
    length = instance.optimal_length
    return 1 if length < 2 else random.Random(derive_seed(seed, instance.id, "t4")).randrange(1, length)


def reused(instance: Instance, prefix: int) -> Instance:
    """The instance whose goal is the whole state after `prefix` actions of the optimal plan."""
    return replace(instance, goal=tuple(sorted(facts_after(instance, prefix))),
                   optimal_plan=instance.optimal_plan[:prefix])


def reuse_prompt(template: Template, instance: Instance, prefix: int) -> str:
    """PlanBench's t4 prompt: the instance with its plan, then the state after `prefix` as goal."""
    target = reused(instance, prefix)
    return (intro_text(template, instance)
            + statement(template, instance, instance.goal, SHOWN)
            + plan_block(template, instance, instance.optimal_plan) + " "
            + statement(template, target, target.goal, SHOWN))


REUSE = Reuse()
