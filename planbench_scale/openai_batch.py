"""The OpenAI batch format (half the price on hosted APIs for large runs).

A batch run has engine "openai-batch". `BatchWriter` is a backend that writes every request the
run still needs as one line of a batch input file, {"custom_id", "method": "POST", "url", "body"},
and answers none; the batch service (OpenAI's Batch API, or vLLM's `run_batch`) answers them in
a batch output file, {"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error"}, which `BatchReplies`, a backend that answers from that file, feeds through the
ordinary run loop: extracted, validated, stored, resumable (stored answers are never asked or
stored again). Revision strategies take one batch per round: write, run, read, write again.

A custom_id is "RUNKEY/ROUND/FIRST/N/INSTANCE_ID": RUNKEY is a hash of what the run does (its
compared config), so an output file from another run is refused before anything is stored, and
so is a file with a duplicate custom_id or one naming an instance the run lacks. A wave of
requests with some but not all of its custom_ids in the file is refused before any of its
answers is stored; a wave with none of them is left for the next batch. A request the service
failed (an error, or a status other than 200) is not stored and is written again by the next
`batch write --resume`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Iterator

from planbench_scale.backends import Request, Result, Sampling
from planbench_scale.backends.openai_http import OpenAIFormat, request_extra
from planbench_scale.errors import PlanbenchError
from planbench_scale.config import RunConfig

ENGINE = "openai-batch"
"""The engine name of a batch run in its config."""


def run_key(config: RunConfig) -> str:
    """A short hash of everything the run does (its compared config)."""
    text = json.dumps(config.compared(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def custom_id(key: str, request: Request) -> str:
    """The batch line id of a request of the run with `key`."""
    return f"{key}/{request.round}/{request.first}/{request.n}/{request.prompt.instance_id}"


class BatchWriter(OpenAIFormat):
    """A backend that writes requests as batch input lines and answers none."""

    def __init__(self, config: RunConfig, path: str | Path):
        """`path`: the batch input file to write (it must not exist yet)."""
        engine = config.engine
        super().__init__(f"the batch input {path}", engine.model, engine.form,
                         extra=request_extra(engine), omit=engine.omit)
        self.path, self.key, self.written = Path(path), run_key(config), 0
        if self.path.exists():
            raise PlanbenchError(f"{path} exists: choose a new batch input file")
        self.url = "/v1/chat/completions" if self.form == "chat" else "/v1/completions"

    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """Append a line per request; yields nothing (the batch service answers)."""
        try:
            with open(self.path, "a") as handle:
                for request in requests:
                    line = {"custom_id": custom_id(self.key, request), "method": "POST",
                            "url": self.url, "body": self._body(request, sampling)}
                    handle.write(json.dumps(line) + "\n")
                    self.written += 1
        except OSError as error:
            raise PlanbenchError(f"cannot write {self.path}: {error.strerror or error}") from None
        yield from ()

    def close(self) -> None:
        """Nothing to release: the file is closed after each wave."""


class BatchReplies(OpenAIFormat):
    """A backend that answers a run's requests from a batch output file."""

    def __init__(self, config: RunConfig, path: str | Path, instance_ids: set[str]):
        """Reads and checks the whole file: every line must be a reply to a request of this
        run (its key, one of `instance_ids`), each custom_id at most once."""
        engine = config.engine
        super().__init__(f"the batch output {path}", engine.model, engine.form)
        self.path, self.key = Path(path), run_key(config)
        self.replies = self._read(instance_ids)
        self.failed: list[str] = []
        """custom_ids of requests the batch service failed (not stored)."""

    def _read(self, instance_ids: set[str]) -> dict[str, tuple[int, dict]]:
        """custom_id -> (line number, output line), checked against the run."""
        try:
            lines = self.path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise PlanbenchError(f"cannot read the batch output: {error}", str(self.path)) from None
        replies: dict[str, tuple[int, dict]] = {}
        for number, text in enumerate(lines, 1):
            if text.strip():
                name, entry = self._entry(text, number)
                key, _, rest = name.partition("/")
                if key != self.key or rest.split("/", 3)[-1] not in instance_ids:
                    raise PlanbenchError(f"custom_id {name!r} is not a request of this run: the "
                                         "batch output is from another run", str(self.path), number)
                if name in replies:
                    raise PlanbenchError(f"custom_id {name!r} is there twice (first on line "
                                         f"{replies[name][0]})", str(self.path), number)
                replies[name] = (number, entry)
        if not replies:
            raise PlanbenchError("the batch output holds no replies", str(self.path))
        return replies

    def _entry(self, text: str, number: int) -> tuple[str, dict]:
        """(custom_id, output line) of one line, or a PlanbenchError naming it."""
        try:
            entry = json.loads(text)
        except ValueError as error:
            raise PlanbenchError(f"not a JSON line ({error})", str(self.path), number) from None
        if not isinstance(entry, dict) or not isinstance(entry.get("custom_id"), str):
            raise PlanbenchError("a batch output line without a custom_id", str(self.path), number)
        return entry["custom_id"], entry

    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """The replies to a wave of requests, once the file is known to hold all of them."""
        wave = [(request, custom_id(self.key, request)) for request in requests]
        missing = [name for _, name in wave if name not in self.replies]
        if missing and len(missing) < len(wave):
            raise PlanbenchError(f"{len(missing)} of {len(wave)} requests of a wave have no line "
                                 f"(first: {missing[0]}); read the complete output file",
                                 str(self.path))
        for request, name in wave if not missing else ():
            number, entry = self.replies[name]
            response = entry.get("response") or {}
            if entry.get("error") or response.get("status_code") != 200:
                self.failed.append(name)
                continue
            try:
                yield self._result(request, response.get("body"), sampling)
            except PlanbenchError as error:
                raise PlanbenchError(error.message, str(self.path), number) from None

    def close(self) -> None:
        """Nothing to release."""
