import numpy as np
import pandas as pd
import pytest

from planbench_scale.analysis import compute, horizon, metrics, variance
from planbench_scale.analysis import plots


@pytest.fixture(scope="module")
def tables():
    """Metric tables from a small synthetic sampling run and a revision run."""
    rng = np.random.default_rng(1)
    rows = []
    for i in range(24):
        length = 2 + i // 4
        for j, ok in enumerate(rng.random(16) < 0.6 / length):
            rows.append(dict(run="tiny · sample", instance_id=f"i{i}", domain="mystery",
                             optimal_length=length, n_objects=length, sample_index=j, round=0,
                             strategy="sample", prompt_tokens=50, completion_tokens=20,
                             computed_tokens=50 if j == 0 else 0, valid=bool(ok)))
        for r in range(3):
            rows.append(dict(run="tiny · revise", instance_id=f"i{i}", domain="mystery",
                             optimal_length=length, n_objects=length, sample_index=0, round=r,
                             strategy="revise", prompt_tokens=80, completion_tokens=20,
                             computed_tokens=80 if r == 0 else 30, valid=bool(r == 2 and i % 2)))
    samples = pd.DataFrame(rows)
    inst = metrics.per_instance(samples)
    cov = metrics.coverage(inst, by=("domain", "steps"))
    rounds = metrics.revision_rounds(samples, ["revise"])
    samples["steps"] = metrics.step_bucket(samples["optimal_length"])
    units = inst["strategy"].map({"sample": "samples", "revise": "rounds"})
    points = compute.instance_points(inst, samples.assign(score=None, parent=-1), units,
                                     by=("steps",))
    curves = compute.solve_curves(points, by=("steps",)).assign(kind="model")
    frontier = compute.compute_optimal(curves, by=("steps",))
    curves, frontier = variance.with_intervals(points, curves, frontier, ("steps",), draws=200)
    return dict(curves=curves, frontier=frontier, points=points,
                horizons=horizon.horizons(points, by=()).assign(kind="model"),
                accuracy=metrics.accuracy(inst, ["domain", "optimal_length"]),
                pass_k=metrics.pass_at_k_table(inst), coverage=cov,
                fits=metrics.coverage_fits(cov), rounds=rounds,
                )


def _check(paths, *texts):
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[0].stat().st_size > 10_000
    svg = paths[1].read_text()
    for text in texts:
        assert text in svg, text


def test_accuracy_vs_length(tables, tmp_path):
    paths = plots.accuracy_vs_length(tables["accuracy"], tables["pass_k"], tmp_path)
    _check(paths, "optimal plan length (steps)", "tiny · sample · first sample", "pass@16",
           "domain: mystery")


def test_coverage_and_fail_at_k(tables, tmp_path):
    _check(plots.coverage_vs_samples(tables["coverage"], tables["fits"], tmp_path),
           "samples per instance k (log scale)", "tiny · sample · mystery", "1-2 steps")
    _check(plots.fail_at_k(tables["coverage"], tables["fits"], tmp_path),
           "fail@k = 1 - coverage (log scale)")


def test_fail_at_k_when_every_instance_is_solved(tmp_path):
    # fail@k is 0 everywhere and the fit predicts full coverage: nothing positive for a log axis
    samples = pd.DataFrame([dict(run="all · sample", instance_id=f"i{i}", domain="blocksworld",
                                 optimal_length=2, n_objects=3, sample_index=j, round=0,
                                 strategy="sample", prompt_tokens=9, completion_tokens=9,
                                 computed_tokens=9, valid=True) for i in range(3) for j in range(2)])
    cov = metrics.coverage(metrics.per_instance(samples), by=("domain", "steps"))
    _check(plots.fail_at_k(cov, metrics.coverage_fits(cov), tmp_path), "fail@k")


def test_rounds_and_compute(tables, tmp_path):
    _check(plots.accuracy_vs_round(tables["rounds"], tmp_path), "revision rounds r",
           "tiny · revise · mystery")
    _check(plots.solve_rate_vs_compute(tables["curves"], tables["frontier"], tmp_path),
           "compute per instance (tokens, log scale)", "tiny · sample", "tiny · revise",
           "compute-optimal (best within budget)", "optimal plan length 1-2 steps", "100%")


def test_horizon_against_compute(tables, tmp_path):
    _check(plots.horizon_vs_compute(tables["horizons"], tmp_path, "FLOPs"),
           "compute per instance (FLOPs, log scale)", "h50: plan length solved half the time",
           "tiny · sample", "tiny · revise")
    assert plots.horizon_vs_compute(tables["horizons"].iloc[0:0], tmp_path / "none") == []


def test_every_figure_has_one_width(tables, tmp_path):
    from PIL import Image

    paths = [*plots.accuracy_vs_length(tables["accuracy"], tables["pass_k"], tmp_path),
             *plots.coverage_vs_samples(tables["coverage"], tables["fits"], tmp_path),
             *plots.accuracy_vs_round(tables["rounds"], tmp_path),
             *plots.solve_rate_vs_compute(tables["curves"], tables["frontier"], tmp_path),
             *plots.horizon_vs_compute(tables["horizons"], tmp_path)]
    widths = {Image.open(p).size[0] for p in paths if p.suffix == ".png"}
    assert widths == {int(plots.WIDTH * 150)}


def test_empty_tables_draw_nothing(tables, tmp_path):
    empty = tables["rounds"].iloc[0:0]
    assert plots.accuracy_vs_round(empty, tmp_path) == []
    assert plots.accuracy_vs_length(tables["accuracy"].iloc[0:0], tables["pass_k"], tmp_path) == []
    assert list(tmp_path.iterdir()) == []
