"""The run store: round trips, resume rules, torn writes, interrupted seals, kill -9 and a full disk."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_config

from planbench_scale.errors import PlanbenchError
from planbench_scale.records import SCHEMA_VERSION, Instance, Sample
from planbench_scale.config import Sampling
from planbench_scale.store import SAMPLE_FIELDS, RunWriter, export_parquet, read_config, read_instances, read_samples

INSTANCE = Instance(id="bw-0", domain="blocksworld", vocabulary="blocksworld", objects=("a", "b"),
                    init=(("clear", "a"), ("handempty",), ("on", "a", "b"), ("ontable", "b")),
                    goal=(("on", "b", "a"),),
                    optimal_plan=(("unstack", "a", "b"), ("put-down", "a"), ("pick-up", "b"),
                                  ("stack", "b", "a")), seed=3)
CONFIG = run_config("m", sampling=Sampling(0.7, 1.0, 64))


def sample(index: int, text: str = "ok") -> Sample:
    """A stored row for sample `index` of INSTANCE."""
    return Sample(instance_id=INSTANCE.id, domain="blocksworld", vocabulary="blocksworld",
                  n_objects=2, optimal_length=4, sample_index=index, round=0, strategy="sample",
                  prompt_hash="abc", text=f"{text} {index}\nline two", prompt_tokens=10,
                  completion_tokens=5, finish_reason="stop", outcome="plan",
                  plan="(unstack a b)", n_actions=1, valid=index % 3 == 0,
                  reason="valid" if index % 3 == 0 else "goal_not_reached",
                  failed_step=-1, unmet="", seed=index // 4,
                  logprob=None if index % 2 else -index / 7, logprob_tokens=0 if index % 2 else 3)


def rows(run_dir) -> list[dict]:
    """The stored samples as dicts, sorted by sample index (a missing score or log-probability
    reads as None)."""
    frame = read_samples(run_dir).sort_values("sample_index")
    for name in ("score", "logprob"):
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def test_round_trip_across_segments(tmp_path):
    run = tmp_path / "run"
    with RunWriter(run, CONFIG, [INSTANCE], segment_rows=7) as writer:
        for start in range(0, 20, 3):
            writer.append(sample(i) for i in range(start, min(start + 3, 20)))
        assert read_samples(run)["sample_index"].tolist() == list(range(20))
    assert len(list((run / "samples").glob("*.parquet"))) == 3
    assert rows(run) == [vars(sample(i)) for i in range(20)]
    assert read_instances(run) == [INSTANCE]
    assert read_config(run) == CONFIG and read_config(run).schema_version == SCHEMA_VERSION
    assert list(read_samples(run).columns) == list(SAMPLE_FIELDS)


def test_selected_columns_and_empty_run(tmp_path):
    RunWriter(tmp_path, CONFIG, [INSTANCE]).close()
    empty = read_samples(tmp_path, ["instance_id", "valid"])
    assert list(empty.columns) == ["instance_id", "valid"] and len(empty) == 0
    with pytest.raises(PlanbenchError, match="unknown sample columns"):
        read_samples(tmp_path, ["nope"])
    with pytest.raises(PlanbenchError, match="no run here"):
        read_samples(tmp_path / "missing")


def test_export_parquet(tmp_path):
    import pandas as pd
    with RunWriter(tmp_path / "run", CONFIG, [INSTANCE], segment_rows=4) as writer:
        writer.append(sample(i) for i in range(10))
    assert export_parquet(tmp_path / "run", tmp_path / "all.parquet") == 10
    assert pd.read_parquet(tmp_path / "all.parquet")["sample_index"].tolist() == list(range(10))


def test_existing_run_needs_resume_and_same_config(tmp_path):
    with RunWriter(tmp_path, CONFIG, [INSTANCE]) as writer:
        writer.append([sample(0)])
    with pytest.raises(PlanbenchError, match="--resume"):
        RunWriter(tmp_path, CONFIG, [INSTANCE])
    changed = run_config("m", sampling=Sampling(1.0, 1.0, 64))
    with pytest.raises(PlanbenchError, match=r"settings\.sampling\.temperature: stored 0\.7, now 1\.0"):
        RunWriter(tmp_path, changed, [INSTANCE], resume=True)
    other = dataclasses.replace(INSTANCE, seed=4)
    with pytest.raises(PlanbenchError, match="instance set differs"):
        RunWriter(tmp_path, CONFIG, [other], resume=True)
    new_versions = dataclasses.replace(CONFIG, environment={"packages": {"vllm": "9.9"}})
    with RunWriter(tmp_path, new_versions, [INSTANCE], resume=True) as writer:
        writer.append([sample(1)])
    assert read_samples(tmp_path)["sample_index"].tolist() == [0, 1]
    assert read_config(tmp_path).environment == CONFIG.environment
    assert "9.9" in (tmp_path / "resumes.jsonl").read_text()


def test_second_writer_is_refused(tmp_path):
    with RunWriter(tmp_path, CONFIG, [INSTANCE]):
        with pytest.raises(PlanbenchError, match="another process"):
            RunWriter(tmp_path, CONFIG, [INSTANCE], resume=True)


def test_torn_last_line_is_ignored_then_cut_on_resume(tmp_path):
    writer = RunWriter(tmp_path, CONFIG, [INSTANCE])
    writer.append(sample(i) for i in range(3))
    active = next((tmp_path / "samples").glob("*.jsonl"))
    with open(active, "ab") as handle:
        handle.write(json.dumps(vars(sample(3)))[:40].encode())
    writer._lock.close()  # the process "died" here
    assert read_samples(tmp_path)["sample_index"].tolist() == [0, 1, 2]
    with RunWriter(tmp_path, CONFIG, [INSTANCE], resume=True) as writer:
        writer.append([sample(3)])
    assert rows(tmp_path) == [vars(sample(i)) for i in range(4)]


def test_crash_between_seal_and_delete_keeps_rows_once(tmp_path):
    writer = RunWriter(tmp_path, CONFIG, [INSTANCE])
    writer.append(sample(i) for i in range(5))
    active = next((tmp_path / "samples").glob("*.jsonl"))
    saved = active.read_bytes()
    writer.close()
    active.write_bytes(saved)  # the Parquet file was renamed in, the JSON lines not yet deleted
    (tmp_path / "samples" / "part-000001.parquet.tmp").write_bytes(b"half a file")
    assert read_samples(tmp_path)["sample_index"].tolist() == list(range(5))
    with RunWriter(tmp_path, CONFIG, [INSTANCE], resume=True) as writer:
        writer.append([sample(5)])
    assert read_samples(tmp_path)["sample_index"].tolist() == list(range(6))
    assert not list((tmp_path / "samples").glob("*.tmp"))


WRITER_SCRIPT = textwrap.dedent("""
    import resource, signal, sys
    sys.path.insert(0, {tests!r})
    sys.path.insert(0, {root!r})
    from test_store import CONFIG, INSTANCE, sample
    from planbench_scale.store import RunWriter
    from planbench_scale.errors import PlanbenchError
    writer = RunWriter({run!r}, CONFIG, [INSTANCE], segment_rows=50)
    if {fsize}:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize}, {fsize}))
    index = 0
    while index < 100000:
        try:
            writer.append(sample(i, "x" * 300) for i in range(index, index + 7))
        except PlanbenchError as error:
            print("error", error, flush=True)
            break
        index += 7
        print(index, flush=True)
""")


def start_writer(run: Path, fsize: int = 0) -> subprocess.Popen:
    """A separate Python process appending batches of 7 samples to `run`, printing its count."""
    script = WRITER_SCRIPT.format(tests=str(Path(__file__).parent), root=str(Path(__file__).parents[1]), run=str(run), fsize=fsize)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_kill_minus_9_loses_nothing_flushed(tmp_path):
    process = start_writer(tmp_path)
    flushed = 0
    while flushed < 400:
        flushed = int(process.stdout.readline())
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stored = read_samples(tmp_path)["sample_index"].tolist()
    assert stored == list(range(len(stored))) and len(stored) >= flushed
    with RunWriter(tmp_path, CONFIG, [INSTANCE], resume=True) as writer:
        writer.append(sample(i) for i in range(len(stored), len(stored) + 3))
    assert read_samples(tmp_path)["sample_index"].tolist() == list(range(len(stored) + 3))


def test_full_disk_is_a_clear_error_and_resumable(tmp_path):
    process = start_writer(tmp_path, fsize=20_000)
    output = process.communicate(timeout=60)[0].splitlines()
    assert output[-1].startswith("error") and "--resume" in output[-1]
    flushed = int(output[-2]) if len(output) > 1 else 0
    stored = read_samples(tmp_path)["sample_index"].tolist()
    assert stored == list(range(flushed))
    with RunWriter(tmp_path, CONFIG, [INSTANCE], resume=True) as writer:
        writer.append([sample(flushed)])
    assert read_samples(tmp_path)["sample_index"].tolist() == list(range(flushed + 1))


def test_a_run_folder_of_row_layout_1_still_reads_and_resumes(tmp_path):
    import shutil
    run = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "run_v1", run)
    frame = read_samples(run)
    assert len(frame) == 7 and list(frame.columns) == list(SAMPLE_FIELDS)
    assert set(frame.n_objects) == {3} and set(frame.parent) == {-1} and set(frame.depth) == {0}
    assert frame.score.isna().all() and set(frame.schema_version) == {1}
    assert set(frame.reasoning) == {""} and set(frame.reasoning_tokens) == {0}
    assert frame.valid.sum() == 1  # "(pick-up a) (stack a b)" solves the first instance only
    some = read_samples(run, ["n_objects", "valid"])
    assert some.n_objects.tolist() == [3] * 7 and some.valid.tolist() == frame.valid.tolist()
    assert export_parquet(run, tmp_path / "all.parquet") == 7
    config = read_config(run)
    with RunWriter(run, config, read_instances(run), resume=True) as writer:
        writer.append([sample(9)])
    assert len(read_samples(run)) == 8


def test_a_damaged_line_is_named_or_left_out_with_a_warning(tmp_path):
    with RunWriter(tmp_path, CONFIG, [INSTANCE]) as writer:
        writer.append([sample(i) for i in range(3)])
        segment = writer._active
        lines = segment.read_text().splitlines(keepends=True)
        segment.write_text(lines[0] + '{"instance_id": "bw-0", "oops\n' + "".join(lines[1:]))
        with pytest.raises(PlanbenchError, match=rf"{segment}:2: damaged sample line"):
            read_samples(tmp_path)
        told = []
        assert read_samples(tmp_path, on_damage=told.append)["sample_index"].tolist() == [0, 1, 2]
        assert told == [f"{segment}:2: damaged sample line left out"]
        assert export_parquet(tmp_path, tmp_path / "x.parquet", on_damage=told.append) == 3
        writer._rows = 0  # leave the damaged segment unsealed for the checks above


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "manifest.jsonl").write_text("{}\n")
    with pytest.raises(PlanbenchError, match="holds no run"):
        RunWriter(tmp_path / "set", CONFIG, [INSTANCE])
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == ["manifest.jsonl"]
    with pytest.raises(PlanbenchError, match="no run here"):
        export_parquet(tmp_path / "set", tmp_path / "x.parquet")


def test_rows_of_layout_2_read_with_empty_reasoning_beside_layout_3_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    old = {key: value for key, value in vars(sample(0)).items()
           if key not in ("reasoning", "reasoning_tokens")} | {"schema_version": 2}
    with RunWriter(tmp_path, CONFIG, [INSTANCE]) as writer:
        writer.append([dataclasses.replace(sample(2), reasoning="hmm", reasoning_tokens=3)])
    pq.write_table(pa.Table.from_pylist([old | {"sample_index": 1}]),
                   tmp_path / "samples" / "part-000001.parquet")
    (tmp_path / "samples" / "part-000002.jsonl").write_text(json.dumps(old) + "\n")
    frame = read_samples(tmp_path).sort_values("sample_index")
    assert frame.reasoning.tolist() == ["", "", "hmm"]
    assert frame.reasoning_tokens.tolist() == [0, 0, 3]
    assert frame.schema_version.tolist() == [2, 2, SCHEMA_VERSION]


def test_rows_before_the_ledger_read_with_the_old_count(tmp_path):
    """Schema 3 rows have no cached_tokens / computed_tokens: their computed tokens are the old
    count (a scoring call's whole prompt, nothing for other prompts), the cache unknown."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    old = {key: value for key, value in vars(sample(0)).items()
           if key not in ("cached_tokens", "computed_tokens")} | {"schema_version": 3}
    scored = old | {"sample_index": 3, "finish_reason": "scored", "prompt_tokens": 40}
    with RunWriter(tmp_path, CONFIG, [INSTANCE]) as writer:
        writer.append([dataclasses.replace(sample(2), cached_tokens=6, computed_tokens=4)])
    pq.write_table(pa.Table.from_pylist([old | {"sample_index": 1}, scored]),
                   tmp_path / "samples" / "part-000001.parquet")
    (tmp_path / "samples" / "part-000002.jsonl").write_text(
        json.dumps(old) + "\n" + json.dumps(scored | {"sample_index": 4}) + "\n")
    frame = read_samples(tmp_path).sort_values("sample_index")
    assert frame.computed_tokens.tolist() == [0, 0, 4, 40, 40]
    assert frame.cached_tokens.tolist() == [-1, -1, 6, -1, -1]
    some = read_samples(tmp_path, ["sample_index", "computed_tokens"]).sort_values("sample_index")
    assert some.computed_tokens.tolist() == [0, 0, 4, 40, 40] and list(some.columns) == [
        "sample_index", "computed_tokens"]
