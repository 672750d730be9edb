"""vLLM engine arguments given on the command line (`--engine-arg KEY=VALUE`, `--max-model-len`...),
named and typed by vLLM's own `EngineArgs`: its fields are the names, and the parser `vllm serve`
uses turns each value into what vLLM takes ("32k" tokens, JSON for config objects, choices
checked). The result is plain JSON data, recorded in the run config (`EngineConfig.engine_args`).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import json
import os

from planbench_scale.backends import processes
from planbench_scale.errors import PlanbenchError

SET_BY_OPTIONS = {"model": "--model", "tensor_parallel_size": "--tensor-parallel-size",
                  "data_parallel_size": "--engine ray --replicas N"}
"""EngineArgs fields the run sets from its own options."""
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
"""How a boolean is written."""


@functools.lru_cache(maxsize=1)
def _fields() -> tuple[frozenset, dict]:
    """vLLM's EngineArgs field names, and its command-line parser's action for each."""
    with processes.engine_log(os.devnull):  # importing vLLM writes to the console (Triton)
        from vllm.engine.arg_utils import EngineArgs
        from vllm.utils.argparse_utils import FlexibleArgumentParser

        parser = EngineArgs.add_cli_args(FlexibleArgumentParser())
    names = frozenset(field.name for field in dataclasses.fields(EngineArgs)
                      if not field.name.startswith("_"))
    return names, {action.dest: action for action in parser._actions if action.dest in names}


def check(engine_args: dict) -> None:
    """PlanbenchError naming the first key of `engine_args` that vLLM's EngineArgs does not
    have (with the valid names), or that the run sets from its own options."""
    if not engine_args:
        return
    names, _ = _fields()
    for key in engine_args:
        if key in SET_BY_OPTIONS:
            raise PlanbenchError(f"engine argument {key!r} is set by {SET_BY_OPTIONS[key]}")
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise PlanbenchError(f"unknown engine argument {key!r}{hint}; vLLM's EngineArgs "
                                 f"takes: {', '.join(sorted(names))}")


def parse(pairs) -> dict:
    """KEY=VALUE strings as engine arguments, each value typed as `vllm serve --KEY VALUE`
    would type it (later pairs win)."""
    engine_args = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or not key:
            raise PlanbenchError(f"--engine-arg takes KEY=VALUE (e.g. max_num_seqs=64), "
                                 f"not {pair!r}")
        check({key: value})
        engine_args[key] = typed(key, value.strip())
    return engine_args


def typed(key: str, value: str):
    """`value` as vLLM's parser reads it for field `key`, as JSON data."""
    action = _fields()[1].get(key)
    if action is None:  # a field vLLM's command line leaves out: JSON if it reads as JSON
        return _json_or_text(value)
    if action.nargs == 0:  # --flag / --no-flag
        if value.lower() not in TRUE + FALSE:
            raise PlanbenchError(f"engine argument {key} takes true or false, not {value!r}")
        return value.lower() in TRUE
    try:
        result = action.type(value) if action.type else value
    except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
        raise PlanbenchError(f"engine argument {key}={value!r}: {' '.join(str(error).split())}"
                             ) from None
    if action.choices is not None and result not in action.choices:
        raise PlanbenchError(f"engine argument {key}={value!r}: choose from "
                             f"{', '.join(map(str, action.choices))}")
    return result if _is_json(result) else _json_or_text(value)


def _is_json(value) -> bool:
    try:
        return json.loads(json.dumps(value)) == value
    except (TypeError, ValueError):
        return False


def _json_or_text(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value
