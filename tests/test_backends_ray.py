"""The Ray engine: vLLM replicas of the CPU default model on a local Ray (this machine's cores).

One shared sequence loads models: a reference run with the in-process engine (the session's
`cpu_backend`), then the same run with `--engine ray --replicas 2`, during which a replica is
killed and then the driver (kill -9), then `--resume` with one replica. The other tests start
no model.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from planbench_scale.backends import Request, derive_seed, open_backend, reaper
from planbench_scale.backends.ray_engine import local_cores, placement, probe, share, unanswered
from planbench_scale.cli import main
from planbench_scale.config import EngineConfig, Sampling, Settings
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import generate_set, write_set
from planbench_scale.records import Prompt
from planbench_scale.store import read_samples
from conftest import GPU_SHARE

RUN = [sys.executable, "-m", "planbench_scale.cli", "run"]
SETTINGS = ["--strategy", "revise", "--k", 2, "--rounds", 2, "--max-tokens", 24,
            "--temperature", 1.0, "--gpu-memory-utilization", GPU_SHARE]
KEY = ["instance_id", "sample_index", "round"]
PROMPT = Prompt("i", "text", ())


@pytest.fixture(scope="module")
def instance_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    write_set(generate_set("blocksworld", (3, 3), (2, 2), per_step=4, seed=0), folder)
    return folder


def cli(*args) -> subprocess.Popen:
    """`run` in a session of its own; its engines keep 1 GiB of KV cache (the CPU default's 2
    GiB x 3 engines beside the session's own came near this 24 GB machine's memory)."""
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "VLLM_CPU_KVCACHE_SPACE": "1"}
    return subprocess.Popen([*RUN, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)


def rows(run):
    try:
        return read_samples(run, [*KEY, "seed", "text", "valid"])
    except Exception:
        return None


def stored(run) -> int:
    found = rows(run)
    return 0 if found is None else len(found)


def wait_for(condition, process, seconds=600):
    deadline = time.time() + seconds
    while time.time() < deadline and process.poll() is None and not condition():
        time.sleep(0.2)
    assert process.poll() is None, process.stderr.read()[-3000:]


def still_running(processes: dict[int, int]) -> list[int]:
    """Of pid -> start time, the processes still alive."""
    return [pid for pid, started in processes.items() if reaper.alive(pid, started)]


def listed(run) -> dict[int, tuple[int, str]]:
    """engine.pids of a run: pid -> (start time, title)."""
    try:
        lines = (run / "engine.pids").read_text().splitlines()
    except FileNotFoundError:
        return {}
    return {int(row[0]): (int(row[1]), row[2]) for row in map(str.split, lines) if len(row) == 3}


def reference_rows(backend, instance_set, folder):
    """The run of SETTINGS with the in-process engine (the session's, left open)."""
    from planbench_scale import runner
    from planbench_scale.store import RunWriter
    from planbench_scale.strategies.loop import run

    settings = Settings(strategy="revise", k=2, rounds=2,
                        sampling=Sampling(temperature=1.0, max_tokens=24))
    config, chosen, pool = runner.plan_run(settings, EngineConfig("vllm", None), instance_set)
    with RunWriter(folder, config, chosen) as writer:
        run(backend, chosen, writer, settings, pool)
    return rows(folder)


@pytest.fixture(scope="module")
def runs(cpu_backend, instance_set, tmp_path_factory):
    """The shared sequence (see the module doc); returns what was seen along the way."""
    folder = tmp_path_factory.mktemp("runs")
    run, seen = folder / "ray", {"reference": reference_rows(cpu_backend, instance_set,
                                                             folder / "reference")}
    process = cli("--instances", instance_set, *SETTINGS, "--engine", "ray", "--replicas", 2,
                  "--out", run)
    try:
        kill_a_replica_then_the_driver(run, process, seen)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    deadline = time.time() + 60
    while time.time() < deadline and still_running(everything_seen(seen)):
        time.sleep(0.5)
    seen["left running"] = still_running(everything_seen(seen))
    seen["before resume"] = rows(run)
    resumed = cli("--instances", instance_set, *SETTINGS, "--engine", "ray", "--replicas", 1,
                  "--out", run, "--resume")
    _, seen["resume stderr"] = resumed.communicate(timeout=600)
    seen["resume code"], seen["after"] = resumed.returncode, rows(run)
    seen["pid file after"] = (run / "engine.pids").exists()
    return seen


def observe(root: int, tree: dict) -> None:
    """Add every process now below `root` to `tree`: pid -> {"started", "parent", "titles",
    "looks"} (each title it showed, from cmdline and comm: a title read once may predate
    setproctitle; looks: how many times it was seen)."""
    for pid, started in reaper.descendants(root).items():
        fields = reaper.stat_fields(pid)
        entry = tree.setdefault(pid, {"started": started, "parent": None, "titles": set(),
                                      "looks": 0})
        entry["parent"] = int(fields[1]) if fields else entry["parent"]
        entry["looks"] += 1
        with contextlib.suppress(OSError):
            entry["titles"] |= {reaper.name(pid), Path(f"/proc/{pid}/comm").read_text().strip()}


def kill_a_replica_then_the_driver(run, process, seen) -> None:
    """Once the first round is stored, kill -9 a replica; once 4 more answers are stored, kill
    -9 the driver (only it: the reaper must end the rest). seen["ever listed"]: every process
    engine.pids listed meanwhile (a snapshot may miss an engine: one that Ray is restarting);
    seen["tree"]: every process the test itself saw below the driver meanwhile."""
    ever, tree = seen["ever listed"], seen["tree"] = {}, {}

    def stored_at_least(count):
        ever.update(listed(run))
        observe(process.pid, tree)
        return stored(run) >= count

    wait_for(lambda: stored_at_least(8), process)
    replicas = {pid for pid, (_, title) in listed(run).items() if "Replica" in title}
    seen["first replicas"], seen["killed replica"] = replicas, min(replicas)
    os.kill(min(replicas), signal.SIGKILL)
    seen["stored at the kill"] = stored(run)
    wait_for(lambda: stored_at_least(12), process)
    seen["engine"], seen["stored after the kill"] = listed(run), stored(run)
    ever.update(seen["engine"])
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def test_a_killed_replica_is_replaced_and_the_run_goes_on(runs):
    replicas = {pid for pid, (_, title) in runs["engine"].items() if "Replica" in title}
    assert runs["killed replica"] not in replicas and replicas - runs["first replicas"]
    assert runs["stored after the kill"] > runs["stored at the kill"]


def everything_seen(seen) -> dict[int, int]:
    """Every process engine.pids listed or the test saw below the driver: pid -> start time."""
    return {**{pid: started for pid, (started, _) in seen["ever listed"].items()},
            **{pid: entry["started"] for pid, entry in seen["tree"].items()}}


def test_kill_9_of_the_driver_leaves_no_ray_or_vllm_process(runs):
    """The test saw raylet and the first replicas (which hold vLLM) below the driver; the
    reaper listed the replicas' own processes that lived a second or more (vLLM's engine, known
    by being a replica's child whatever its title: CI once listed none titled VLLM); nothing the
    test saw or the reaper listed is left 60 s after the kill."""
    tree, replicas = runs["tree"], runs["first replicas"]
    engines = {pid for pid, entry in tree.items()
               if entry["parent"] in replicas and entry["looks"] >= 5}
    shown = {pid: (entry["parent"], sorted(entry["titles"])) for pid, entry in tree.items()}
    print(f"the first replicas' own processes: {[shown[pid] for pid in sorted(engines)]}")
    assert any("raylet" in t for entry in tree.values() for t in entry["titles"]), shown
    assert set(tree) >= replicas and set(runs["ever listed"]) >= engines | replicas, shown
    assert runs["left running"] == []


def test_resume_finishes_the_run_with_no_duplicate_sample(runs):
    assert runs["resume code"] == 0, runs["resume stderr"][-3000:]
    before, after = runs["before resume"], runs["after"]
    assert not after.duplicated(KEY).any() and len(after) > len(before)
    kept = before.merge(after, on=KEY, suffixes=("", "_after"))
    assert len(kept) == len(before) and (kept.text == kept.text_after).all()
    for _, chain in after.sort_values("round").groupby(["instance_id", "sample_index"],
                                                        observed=True):
        assert chain["round"].tolist() == list(range(len(chain)))
        assert len(chain) == 3 or chain["valid"].iloc[-1]
    assert not runs["pid file after"]


def test_same_first_answers_as_the_in_process_engine(runs):
    first = [frame[frame["round"] == 0].sort_values(KEY).reset_index(drop=True)
             for frame in (runs["reference"], runs["after"])]
    columns = [*KEY, "seed"]
    assert first[0][columns].astype(str).equals(first[1][columns].astype(str))
    same = (first[0].text == first[1].text).mean()
    print(f"first answers with the same text as the in-process engine: {same:.0%}")
    assert same > 0


@given(st.lists(st.integers(1, 256), max_size=40), st.integers(1, 5))
def test_requests_are_dealt_once_with_samples_balanced(sizes, replicas):
    keyed = [(key, Request(PROMPT, n, seed=key)) for key, n in enumerate(sizes)]
    dealt = share(keyed, list(range(replicas)))
    assert sorted(key for pairs in dealt.values() for key, _ in pairs) == list(range(len(sizes)))
    loads = [sum(request.n for _, request in pairs) for pairs in dealt.values()]
    if len(loads) == replicas:
        assert max(loads) - min(loads) <= max(sizes)
    else:
        assert len(loads) == len(sizes)


@given(st.integers(1, 64), st.sets(st.integers(0, 63)))
def test_unanswered_samples_are_sent_again_once(n, answered):
    request = Request(PROMPT, n, seed=7, first=100)
    answered = {100 + index for index in answered if index < n}
    pieces = unanswered(request, answered)
    indices = [i for piece in pieces for i in range(piece.first, piece.first + piece.n)]
    assert sorted(indices) == sorted(set(range(100, 100 + n)) - answered)
    if not answered:
        assert pieces == [request]
    else:
        assert all(p.seed == derive_seed(7, "split", p.first - 100) for p in pieces)


def test_placement_asks_gpus_of_one_node_and_refuses_what_no_node_holds():
    eight = [{"CPU": 64, "GPU": 8}]
    assert placement(eight, 4, 2) == {"num_gpus": 2, "num_cpus": 1}
    assert placement([{"CPU": 2}], 2, 1) == {"num_cpus": 1}
    assert placement([{"CPU": 8, "GPU": 4}] * 2, 2, 4) == {"num_gpus": 4, "num_cpus": 1}
    with pytest.raises(PlanbenchError, match="needs 10 GPUs, 2 on each node; the Ray cluster's "
                                             "nodes hold 4 such replicas"):
        placement(eight, 5, 2)
    with pytest.raises(PlanbenchError, match="one replica needs 8 GPUs on one node .*largest "
                                             "node has 4"):  # 8 GPUs in all, 4 a node
        placement([{"CPU": 8, "GPU": 4}] * 2, 1, 8)
    with pytest.raises(PlanbenchError, match="nodes hold 2 such replicas"):  # 3 GPUs: one each
        placement([{"CPU": 8, "GPU": 3}] * 2, 3, 2)
    with pytest.raises(PlanbenchError, match="needs a core each; the Ray cluster has 2 CPUs"):
        placement([{"CPU": 2}], 3, 1)


def test_an_address_where_no_cluster_answers_is_refused_in_seconds():
    started = time.time()
    with pytest.raises(PlanbenchError, match="no Ray cluster answers at 127.0.0.1:9"):
        probe("127.0.0.1:9")
    with pytest.raises(PlanbenchError, match="no Ray cluster answers at ray://nowhere"):
        probe("ray://nowhere")
    assert time.time() - started < 15
    probe(None)  # a local Ray is started by ray.init


def test_bad_input_on_the_command_line_is_one_line(instance_set, tmp_path, monkeypatch):
    def run(*args):
        result = CliRunner().invoke(main, ["run", "--instances", str(instance_set), *args,
                                           "--out", str(tmp_path / "r")])
        assert result.exit_code == 2
        return result.output.strip()
    assert "use --engine ray --replicas N" in run("--data-parallel-size", "2")
    assert "--replicas and --ray-address need --engine ray (not vllm)" in run("--replicas", "2")
    assert "no Ray cluster answers at 127.0.0.1:9" in run("--engine", "ray", "--ray-address",
                                                          "127.0.0.1:9")
    monkeypatch.setitem(sys.modules, "ray", None)
    line = run("--engine", "ray")
    assert "\n" not in line and "pip install 'planbench_scale[ray]'" in line
    assert not (tmp_path / "r").exists()


def test_more_replicas_than_the_cluster_can_place_load_no_model(tmp_path):
    cores, before = len(os.sched_getaffinity(0)), reaper.descendants(os.getpid()).items()
    with pytest.raises(PlanbenchError, match=f"--replicas {cores + 1} needs a core each"):
        open_backend(EngineConfig("ray", None, replicas=cores + 1), tmp_path)
    started = dict(reaper.descendants(os.getpid()).items() - before)
    assert not any("ray" in reaper.name(pid) or "VLLM" in reaper.name(pid) for pid in started)
    assert not (tmp_path / "engine.pids").exists()


def test_local_cpu_replicas_split_the_cores_and_thread_over_their_share():
    cores = sorted(os.sched_getaffinity(0))
    [whole] = local_cores(1).values()
    assert whole == {"VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, cores)),
                     "OMP_NUM_THREADS": str(len(cores))}
    shares = [env["VLLM_CPU_OMP_THREADS_BIND"] for env in local_cores(len(cores)).values()]
    assert shares == [str(core) for core in cores]
