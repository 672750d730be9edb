"""An lm-evaluation-harness task folder for an instance set.

`export_lm_eval` writes OUT/dataset/ (the set as a Hugging Face dataset, `hf_dataset`),
OUT/<task>.yaml (a generate_until task over its Parquet file: the prompt column as the input,
`repeats` answers per instance kept by lm-eval's take_first_k filter) and OUT/<task>_utils.py,
whose `process_results` calls our scorer (`score.check`: extraction and validation) on every
answer. Run it with

    lm_eval --include_path OUT --tasks <task> --model local-completions --model_args ...

Metrics per instance, averaged by lm-eval: `valid` (the share of its answers that are valid
plans: pass@1) and `pass_at_k` (1 when any of its k answers is valid, k = repeats).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import new_folder
from planbench_scale.interop.hf_dataset import DATA_FILE, export_set, instance_from_json
from planbench_scale.score import check


def answers_of(results: list) -> list[str]:
    """The answers lm-eval passes for one document: one string (take_first) or a list of them
    (take_first_k), as the first element of `results`."""
    first = results[0] if results else ""
    return [first] if isinstance(first, str) else [str(answer) for answer in first]


def process_results(doc: dict, results: list, templates: str = "default") -> dict[str, float]:
    """lm-eval's hook: our verdicts on a document's answers, as `valid` (the share valid) and
    `pass_at_k` (any valid)."""
    instance = instance_from_json(doc["instance"])
    verdicts = [check(instance, answer, templates)[1].valid for answer in answers_of(results)]
    return {"valid": sum(verdicts) / max(len(verdicts), 1), "pass_at_k": float(any(verdicts))}


def scorer(templates: str) -> Callable[[dict, list], dict[str, float]]:
    """`process_results` reading answers in the words of `templates`."""
    return lambda doc, results: process_results(doc, results, templates)


def task_yaml(task: str, data_file: Path, k: int, temperature: float, max_tokens: int,
              stop: Sequence[str]) -> str:
    """The task's YAML (lm-eval's TaskConfig fields)."""
    until = "".join(f"    - {_quoted(s)}\n" for s in stop)
    sampling = "  do_sample: false\n" if temperature == 0 else \
        f"  do_sample: true\n  temperature: {temperature}\n"
    return f"""task: {task}
dataset_path: parquet
dataset_kwargs:
  data_files:
    test: {_quoted(str(data_file.resolve()))}
test_split: test
output_type: generate_until
doc_to_text: "{{{{prompt}}}}"
doc_to_target: ""
generation_kwargs:
  until:
{until}  max_gen_toks: {max_tokens}
{sampling}repeats: {k}
filter_list:
  - name: answers
    filter:
      - function: take_first_k
        k: {k}
process_results: !function {task}_utils.process_results
metric_list:
  - metric: valid
    aggregation: mean
    higher_is_better: true
  - metric: pass_at_k
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def export_lm_eval(instances: str | Path, out: str | Path, task: str | None = None, k: int = 1,
                   temperature: float = 0.0, max_tokens: int = 512,
                   stop: Sequence[str] = ("[PLAN END]",), style: str = "nl", shots: int = 0,
                   templates: str = "default") -> Path:
    """Write the task folder OUT (new or empty) for the set in `instances`; returns the YAML."""
    task = task or "planbench_scale_" + re.sub(r"\W+", "_", Path(instances).resolve().name).strip("_")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", task):
        raise PlanbenchError(f"task name {task!r}: letters, digits and _ only (it names a module)")
    if temperature == 0 and k > 1:
        raise PlanbenchError(f"{k} repeats at temperature 0 give one answer {k} times; give a "
                             "--temperature above 0 for pass@k")
    new_folder(out)
    folder = export_set(instances, Path(out) / "dataset", style, shots, templates)
    yaml = Path(out) / f"{task}.yaml"
    yaml.write_text(task_yaml(task, folder / DATA_FILE, k, temperature, max_tokens, stop))
    (Path(out) / f"{task}_utils.py").write_text(
        f'"""process_results of the lm-eval task {task}: planbench_scale\'s extraction and '
        f'validation."""\n\nfrom planbench_scale.interop.lm_eval_task import scorer\n\n'
        f"process_results = scorer({templates!r})\n")
    return yaml
