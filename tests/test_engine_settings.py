"""The vLLM settings chosen for a platform and a model (a function of the platform, so both are
tested here, whatever this machine has)."""

from planbench_scale.backends.engine_settings import device, engine_args, environment


def test_cpu_workarounds_stay_on_the_cpu():
    cpu = engine_args("cpu", default_model=True)
    assert cpu == {"enforce_eager": True, "enable_chunked_prefill": False, "block_size": 32,
                   "max_model_len": 4096}
    assert engine_args("cpu", default_model=False) == {"enforce_eager": True,
                                                       "enable_chunked_prefill": False,
                                                       "block_size": 32}
    for model_is_default in (True, False):  # CUDA graphs, chunked prefill, CUDA's own blocks
        gpu = engine_args("cuda", model_is_default)
        assert not {"enforce_eager", "enable_chunked_prefill", "block_size", "dtype"} & set(gpu)
    assert engine_args("cuda", default_model=True) == {"max_model_len": 4096}
    assert engine_args("cuda", default_model=False) == {}


def test_only_the_default_model_is_kept_off_the_hub_and_engines_always_spawn():
    assert environment("cuda", default_model=False) == {
        "VLLM_LOGGING_LEVEL": "WARNING", "VLLM_WORKER_MULTIPROC_METHOD": "spawn"}
    assert environment("cuda", default_model=True)["HF_HUB_OFFLINE"] == "1"
    cpu = environment("cpu", default_model=False)
    assert "HF_HUB_OFFLINE" not in cpu and cpu["VLLM_WORKER_MULTIPROC_METHOD"] == "spawn"
    assert cpu["VLLM_CPU_KVCACHE_SPACE"] == "2" and cpu["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"
    assert not any(name.startswith("VLLM_CPU") for name in environment("cuda", True))


def test_this_machine_reports_its_platform():
    import torch
    assert device() == ("cuda" if torch.cuda.is_available() else "cpu")
