"""Answers made by any tool, scored into a run folder like any other run.

An answers file holds one JSON object a line: `instance_id` and `text` (the answer), and
optionally `sample_index`, `model`, `reasoning`, `prompt_tokens`, `completion_tokens`,
`reasoning_tokens`, `finish_reason`, `seed` and `verdict` (the producing tool's own verdict,
true or false, kept beside ours in `imported_verdicts.jsonl` for comparison). A bad line is
named by its line number and left out; the rest is extracted, validated and stored (strategy
"sample", engine "import", the run config's `engine.source` saying where the answers came from).

The answers are read twice (once to size the run, once to store it), never all held in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from planbench_scale.backends import Request
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings, environment
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances
from planbench_scale.records import Completion, Instance
from planbench_scale.score import check
from planbench_scale.store import RunWriter
from planbench_scale.strategies.loop import sample_row
from planbench_scale.text.prompts import load_template, render

ENGINE = "import"
"""The engine name of a run made of imported answers."""

VERDICTS = "imported_verdicts.jsonl"
"""File in the run folder: the producing tool's own verdicts (instance_id, sample_index, verdict)."""

BATCH = 1000
"""Rows stored at a time."""


@dataclass(frozen=True)
class Answer:
    """One answer made by another tool."""

    instance_id: str
    """The instance it answers: its id in the set, or a suffix of it that names one instance
    (PlanBench's "instance-12" or "12")."""
    text: str
    """The answer as the model wrote it."""
    sample_index: int | None = None
    """Its index among the instance's answers (None: numbered in file order)."""
    model: str | None = None
    """The model that wrote it."""
    reasoning: str = ""
    """A reasoning model's thinking, kept apart from `text`."""
    prompt_tokens: int = 0
    """Prompt tokens, where the tool counted them."""
    completion_tokens: int = 0
    """Generated tokens, where the tool counted them."""
    reasoning_tokens: int = 0
    """Of `completion_tokens`, those spent on reasoning."""
    finish_reason: str = "imported"
    """Why the answer ended, where the tool says ("imported" when it does not)."""
    seed: int = -1
    """The request's sampling seed, -1 when unknown."""
    verdict: bool | None = None
    """The producing tool's own verdict, kept for comparison (None: it gave none)."""


Line = tuple[str, "Answer | str"]
"""(where, an Answer or why the line is bad), where = "FILE:LINE"."""


def parse_answer(record) -> Answer:
    """An Answer from one decoded JSON line; a ValueError says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    for name in ("instance_id", "text"):
        if name not in record:
            raise ValueError(f"no {name!r}")
    if not isinstance(record["text"], str):
        raise ValueError("'text' is not a string")
    numbers = {name: record.get(name, default) for name, default in (
        ("sample_index", None), ("prompt_tokens", 0), ("completion_tokens", 0),
        ("reasoning_tokens", 0), ("seed", -1))}
    for name, value in numbers.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{name!r} is not an integer")
    if numbers["sample_index"] is not None and numbers["sample_index"] < 0:
        raise ValueError("'sample_index' is negative")
    verdict = record.get("verdict")
    if verdict is not None and not isinstance(verdict, bool):
        raise ValueError("'verdict' is not true, false or null")
    return Answer(instance_id=str(record["instance_id"]), text=record["text"],
                  model=None if record.get("model") is None else str(record["model"]),
                  reasoning=str(record.get("reasoning") or ""),
                  finish_reason=str(record.get("finish_reason") or "imported"),
                  verdict=verdict, **numbers)


def read_answers_file(path: str | Path) -> Iterator[Line]:
    """The lines of an answers file (JSON lines), each an Answer or why it is bad."""
    try:
        handle = open(path, encoding="utf-8")
    except OSError as error:
        raise PlanbenchError(f"cannot read the answers: {error.strerror or error}", str(path)) from None
    with handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError as error:
                yield f"{path}:{number}", f"not a JSON line ({error})"
                continue
            try:
                yield f"{path}:{number}", parse_answer(record)
            except ValueError as error:
                yield f"{path}:{number}", str(error)


def instance_lookup(pool: Sequence[Instance]) -> dict[str, Instance]:
    """Instances by id, and by each suffix of the id after a "/" or "-" that names one only."""
    found: dict[str, Instance | None] = {}
    for instance in pool:
        parts = [instance.id.split("/")[-1], instance.id.rsplit("-", 1)[-1]]
        for key in {p for p in parts if p != instance.id}:
            found[key] = None if key in found else instance
    found.update((i.id, i) for i in pool)
    return {key: instance for key, instance in found.items() if instance is not None}


Resolved = tuple[str, "Instance | None", int, "Answer | str"]


def _resolved(lines: Iterable[Line], lookup: dict[str, Instance]) -> Iterator[Resolved]:
    """(where, instance, sample index, answer) per line; instance None and answer a problem
    for a bad one. Deterministic, so that both passes over the answers agree."""
    taken: dict[str, set[int]] = {}
    for where, answer in lines:
        if isinstance(answer, str):
            yield where, None, -1, answer
            continue
        instance = lookup.get(answer.instance_id)
        if instance is None:
            yield where, None, -1, f"instance {answer.instance_id!r} is not in the set"
            continue
        indexes = taken.setdefault(instance.id, set())
        index = answer.sample_index if answer.sample_index is not None else len(indexes)
        while answer.sample_index is None and index in indexes:
            index += 1
        if index in indexes:
            yield where, None, -1, f"a second answer {index} of {instance.id}"
            continue
        indexes.add(index)
        yield where, instance, index, answer


@dataclass(frozen=True)
class Imported:
    """What an import stored."""

    run_dir: Path
    """The run folder written."""
    samples: int
    """Answers stored."""
    valid: int
    """Of them, valid plans (by our extractor and validator)."""
    instances: int
    """Instances with at least one answer (the run's instances)."""
    unanswered: int
    """Instances of the set without any answer (left out of the run)."""
    problems: tuple[str, ...]
    """Bad lines left out, as "FILE:LINE: why"."""


def _survey(lines: Iterable[Line], lookup: dict[str, Instance], model: str | None):
    """(answers per instance id, models named, problems) of a first pass."""
    counts: dict[str, int] = {}
    models, problems = set(), []
    for where, instance, _, answer in _resolved(lines, lookup):
        if instance is None:
            problems.append(f"{where}: {answer}")
            continue
        counts[instance.id] = counts.get(instance.id, 0) + 1
        models.add(answer.model)
    if not counts:
        raise PlanbenchError("no answer could be used" + (f" (first problem: {problems[0]})"
                                                          if problems else ": the answers are empty"))
    named = sorted(m for m in models if m is not None)
    if model is None and len(named) > 1:
        raise PlanbenchError(f"answers of several models ({', '.join(named[:4])}): one run is "
                             "one model; split the answers by model, or name one with --model")
    return counts, (model or (named[0] if named else "unknown")), problems


def score_answers(lines: Callable[[], Iterable[Line]], instances: str | Path, out: str | Path,
                  source: str, model: str | None = None, style: str = "nl", shots: int = 0,
                  templates: str = "default", on_progress: Callable[[int], None] | None = None
                  ) -> Imported:
    """Extract, validate and store the answers `lines()` gives (called twice) about the set in
    `instances` into the new run folder `out`; `source` says where they came from, `style`,
    `shots` and `templates` how they were asked (the prompts' hashes and the extractor's words)."""
    if (Path(out) / "config.json").exists():
        raise PlanbenchError(f"{out} already holds a run: imported answers go into a new folder")
    pool = load_instances(instances)
    for domain in {i.domain for i in pool}:
        load_template(templates, domain)
    lookup = instance_lookup(pool)
    counts, model, problems = _survey(lines(), lookup, model)
    chosen = [i for i in pool if i.id in counts]
    settings = Settings(strategy="sample", k=max(counts.values()), style=style, shots=shots,
                        templates=templates)
    config = RunConfig(settings, EngineConfig(ENGINE, model, source=source),
                       InstanceSource(str(Path(instances).resolve()), None, len(chosen)),
                       environment())
    with RunWriter(out, config, chosen) as writer:
        stored, valid = _store(lines(), lookup, writer, settings, pool, on_progress)
    return Imported(Path(out), stored, valid, len(chosen), len(pool) - len(chosen), tuple(problems))


def _store(lines: Iterable[Line], lookup: dict[str, Instance], writer: RunWriter,
           settings: Settings, pool: Sequence[Instance], on_progress) -> tuple[int, int]:
    """Check and store every usable answer; their own verdicts go to VERDICTS."""
    prompts, rows, stored, valid = {}, [], 0, 0
    with open(writer.run_dir / VERDICTS, "w") as verdicts:
        for _, instance, index, answer in _resolved(lines, lookup):
            if instance is None:
                continue
            if instance.id not in prompts:
                prompts[instance.id] = render(instance, settings.style, settings.shots, pool,
                                              settings.templates)
            extraction, verdict = check(instance, answer.text, settings.templates)
            completion = Completion(answer.text, answer.prompt_tokens, answer.completion_tokens,
                                    answer.finish_reason, reasoning=answer.reasoning,
                                    reasoning_tokens=answer.reasoning_tokens)
            request = Request(prompts[instance.id], 1, answer.seed, first=index)
            rows.append(sample_row(instance, request, index, completion, extraction, verdict,
                                   settings.strategy))
            valid += verdict.valid
            if answer.verdict is not None:
                verdicts.write(json.dumps({"instance_id": instance.id, "sample_index": index,
                                           "verdict": answer.verdict}) + "\n")
            if len(rows) >= BATCH:
                stored += writer.append(rows)
                rows = []
                if on_progress is not None:
                    on_progress(stored)
        stored += writer.append(rows)
    return stored, valid


def read_imported_verdicts(run_dir: str | Path):
    """The producing tool's verdicts stored with an import (a DataFrame: instance_id,
    sample_index, verdict); empty for any other run."""
    import pandas as pd

    path = Path(run_dir) / VERDICTS
    if not path.is_file() or not path.stat().st_size:
        return pd.DataFrame(columns=["instance_id", "sample_index", "verdict"])
    return pd.read_json(path, lines=True, dtype={"instance_id": str})


def verdict_agreement(runs):
    """Per imported run (report `Run`s) with the producing tool's verdicts: answers compared,
    valid by ours and by theirs, and the share on which the two agree."""
    import pandas as pd

    rows = []
    for run in runs:
        theirs = read_imported_verdicts(run.path)
        if theirs.empty:
            continue
        ours = run.samples.loc[run.samples["round"] == 0, ["instance_id", "sample_index", "valid"]]
        both = ours.astype({"instance_id": str}).merge(theirs, on=["instance_id", "sample_index"])
        rows.append({"run": run.name, "answers": len(both), "ours_valid": int(both["valid"].sum()),
                     "theirs_valid": int(both["verdict"].sum()),
                     "agreement": float((both["valid"] == both["verdict"]).mean()) if len(both) else None})
    return pd.DataFrame(rows, columns=["run", "answers", "ours_valid", "theirs_valid", "agreement"])
