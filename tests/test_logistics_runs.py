"""Every strategy and the report on Logistics with the real CPU model: sets from `generate --domain
logistics` (canonical names and a seeded randomized vocabulary), a run of each strategy and
score, and a report over them all. Small: two instances of 4 and 5 steps a set, k 2, 48 tokens."""

import pytest
from click.testing import CliRunner

from planbench_scale.analysis.report import build_report
from planbench_scale.cli import main
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Sampling, Settings
from planbench_scale.domains import task_for
from planbench_scale.instances import load_instances
from planbench_scale.score import check
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.strategies.loop import run
from planbench_scale.symbolic.validate import validate

SAMPLING = Sampling(temperature=0.8, max_tokens=48)
RUNS = {
    "sample": Settings(k=2, sampling=SAMPLING, seed=1),
    "revise": Settings(strategy="revise", k=1, rounds=1, sampling=SAMPLING),
    "self-revise": Settings(strategy="self-revise", k=1, rounds=1, sampling=SAMPLING),
    "beam": Settings(strategy="beam", k=2, beam_width=1, depth=6, sampling=SAMPLING, retries=0),
    "dvts": Settings(strategy="dvts", k=2, beam_width=2, depth=6, score="goal-count", sampling=SAMPLING,
                     retries=0),
    "best-of-n": Settings(strategy="best-of-n", k=2, score="goal-count", sampling=SAMPLING),
    "random-legal": Settings(strategy="random-legal", k=2, depth=8),
    "beam-legal-logprob": Settings(strategy="beam", k=1, beam_width=1, depth=4, propose="legal", score="logprob"),
    "beam-legal-distance": Settings(strategy="beam", k=1, beam_width=1, depth=6, propose="legal", score="distance"),
}
"""Each strategy, with sampled and legal proposals and the valid-prefix, goal-count, logprob and
distance scores."""
ONE_INSTANCE = {"beam-legal-logprob"}
"""Runs on the canonical set's 4-step instance only: the model scores every legal step (about 13 a
node, some 100 s a 5-step instance here)."""


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """(name, instances) of the two generated sets."""
    root = tmp_path_factory.mktemp("logistics-sets")
    made = []
    for name, extra in (("plain", []), ("randomized", ["--vocabulary", "randomized:3"])):
        done = CliRunner().invoke(main, ["generate", "--domain", "logistics", "--objects", "5-9",
                                         "--steps", "4-5", "--per-step", "1", "--seed", "0",
                                         "--out", str(root / name), *extra])
        assert done.exit_code == 0, done.output
        made.append((name, load_instances(root / name)))
    assert [len(i) for _, i in made] == [2, 2] and made[1][1][0].vocabulary == "randomized:3"
    return made


@pytest.fixture(scope="module")
def runs(sets, cpu_backend, tmp_path_factory):
    """Run folder -> (instances, settings) of every strategy on both sets."""
    root, done = tmp_path_factory.mktemp("logistics-runs"), {}
    for strategy, settings in RUNS.items():
        for name, instances in (sets[:1] if strategy in ONE_INSTANCE else sets):
            instances = instances[:1] if strategy in ONE_INSTANCE else instances
            folder = root / f"{strategy}-{name}"
            config = RunConfig(settings, EngineConfig("vllm", "gemma-3-270m"),
                               InstanceSource("set", None, len(instances)))
            with RunWriter(folder, config, instances, resume=True) as writer:
                run(cpu_backend, instances, writer, settings)
            done[folder] = (instances, settings)
    return done


def test_every_strategy_stores_samples_for_every_instance(runs):
    for folder, (instances, settings) in runs.items():
        frame = read_samples(folder)
        assert set(frame.instance_id) == {i.id for i in instances}, folder.name
        assert set(frame.domain) == {"logistics"}, folder.name


def test_stored_verdicts_are_the_validators_and_the_oracle_solves_optimally(runs):
    for folder, (instances, settings) in runs.items():
        by_id = {i.id: i for i in instances}
        frame = read_samples(folder)
        for row in frame.itertuples():
            instance = by_id[row.instance_id]
            if settings.strategy in ("sample", "revise", "self-revise", "best-of-n"):
                extraction, verdict = check(instance, row.text)
                assert (row.valid, row.reason) == (verdict.valid, verdict.reason.value), folder.name
            if settings.strategy == "random-legal" or settings.propose == "legal":
                plan = row.plan.split("\n") if row.plan else []
                prefix = validate(task_for(instance), plan)  # legal steps only: each applies
                assert prefix.valid or prefix.reason.value == "goal_not_reached", folder.name
        if settings.score == "distance":
            solved = frame.loc[frame.valid]
            assert set(solved.instance_id) == set(by_id)
            assert (solved.n_actions == solved.optimal_length).all()


def test_a_report_covers_every_logistics_run(runs, tmp_path):
    report = build_report(list(runs), tmp_path / "report")
    html = report.html.read_text()
    assert "data:image/png;base64," in html and "logistics" in html
    assert all(strategy in html for strategy in ("sample", "revise", "beam", "dvts", "best-of-n", "random-legal"))
