"""The engine's processes belong to the run: they end with it, and their chatter goes to a log.

vLLM runs its engine in processes of its own (VLLM::EngineCore, VLLM::Worker, a resource tracker)
that outlive a run killed with SIGTERM or SIGKILL, holding the model's memory. `EngineGuard`
starts the reaper (`reaper.py`), which ends them whenever the run ends, turns SIGTERM and SIGHUP
into `Terminated` so the run stops cleanly, and keeps RUN/engine.pids up to date so a resumed
run refuses to start beside a live engine. `engine_log` sends the engine's start-up messages to
RUN/engine.log instead of the console.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

from planbench_scale.backends import reaper
from planbench_scale.errors import PlanbenchError

ENV = "PLANBENCH_SCALE_ENGINE"
"""Environment variable marking every process the engine spawns with the guard's token."""


class Terminated(KeyboardInterrupt):
    """The run was asked to stop (SIGTERM from timeout, SLURM or docker stop; SIGHUP)."""


def engine_files(run_dir: str | Path) -> dict[str, Path]:
    """The engine's files in a run folder, as `VLLMBackend` keyword arguments."""
    return {"log_file": Path(run_dir) / "engine.log", "pid_file": Path(run_dir) / "engine.pids"}


def live_engine(pid_file: str | Path) -> list[int]:
    """Process ids in `pid_file` (written by the reaper) that still run, pid reuse excluded."""
    try:
        lines = Path(pid_file).read_text().splitlines()
    except FileNotFoundError:
        return []
    rows = [line.split() for line in lines]
    return [int(row[0]) for row in rows if len(row) >= 2 and reaper.alive(int(row[0]), int(row[1]))]


def refuse_live_engine(pid_file: str | Path) -> None:
    """PlanbenchError when an earlier engine of this run folder still runs."""
    pids = live_engine(pid_file)
    if pids:
        listed = " ".join(map(str, pids))
        raise PlanbenchError(f"an engine of an earlier run of {Path(pid_file).parent} is still "
                             f"running (process ids {listed}); end it (kill {listed}) and try again")


_CLOSE_IN_FORKS: set[int] = set()
"""Write ends of reaper pipes: a forked child must not hold them, or the pipe never closes."""


def _close_in_fork() -> None:
    for fd in _CLOSE_IN_FORKS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _CLOSE_IN_FORKS.clear()


os.register_at_fork(after_in_child=_close_in_fork)


class EngineGuard:
    """Ties the processes this process starts from now on to its life (see the module doc)."""

    def __init__(self, pid_file: str | Path | None = None):
        if pid_file is not None:
            refuse_live_engine(pid_file)
        self.token, self._handlers = f"{os.getpid()}.{secrets.token_hex(4)}", {}
        self._environment = os.environ.get(ENV)
        os.environ[ENV] = self.token
        command = [sys.executable, "-I", reaper.__file__, str(os.getpid()), self.token]
        self.reaper = subprocess.Popen(command + ([str(pid_file)] if pid_file else []),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        _CLOSE_IN_FORKS.add(self.reaper.stdin.fileno())
        with self.reaper.stdout:
            if self.reaper.stdout.readline() != b"watching\n":
                self.close()
                raise RuntimeError("the reaper of the engine's processes did not start")
        self.stopped_by: str | None = None
        self.deferring = False
        self._handlers = self._catch_termination()

    def _catch_termination(self) -> dict:
        """SIGTERM and SIGHUP raise `Terminated` (once; a second one ends the process at once, and
        the reaper still ends the engine). Returns the handlers replaced; none outside the main
        thread."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def terminate(signum, frame):
            signal.signal(signum, signal.SIG_DFL)
            self.stopped_by = f"stopped by {signal.Signals(signum).name}"
            if not self.deferring:
                raise Terminated(self.stopped_by)

        return {signum: signal.signal(signum, terminate) for signum in (signal.SIGTERM, signal.SIGHUP)}

    def check(self) -> None:
        """Raise `Terminated` if a signal came while it was deferred (or swallowed)."""
        if self.stopped_by:
            raise Terminated(self.stopped_by)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A signal only noted, not raised, inside (vLLM's start-up handshake swallows an
        exception raised in it and then waits minutes for a front end that gave up); `check`
        raises it after."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False

    def close(self) -> None:
        """Let the reaper end whatever is left of the engine, and wait for it."""
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        self._handlers = {}
        if self.reaper.stdin.closed:
            return
        _CLOSE_IN_FORKS.discard(self.reaper.stdin.fileno())
        self.reaper.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.reaper.wait(timeout=2 * reaper.GRACE_S + 5)
        if self._environment is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self._environment


@contextlib.contextmanager
def engine_log(log_file: str | Path | None) -> Iterator[None]:
    """While the engine starts: file descriptors 1 and 2 go to `log_file`, so the processes it
    spawns write there for good; this process gets its console back afterwards. None: no change."""
    if log_file is None:
        yield
        return
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1), os.dup2(log, 2)
    try:
        yield
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        for fd in (log, *saved):
            os.close(fd)


def log_vllm_to(log_file: str | Path) -> Callable[[], None]:
    """Send the `vllm` logger of this process to `log_file` instead of the console; returns the
    function that undoes it."""
    logger = logging.getLogger("vllm")
    replaced = list(logger.handlers)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(replaced[0].formatter if replaced else None)
    for old in replaced:
        logger.removeHandler(old)
    logger.addHandler(handler)

    def undo() -> None:
        logger.removeHandler(handler)
        handler.close()
        for old in replaced:
            logger.addHandler(old)
    return undo
