"""Records: the run config's JSON form and its upgrade from older config.json files."""

import json
from pathlib import Path

from planbench_scale.records import Instance, instance_from_dict
from planbench_scale.config import CONFIG_VERSION, EngineConfig, InstanceSource, RunConfig, Sampling, Settings, run_config_from_json

V1 = Path(__file__).parent / "data" / "run_v1"


def test_a_config_json_of_version_1_reads_as_a_typed_config():
    config = run_config_from_json(json.loads((V1 / "config.json").read_text()))
    assert config.settings == Settings(k=3, sampling=Sampling(0.7, 1.0, 64, ("[PLAN END]",)))
    assert config.engine == EngineConfig("vllm", "gemma-3-270m", "text", parameters=268098176)
    assert config.instances == InstanceSource("/sets/b3", None, 2)
    assert (config.schema_version, config.config_version) == (1, 1)
    assert "packages" in config.environment


def test_the_json_form_round_trips_and_resume_compares_only_what_the_run_does():
    config = RunConfig(Settings(strategy="revise", k=2, budget_tokens=100),
                       EngineConfig("openai", "m", "chat", "http://x/v1"),
                       InstanceSource("/s", 5, 5), {"python": "3.11"})
    data = json.loads(json.dumps(config.to_json()))
    assert run_config_from_json(data) == config and data["config_version"] == CONFIG_VERSION
    assert set(config.compared()) == {"settings", "engine", "instances"}
    assert run_config_from_json({**data, "unknown": 1, "settings": {**data["settings"], "x": 2}}) == config


def test_settings_written_before_beam_width_read_as_the_same_searches():
    def read(**settings):
        data = RunConfig(Settings(), EngineConfig("vllm", "m"), InstanceSource("/s")).to_json()
        data["settings"] = {**data["settings"], "depth": 20, **settings}
        del data["settings"]["beam_width"]
        return run_config_from_json(data).settings
    beam = read(strategy="beam", k=2, branch=3)
    assert (beam.k, beam.beam_width, beam.depth) == (6, 2, 20)  # 2 kept, 3 steps each
    dvts = read(strategy="dvts", k=3, branch=2)
    assert (dvts.k, dvts.beam_width) == (6, 2)  # 3 subtrees, 2 steps each
    assert read(strategy="sample", k=4, branch=4) == Settings(k=4)  # resumes with today's defaults
    assert read(strategy="random-legal", branch=4).depth == 20


def test_instance_records_written_with_blocks_still_read():
    record = {"id": "i", "domain": "blocksworld", "vocabulary": "blocksworld", "blocks": ["a", "b"],
              "init": [["handempty"]], "goal": [["on", "a", "b"]], "optimal_plan": [["stack", "a", "b"]]}
    instance = instance_from_dict(record)
    assert instance == Instance("i", "blocksworld", "blocksworld", ("a", "b"), (("handempty",),),
                                (("on", "a", "b"),), (("stack", "a", "b"),))
    assert instance.solvable and instance.optimal_length == 1


def test_engine_fields_for_hosted_servers_round_trip_and_a_new_timeout_or_key_variable_resumes():
    engine = EngineConfig("openai", "o1", "chat", "http://x/v1", api_key_env="MY_KEY",
                          reasoning_effort="high", extra_body={"top_k": 5}, omit=("temperature",),
                          price_in=1.5, price_out=6.0, request_timeout=60.0)
    config = RunConfig(Settings(), engine, InstanceSource("/s"))
    data = json.loads(json.dumps(config.to_json()))
    assert run_config_from_json(data) == config
    assert "api_key_env" not in config.compared()["engine"]
    later = RunConfig(Settings(), EngineConfig("openai", "o1", "chat", "http://x/v1",
                                               reasoning_effort="high", extra_body={"top_k": 5},
                                               omit=("temperature",), price_in=1.5, price_out=6.0),
                      InstanceSource("/s"))
    assert later.compared() == config.compared()
    old_keys = json.loads((V1 / "config.json").read_text())["engine"].keys()
    assert old_keys - {"data_parallel_size"} < data["engine"].keys()  # dropped: see config.py
