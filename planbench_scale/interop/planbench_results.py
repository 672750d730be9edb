"""PlanBench's published result files as run folders.

PlanBench (karthikv792/LLMs-Planning) writes `llm_planning_analysis/results/<config>/<model>/
task_1_plan_generation<variant>.json`: {"task", "engine", "prompt_type", "domain", "instances":
[{"instance_id", "query", "llm_raw_response", "extracted_llm_plan", "ground_truth_plan",
"llm_correct" (older files: "correct"), ...}]}. Each plan-generation file becomes one run folder
OUT/<config>__<model>__<type> (type "t1", "t1_zero_shot", "t1_pddl", ... as PlanBench's
prompt files name them), its answers re-scored by our extractor and validator, PlanBench's own
verdict kept beside ours (`answers.VERDICTS`). The instances and templates come from a folder
laid out as PlanBench's `llm_planning_analysis` (instances/<config>/, configs/<config>.yaml).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from planbench_scale import domains
from planbench_scale.errors import PlanbenchError
from planbench_scale.interop.answers import Answer, Imported, Line, score_answers

TASK = "task_1_plan_generation"
"""The stem of PlanBench's plan-generation result files."""

VERDICT_KEYS = ("llm_correct", "correct", "llm_correct_binary")
"""Where PlanBench's result files keep its verdict, newest layout first."""


def sources(config: str, data_dir: Path) -> tuple[Path | None, str]:
    """The instance set folder a config's answers are about (None when there is none), and the
    templates they were asked in ("random_X" answers are about the X instances)."""
    folder = data_dir / "instances" / config
    if not folder.is_dir() and config.startswith("random_"):
        folder = data_dir / "instances" / config[len("random_"):]
    for name in (config, re.sub(r"_3$", "", config)):
        for candidate in (data_dir / "configs" / f"{name}.yaml",
                          *(Path(str(f)) for f in domains.template_files(name))):
            if candidate.is_file():
                return (folder if folder.is_dir() else None), f"planbench:{candidate}"
    return (folder if folder.is_dir() else None), "default"


@dataclass(frozen=True)
class ResultFile:
    """One of PlanBench's plan-generation result files."""

    path: Path
    """The file."""
    config: str
    """PlanBench's config (the folder above the model's): "blocksworld", "mystery_blocksworld", ..."""
    model: str
    """The model folder's name, as PlanBench calls the engine: "gpt-4_chat", ..."""
    prompt_type: str
    """"t1" plus the file's variant: "t1_zero_shot", "t1_pddl", "t1_zero_shot_pddl", ..."""

    @property
    def style(self) -> str:
        """The prompts' style: "pddl" when the variant says so, else "nl"."""
        return "pddl" if "pddl" in self.prompt_type else "nl"

    @property
    def shots(self) -> int:
        """Solved examples in the prompts: 0 for the zero-shot variants, else 1."""
        return 0 if "zero_shot" in self.prompt_type else 1


def result_files(results_dir: str | Path) -> list[ResultFile]:
    """The plan-generation result files under RESULTS_DIR/<config>/<model>/, in name order."""
    root = Path(results_dir)
    if not root.is_dir():
        raise PlanbenchError(f"not a folder: {results_dir}")
    found = [ResultFile(path, path.parent.parent.name, path.parent.name,
                        "t1" + path.stem[len(TASK):])
             for path in sorted(root.glob(f"*/*/{TASK}*.json"))]
    if not found:
        raise PlanbenchError(f"no PlanBench result files ({{config}}/{{model}}/{TASK}*.json) "
                             f"in {results_dir}")
    return found


def read_result_file(result: ResultFile) -> Iterator[Line]:
    """The answers of a result file, one per instance entry (or why an entry is unusable)."""
    try:
        data = json.loads(result.path.read_text())
    except (OSError, ValueError) as error:
        raise PlanbenchError(f"not a PlanBench result file ({error})", str(result.path)) from None
    entries = data.get("instances") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise PlanbenchError("not a PlanBench result file (no \"instances\" list)", str(result.path))
    for number, entry in enumerate(entries, 1):
        where = f"{result.path}: instance entry {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("llm_raw_response"), str) \
                or "instance_id" not in entry:
            yield where, "no instance_id or llm_raw_response"
            continue
        verdict = next((entry[key] for key in VERDICT_KEYS if key in entry), None)
        yield where, Answer(str(entry["instance_id"]), entry["llm_raw_response"],
                            model=result.model,
                            verdict=None if verdict is None else bool(verdict))


def import_planbench(results_dir: str | Path, out: str | Path, data_dir: str | Path | None = None,
                     say: Callable[[str], None] = print) -> Iterator[Imported]:
    """One run folder OUT/<config>__<model>__<type> per result file under `results_dir`, each
    yielded when stored; `data_dir` holds instances/ and configs/ (default: the folder above
    `results_dir`, as in PlanBench's repository). A file whose config has no instance set is
    skipped, said so."""
    files = result_files(results_dir)
    data = Path(data_dir) if data_dir is not None else Path(results_dir).resolve().parent
    for result in files:
        folder, templates = sources(result.config, data)
        if folder is None:
            say(f"note: {result.path}: no instance set {result.config} in {data / 'instances'}; skipped")
            continue
        run_dir = Path(out) / f"{result.config}__{result.model}__{result.prompt_type}"
        yield score_answers(lambda r=result: read_result_file(r), folder, run_dir,
                            source=str(result.path.resolve()), model=result.model,
                            style=result.style, shots=result.shots, templates=templates)
