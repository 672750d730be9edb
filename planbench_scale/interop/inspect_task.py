"""An inspect_ai task package: `inspect eval planbench_scale/plan_generation -T set=SET`.

inspect_ai finds this module through the package's entry point (`[project.entry-points.inspect_ai]`
in pyproject.toml). Each instance of the set is one sample (its id the instance id, its input our
prompt's messages, `text.prompts.render`), scored by `score.check` (extraction and validation;
the verdict's reason, failed step and unmet facts in the score's metadata). `-T epochs=N` asks N
answers per instance; the reducers give their mean (pass@1) and pass@N. Needs the `inspect`
extra; `planbench-scale import-inspect` reads the logs back as run folders.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Callable, Sequence

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, mean_score, pass_at, scorer, stderr
from inspect_ai.solver import TaskState, generate

from planbench_scale.domains import vocabulary_of
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances
from planbench_scale.interop.hf_dataset import instance_from_json
from planbench_scale.records import Instance, Prompt
from planbench_scale.score import check
from planbench_scale.text.prompts import load_template, render

Prompter = Callable[[Instance, Sequence[Instance]], Prompt]
"""(instance, its set) -> the prompt asking the model for this task's answer."""


def samples(pool: Sequence[Instance], prompt: Prompter) -> list[Sample]:
    """One inspect Sample per instance: our prompt's messages, the optimal plan as the target
    (for reading only; the scorer validates), the Instance record as JSON in the metadata."""
    rows = []
    for instance in pool:
        messages = [ChatMessageSystem(content=text) if role == "system" else ChatMessageUser(content=text)
                    for role, text in prompt(instance, pool).messages]
        plan = "\n".join(vocabulary_of(instance).fact(a) for a in instance.optimal_plan)
        rows.append(Sample(id=instance.id, input=messages, target=plan,
                           metadata={"domain": instance.domain, "optimal_length": instance.optimal_length,
                                     "solvable": instance.solvable,
                                     "instance": json.dumps(asdict(instance))}))
    return rows


def verdict_score(instance: Instance, text: str, templates: str = "default") -> Score:
    """Our verdict on one answer as an inspect Score: C or I, the extracted plan as the answer,
    the verdict's reason, failed step and unmet facts and the extraction's outcome as metadata."""
    extraction, verdict = check(instance, text, templates)
    return Score(value=CORRECT if verdict.valid else INCORRECT, answer="\n".join(extraction.actions),
                 explanation=verdict.reason.value,
                 metadata={"reason": verdict.reason.value, "failed_step": verdict.failed_step,
                           "unmet": list(verdict.unmet), "outcome": extraction.outcome.value})


@scorer(metrics=[accuracy(), stderr()])
def plan_validity(templates: str = "default"):
    """Extraction and validation of the answer against the sample's instance."""
    async def score(state: TaskState, target: Target) -> Score:
        return verdict_score(instance_from_json(state.metadata["instance"]), state.output.completion,
                             templates)
    return score


def planning_task(prompt: Prompter, set: str, domain: str | None, templates: str, epochs: int) -> Task:
    """The Task over the set's instances (those of `domain` only, when given), each prompted by
    `prompt`, generation stopping at the template's closing plan delimiter."""
    pool = [i for i in load_instances(set) if domain is None or i.domain == domain]
    if not pool:
        raise PlanbenchError(f"the set holds no instance of domain {domain!r}", set)
    if epochs < 1:
        raise PlanbenchError(f"epochs must be at least 1, not {epochs}")
    stops = sorted({load_template(templates, d).plan_end for d in {i.domain for i in pool}})
    return Task(dataset=samples(pool, prompt), solver=generate(), scorer=plan_validity(templates),
                epochs=Epochs(epochs, [mean_score(), pass_at(epochs)]),
                config=GenerateConfig(stop_seqs=stops))


@task
def plan_generation(set: str, domain: str | None = None, style: str = "nl", shots: int = 1,
                    templates: str = "default", epochs: int = 1) -> Task:
    """PlanBench's plan generation over an instance set (a generated set's folder or a PlanBench
    instance folder): style nl or pddl, 0 or 1 shots, templates "default" or "planbench:PATH"."""
    return planning_task(lambda instance, pool: render(instance, style, int(shots), pool, templates),
                         set, domain, templates, int(epochs))
