"""Tasks: what a run asks of the model and how an answer is scored, behind one protocol and a
registry (PlanBench's task numbers: t1 plan generation, t2 optimal planning, t3 plan
verification, t3_1 verification of a run's plans, t4 plan reuse, t5 plan generalization,
t6 replanning, t7 plan execution, t8_1..t8_3 goal reformulation).

Every task is scored by the symbolic core, never by the model. An answer's score is an
`(Extraction, Verdict)` pair, stored in the run's `Sample` rows as for plan generation:
`valid` is whether the answer is right. Tasks whose answer is a plan (`answers_plan`) store the
plan and the validator's verdict on it; the others store what they read in the answer, and
the truth stays recomputable from the row (see each task's module). Adding a task is one
module with an object implementing `Task`, plus one line in `_registry`; a task that asks for a
plan of a changed instance (a new initial state or goal) also defines `asked(instance,
settings)`, that instance, so the report places its answers at the length asked for.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Extraction, Instance, Prompt, Verdict


class Task(Protocol):
    """What is asked about an instance, and how the answer is scored."""

    name: str
    """The registry name, recorded in the run's settings: "t1", "t2", ..."""
    title: str
    """What PlanBench calls it: "plan generation", "plan verification", ..."""
    asks: str
    """One line: what the model is asked."""
    scored: str
    """One line: how its answer is scored."""
    answers_plan: bool
    """Whether the answer is a plan of the instance itself (then revision and step searches,
    which read and extend plans, fit the task)."""

    def check(self, instances: Sequence[Instance], settings) -> None:
        """PlanbenchError when the task cannot be asked of these instances under a run's
        settings."""

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        """The prompt for `instance` (examples come from `pool`) under a run's settings."""

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        """The answer `text` scored: what was read in it, and whether it is right."""

    def tables(self, rows, instances: Sequence[Instance]) -> dict:
        """The report's tables of this task (name -> pandas DataFrame) from a run's stored rows
        (`analysis.tasks.ROW_COLUMNS`) and its instances."""


def get(name: str) -> Task:
    """The task called `name`."""
    if name not in TASKS:
        raise PlanbenchError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]


def check_fit(task: Task, strategy, instances: Sequence[Instance], settings) -> None:
    """PlanbenchError, before any model is loaded, when a strategy or the instances do not fit
    the task: a strategy that reads plans on a task whose answer is no plan."""
    from planbench_scale.strategies import STRATEGIES

    if strategy.reads_plans and not task.answers_plan:
        fitting = ", ".join(s.name for s in STRATEGIES.values() if not s.reads_plans)
        raise PlanbenchError(f"strategy {strategy.name} reads and extends plans; task {task.name} "
                             f"({task.title}) answers no plan: use --strategy {fitting}")
    task.check(instances, settings)


def asked_length(task: Task, instance: Instance, settings) -> int:
    """The optimal length of the plan the task asks for `instance` under a run's settings: the
    instance's own, or that of the instance a task changed (its `asked`, as replanning's new
    initial state and plan reuse's new goal have)."""
    asked = getattr(task, "asked", None)
    return (asked(instance, settings) if asked else instance).optimal_length


def need_solvable(task: Task, instances: Sequence[Instance]) -> None:
    """PlanbenchError when an instance is unsolvable: the task shows or asks for a plan of it."""
    for instance in instances:
        if not instance.solvable:
            raise PlanbenchError(f"task {task.name} ({task.title}) needs a plan of every instance; "
                                 f"{instance.id} is unsolvable")


def _registry() -> dict[str, Task]:
    from planbench_scale.tasks.execution import EXECUTION
    from planbench_scale.tasks.generalization import GENERALIZATION_TASK
    from planbench_scale.tasks.generation import GENERATION, OPTIMAL
    from planbench_scale.tasks.reformulation import REFORMULATIONS
    from planbench_scale.tasks.replanning import REPLANNING
    from planbench_scale.tasks.reuse import REUSE
    from planbench_scale.tasks.verification import RUN_PLAN_VERIFICATION, VERIFICATION

    return {t.name: t for t in (GENERATION, OPTIMAL, VERIFICATION, RUN_PLAN_VERIFICATION, REUSE,
                                GENERALIZATION_TASK, REPLANNING, EXECUTION, *REFORMULATIONS)}


TASKS: dict[str, Task] = _registry()
"""Every task by name."""
