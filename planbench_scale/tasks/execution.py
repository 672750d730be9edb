"""Plan execution (t7, PlanBench's `task_7_plan_execution`): the state after a prefix of an
optimal plan, drawn as PlanBench draws it (1 to length-1 actions), asked one-shot with the
example instance before.

A stored row's `plan` holds the facts the answer states (PDDL), `valid` whether they are exactly
the resulting state, and `unmet` what makes them wrong: facts of the state the answer leaves
out, and "(not FACT)" for each fact it states that is false. The share of facts right is
1 - |unmet| / |stated and true facts together| (`share_right`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from planbench_scale import domains
from planbench_scale.backends import derive_seed
from planbench_scale.domains import vocabulary_of
from planbench_scale.records import Extraction, Fact, Instance, Outcome, Prompt, Reason, Verdict
from planbench_scale.score import state_after
from planbench_scale.tasks import need_solvable
from planbench_scale.tasks.wording import (own_answer, plan_block, read_facts, state, task_prompt,
                                           template_of)
from planbench_scale.text.prompts import Template, example_for, intro_text

SEQUENCE = ".\n I have executed the following action sequence:\n\n[ACTION SEQUENCE]"
"""PlanBench's t7 words after the initial state, up to the actions."""


@dataclass(frozen=True)
class Execution:
    """Plan execution: which facts hold after the given actions."""

    name: str = "t7"
    title: str = "plan execution"
    asks: str = "the state after a given action sequence (a prefix of an optimal plan)"
    scored: str = "exactly the resulting set of facts (and the share of facts right)"
    answers_plan: bool = False

    def check(self, instances: Sequence[Instance], settings) -> None:
        need_solvable(self, instances)

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        template, example = template_of(instance, settings), example_for(instance, pool)
        solved = [(example, drawn_prefix(example, settings.seed))]
        text = execution_prompt(template, solved, instance, drawn_prefix(instance, settings.seed))
        return task_prompt(instance, template, text)

    def score(self, instance: Instance, text: str, settings) -> tuple[Extraction, Verdict]:
        stated = read_facts(template_of(instance, settings), instance, own_answer(text))
        truth = facts_after(instance, drawn_prefix(instance, settings.seed))
        vocab = vocabulary_of(instance)
        wrong = tuple(vocab.fact(f) for f in truth if f not in stated) + tuple(
            f"(not {vocab.fact(f)})" for f in stated if f not in truth)
        outcome = Outcome.PLAN if stated else (Outcome.NO_PLAN if text.strip() else Outcome.EMPTY)
        return (Extraction(tuple(vocab.fact(f) for f in stated), outcome),
                Verdict(not wrong, Reason.WRONG_ANSWER if wrong else Reason.VALID, unmet=wrong))

    def tables(self, rows, instances) -> dict:
        from planbench_scale.analysis.tasks import execution

        return execution(rows, instances)


def drawn_prefix(instance: Instance, seed: int) -> int:
    """How many actions of the optimal plan are executed: PlanBench's draw (one of 1 .. length-1,
    1 for a plan of one step), from the run seed and the instance."""
    length = instance.optimal_length
    return 1 if length < 2 else random.Random(derive_seed(seed, instance.id, "t7")).randrange(1, length)


def facts_after(instance: Instance, prefix: int) -> tuple[Fact, ...]:
    """The canonical facts after the first `prefix` actions of the optimal plan."""
    vocab, task = vocabulary_of(instance), domains.task_for(instance)
    mask = state_after(instance, [vocab.fact(a) for a in instance.optimal_plan[:prefix]])
    return tuple(domains.canonical(instance, name) for name in task.fact_names(mask))


def execution_prompt(template: Template, solved: Sequence[tuple[Instance, int]],
                     instance: Instance, prefix: int) -> str:
    """PlanBench's t7 prompt: the introduction, each example (instance, prefix) with its
    resulting state, then the query's actions and "[RESULTING STATE]"."""
    text = intro_text(template, instance)
    for example, executed in solved:
        text += (_executed(template, example, executed) + "[RESULTING STATE]\n"
                 + state(template, example, facts_after(example, executed)) + "\n")
    return text + _executed(template, instance, prefix) + "[RESULTING STATE]\n"


def _executed(template: Template, instance: Instance, prefix: int) -> str:
    return (f"\n[STATEMENT]\nAs initial conditions I have that, "
            f"{state(template, instance, instance.init).strip()}{SEQUENCE}"
            + plan_block(template, instance, instance.optimal_plan[:prefix], "[ACTION SEQUENCE END]"))


def share_right(stated: int, unmet: str) -> float:
    """The share of facts right of a stored row, from its `n_actions` (the facts stated) and
    its `unmet` column (facts joined by spaces): 1 - |wrong| / |stated and true together|."""
    wrong = _groups(unmet)
    together = stated + sum(not f.startswith("(not ") for f in wrong)
    return 1.0 if together == 0 else 1 - len(wrong) / together


def _groups(text: str) -> list[str]:
    """The top-level parenthesised groups of a text: "(a b) (not (c))" -> two."""
    groups, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            start, depth = (i if depth == 0 else start), depth + 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                groups.append(text[start:i + 1])
    return groups


EXECUTION = Execution()
