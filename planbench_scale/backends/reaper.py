"""The reaper: a small process that ends a run's engine processes when the run ends, however it ends.

`python reaper.py RUN_PID TOKEN [PID_FILE]` runs in a session of its own with the read end of a
pipe as stdin; only the run process holds the write end. While the run lives, the reaper notes
every process below it started after the reaper (vLLM's EngineCore, its workers,
multiprocessing's resource tracker) with its start time, and keeps PID_FILE listing them. When the pipe closes (the run closed its engine,
returned, raised, or was killed with SIGKILL), it ends the processes it noted that still live,
any process below them, and any process whose environment carries TOKEN: SIGTERM, then SIGKILL
after a grace period. Standard library only, so it starts in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from pathlib import Path

POLL_S = 0.25
"""Seconds between looks at the run's processes."""
GRACE_S = 5.0
"""Seconds a process gets to end after SIGTERM before SIGKILL."""


def stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state); None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks after boot): with the pid, it names one process."""
    fields = stat_fields(pid)
    return int(fields[19]) if fields and fields[0] != "Z" else None


def alive(pid: int, started: int) -> bool:
    """The process `pid` that started at `started` still runs (not reused, not a zombie)."""
    return start_time(pid) == started


def all_pids() -> list[int]:
    """Every process id on the machine."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def descendants(root: int) -> dict[int, int]:
    """Every living process below `root`, as pid -> start time."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        fields = stat_fields(pid)
        if fields and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(pid)
    found, stack = {}, list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        started = start_time(pid)
        if started is not None:
            found[pid] = started
            stack.extend(children.get(pid, ()))
    return found


def carrying(token: str) -> dict[int, int]:
    """Living processes whose environment holds PLANBENCH_SCALE_ENGINE=token."""
    needle = f"PLANBENCH_SCALE_ENGINE={token}\0".encode()
    found = {}
    for pid in all_pids():
        try:
            environment = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        started = start_time(pid)
        if needle in environment + b"\0" and started is not None and pid != os.getpid():
            found[pid] = started
    return found


def name(pid: int) -> str:
    """The process title (vLLM sets VLLM::EngineCore, VLLM::Worker...)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return "?"


def write_pid_file(path: Path, processes: dict[int, int], written: str) -> str:
    """One line per process: pid, start time, title; replaced atomically unless the text is
    `written` already. Returns the text."""
    text = "".join(f"{pid} {started} {name(pid).replace(' ', '_')}\n"
                   for pid, started in sorted(processes.items()))
    if text != written:
        staging = path.with_name(path.name + ".tmp")
        try:  # a run folder removed under the run must not stop the reaper
            staging.write_text(text)
            os.replace(staging, path)
        except OSError:
            return written
    return text


def end(processes: dict[int, int], grace: float = GRACE_S) -> None:
    """SIGTERM every process still alive, then SIGKILL those still there after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        for pid, started in processes.items():
            if alive(pid, started):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(alive(*p) for p in processes.items()):
            time.sleep(0.1)


def watch(run_pid: int, token: str, pid_file: Path | None) -> None:
    """Note the run's processes (those started after the reaper) until stdin closes, then end
    what is left of them."""
    noted: dict[int, int] = {}
    listing = None
    earlier = descendants(run_pid).items()
    print("watching", flush=True)  # the run waits for this line before starting anything
    while True:
        if select.select([0], [], [], POLL_S)[0] and not os.read(0, 512):
            break  # end of file: the run closed the pipe or ended
        found = {pid: started for pid, started in descendants(run_pid).items()
                 if (pid, started) not in earlier and pid != os.getpid()}
        noted.update(found)
        if pid_file:  # rewritten when a process comes, goes or takes its title (VLLM::Worker)
            listing = write_pid_file(pid_file, {p: s for p, s in noted.items() if alive(p, s)},
                                     listing)
    for pid, started in list(noted.items()):
        noted.update(descendants(pid) if alive(pid, started) else {})
    end({**noted, **carrying(token)})
    if pid_file:
        with contextlib.suppress(OSError):
            pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    watch(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]) if len(sys.argv) > 3 else None)
