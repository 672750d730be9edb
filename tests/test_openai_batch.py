"""The batch format's ids: a run key that follows what the run does, and ids per request."""

from dataclasses import replace

from planbench_scale.backends import Request
from planbench_scale.openai_batch import custom_id, run_key
from planbench_scale.records import Prompt
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Sampling, Settings

CONFIG = RunConfig(Settings(k=4), EngineConfig("openai-batch", "o1", "chat"), InstanceSource("/s"))


def test_the_run_key_changes_with_what_the_run_does_only():
    assert run_key(CONFIG) == run_key(replace(CONFIG, environment={"python": "3.12"}))
    assert run_key(CONFIG) == run_key(replace(CONFIG, engine=replace(CONFIG.engine, request_timeout=5)))
    hotter = replace(CONFIG, settings=replace(CONFIG.settings, sampling=Sampling(temperature=1.0)))
    assert len({run_key(CONFIG), run_key(hotter),
                run_key(replace(CONFIG, engine=replace(CONFIG.engine, model="o3")))}) == 3


def test_a_custom_id_names_round_first_sample_count_and_instance():
    prompt = Prompt("blocksworld/instance-12", "text", ())
    assert custom_id("abc", Request(prompt, 4, seed=9, first=8, round=2)) == (
        "abc/2/8/4/blocksworld/instance-12")
