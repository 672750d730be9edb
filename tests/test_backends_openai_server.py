"""The OpenAI-compatible client against a real vLLM server serving the CPU default model."""

import pytest

from planbench_scale.backends import Request, Sampling, cpu_model
from planbench_scale.backends.openai_http import OpenAIBackend
from planbench_scale.records import Prompt
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Settings
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.strategies.loop import run
from test_strategies import INSTANCES
from vllm_server import vllm_server


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """`python -m vllm.entrypoints.openai.api_server` with the CPU model on 127.0.0.1."""
    with vllm_server(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


def test_real_server_answers_with_n_samples_and_seeds(server_url):
    backend = OpenAIBackend(server_url)
    assert backend.model == cpu_model.NAME
    prompt = Prompt("p", "To stack the red block on the blue block, I", ())
    sampling = Sampling(temperature=1.0, max_tokens=12)
    [result] = backend.generate([Request(prompt, 3, seed=4, first=2)], sampling)
    [again] = backend.generate([Request(prompt, 3, seed=4, first=2)], sampling)
    assert len(result.completions) == 3 and result.request.first == 2
    assert [c.text for c in result.completions] == [c.text for c in again.completions]
    assert all(0 < c.completion_tokens <= 12 and c.prompt_tokens > 5 for c in result.completions)


def test_a_run_through_the_real_server(server_url, tmp_path):
    backend = OpenAIBackend(server_url, concurrency=4)
    settings = Settings(k=2, sampling=Sampling(max_tokens=24))
    config = RunConfig(settings, EngineConfig("openai", backend.model, base_url=server_url),
                       InstanceSource("set"))
    with RunWriter(tmp_path, config, INSTANCES) as writer:
        progress = run(backend, INSTANCES, writer, settings)
    frame = read_samples(tmp_path)
    assert progress.samples == len(frame) == 4
    assert sorted(frame.sample_index.tolist()) == [0, 0, 1, 1]
