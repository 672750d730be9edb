"""planbench_scale: how well language models plan, and how much extra inference compute buys back."""

import os
from pathlib import Path

__version__ = "0.1.0"


def cache_dir() -> Path:
    """Where planbench_scale keeps converted models and imported PlanBench sets:
    $PLANBENCH_SCALE_CACHE, else $XDG_CACHE_HOME/planbench_scale, else ~/.cache/planbench_scale."""
    if os.environ.get("PLANBENCH_SCALE_CACHE"):
        return Path(os.environ["PLANBENCH_SCALE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "planbench_scale"
