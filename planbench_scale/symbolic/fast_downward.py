"""Certified optimal plans from Fast Downward (A* with LM-cut), bounded in time and memory.

Fast Downward comes with the `up-fast-downward` package (its driver, translator and search
binary); it runs as a child process on PDDL text, with `--overall-time-limit` and
`--overall-memory-limit`, so a problem too hard for the bounds is a `SearchLimit`, not a hang.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from planbench_scale.errors import PlanbenchError
from planbench_scale.symbolic.astar import SearchLimit
from planbench_scale.symbolic.pddl import parse_plan

SEARCH = "astar(lmcut())"
"""Fast Downward's search: A* with the admissible LM-cut heuristic, so its plans are optimal."""
TIME_LIMIT = 60.0
"""Default seconds one problem may take (translation and search)."""
MEMORY_LIMIT_MB = 2048
"""Default memory one problem may take, in MiB."""
_OUT_OF_LIMITS = {22: "memory", 23: "time", 24: "time and memory"}
_UNSOLVABLE = (10, 11)


class Unsolvable(PlanbenchError):
    """Fast Downward proved that a problem has no plan."""


def driver() -> Path:
    """Fast Downward's driver script, from the up-fast-downward package."""
    try:
        folder = resources.files("up_fast_downward")
    except ModuleNotFoundError:
        raise PlanbenchError("Fast Downward is needed for optimal plans of this domain: "
                             "pip install up-fast-downward") from None
    return Path(str(folder)) / "downward" / "fast-downward.py"


def optimal_plan(domain: str, problem: str, time_limit: float = TIME_LIMIT,
                 memory_limit_mb: int = MEMORY_LIMIT_MB) -> list[str]:
    """An optimal plan (PDDL action strings) of a domain and problem text; SearchLimit past
    the bounds, Unsolvable if the problem has no plan, PlanbenchError if Fast Downward fails."""
    with tempfile.TemporaryDirectory(prefix="planbench-fd-") as folder:
        root = Path(folder)
        (root / "domain.pddl").write_text(domain)
        (root / "problem.pddl").write_text(problem)
        command = [sys.executable, str(driver()), "--plan-file", "plan",
                   "--overall-time-limit", f"{max(1, round(time_limit))}s",
                   "--overall-memory-limit", f"{memory_limit_mb}M",
                   "domain.pddl", "problem.pddl", "--search", SEARCH]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        if done.returncode in _OUT_OF_LIMITS:
            raise SearchLimit(f"Fast Downward ran out of {_OUT_OF_LIMITS[done.returncode]} "
                              f"({time_limit:g} s, {memory_limit_mb} MiB)")
        if done.returncode in _UNSOLVABLE:
            raise Unsolvable("Fast Downward proved that the problem has no plan")
        if done.returncode != 0 or not (root / "plan").is_file():
            tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
            raise PlanbenchError(f"Fast Downward failed (exit {done.returncode}): {' | '.join(tail)}")
        return parse_plan((root / "plan").read_text())
