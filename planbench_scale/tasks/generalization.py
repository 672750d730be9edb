"""Plan generalization (t5, PlanBench's `task_5_plan_generalization`): plan generation's one-shot
prompt over a generalization set, a set whose plans share one pattern (Blocksworld: one tower of
every block, built from the table), the example being the set's instance before the query (its
instance i-1) with its plan. The answer is a plan of the instance, validated as in t1.

An instance is of a generalization set when its id says so (`planbench-scale generate
--generalization` names them "<domain>-generalization-...") or its PDDL problem is one of
PlanBench's own generalized problems (named BW-generalization-N, LG-generalization), imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from planbench_scale import domains
from planbench_scale.domains.blocksworld.generate import GENERALIZATION
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Instance, Prompt
from planbench_scale.tasks import need_solvable
from planbench_scale.tasks.generation import Generation
from planbench_scale.text.prompts import render

_PROBLEM = re.compile(r"\(\s*problem\s+([^\s()]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Generalization(Generation):
    """Plan generalization: a plan of the pattern the example's plan shows, scored as plan
    generation scores it."""

    name: str = "t5"
    title: str = "plan generalization"
    asks: str = "a plan for an instance of a generalization set, one-shot with the set's previous instance"

    def check(self, instances: Sequence[Instance], settings) -> None:
        for instance in instances:
            if of_generalization_set(instance):
                continue
            if not hasattr(domains.get(instance.domain), "generalization"):
                raise PlanbenchError(f"task t5 (plan generalization): domain {instance.domain} has "
                                     f"no generalization generator, and {instance.id} is not of a "
                                     "generalization set")
            raise PlanbenchError(f"task t5 (plan generalization) asks instances of a generalization "
                                 f"set; {instance.id} is not of one: make one with `planbench-scale "
                                 f"generate --generalization --domain {instance.domain} --out SET`")
        need_solvable(self, instances)

    def prompt(self, instance: Instance, pool: Sequence[Instance], settings) -> Prompt:
        pattern = [p for p in pool if of_generalization_set(p)]
        return render(instance, settings.style, 1, pattern, settings.templates)


def of_generalization_set(instance: Instance) -> bool:
    """Whether the instance is of a generalization set: by its id, or by the name of the PDDL
    problem it was imported from."""
    return GENERALIZATION in instance.id.lower() or GENERALIZATION in _problem_name(instance.source)


@lru_cache(maxsize=65536)
def _problem_name(source: str) -> str:
    path = Path(source)
    if source == "generated" or not path.is_file():
        return ""
    found = _PROBLEM.search(path.read_text(errors="replace")[:2000])
    return found.group(1).lower() if found else ""


GENERALIZATION_TASK = Generalization()
