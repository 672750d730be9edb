"""planbench_scale: how well language models plan, and how much extra inference compute buys back."""

__version__ = "0.1.0"
