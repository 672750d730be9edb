"""The run folder: config, instances and every sample, written so that a crash never corrupts it.

Layout of a run folder:
    config.json          the run config (with "schema_version"), written once, atomically
    instances.jsonl      the Instance records the run used, one `dataclasses.asdict` per line
    samples/part-N.parquet   sealed segments of Sample rows, immutable once renamed into place
    samples/part-N.jsonl     the one active segment: JSON lines, appended and fsync'd per batch
    resumes.jsonl        when the run was resumed, and with which package versions

Killing the writer (kill -9) loses at most the batch being written: a torn last line of the
active segment is cut off when the run is resumed (and ignored when it is read), and a segment is
sealed by writing its Parquet file under a temporary name, renaming it into place, and only then
deleting its JSON lines, so a crash at any point leaves every earlier row readable exactly once.
"""

from __future__ import annotations

import dataclasses
import fcntl
import io
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from planbench_scale import domains
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Instance, Sample, instance_from_dict
from planbench_scale.config import RunConfig, run_config_from_json

SAMPLE_FIELDS = tuple(field.name for field in dataclasses.fields(Sample))
"""The columns of a samples table, in `Sample` field order."""

_ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "float | None": pa.float64()}
SAMPLE_SCHEMA = pa.schema([(field.name, _ARROW_TYPES[str(field.type)])
                           for field in dataclasses.fields(Sample)])
"""Arrow schema of the stored Sample rows."""

LEGACY = {"n_blocks": ("n_objects", pa.int64())}
"""Columns of older row layouts: old name -> (current name, type)."""
DEFAULTS = {"parent": -1, "depth": 0, "reasoning": "", "reasoning_tokens": 0, "cached_tokens": -1,
            "logprob_tokens": 0}
"""Values of columns that older rows lack (others are null, or derived: `OLD_LEDGER`)."""
OLD_LEDGER = ("computed_tokens", ("prompt_tokens", "finish_reason"))
"""Rows before the ledger (schema 4) lack `computed_tokens`; it is derived from these columns as
the old count: a scoring call's whole prompt, no prompt for any other row."""
_READ_SCHEMA = pa.schema(list(SAMPLE_SCHEMA) + [(old, kind) for old, (_, kind) in LEGACY.items()])

CATEGORICAL = ("instance_id", "domain", "vocabulary", "strategy", "prompt_hash", "finish_reason",
               "outcome", "reason")
"""Few-valued text columns, read as pandas categoricals (small and fast at millions of rows)."""

SEGMENT_ROWS = 50_000
"""Rows per sealed Parquet segment."""

Damage = Callable[[str], None]
"""Told of each damaged line left out, as "file:line: message"."""

_JSON_READ = pa_json.ReadOptions(block_size=64 << 20)
_JSON_PARSE = pa_json.ParseOptions(explicit_schema=_READ_SCHEMA, unexpected_field_behavior="error")


def read_config(run_dir: str | Path) -> RunConfig:
    """The run config stored in `run_dir`/config.json (older layouts are upgraded)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise PlanbenchError(f"no run here (config.json missing): {run_dir}")
    try:
        return run_config_from_json(json.loads(path.read_text()))
    except (ValueError, TypeError, AttributeError) as error:
        raise PlanbenchError(f"not a run config: {error}", file=str(path)) from None


def read_instances(run_dir: str | Path) -> list[Instance]:
    """The Instance records the run used, in the order they were stored; an imported domain is
    registered from the run's set folder (`domains.register_sets`)."""
    path = Path(run_dir) / "instances.jsonl"
    if not path.is_file():
        raise PlanbenchError(f"no run here (instances.jsonl missing): {run_dir}")
    instances = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            instances += [instance_from_dict(json.loads(line))] if line else []
        except (ValueError, KeyError, TypeError) as error:
            raise PlanbenchError(f"not an instance record ({error})", str(path), number) from None
    domains.register_sets(instances, [Path(read_config(run_dir).instances.path)])
    return instances


def read_samples(run_dir: str | Path, columns: Sequence[str] | None = None,
                 on_damage: Damage | None = None) -> pd.DataFrame:
    """Every stored sample as one row, columns named as the `Sample` fields (or just `columns`).

    The `CATEGORICAL` columns come out as pandas categoricals, the other text columns (text, plan,
    unmet) as pandas' pyarrow-backed "str" dtype, so millions of rows stay compact in memory.
    A damaged line in a JSON-lines segment is a PlanbenchError naming its file and line, or,
    with `on_damage`, left out and told to it.
    """
    columns = list(SAMPLE_FIELDS if columns is None else columns)
    unknown = [name for name in columns if name not in SAMPLE_FIELDS]
    if unknown:
        raise PlanbenchError(f"unknown sample columns {unknown}; known: {', '.join(SAMPLE_FIELDS)}")
    read_config(run_dir)
    categorical = [name for name in columns if name in CATEGORICAL]
    tables = [_read_parquet(path, columns, categorical) for path in _parts(run_dir, ".parquet")]
    tables += [_read_jsonl(path, on_damage).select(columns) for path in _unsealed(run_dir)]
    tables.append(SAMPLE_SCHEMA.empty_table().select(columns))
    schema = pa.schema([pa.field(name, pa.dictionary(pa.int32(), pa.string()))
                        if name in CATEGORICAL else SAMPLE_SCHEMA.field(name) for name in columns])
    table = pa.concat_tables([table.cast(schema) for table in tables])
    return table.to_pandas(self_destruct=True, split_blocks=True)


def export_parquet(run_dir: str | Path, path: str | Path, on_damage: Damage | None = None) -> int:
    """Write every stored sample to one Parquet file; returns the number of rows.

    Damaged lines are handled as in `read_samples`."""
    read_config(run_dir)
    try:
        return _export(run_dir, path, on_damage)
    except OSError as error:
        raise PlanbenchError(f"cannot write {path}: {error.strerror or error}") from None


def _export(run_dir: str | Path, path: str | Path, on_damage: Damage | None) -> int:
    rows = 0
    with pq.ParquetWriter(path, SAMPLE_SCHEMA, compression="zstd") as writer:
        for part in _parts(run_dir, ".parquet"):
            table = _read_parquet(part, list(SAMPLE_FIELDS), [])
            writer.write_table(table)
            rows += table.num_rows
        for part in _unsealed(run_dir):
            table = _read_jsonl(part, on_damage)
            writer.write_table(table)
            rows += table.num_rows
    return rows


def _parts(run_dir: str | Path, suffix: str) -> list[Path]:
    """Segment files with this suffix, in segment order."""
    folder = Path(run_dir) / "samples"
    return sorted(folder.glob(f"part-*{suffix}")) if folder.is_dir() else []


def _unsealed(run_dir: str | Path) -> list[Path]:
    """JSON-lines segments whose Parquet file does not exist yet."""
    return [path for path in _parts(run_dir, ".jsonl")
            if not path.with_suffix(".parquet").exists()]


def _read_parquet(path: Path, columns: list[str], categorical: list[str]) -> pa.Table:
    """A sealed segment's columns, upgraded from an older row layout where needed."""
    present = set(pq.read_schema(path).names)
    wanted = [c for c in columns if c in present]
    wanted += [old for old, (new, _) in LEGACY.items() if new in columns and old in present]
    derived, sources = OLD_LEDGER
    if derived in columns and derived not in present:
        wanted += [c for c in sources if c not in wanted]
    table = pq.read_table(path, columns=wanted, read_dictionary=[c for c in categorical if c in present])
    return _upgrade(table).select(columns)


def _read_jsonl(path: Path, on_damage: Damage | None = None) -> pa.Table:
    """The complete lines of a JSON-lines segment as an Arrow table (a torn last line is left
    out); a damaged line is an error naming it, or left out and told to `on_damage`."""
    data = path.read_bytes()
    data = data[:data.rfind(b"\n") + 1]
    if not data:
        return SAMPLE_SCHEMA.empty_table()
    try:
        table = _parse_jsonl(data)
    except pa.ArrowInvalid:
        table = _parse_jsonl(_without_damaged(path, data, on_damage))
    return _upgrade(table).select(list(SAMPLE_FIELDS))


def _parse_jsonl(data: bytes) -> pa.Table:
    if not data:
        return _READ_SCHEMA.empty_table()
    return pa_json.read_json(io.BytesIO(data), read_options=_JSON_READ, parse_options=_JSON_PARSE)


def _without_damaged(path: Path, data: bytes, on_damage: Damage | None) -> bytes:
    """The segment's lines that read as sample rows; the others are errors or told."""
    kept = []
    for number, line in enumerate(data.splitlines(keepends=True), 1):
        try:
            _parse_jsonl(line)
            kept.append(line)
        except pa.ArrowInvalid:
            message = "damaged sample line"
            if on_damage is None:
                raise PlanbenchError(f"{message}; move the segment aside or delete the line "
                                     "(its sample is asked again on --resume)",
                                     str(path), number) from None
            on_damage(f"{path}:{number}: {message} left out")
    return b"".join(kept)


def _upgrade(table: pa.Table) -> pa.Table:
    """Rows of any layout in the current one: legacy columns renamed, missing ones filled."""
    import pyarrow.compute as pc

    for old, (new, _) in LEGACY.items():
        if old in table.column_names:
            merged = table[old] if new not in table.column_names else pc.coalesce(table[new], table[old])
            table = table.drop_columns([c for c in (old, new) if c in table.column_names])
            table = table.append_column(new, merged)
    table = _old_ledger(table)
    for name, value in DEFAULTS.items():
        if name in table.column_names and table[name].null_count:
            table = table.set_column(table.column_names.index(name), name,
                                     pc.fill_null(table[name], value))
    for field in SAMPLE_SCHEMA:
        if field.name not in table.column_names:
            fill = DEFAULTS.get(field.name)
            table = table.append_column(field.name, pa.array([fill] * table.num_rows, field.type))
    return table


def _old_ledger(table: pa.Table) -> pa.Table:
    """`computed_tokens` of rows stored before the ledger (null or absent): the old count."""
    import pyarrow.compute as pc

    name, (prompt, reason) = OLD_LEDGER
    if not {prompt, reason} <= set(table.column_names):
        return table
    old = pc.if_else(pc.equal(table[reason].cast(pa.string()), "scored"), table[prompt], 0)
    if name not in table.column_names:
        return table.append_column(name, old.cast(pa.int64()))
    merged = pc.coalesce(table[name], old.cast(pa.int64()))
    return table.set_column(table.column_names.index(name), name, merged)


def _write_atomic(path: Path, text: str) -> None:
    """Write a whole file under a temporary name, fsync it, and rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _differences(stored: dict, wanted: dict, prefix: str = "") -> list[str]:
    """Human-readable differences between two configs (nested keys joined by dots)."""
    lines = []
    for key in sorted(set(stored) | set(wanted)):
        old, new = stored.get(key, "<missing>"), wanted.get(key, "<missing>")
        if isinstance(old, dict) and isinstance(new, dict):
            lines += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            lines.append(f"{prefix}{key}: stored {old!r}, now {new!r}")
    return lines


def _check_run_folder(run_dir: Path) -> None:
    """Refuse a folder that exists, is not a run, and holds more than a run's first files."""
    if run_dir.exists() and not run_dir.is_dir():
        raise PlanbenchError(f"{run_dir} is a file, not a run folder")
    if not run_dir.exists() or (run_dir / "config.json").exists():
        return
    extra = [p.name for p in run_dir.iterdir() if p.name != ".lock"
             and not (p.name == "samples" and p.is_dir() and not any(p.iterdir()))]
    if extra:
        shown = ", ".join(sorted(extra)[:3]) + (", ..." if len(extra) > 3 else "")
        raise PlanbenchError(f"{run_dir} is not empty and holds no run (no config.json; it holds "
                             f"{shown}): choose a new output folder")


class RunWriter:
    """Appends Sample rows to a run folder; creates the folder, or resumes the run in it.

    The config's "environment" entry (package versions) is recorded but not compared on resume;
    every other entry must match the stored config exactly, and so must the instances.
    """

    def __init__(self, run_dir: str | Path, config: RunConfig, instances: Sequence[Instance],
                 resume: bool = False, segment_rows: int = SEGMENT_ROWS):
        self.run_dir = Path(run_dir)
        self.segment_rows = segment_rows
        self.config = config
        self._lock = self._take_lock()
        if (self.run_dir / "config.json").exists():
            self._check_resumable(resume, list(instances))
        else:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            _write_atomic(self.run_dir / "instances.jsonl",
                          "".join(json.dumps(dataclasses.asdict(i)) + "\n" for i in instances))
            _write_atomic(self.run_dir / "config.json", json.dumps(config.to_json(), indent=2) + "\n")
        self._active, self._rows = self._recover()

    def _take_lock(self):
        """An exclusive lock on the run folder, released when this process ends; a folder that
        holds something other than a run is refused."""
        _check_run_folder(self.run_dir)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.run_dir / ".lock", "w")
        except OSError as error:
            raise PlanbenchError(f"cannot create the run folder {self.run_dir}: "
                                 f"{error.strerror or error}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise PlanbenchError(f"another process is writing this run: {self.run_dir}") from None
        return handle

    def _check_resumable(self, resume: bool, instances: list[Instance]) -> None:
        """Refuse to touch an existing run unless resuming it with the same config and instances."""
        if not resume:
            self._lock.close()
            raise PlanbenchError(f"{self.run_dir} already holds a run: resume it (--resume) "
                                 "or choose a new output folder")
        stored = json.loads(json.dumps(read_config(self.run_dir).compared()))
        changed = _differences(stored, json.loads(json.dumps(self.config.compared())))
        if read_instances(self.run_dir) != instances:
            changed.append("instances: the instance set differs from the stored one")
        if changed:
            self._lock.close()
            raise PlanbenchError(f"cannot resume {self.run_dir}: the config changed "
                                 f"({'; '.join(changed)}); use the stored settings or a new "
                                 "output folder")
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "environment": self.config.environment}
        with open(self.run_dir / "resumes.jsonl", "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def _recover(self) -> tuple[Path, int]:
        """Finish any interrupted seal, cut a torn last line; returns the active segment and its rows."""
        folder = self.run_dir / "samples"
        folder.mkdir(exist_ok=True)
        for tmp in folder.glob("*.tmp"):
            tmp.unlink()
        for path in _parts(self.run_dir, ".jsonl"):
            if path.with_suffix(".parquet").exists():
                path.unlink()
        unsealed = _unsealed(self.run_dir)
        for path in unsealed[:-1]:
            self._seal(path)
        if not unsealed:
            sealed = _parts(self.run_dir, ".parquet")
            number = int(sealed[-1].stem.split("-")[1]) + 1 if sealed else 0
            return folder / f"part-{number:06d}.jsonl", 0
        active = unsealed[-1]
        data = active.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            os.truncate(active, keep)
        return active, data[:keep].count(b"\n")

    def append(self, samples: Iterable[Sample]) -> int:
        """Store a batch durably (fsync) before returning; returns how many rows were written."""
        lines = [json.dumps(vars(sample)) for sample in samples]
        if not lines:
            return 0
        data = ("\n".join(lines) + "\n").encode()
        fd = os.open(self._active, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as error:
            os.ftruncate(fd, start)
            raise PlanbenchError(f"could not store samples ({error.strerror}); the samples "
                                 "stored before are intact, fix this and --resume",
                                 file=str(self._active)) from None
        finally:
            os.close(fd)
        self._rows += len(lines)
        if self._rows >= self.segment_rows:
            self._seal(self._active)
            number = int(self._active.stem.split("-")[1]) + 1
            self._active, self._rows = self._active.with_name(f"part-{number:06d}.jsonl"), 0
        return len(lines)

    def _seal(self, path: Path) -> None:
        """Turn a JSON-lines segment into its Parquet segment, then delete the JSON lines."""
        table = _read_jsonl(path)
        tmp = path.with_suffix(".parquet.tmp")
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise PlanbenchError(f"could not seal a sample segment ({error.strerror}); its rows "
                                 "are intact in JSON lines, fix this and --resume",
                                 file=str(path)) from None
        os.replace(tmp, path.with_suffix(".parquet"))
        path.unlink()
        _fsync_dir(path.parent)

    def close(self) -> None:
        """Seal the active segment and release the run folder."""
        if self._rows:
            self._seal(self._active)
            self._rows = 0
        self._lock.close()

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
