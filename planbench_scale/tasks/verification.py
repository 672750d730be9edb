"""Plan verification (t3, PlanBench's `task_3_plan_verification`): is the plan shown valid, and if
not, why (the action and step with unmet preconditions, or the unmet goal facts)?

The plans are drawn as PlanBench draws them, from an instance's optimal plan: "valid" (the plan
itself), "inexecutable" (one action after the first dropped, then shuffled) and "goal-unmet" (a
strict prefix). The prompt shows three solved examples of other instances, one of each kind in
a random order, each with PlanBench's verification message written from our validator's
`Verdict`. The truth is always our validator's verdict on the plan shown.

A stored row's `plan` holds the plan shown (PDDL; validating it gives the truth back), `valid`
whether the answer is right on all counts it is scored on (`grade`), `reason` the failure the
answer claims ("valid", "inapplicable", "goal_not_reached"; "wrong_answer" for an answer that
says invalid without a reason, or, with outcome "no_plan", for one that gives no verdict),
`failed_step` the step it names (0-based) and `unmet` the facts it names.

t3_1 (`RunPlanVerification`) asks the same of plans another run stored (`run_plans`), and the
model's verification calls in the loop (`strategies.self_verification`) are scored the same way
(`judged`) against the validator's verdict on the plan they verify.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from planbench_scale import domains
from planbench_scale.backends import derive_seed
from planbench_scale.domains import vocabulary_of
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Extraction, Fact, Instance, Outcome, Prompt, Reason, Verdict
from planbench_scale.symbolic.validate import validate
from planbench_scale.tasks import need_solvable
from planbench_scale.tasks.wording import (own_answer, plan_block, read_facts, state, statement,
                                           task_prompt, template_of)
from planbench_scale.text.prompts import Template, intro_text, natural_key, phrase

KINDS = ("inexecutable", "goal-unmet", "valid")
"""PlanBench's kinds of plans to verify (its example types -1, 0, 1)."""
SHOWN = " \nMy plan is as follows:\n\n[PLAN]"
"""PlanBench's t3 words after the goal, up to the plan."""
ASK_ZERO_SHOT = ("\nVerify whether the above plan is valid. If it is valid, please say \"Plan is "
                 "valid.\" and nothing else. If it is invalid, please say \"Plan is invalid.\" and "
                 "then provide feedback on why the plan fails.")
"""PlanBench's zero-shot verification request, after the plan."""
SAYS = ("\nPlan is valid.", "\nPlan is invalid.")
"""The two answers to the zero-shot request whose probabilities self-verification compares."""
GOAL_MISSED = (Reason.GOAL_NOT_REACHED, Reason.EMPTY_PLAN)
"""Verdicts that mean the goal is not met at the end."""


@dataclass(frozen=True)
class Verification:
    """Plan verification, three-shot as PlanBench asks it."""

    name: str = "t3"
    title: str = "plan verification"
    asks: str = "whether a given plan is valid, and if not the failing step and facts"
    scored: str = ("against the validator's verdict: the binary verdict, the failure type, "
                   "and the named step and facts")
    answers_plan: bool = False

    def check(self, instances: Sequence[Instance], settings) -> None:
        need_solvable(self, instances)

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        template = template_of(instance, settings)
        text = verification_prompt(template, examples(instance, pool, settings.seed), instance,
                                   self.shown(instance, settings))
        return task_prompt(instance, template, text, shots=3)

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        return judged(instance, self.shown(instance, settings), text, settings)

    def tables(self, rows, instances) -> dict:
        from planbench_scale.analysis.tasks import verification

        return verification(rows, instances)

    def shown(self, instance: Instance, settings) -> tuple[Fact, ...]:
        """The plan the instance's prompt shows (canonical actions)."""
        return drawn_plan(instance, settings.seed)


@dataclass(frozen=True)
class RunPlanVerification(Verification):
    """Plan verification of plans a run stored (PlanBench's
    `task_3_plan_verification_with_llm_plans`): t3's three-shot prompt, the query's plan an
    answer of the run in `Settings.plans_from` (`run_plan`)."""

    name: str = "t3_1"
    title: str = "plan verification of a run's plans"
    asks: str = "whether a plan another run answered is valid, and if not the failing step and facts"

    def check(self, instances: Sequence[Instance], settings) -> None:
        need_solvable(self, instances)
        run_plans(settings, instances)

    def shown(self, instance: Instance, settings) -> tuple[Fact, ...]:
        return run_plans(settings, (instance,))[instance.id]


@dataclass(frozen=True)
class Claim:
    """What a verification answer says."""

    reason: Reason | None
    """VALID, INAPPLICABLE, GOAL_NOT_REACHED, WRONG_ANSWER (invalid, no reason given) or None
    (no verdict)."""
    failed_step: int | None
    """The step it names, 0-based (None: none named)."""
    facts: tuple[Fact, ...]
    """The facts it names as unmet (canonical)."""


def judged(instance: Instance, shown: Sequence[Fact], text: str, settings
           ) -> tuple[Extraction, Verdict]:
    """A verification answer `text` on the plan `shown` (canonical actions) scored against our
    validator's verdict on it: the plan shown (PDDL), and whether the answer is right on every
    count (`grade`) with the failure, step and facts it claims."""
    claim = read_claim(template_of(instance, settings), instance, own_answer(text))
    vocab = vocabulary_of(instance)
    outcome = Outcome.PLAN if claim.reason is not None else (
        Outcome.NO_PLAN if text.strip() else Outcome.EMPTY)
    right = all(grade(instance, claim, verdict_of(instance, shown)).values())
    return (Extraction(tuple(vocab.fact(a) for a in shown), outcome),
            Verdict(right, claim.reason or Reason.WRONG_ANSWER, claim.failed_step,
                    tuple(vocab.fact(f) for f in claim.facts)))


def readable_plan(instance: Instance, actions: Sequence[str]) -> tuple[Fact, ...] | None:
    """An extracted plan (PDDL actions) as canonical actions, when it can be shown in the
    template's words: it is not empty and every action of it is one of the instance's (after a
    failing one too); None otherwise."""
    task = domains.task_for(instance)
    if not actions or any(task.find(a) is None for a in actions):
        return None
    return tuple(domains.canonical(instance, a, "actions") for a in actions)


def run_plans(settings, instances: Sequence[Instance]) -> dict[str, tuple[Fact, ...]]:
    """The plan t3_1 shows for each instance: of the run in `settings.plans_from`, the first
    answer (round 0, lowest sample index; scoring and verification calls are no answers) whose
    plan is readable (`readable_plan`). PlanbenchError without a run, for an instance the run
    did not use (or used with other facts), or one it has no readable plan of."""
    if not settings.plans_from:
        raise PlanbenchError("task t3_1 verifies the plans of another run: give it with "
                             "--plans-from RUN (a run folder)")
    known, plans = _run_plans(settings.plans_from)
    for instance in instances:
        ran = known.get(instance.id)
        if ran is None or _facts(ran) != _facts(instance):
            raise PlanbenchError(f"--plans-from {settings.plans_from} did not run instance "
                                 f"{instance.id} (or ran other facts under that id): verify a "
                                 "run of the same instance set")
    missing = [i.id for i in instances if i.id not in plans]
    if missing:
        raise PlanbenchError(f"--plans-from {settings.plans_from} has no answer with a readable "
                             f"plan for {len(missing)} of the {len(instances)} instances "
                             f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
    return {i.id: plans[i.id] for i in instances}


def _facts(instance: Instance) -> tuple:
    return instance.domain, instance.objects, instance.init, instance.goal


@lru_cache(maxsize=8)
def _run_plans(run_dir: str) -> tuple[dict[str, Instance], dict[str, tuple[Fact, ...]]]:
    """A run's instances by id, and its first readable plan per instance."""
    from planbench_scale.analysis.metrics import answer_rows
    from planbench_scale.store import read_instances, read_samples

    known = {i.id: i for i in read_instances(run_dir)}
    rows = read_samples(run_dir, ["instance_id", "sample_index", "round", "plan", "parent",
                                  "depth", "finish_reason"])
    rows = rows.loc[answer_rows(rows) & (rows["round"] == 0)].sort_values("sample_index")
    plans: dict[str, tuple[Fact, ...]] = {}
    for instance_id, plan in zip(rows["instance_id"].astype(str), rows["plan"].astype(str)):
        if instance_id in known and instance_id not in plans:
            shown = readable_plan(known[instance_id], [a for a in plan.split("\n") if a])
            if shown is not None:
                plans[instance_id] = shown
    return known, plans


def drawn_plan(instance: Instance, seed: int, kind: str | None = None) -> tuple[Fact, ...]:
    """A plan to verify, drawn as PlanBench draws it from the optimal plan; `kind` one of KINDS
    (None: drawn too), everything from the run seed and the instance."""
    rng = random.Random(derive_seed(seed, instance.id, "t3", kind))
    kind = kind or rng.choice(KINDS)
    plan = list(instance.optimal_plan)
    if kind == "inexecutable":
        drop = rng.randrange(1, len(plan) - 1) if len(plan) > 2 else 1
        plan = plan[:drop] + plan[drop + 1:]
        rng.shuffle(plan)
    elif kind == "goal-unmet":
        plan = plan[:rng.randrange(0, max(len(plan) - 1, 1))]
    return tuple(plan)


def examples(instance: Instance, pool: Sequence[Instance], seed: int
             ) -> list[tuple[Instance, tuple[Fact, ...]]]:
    """Three solved examples: other solvable instances of the pool in the instance's domain and
    vocabulary, drawn with replacement (as PlanBench does), one plan of each kind, in a random
    order."""
    others = sorted((p for p in pool if p.id != instance.id and p.solvable
                     and (p.domain, p.vocabulary) == (instance.domain, instance.vocabulary)),
                    key=lambda p: natural_key(p.id))
    if not others:
        raise PlanbenchError(f"no examples for {instance.id}: the pool holds no other "
                                     "solvable instance")
    rng = random.Random(derive_seed(seed, instance.id, "t3 examples"))
    kinds = list(KINDS)
    rng.shuffle(kinds)
    return [(e, drawn_plan(e, seed, kind)) for e, kind in zip(rng.choices(others, k=3), kinds)]


def verdict_of(instance: Instance, plan: Sequence[Fact]) -> Verdict:
    """Our validator's verdict on a canonical plan."""
    vocab = vocabulary_of(instance)
    return validate(domains.task_for(instance), [vocab.fact(a) for a in plan])


def message(template: Template, instance: Instance, plan: Sequence[Fact]) -> str:
    """PlanBench's verification message for a plan, written from our validator's verdict."""
    verdict = verdict_of(instance, plan)
    if verdict.valid:
        return "The above plan is valid.\n"
    unmet = [domains.canonical(instance, f) for f in verdict.unmet]
    many = len(unmet) > 1
    if verdict.reason in GOAL_MISSED:
        head = (" These are the unmet goal conditions:\n" if many
                else " This is the unmet goal condition:\n")
    else:
        step, action = verdict.failed_step + 1, plan[verdict.failed_step]
        head = (f" The following action at step {step} has unmet preconditions:\n" if many
                else f"The following action at step {step} has an unmet precondition:\n")
        head += phrase(template, vocabulary_of(instance), action) + "\n"
        head += "The unmet preconditions are:\n" if many else "The unmet precondition is:\n"
    return "The above plan is invalid." + head + state(template, instance, unmet)


def verification_prompt(template: Template, solved: Sequence[tuple[Instance, tuple[Fact, ...]]],
                        instance: Instance, plan: Sequence[Fact]) -> str:
    """PlanBench's t3 prompt: the introduction, each (example, plan) with its verification
    message, then the query's plan and "[VERIFICATION]"."""
    text = intro_text(template, instance)
    for example, shown in solved:
        text += _shown(template, example, shown) + "\n" + message(template, example, shown)
    return text + _shown(template, instance, plan)


def zero_shot_prompt(template: Template, instance: Instance, plan: Sequence[Fact]) -> str:
    """PlanBench's zero-shot verification prompt (`plan_verification_zero_shot`): the plan, then
    the request to answer "Plan is valid." or "Plan is invalid." and why."""
    return (intro_text(template, instance) + statement(template, instance, instance.goal, SHOWN)
            + plan_block(template, instance, plan) + ASK_ZERO_SHOT)


def _shown(template: Template, instance: Instance, plan: Sequence[Fact]) -> str:
    return (statement(template, instance, instance.goal, SHOWN) + plan_block(template, instance, plan)
            + "\n[VERIFICATION]")


_INVALID = re.compile(r"\b(invalid|not valid|not executable|inexecutable|not correct|incorrect)\b")
_VALID = re.compile(r"\b(valid|correct)\b")
_STEP = re.compile(r"\bstep\s+(\d+)")


def read_claim(template: Template, instance: Instance, answer: str) -> Claim:
    """The verdict, failure and facts a verification answer states."""
    text = answer.lower()
    step = _STEP.search(text)
    facts = read_facts(template, instance, answer)
    if _INVALID.search(text):
        reason = (Reason.INAPPLICABLE if "precondition" in text or step else
                  Reason.GOAL_NOT_REACHED if "goal" in text else Reason.WRONG_ANSWER)
    else:
        reason = Reason.VALID if _VALID.search(text) else None
    return Claim(reason, int(step.group(1)) - 1 if step and reason == Reason.INAPPLICABLE else None,
                 facts if reason not in (Reason.VALID, None) else ())


def grade(instance: Instance, claim: Claim, truth: Verdict) -> dict[str, bool]:
    """Whether the claim is right on each count: "verdict" (valid or not), and for an invalid
    plan "failure" (precondition or goal) and "facts" (the step and the unmet facts named)."""
    said_valid = claim.reason == Reason.VALID
    counts = {"verdict": claim.reason is not None and said_valid == truth.valid}
    if not truth.valid:
        kind = Reason.GOAL_NOT_REACHED if truth.reason in GOAL_MISSED else Reason.INAPPLICABLE
        counts["failure"] = claim.reason == kind
        counts["facts"] = counts["failure"] and claim.failed_step == truth.failed_step and \
            set(claim.facts) == {domains.canonical(instance, f) for f in truth.unmet}
    return counts


VERIFICATION, RUN_PLAN_VERIFICATION = Verification(), RunPlanVerification()
