"""Replanning (t6, PlanBench's `task_6_replanning`): a random prefix of the optimal plan is
executed, then an unexpected event changes the state, and the model re-plans from there to the
same goal, one-shot with the example instance before (its event and its re-plan from our
solver), in PlanBench's words.

The event is the domain's (`Patterned.unexpected`; Blocksworld: the block held lands on a clear
block, Logistics: every package in a vehicle ends at a location not its goal) at a prefix drawn
uniformly among those whose state admits one (PlanBench redraws until one does); a domain with
no event of its own gets PlanBench's generic one (`regressed`). Every draw comes from the run
seed and the instance. The answer is validated on the instance from the new state (same goal),
whose optimal plan our solver certifies: its length is what the re-plan takes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

from planbench_scale import domains
from planbench_scale.backends import derive_seed
from planbench_scale.domains import vocabulary_of
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Extraction, Fact, Instance, Prompt, Verdict
from planbench_scale.score import check
from planbench_scale.tasks import need_solvable
from planbench_scale.tasks.execution import facts_after
from planbench_scale.tasks.reuse import SHOWN
from planbench_scale.tasks.wording import plan_block, state, statement, task_prompt, template_of
from planbench_scale.text.prompts import Template, example_for, intro_text, phrase

REDRAWS = 16
"""How often an event that leaves the goal met is drawn again at one prefix before the next."""
REPLANNED = "\nAfter re-planning from the new state, the plan is as follows:\n[PLAN]"
"""PlanBench's t6 words after the event, up to the re-plan."""


@dataclass(frozen=True)
class Event:
    """An unexpected event during the execution of an instance's optimal plan."""

    prefix: int
    """The actions executed before it (1 .. length-1)."""
    became_true: tuple[Fact, ...]
    """Facts it made true (canonical, sorted)."""
    became_false: tuple[Fact, ...]
    """Facts it made false (canonical, sorted)."""


@dataclass(frozen=True)
class Replanning:
    """Replanning: a plan from the state an unexpected event left."""

    name: str = "t6"
    title: str = "replanning"
    asks: str = "a plan to the goal from the state an unexpected event left during execution"
    scored: str = "the validator's verdict on the plan, from that state (same goal)"
    answers_plan: bool = False
    """The initial state is another than the instance's: revision and searches do not fit."""

    def check(self, instances: Sequence[Instance], settings) -> None:
        need_solvable(self, instances)
        for instance in instances:
            if not fits(instance):
                raise PlanbenchError(f"task t6 (replanning): no prefix of the optimal plan of "
                                     f"{instance.id} ({instance.optimal_length} steps) leaves a "
                                     "state where an unexpected event can occur")

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        template = template_of(instance, settings)
        example = example_for(instance, [p for p in pool if p.solvable and fits(p)])
        text = replanning_prompt(template, [(example, *replanned(example, settings.seed))],
                                 instance, replanned(instance, settings.seed)[0])
        return task_prompt(instance, template, text)

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        return check(self.asked(instance, settings), text, settings.templates)

    def asked(self, instance: Instance, settings) -> Instance:
        """The instance from the state the event left, with its certified re-plan."""
        return replanned(instance, settings.seed)[1]

    def tables(self, rows, instances) -> dict:
        """No tables of its own: the accuracy per task covers it."""
        return {}


@lru_cache(maxsize=4096)
def replanned(instance: Instance, seed: int) -> tuple[Event, Instance]:
    """The drawn event, and the instance from the state it leaves (same goal) with its optimal
    plan from our solver."""
    event = drawn_event(instance, seed)
    moved = replace(instance, init=after(instance, event), optimal_plan=())
    return event, replace(moved, optimal_plan=tuple(domains.get(instance.domain).solve(moved)))


def after(instance: Instance, event: Event) -> tuple[Fact, ...]:
    """The state the event leaves (canonical facts, sorted)."""
    now = (set(facts_after(instance, event.prefix)) - set(event.became_false)) | set(event.became_true)
    return tuple(sorted(now))


def drawn_event(instance: Instance, seed: int) -> Event:
    """The event: a prefix drawn uniformly among those that admit one, then the event itself,
    from the run seed and the instance. Unlike PlanBench, an event that leaves the goal met
    (whose re-plan is empty, so that an empty answer is right) is drawn again, REDRAWS times at
    a prefix, then at the next; only where every draw meets the goal is one kept (at seed 0, 5
    of PlanBench's first 200 Blocksworld problems, against 38 without the redraws)."""
    rng = random.Random(derive_seed(seed, instance.id, "t6"))
    prefixes = list(range(1, instance.optimal_length)) or [1]
    rng.shuffle(prefixes)
    met = None
    for prefix in prefixes:
        for _ in range(REDRAWS):
            changed = unexpected(instance, prefix, rng)
            if changed is None:
                break
            event = Event(prefix, *(tuple(sorted(facts)) for facts in changed))
            if not set(instance.goal) <= set(after(instance, event)):
                return event
            met = met or event
    if met is None:
        raise PlanbenchError(f"no prefix of the optimal plan of {instance.id} admits an unexpected event")
    return met


@lru_cache(maxsize=65536)
def fits(instance: Instance) -> bool:
    """Whether some prefix of the optimal plan admits an unexpected event."""
    prefixes = range(1, instance.optimal_length) or [1]
    return any(unexpected(instance, p, random.Random(0)) is not None for p in prefixes)


def unexpected(instance: Instance, prefix: int, rng: random.Random) -> tuple | None:
    """(facts that became true, facts that became false) after `prefix` actions, or None."""
    state = facts_after(instance, prefix)
    own = getattr(domains.get(instance.domain), "unexpected", None)
    return own(instance, state, rng) if own else regressed(instance, prefix, state, rng)


def regressed(instance: Instance, prefix: int, now: Sequence[Fact],
              rng: random.Random) -> tuple | None:
    """PlanBench's generic unexpected event (`Executor.replanning`, made easier): the goal
    regressed through the plan's last r actions (r drawn from 0 .. those left - 1), and some of
    those facts become true. Here only facts not true already count, so that the event says
    what changed, and r is drawn among the counts that leave some (PlanBench redraws nothing
    and may add none); None where none does."""
    task, vocab = domains.task_for(instance), vocabulary_of(instance)
    rest = [task.find(vocab.fact(action)) for action in instance.optimal_plan[prefix:]]
    needed, fresh = task.goal, []
    for count in range(len(rest)):
        if count:
            i = rest[-count]
            needed = (needed & ~(task.add[i] | task.delete[i])) | task.pre[i]
        facts = sorted(set(domains.canonical(instance, f) for f in task.fact_names(needed)) - set(now))
        if facts:
            fresh.append(facts)
    if not fresh:
        return None
    facts = rng.choice(fresh)
    return tuple(set(rng.choices(facts, k=rng.randint(1, len(facts))))), ()


def replanning_prompt(template: Template, solved: Sequence[tuple[Instance, Event, Instance]],
                      instance: Instance, event: Event) -> str:
    """PlanBench's t6 prompt: the introduction, each (example, its event, its instance from the
    new state) with the re-plan, then the query's plan and event, up to "[PLAN]"."""
    text = intro_text(template, instance)
    for example, example_event, moved in solved:
        text += _told(template, example, example_event) + plan_block(template, moved,
                                                                      moved.optimal_plan)
    return text + _told(template, instance, event)


def _told(template: Template, instance: Instance, event: Event) -> str:
    action = phrase(template, vocabulary_of(instance), instance.optimal_plan[event.prefix - 1])
    return (statement(template, instance, instance.goal, SHOWN)
            + plan_block(template, instance, instance.optimal_plan)
            + "\nDuring execution, an unexpected event has occurred.\n"
            f"After executing the action \"{action}\" at step {event.prefix} in the plan, the "
            f"following facts unexpectedly became true: {state(template, instance, event.became_true)}"
            "\nThe following facts became unexpectedly false: "
            f"{state(template, instance, event.became_false)}" + REPLANNED)


REPLANNING = Replanning()
