"""`run --engine openai` with an API key, against a real `vllm serve --api-key` with the CPU
default model; and the hosted options' bad input, refused before anything is stored."""

import os
import subprocess
import sys

import pytest
from vllm_server import vllm_server

from planbench_scale.config import EngineConfig
from planbench_scale.instances import generate_set, write_set
from planbench_scale.store import read_config, read_samples

KEY = "sk-local-7f3a9c2e41d8b6a5"
RUN = [sys.executable, "-m", "planbench_scale.cli", "run"]


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    """The CPU model served on 127.0.0.1 with `--api-key KEY`."""
    with vllm_server(tmp_path_factory.mktemp("server") / "server.log", ["--api-key", KEY]) as url:
        yield url


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    write_set(generate_set("blocksworld", (3, 3), (2, 2), per_step=1, seed=0), folder)
    return folder


def cli(*args, **env):
    """The CLI in a subprocess with `env` added (and no OPENAI_API_KEY of the caller)."""
    base = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    done = subprocess.run([*RUN, *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**base, "PYTHONPATH": os.getcwd(), **env})
    return done.returncode, done.stderr


def holds(folder, text: str) -> bool:
    return any(text.encode() in path.read_bytes() for path in folder.rglob("*") if path.is_file())


def test_a_run_with_the_key_works_and_never_records_it(keyed_server, instance_set, tmp_path):
    common = ["--instances", instance_set, "--engine", "openai", "--base-url", keyed_server,
              "--k", 2, "--max-tokens", 8, "--price-in", 0.5, "--price-out", 2]
    code, err = cli(*common, "--out", tmp_path / "run", "--api-key-env", "LOCAL_KEY", LOCAL_KEY=KEY)
    assert code == 0, err[-2000:]
    assert len(read_samples(tmp_path / "run")) == 2 and KEY not in err
    assert not holds(tmp_path / "run", KEY)
    engine = read_config(tmp_path / "run").engine
    assert (engine.api_key_env, engine.price_in, engine.price_out) == ("LOCAL_KEY", 0.5, 2.0)
    code, err = cli(*common, "--out", tmp_path / "default", OPENAI_API_KEY=KEY)
    assert code == 0 and read_config(tmp_path / "default").engine.api_key_env == "OPENAI_API_KEY"


@pytest.mark.parametrize("args, env, message", [
    ((), {}, "refused the API key (HTTP 401): put the key in an environment variable"),
    (("--api-key-env", "LOCAL_KEY"), {"LOCAL_KEY": "sk-wrong"}, "refused the API key (HTTP 401): check"),
    (("--api-key-env", "UNSET_KEY"), {}, "--api-key-env names UNSET_KEY, which is not set"),
])
def test_a_missing_or_wrong_key_is_one_line_and_nothing_stored(keyed_server, instance_set,
                                                               tmp_path, args, env, message):
    code, err = cli("--instances", instance_set, "--engine", "openai", "--base-url", keyed_server,
                    "--k", 1, "--out", tmp_path / "run", *args, **env)
    assert code == 2 and err.strip().splitlines() == [err.strip()] and message in err
    assert not (tmp_path / "run").exists() and KEY not in err


@pytest.mark.parametrize("args, message", [
    (("--extra-body", "[1, 2]"), "--extra-body must be a JSON object"),
    (("--extra-body", "{top_k: 2}"), "--extra-body is not JSON"),
    (("--price-in", "-1"), "--price-in"),
    (("--price-out", "cheap"), "--price-out"),
    (("--omit", "logprobs"), "--omit"),
])
def test_bad_hosted_options_are_one_line_and_exit_2(instance_set, tmp_path, args, message):
    code, err = cli("--instances", instance_set, "--engine", "openai", "--out", tmp_path / "run", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err
    assert not (tmp_path / "run").exists()


def test_hosted_options_are_collected_as_engine_fields():
    import click
    from click.testing import CliRunner

    from planbench_scale.cli.hosted import reasoning_options
    seen = {}
    command = click.command()(click.option("--engine")(
        reasoning_options(lambda hosted, engine: seen.update(hosted))))
    result = CliRunner().invoke(command,
                           ["--engine", "openai", "--extra-body", '{"top_k": 20}', "--omit", "n",
                            "--reasoning-effort", "low", "--request-timeout", "60"],
                           env={"OPENAI_API_KEY": ""})
    assert result.exit_code == 0, result.output
    assert seen == {"api_key_env": None, "reasoning_effort": "low", "extra_body": {"top_k": 20},
                    "omit": ("n",), "price_in": None, "price_cached_in": None, "price_out": None,
                    "request_timeout": 60.0}
    assert EngineConfig("openai", "m", **seen).extra_body == {"top_k": 20}
