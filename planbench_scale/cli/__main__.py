"""python -m planbench_scale.cli: the command line (vLLM's spawned workers need the guard)."""

from planbench_scale.cli import main

if __name__ == "__main__":
    main()
