"""A run's engine processes end with the run, however it ends; a live engine blocks a resume.

The process checks read /proc directly (not through the code under test): a process belongs to
a run when it descends from the run's process, is listed in RUN/engine.pids, or carries the
run's PLANBENCH_SCALE_ENGINE mark in its environment. Whatever a test finds is ended by pid.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from planbench_scale.backends.processes import EngineGuard, live_engine, refuse_live_engine
from planbench_scale.errors import PlanbenchError

ROOT = Path(__file__).resolve().parents[1]
AFTER_S = 15
"""How long after the run ends its processes may take to go."""


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else fields


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def below(root: int) -> set[int]:
    """Living processes descending from `root`."""
    parents = {pid: int(fields[1]) for pid in _pids() if (fields := _stat(pid))}
    found, stack = set(), [root]
    while stack:
        parent = stack.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        stack.extend(children)
    return found


def marked(run_pid: int) -> set[int]:
    """Living processes whose environment carries the engine mark of run process `run_pid`."""
    needle = f"PLANBENCH_SCALE_ENGINE={run_pid}.".encode()
    found = set()
    for pid in _pids():
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes() and _stat(pid):
                found.add(pid)
        except OSError:
            pass
    return found


def listed(pid_file: Path) -> set[int]:
    """Process ids in an engine.pids file (the first column)."""
    return {int(line.split()[0]) for line in pid_file.read_text().splitlines()} if pid_file.exists() else set()


def alive(pids) -> set[int]:
    return {pid for pid in pids if _stat(pid)}


def wait_until_gone(pids: set[int]) -> set[int]:
    """The processes of `pids` still alive after at most AFTER_S seconds."""
    deadline = time.monotonic() + AFTER_S
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return alive(pids)


def end_all(pids) -> None:
    for pid in alive(pids):
        os.kill(pid, signal.SIGKILL)


# --- the guard and the reaper, with stand-in processes (no model) -----------------------------

STAND_IN = textwrap.dedent("""
    import subprocess, sys, time
    from planbench_scale.backends.processes import EngineGuard
    guard = EngineGuard(sys.argv[1])
    open(sys.argv[1], "a").close()
    subprocess.Popen([sys.executable, "-c",
                      "import subprocess, time; subprocess.Popen(['sleep', '600']); time.sleep(600)"])
    while len(open(sys.argv[1]).read().splitlines()) < 2:
        time.sleep(0.1)
    print("ready", flush=True)
    time.sleep(600)
""")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_processes_started_under_a_guard_end_when_their_process_is_killed(tmp_path, how):
    pid_file = tmp_path / "engine.pids"
    run = subprocess.Popen([sys.executable, "-c", STAND_IN, str(pid_file)], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = set()
    try:
        assert run.stdout.readline() == "ready\n"
        seen = below(run.pid) | listed(pid_file) | marked(run.pid)
        assert len(listed(pid_file)) == 2 and listed(pid_file) <= seen
        run.send_signal(how)
        assert run.wait() != 0
        assert ("Terminated: stopped by SIGTERM" in run.stderr.read()) == (how == signal.SIGTERM)
        assert wait_until_gone(seen | marked(run.pid)) == set()
        assert not pid_file.exists()
    finally:
        end_all(seen | {run.pid})


def test_closing_the_guard_ends_only_what_was_started_under_it(tmp_path):
    before, marked_before = subprocess.Popen(["sleep", "600"]), os.environ.get("PLANBENCH_SCALE_ENGINE")
    try:
        guard = EngineGuard(tmp_path / "engine.pids")
        during = subprocess.Popen(["sleep", "600"])
        deadline = time.monotonic() + AFTER_S
        while during.pid not in listed(tmp_path / "engine.pids") and time.monotonic() < deadline:
            time.sleep(0.1)
        noted = listed(tmp_path / "engine.pids")  # other children of this test process may be noted too
        assert during.pid in noted and before.pid not in noted
        guard.close()
        assert during.wait() == -signal.SIGTERM and before.poll() is None
        assert not (tmp_path / "engine.pids").exists()
        assert os.environ.get("PLANBENCH_SCALE_ENGINE") == marked_before  # the mark is restored
    finally:
        before.kill(), during.kill()


def test_a_live_engine_listed_in_the_run_folder_refuses_a_start(tmp_path):
    pid_file = tmp_path / "engine.pids"
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        started = _stat(sleeper.pid)[19]
        pid_file.write_text(f"{sleeper.pid} {started} VLLM::EngineCore\n"
                            f"{sleeper.pid} {int(started) + 1} reused-pid\n")
        assert live_engine(pid_file) == [sleeper.pid]
        with pytest.raises(PlanbenchError, match=f"still running \\(process ids {sleeper.pid}\\)"):
            EngineGuard(pid_file)
        sleeper.kill(), sleeper.wait()
        assert live_engine(pid_file) == []
        refuse_live_engine(pid_file)
        refuse_live_engine(tmp_path / "missing.pids")
    finally:
        sleeper.kill()


# --- `planbench-scale run` with the CPU default model, killed mid-run ---------------------------

REVISE = ["--strategy", "revise", "--k", "2", "--rounds", "40", "--max-tokens", "16",
          "--temperature", "1.0"]
"""A run that stores its first answers early and then keeps revising for minutes."""


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory) -> Path:
    from planbench_scale.instances import generate_set, write_set
    folder = tmp_path_factory.mktemp("instances") / "set"
    write_set(generate_set("blocksworld", (3, 3), (2, 4), per_step=1, seed=0), folder)
    return folder


def stored(run_dir: Path) -> bool:
    return any(part.stat().st_size for part in (run_dir / "samples").glob("part-*.jsonl"))


def run_until(instances: Path, run_dir: Path, moment: str, seen: set[int]) -> subprocess.Popen:
    """`planbench-scale run` started and watched (its processes added to `seen`) until the
    `moment`: "loading" (the engine process has started) or "sampling" (a sample is stored)."""
    command = [sys.executable, "-m", "planbench_scale.cli", "run", "--instances", str(instances),
               *REVISE, "--out", str(run_dir)]
    with open(run_dir.with_suffix(".err"), "w") as err:
        run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    pid_file = run_dir / "engine.pids"
    reached = {"loading": lambda: "VLLM::EngineCore" in (pid_file.read_text() if pid_file.exists() else ""),
               "sampling": lambda: stored(run_dir)}[moment]
    deadline = time.monotonic() + 900
    while not reached() and run.poll() is None and time.monotonic() < deadline:
        seen |= below(run.pid) | marked(run.pid)
        time.sleep(0.2)
    seen |= below(run.pid) | marked(run.pid) | listed(pid_file)
    assert run.poll() is None and reached(), run_dir.with_suffix(".err").read_text()[-3000:]
    return run


@pytest.mark.parametrize("how, moment", [(signal.SIGTERM, "loading"), (signal.SIGTERM, "sampling"),
                                         (signal.SIGKILL, "sampling")])
def test_a_killed_run_leaves_no_process_behind(instance_set, tmp_path, how, moment):
    from planbench_scale.store import read_samples
    run_dir, seen, run = tmp_path / "run", set(), None
    try:
        run = run_until(instance_set, run_dir, moment, seen)
        names = (run_dir / "engine.pids").read_text()
        assert "VLLM::EngineCore" in names and listed(run_dir / "engine.pids") <= seen
        before = sum(len(part.read_text().splitlines())
                     for part in (run_dir / "samples").glob("part-*.jsonl"))
        run.send_signal(how)
        code = run.wait(timeout=300)
        assert wait_until_gone(seen | marked(run.pid)) == set()
        assert not (run_dir / "engine.pids").exists()
        if how == signal.SIGTERM:  # a clean stop: one line, what was stored is kept
            lines = run_dir.with_suffix(".err").read_text().replace("\r", "\n").splitlines()
            assert code == 2 and lines[-1].startswith("error: ")
            assert not any(line.startswith("Traceback") for line in lines)
            assert len(read_samples(run_dir)) >= before
        else:
            assert code == -signal.SIGKILL
    finally:
        if run is not None:
            end_all(seen | marked(run.pid) | {run.pid})


def test_a_run_beside_a_live_engine_of_its_folder_is_refused(instance_set, tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "planbench_scale.cli", "run", "--instances",
               str(instance_set), "--k", "1", "--max-tokens", "4", "--out", str(run_dir)]
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        run_dir.mkdir()
        (run_dir / "engine.pids").write_text(f"{sleeper.pid} {_stat(sleeper.pid)[19]} VLLM::EngineCore\n")
        expected = (f"error: an engine of an earlier run of {run_dir} is still running (process "
                    f"ids {sleeper.pid}); end it (kill {sleeper.pid}) and try again")
        for resume in ([], ["--resume"]):
            refused = subprocess.run(command + resume, cwd=ROOT, capture_output=True, text=True)
            assert refused.returncode == 2, refused.stderr[-2000:]
            assert refused.stderr.strip().splitlines()[-1] == expected
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
