"""Scoring an answer: the plan a completion states and the validator's verdict on it; and the
step scores that tree searches rank partial plans by."""

from __future__ import annotations

from typing import Callable, Sequence

from planbench_scale import domains
from planbench_scale.domains import canonical, task_for
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Extraction, Instance, Verdict
from planbench_scale.symbolic.validate import validate
from planbench_scale.text.extract import extract


def check(instance: Instance, text: str, templates: str = "default") -> tuple[Extraction, Verdict]:
    """Extract the plan an answer states and validate it against the instance."""
    extraction = extract(text, instance, templates)
    return extraction, validate(task_for(instance), extraction.actions)


def state_after(instance: Instance, actions: Sequence[str]) -> int:
    """The facts (a mask of the instance's task) after an applicable action sequence."""
    task, state = task_for(instance), task_for(instance).init
    for action in actions:
        i = task.find(action)
        state = (state & ~task.delete[i]) | task.add[i]
    return state


def applicable(instance: Instance, state: int) -> list[str]:
    """The actions whose preconditions hold in `state`, in the task's order."""
    task = task_for(instance)
    return [task.actions[i] for i in task.applicable(state)]


def _goal_count(instance: Instance, state: int, logprob: float | None) -> float:
    goal = task_for(instance).goal
    return (state & goal).bit_count() / max(goal.bit_count(), 1)


def _distance(instance: Instance, state: int, logprob: float | None) -> float:
    facts = tuple(canonical(instance, f) for f in task_for(instance).fact_names(state))
    return float(-domains.get(instance.domain).distance(instance, facts))


StepScore = Callable[[Instance, int, "float | None"], float]
"""(instance, state after the plan so far, the model's mean log-probability per token of the
plan's lines) -> score; higher is better. Only plans whose every step applies are scored."""

STEP_SCORES: dict[str, StepScore] = {
    "valid-prefix": lambda instance, state, logprob: 1.0,
    "goal-count": _goal_count,
    "distance": _distance,
    "logprob": lambda instance, state, logprob: logprob,
}
"""Step scores by name: "valid-prefix" (the sound verifier only: every applicable plan ties),
"goal-count" (fraction of goal facts true), "distance" (minus the exact optimal steps left: an
oracle), "logprob" (the model's own mean log-probability per token of the plan's lines)."""


SELF_VERIFY = "self-verify"
"""Best-of-n's score that is no step score: the model's own probability that the plan is valid
(`strategies.self_verification`)."""


def needs_logprobs(score: str) -> bool:
    """Whether a step score asks the model for log-probabilities."""
    return score in ("logprob", SELF_VERIFY)


def step_score(name: str) -> StepScore:
    """The step score called `name`."""
    if name not in STEP_SCORES:
        raise PlanbenchError(f"unknown step score {name!r}; known: {', '.join(STEP_SCORES)}")
    return STEP_SCORES[name]


def check_score(name: str, instances: Sequence[Instance]) -> None:
    """Refuse, before any model is loaded, an unknown step score, and the distance oracle where
    a domain cannot give it within its bound: probed once per domain on the initial state of
    its longest instance (a domain without an exact solver asks Fast Downward, cached)."""
    step_score(name)
    if name != "distance":
        return
    longest: dict[str, Instance] = {}
    for instance in instances:
        if instance.solvable and instance.optimal_length >= getattr(
                longest.get(instance.domain), "optimal_length", -1):
            longest[instance.domain] = instance
    for domain, instance in sorted(longest.items()):
        try:
            domains.get(domain).distance(instance, instance.init)
        except PlanbenchError as error:
            raise PlanbenchError(f"--score distance: domain {domain} cannot give the optimal "
                                 f"distance within its bound (from {instance.id}: {error}); "
                                 "choose another --score") from None
