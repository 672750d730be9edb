"""vLLM engine arguments from the command line, named and typed by vLLM's own EngineArgs."""

import json

import pytest
from click.testing import CliRunner

from planbench_scale.backends import engine_options, open_backend, resolve
from planbench_scale.cli import main
from planbench_scale.config import EngineConfig
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import generate_set, write_set


def test_values_are_typed_as_vllm_serve_types_them():
    parsed = engine_options.parse(["max_model_len=32k", "gpu-memory-utilization=0.5",
                                   "enforce_eager=false", "max_num_seqs=8", "dtype=float16",
                                   'hf_overrides={"rope_theta": 1000}', "quantization=fp8"])
    assert parsed == {"max_model_len": 32000, "gpu_memory_utilization": 0.5,
                      "enforce_eager": False, "max_num_seqs": 8, "dtype": "float16",
                      "hf_overrides": {"rope_theta": 1000}, "quantization": "fp8"}
    assert engine_options.parse(['compilation_config={"mode": 0}']) == {
        "compilation_config": {"mode": 0}}  # JSON data, as the run config stores it


@pytest.mark.parametrize("pair, message", [
    ("max_num_seq=8", "unknown engine argument 'max_num_seq' (did you mean max_num_seqs?); "
                      "vLLM's EngineArgs takes: "),
    ("max_model_len=lots", "engine argument max_model_len='lots': "),
    ("dtype=float8", "engine argument dtype='float8': choose from auto, bfloat16"),
    ("enforce_eager=maybe", "engine argument enforce_eager takes true or false"),
    ("tensor_parallel_size=2", "'tensor_parallel_size' is set by --tensor-parallel-size"),
    ("max_num_seqs", "--engine-arg takes KEY=VALUE"),
])
def test_bad_engine_arguments_are_one_line(pair, message):
    with pytest.raises(PlanbenchError) as caught:
        engine_options.parse([pair])
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_engine_argument_is_refused_before_loading(tmp_path):
    with pytest.raises(PlanbenchError, match="unknown engine argument 'bogus'.* max_num_seqs"):
        resolve(EngineConfig("vllm", None, engine_args={"bogus": 1}))
    with pytest.raises(PlanbenchError, match="unknown engine argument 'bogus'"):
        open_backend(EngineConfig("vllm", str(tmp_path), engine_args={"bogus": 1}))


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    write_set(generate_set("blocksworld", (3, 3), (2, 2), per_step=1, seed=0), folder)
    return folder


def cli(instance_set, out, *args):
    return CliRunner().invoke(main, ["run", "--instances", str(instance_set), "--k", "1",
                                     "--out", str(out), *args])


def test_engine_options_are_recorded_in_the_run_config(instance_set, tmp_path):
    result = cli(instance_set, tmp_path / "r", "--strategy", "random-legal",  # loads no model
                 "--max-model-len", "2048", "--gpu-memory-utilization", "0.4", "--dtype",
                 "float32", "--quantization", "fp8", "--no-enable-prefix-caching",
                 "--engine-arg", "max_num_seqs=16", "--engine-arg", "max_model_len=1024")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["engine"]["engine_args"] == {
        "max_model_len": 1024, "gpu_memory_utilization": 0.4, "dtype": "float32",
        "quantization": "fp8", "enable_prefix_caching": False, "max_num_seqs": 16}


def test_bad_engine_options_on_the_command_line_are_one_line(instance_set, tmp_path):
    for args, message in ((["--engine-arg", "bogus=1"], "unknown engine argument 'bogus'"),
                          (["--dtype", "fp7"], "engine argument dtype='fp7': choose from"),
                          (["--engine", "openai", "--max-model-len", "9"],
                           "vLLM engine arguments need --engine vllm or ray (not openai)")):
        result = cli(instance_set, tmp_path / "r", *args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert result.output.count("\n") == 1
    assert not (tmp_path / "r").exists()
