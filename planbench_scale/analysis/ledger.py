"""The compute ledger: what each stored row cost, on one of three axes (`--compute`).

- tokens: the prompt tokens the model computed (not those served from its prefix cache) plus
  the tokens it generated, reasoning included (`records.compute_tokens`, what budgets count).
- flops: forward FLOPs, after Kaplan et al. 2020 ("Scaling Laws for Neural Language Models",
  Table 1: C_forward = 2 N + 2 n_layer n_ctx d_attn per token): every computed or generated
  token costs 2 x parameters, plus 2 x layers x attention width x its position (the tokens it
  attends to). A row's computed prompt tokens sit at the end of its prompt, its generated ones
  after it. The attention term is left out where the model's shape is unknown; FLOPs are
  unknown (NaN) where its parameter count is. Sliding-window layers are counted as full.
- dollars: computed prompt tokens at --price-in, prompt tokens served from the cache at
  --price-cached-in (--price-in when that is not given), generated tokens at --price-out, per
  million tokens; unknown (NaN) without prices.

Rows stored before the ledger (schema 3 and older) carry the old count as their computed
tokens (a scoring call's whole prompt, no other prompt): `ledger_names` says which a run has.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from planbench_scale.config import EngineConfig
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import LEDGERS

UNITS = {"tokens": "tokens", "flops": "FLOPs", "dollars": "USD"}
"""The compute axes and the unit each is counted in."""

def check_axis(axis: str) -> str:
    """The axis, or a PlanbenchError naming the known ones."""
    if axis not in UNITS:
        raise PlanbenchError(f"unknown compute axis {axis!r}; known: {', '.join(UNITS)}")
    return axis


def row_cost(samples: pd.DataFrame, engines: Mapping[str, EngineConfig], axis: str) -> np.ndarray:
    """Each row's compute on `axis`, with the engine of its run (`engines` by run name)."""
    computed = samples["computed_tokens"].to_numpy(float)
    generated = samples["completion_tokens"].to_numpy(float)
    if check_axis(axis) == "tokens":
        return computed + generated
    runs = samples["run"].astype(str)
    if axis == "flops":
        return _flops(samples, runs, engines, computed, generated)
    cached = np.clip(samples["cached_tokens"].to_numpy(float), 0, None)
    price_in = _per_run(runs, engines, "price_in")
    cached_in = _per_run(runs, engines, "price_cached_in")
    cached_in = np.where(np.isnan(cached_in), price_in, cached_in)
    return (computed * price_in + cached * cached_in
            + generated * _per_run(runs, engines, "price_out")) / 1e6


def _flops(samples, runs, engines, computed, generated) -> np.ndarray:
    """Forward FLOPs per row (see the module docstring)."""
    prompt = samples["prompt_tokens"].to_numpy(float)
    parameters = _per_run(runs, engines, "parameters")
    per_position = 2 * _per_run(runs, engines, "layers") * _per_run(runs, engines,
                                                                    "attention_width")
    per_position = np.where(np.isnan(per_position), 0.0, per_position)
    read = np.where(computed <= prompt, computed * (2 * prompt - computed - 1) / 2,
                    computed * np.maximum(prompt - 1, 0) / 2)  # re-reads: the whole prompt
    written = generated * prompt + generated * (generated - 1) / 2
    return 2 * parameters * (computed + generated) + per_position * (read + written)


def _per_run(runs: pd.Series, engines: Mapping[str, EngineConfig], name: str) -> np.ndarray:
    """An engine field for every row (NaN where the run's engine does not know it)."""
    values = {run: getattr(engine, name) for run, engine in engines.items()}
    return runs.map(lambda run: np.nan if values.get(run) is None else values[run]).to_numpy(float)


def ledger_names(samples: pd.DataFrame) -> pd.DataFrame:
    """Per run and ledger (`records.LEDGERS`: the one its rows were measured with): rows, the
    share whose cache use is unknown, and the prompt tokens read, computed and cached."""
    version = samples["schema_version"].to_numpy()
    frame = pd.DataFrame({
        "run": samples["run"].astype(str).to_numpy(),
        "ledger": np.where(version >= max(LEDGERS), LEDGERS[max(LEDGERS)], LEDGERS[min(LEDGERS)]),
        "rows": 1, "cache_unknown": samples["cached_tokens"].to_numpy() < 0,
        "computed_tokens": samples["computed_tokens"].to_numpy(),
        "cached_tokens": np.clip(samples["cached_tokens"].to_numpy(), 0, None),
        "prompt_tokens": samples["prompt_tokens"].to_numpy()})
    return frame.groupby(["run", "ledger"], sort=True).agg(
        rows=("rows", "sum"), cache_unknown=("cache_unknown", "mean"),
        prompt_tokens=("prompt_tokens", "sum"), computed_tokens=("computed_tokens", "sum"),
        cached_tokens=("cached_tokens", "sum")).reset_index()
