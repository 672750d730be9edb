"""An inspect_ai eval log as a run folder.

inspect_ai writes a log as JSON (`.json`: {"version", "status", "eval", "plan", "results",
"stats", "samples"}) or as a zip (`.eval`: header.json with the same "eval", and one
samples/<id>_epoch_<n>.json per sample). Each sample ({"id", "epoch", "output": {"model",
"choices": [{"message": {"content", ...}, "stop_reason"}], "usage": {"input_tokens",
"output_tokens", "reasoning_tokens"}}, "scores": {NAME: {"value", ...}}}) becomes one answer:
instance id = the sample's id, sample index = epoch - 1, its text the first choice's text
content (reasoning blocks kept apart), its first scorer's value ("C"/"I", true/false, 1/0) the
imported verdict. Read by this module alone: inspect_ai need not be installed.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Iterator

from planbench_scale.errors import PlanbenchError
from planbench_scale.interop.answers import Answer, Imported, Line, score_answers

CORRECT, INCORRECT = ("C", True, 1, 1.0), ("I", False, 0, 0.0)
"""inspect_ai's score values read as a verdict (its CORRECT / INCORRECT, booleans, 1 / 0)."""


def read_log(path: str | Path) -> tuple[dict, Iterator[tuple[str, dict]]]:
    """(the log's "eval" header, its samples as (where, sample) in log order)."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            names = sorted(n for n in archive.namelist() if n.startswith("samples/"))
            header = json.loads(archive.read("header.json"))
            samples = ((f"{path}:{n}", json.loads(archive.read(n))) for n in names)
        else:
            data = json.loads(path.read_text())
            header = data
            samples = ((f"{path}: sample {i}", s) for i, s in enumerate(data.get("samples") or [], 1))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise PlanbenchError(f"not an inspect log ({error})", str(path)) from None
    if not isinstance(header, dict) or not isinstance(header.get("eval"), dict):
        raise PlanbenchError("not an inspect log (no \"eval\" header)", str(path))
    return header["eval"], samples


def _content(message: dict) -> tuple[str, str]:
    """(text, reasoning) of an assistant message: content is a string or a list of blocks."""
    content = message.get("content")
    if isinstance(content, str):
        return content, ""
    blocks = [b for b in content or [] if isinstance(b, dict)]
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    return text, "".join(b.get("reasoning", "") for b in blocks if b.get("type") == "reasoning")


def _verdict(scores) -> bool | None:
    """The first scorer's value as a verdict, None when it is neither correct nor incorrect."""
    first = next(iter((scores or {}).values()), None)
    value = first.get("value") if isinstance(first, dict) else None
    if isinstance(value, (dict, list)):
        return None
    return True if value in CORRECT else False if value in INCORRECT else None


def answer_of(sample: dict, model: str | None) -> Answer | str:
    """The Answer of one sample, or why it has none."""
    choices = (sample.get("output") or {}).get("choices") or []
    if "id" not in sample or not choices or not isinstance(choices[0].get("message"), dict):
        return "no id or no output choice (an errored sample?)"
    text, reasoning = _content(choices[0]["message"])
    usage = (sample.get("output") or {}).get("usage") or {}
    epoch = sample.get("epoch", 1)
    return Answer(str(sample["id"]), text, sample_index=int(epoch) - 1 if isinstance(epoch, int) else None,
                  model=model, reasoning=reasoning,
                  prompt_tokens=int(usage.get("input_tokens") or 0),
                  completion_tokens=int(usage.get("output_tokens") or 0),
                  reasoning_tokens=int(usage.get("reasoning_tokens") or 0),
                  finish_reason=str(choices[0].get("stop_reason") or "imported"),
                  verdict=_verdict(sample.get("scores")))


def log_answers(path: str | Path) -> Iterator[Line]:
    """The answers of an inspect log, one per sample (or why a sample has none)."""
    header, samples = read_log(path)
    for where, sample in samples:
        yield where, answer_of(sample, header.get("model")) if isinstance(sample, dict) else "not a sample"


def import_inspect(log: str | Path, instances: str | Path, out: str | Path, style: str = "nl",
                   shots: int = 0, templates: str = "default") -> Imported:
    """The inspect log `log` about the set in `instances` as the new run folder `out`."""
    header, _ = read_log(log)
    return score_answers(lambda: log_answers(log), instances, out, source=str(Path(log).resolve()),
                         model=header.get("model"), style=style, shots=shots, templates=templates)
