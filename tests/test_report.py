import functools
import gzip
import json
from collections import defaultdict

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import run_config

from planbench_scale.analysis import page, report
from planbench_scale.cli import main
from planbench_scale.errors import PlanbenchError
from planbench_scale.instances import load_instances
from planbench_scale.records import Instance, Sample
from planbench_scale.store import RunWriter


def domain_of(config: str) -> str | None:
    """The suite's domain name for a PlanBench config (None: not a plan-generation config)."""
    if config.startswith("unsolvable"):
        return None
    if config.startswith("mystery"):
        return "mystery"
    return "randomized" if "random" in config else "blocksworld"


def gt_actions(plan) -> tuple[tuple[str, ...], ...]:
    """PlanBench's ground-truth plan (list or newline text) as action tuples."""
    lines = plan if isinstance(plan, list) else str(plan).splitlines()
    return tuple(tuple(line.strip().strip("()").split()) for line in lines if line.strip())


def planbench_answers(planbench):
    """PlanBench's stored answers grouped per (model, prompt type), with their instances."""
    runs = defaultdict(list)
    for path in sorted((planbench / "responses").glob("*/*.jsonl.gz")):
        for line in gzip.open(path, "rt"):
            row = json.loads(line)
            domain = domain_of(row["config"])
            if domain:
                runs[f"{row['model']}__{row['prompt_type']}"].append((domain, row))
    return runs


IMPORTED = ("blocksworld_3", "mystery_blocksworld_3", "obfuscated_randomized_blocksworld_3")
"""Configs whose instance metadata comes from `instances.load_instances` (small enough to import
cold in seconds); the others take the optimal length from PlanBench's ground-truth plan."""


def planbench_instance(planbench, domain: str, row: dict) -> Instance:
    """The Instance a PlanBench answer was given for."""
    config, number = row["config"], row["instance_id"]
    if config in IMPORTED:
        return imported_instances(planbench, config)[f"{config}/instance-{number}"]
    plan = gt_actions(row["ground_truth_plan"])
    blocks = tuple(sorted({arg for action in plan for arg in action[1:]}))
    return Instance(id=f"{config}/instance-{number}", domain=domain, vocabulary=domain,
                    objects=blocks, init=(), goal=(), optimal_plan=plan, source=config)


@functools.cache
def imported_instances(planbench, config: str) -> dict[str, Instance]:
    return {i.id: i for i in load_instances(planbench / "instances" / config)}


def write_planbench_run(planbench, run_dir, name, answers) -> int:
    """One run store holding PlanBench's answers, with PlanBench's verdict as `valid`; returns
    how many answers' ground-truth plan length differs from the instance's optimal length."""
    instances, samples, mismatched = [], [], 0
    for domain, row in answers:
        inst = planbench_instance(planbench, domain, row)
        mismatched += inst.optimal_length != len(gt_actions(row["ground_truth_plan"]))
        instances.append(inst)
        samples.append(Sample(inst.id, inst.domain, inst.vocabulary, len(inst.objects),
                              inst.optimal_length, 0, 0, "sample", "planbench",
                              row["raw_response"] or "", 0, 0, "stop", "plan",
                              str(row["planbench_plan"] or ""), 0, bool(row["planbench_correct"]),
                              "valid" if row["planbench_correct"] else "inapplicable", -1, "", 0))
    model, prompt_type = name.split("__")
    with RunWriter(run_dir, run_config(model, f"sample ({prompt_type})"), instances) as writer:
        writer.append(samples)
    return mismatched


@pytest.fixture(scope="module")
def planbench_report(planbench, tmp_path_factory):
    root = tmp_path_factory.mktemp("planbench")
    answers = planbench_answers(planbench)
    dirs, mismatched = [], 0
    for name, rows in answers.items():
        mismatched += write_planbench_run(planbench, root / name, name, rows)
        dirs.append(root / name)
    # The imported instances agree with PlanBench's ground-truth plans, but for 3 answers in
    # o1-mini's blocksworld_3 file, whose ground truth names a fourth block.
    assert mismatched == 3
    return answers, report.build_report(dirs, root / "report")


def test_planbench_verdicts_reproduced_exactly(planbench_report):
    answers, result = planbench_report
    table = pd.read_csv(result.html.parent / "accuracy_by_domain.csv")
    assert len(answers) >= 15 and len(table) >= len(answers)
    for name, rows in answers.items():
        model, prompt_type = name.split("__")
        for domain in {d for d, _ in rows}:
            mine = [r for d, r in rows if d == domain]
            got = table[(table["run"] == f"{model} · sample ({prompt_type})")
                        & (table["domain"] == domain)].iloc[0]
            assert got["instances"] == len(mine), (name, domain)
            assert got["correct"] == sum(bool(r["planbench_correct"]) for r in mine), (name, domain)
    gpt4 = table[(table["run"] == "gpt-4_chat · sample (t1)") & (table["domain"] == "blocksworld")]
    assert 0.2 < gpt4["accuracy"].item() < 0.5


def test_planbench_report_page(planbench_report):
    _, result = planbench_report
    page = result.html.read_text()
    assert "data:image/png;base64," in page and "src='http" not in page
    assert "o1-mini_chat · sample (t1_zero_shot)" in page and "&quot;model&quot;" in page
    # One answer per instance and no token counts: accuracy by length, and every run at zero
    # compute as a level in the answer's figure.
    assert {p.name for p in result.figures} == {"accuracy_vs_length.png", "accuracy_vs_length.svg",
                                                 "horizon_vs_compute.png", "horizon_vs_compute.svg",
                                                 "solve_rate_vs_compute.png",
                                                 "solve_rate_vs_compute.svg"}
    horizons = pd.read_csv(result.html.parent / "horizon.csv").set_index("run")
    o1 = horizons.loc["o1-preview_chat · sample (t1)"] if "o1-preview_chat · sample (t1)" in \
        horizons.index else horizons.iloc[0]
    assert o1["shortest"] >= 1 and o1["h50_low"] <= o1["h50"] <= o1["h50_high"]
    # llama3 answered 91 of the 101 three-block instances: runs differ, and the page says so.
    assert any("different instance sets" in n for n in result.notes)
    assert "Partial report." in page


def tiny_run(run_dir, n_instances=3, k=4, stored=None, model="tiny", close=True):
    """A small sampling run; `stored` instances get samples (all when None)."""
    instances = [Instance(id=f"i{j}", domain="blocksworld", vocabulary="blocksworld",
                          objects=("a", "b"), init=(), goal=(),
                          optimal_plan=(("unstack", "a", "b"),) * (j + 1))
                 for j in range(n_instances)]
    writer = RunWriter(run_dir, run_config(model, k=k, parameters=270_000_000), instances)
    rows = [Sample(i.id, i.domain, i.vocabulary, 2, i.optimal_length, s, 0, "sample", "h", "t",
                   10, 5, "stop", "plan", "(unstack a b)" if s % 2 else "", 1, bool(s % 2),
                   "valid", -1, "", s)
            for i in instances[:stored] for s in range(k)]
    writer.append(rows)
    if close:
        writer.close()
    return writer


def test_side_by_side_on_each_compute_axis(tmp_path):
    tiny_run(tmp_path / "a", model="small")
    tiny_run(tmp_path / "b", model="large")
    result = report.build_report([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert result.notes == ()
    cost = pd.read_csv(tmp_path / "out" / "cost.csv")
    assert list(cost["compute_per_instance"]) == [4 * 5] * 2  # nothing computed of the prompts
    head = page.headline(pd.read_csv(tmp_path / "out" / "accuracy_by_domain.csv"))
    assert list(head.columns) == ["large · sample", "small · sample"]
    report.build_report([tmp_path / "a"], tmp_path / "flops", compute_axis="flops")
    cost = pd.read_csv(tmp_path / "flops" / "cost.csv")
    # 2 x parameters per generated token; the model's shape is unknown: no attention term
    assert list(cost["compute_per_instance"]) == [4 * 5 * 2 * 270e6]
    assert "forward FLOPs" in (tmp_path / "flops" / "index.html").read_text()
    dollars = report.build_report([tmp_path / "a"], tmp_path / "usd", compute_axis="dollars")
    assert pd.read_csv(tmp_path / "usd" / "cost.csv")["compute_per_instance"].isna().all()
    assert "US dollars" in dollars.html.read_text()
    with pytest.raises(PlanbenchError, match="unknown compute axis 'joules'"):
        report.build_report([tmp_path / "a"], tmp_path / "j", compute_axis="joules")


def test_the_report_names_the_ledger_of_each_run(tmp_path):
    tiny_run(tmp_path / "new", model="new")
    writer = tiny_run(tmp_path / "old", model="old", stored=0, close=False)
    old = Sample("i0", "blocksworld", "blocksworld", 2, 1, 0, 0, "sample", "h", "t", 10, 5,
                 "stop", "plan", "", 0, False, "inapplicable", -1, "", 0, schema_version=3)
    writer.append([old])
    writer.close()
    result = report.build_report([tmp_path / "new", tmp_path / "old"], tmp_path / "out")
    ledgers = pd.read_csv(tmp_path / "out" / "ledger.csv").set_index("run")["ledger"]
    assert ledgers["new · sample"].startswith("computed tokens")
    assert ledgers["old · sample"].startswith("old count")
    assert "old · sample: old count" in result.html.read_text()


def test_partial_and_in_progress_runs_are_marked(tmp_path):
    writer = tiny_run(tmp_path / "run", stored=1, close=False)
    result = report.build_report([tmp_path / "run"], tmp_path / "out")
    writer.close()
    assert any("still being written" in n for n in result.notes)
    assert any("2 of 3 instances have no samples yet" in n for n in result.notes)
    assert "Partial report." in result.html.read_text()


def test_fewer_samples_than_configured(tmp_path):
    tiny_run(tmp_path / "run", k=2).close()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["settings"]["k"] = 8
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    notes = report.build_report([tmp_path / "run"], tmp_path / "out").notes
    assert notes == (f"{tmp_path / 'run'}: 3 instances have fewer than the configured k = 8 samples",)


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(PlanbenchError, match="not a run folder|config.json missing"):
        report.build_report([tmp_path / "nowhere"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlanbenchError, match="config.json missing"):
        report.build_report([tmp_path / "empty"], tmp_path / "out")
    tiny_run(tmp_path / "nosamples", stored=0)
    with pytest.raises(PlanbenchError, match="no samples in any of the runs"):
        report.build_report([tmp_path / "nosamples"], tmp_path / "out")
    with pytest.raises(PlanbenchError, match="given twice"):
        report.build_report([tmp_path / "nosamples"] * 2, tmp_path / "out")


def test_cli_report(tmp_path):
    tiny_run(tmp_path / "run", stored=2)
    runner = CliRunner()
    ok = runner.invoke(main, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "out"),
                              "--target-coverage", "0.5"])
    assert ok.exit_code == 0 and "partial report" in ok.output
    assert set(pd.read_csv(tmp_path / "out" / "coverage_fits.csv")["target"]) == {0.5}
    assert "1 of 3 instances have no samples yet" in ok.output
    bad = runner.invoke(main, ["report", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and bad.output.startswith("error: ") and "Traceback" not in bad.output
    bad = runner.invoke(main, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "o"),
                               "--target-coverage", "1.5"])
    assert bad.exit_code == 2 and "target coverage" in bad.output
    flops = runner.invoke(main, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "f"),
                                 "--compute", "flops"])
    assert flops.exit_code == 0 and "FLOPs" in (tmp_path / "f" / "index.html").read_text()


def test_samples_of_unknown_instances_are_left_out(tmp_path):
    writer = tiny_run(tmp_path / "run", close=False)
    writer.append([Sample("zz", "blocksworld", "blocksworld", 2, 1, 0, 0, "sample", "h", "t", 1, 1,
                          "stop", "plan", "", 0, True, "valid", -1, "", 0)])
    writer.close()
    result = report.build_report([tmp_path / "run"], tmp_path / "out")
    assert result.notes == (f"{tmp_path / 'run'}: 1 samples name instances missing from "
                            "instances.jsonl (left out)",)
    table = pd.read_csv(tmp_path / "out" / "accuracy_by_domain.csv")
    assert table["instances"].item() == 3


def test_runs_are_labelled_model_and_strategy():
    config = run_config("/m/gemma-3-270m", "revise")
    assert report._label(config, report.Path("results/x")) == "gemma-3-270m · revise"
    assert report._label(run_config(""), report.Path("results/x")) == "x · sample"


def test_sampling_and_revision_side_by_side(tmp_path):
    tiny_run(tmp_path / "sample")
    inst = Instance(id="i0", domain="blocksworld", vocabulary="blocksworld", objects=("a", "b"),
                    init=(), goal=(), optimal_plan=(("unstack", "a", "b"),))
    rows = [Sample("i0", "blocksworld", "blocksworld", 2, 1, chain, r, "revise", "h", "t", 10, 5,
                   "stop", "plan", "(unstack a b)", 1, ok, "valid", -1, "", chain)
            for chain, verdicts in ((0, [False, True]), (1, [False, False, False]))
            for r, ok in enumerate(verdicts)]
    with RunWriter(tmp_path / "revise", run_config("tiny", "revise", k=2), [inst]) as writer:
        writer.append(rows)
    result = report.build_report([tmp_path / "sample", tmp_path / "revise"], tmp_path / "out")
    rounds = pd.read_csv(tmp_path / "out" / "revision_rounds.csv")
    assert list(rounds["accuracy"]) == [0.0, 0.5, 0.5] and list(rounds["run"]) == ["tiny · revise"] * 3
    assert {"accuracy_vs_round.png", "solve_rate_vs_compute.png"} <= {p.name for p in result.figures}
    page = result.html.read_text()
    assert "Valid within r revision rounds" in page
    assert ">NaN<" not in page and "<td>–</td>" in page  # values that do not exist show as "–"


def strategy_runs(root, solve=True):
    """One small run per strategy over real generated instances (2-4 steps, every domain's
    blocksworld twin): sample, revise, beam (legal steps, logprob), dvts, best-of-n, random-legal
    and an oracle beam. Valid answers are the optimal plan, invalid ones a plan whose first step
    does not apply; with `solve` False nothing is valid."""
    from planbench_scale import domains

    instances = domains.get("blocksworld").generate((3, 4), (2, 4), 2, 0)
    bad = "(stack zz yy)"

    def plan(inst, ok):
        return "\n".join(f"({' '.join(a)})" for a in inst.optimal_plan) if ok else bad

    def row(inst, index, ok, strategy, tokens=(50, 12), rnd=0, parent=-1, depth=0, score=None,
            finish="stop", computed=None):
        ok = ok and solve
        return Sample(inst.id, inst.domain, inst.vocabulary, len(inst.objects),
                      inst.optimal_length, index, rnd, strategy, "h", "t", tokens[0], tokens[1],
                      finish, "plan", plan(inst, ok), 1, ok, "valid" if ok else "inapplicable",
                      -1, "", index, parent, depth, score,
                      computed_tokens=tokens[0] if computed is None else computed)

    specs = {
        "sample": ("sample", {}, lambda i, s: [row(i, j, (j + s) % 5 == 0, "sample")
                                              for j in range(8)]),
        "revise": ("revise", {}, lambda i, s: [row(i, 0, r == 2 and s % 2 == 0, "revise",
                                                   (80 * (r + 1), 12), rnd=r) for r in range(3)]),
        "beam": ("beam", dict(propose="legal", score="logprob"),
                 lambda i, s: [row(i, j, j == 3 and s % 3 != 2, "beam", (60, 0), parent=-1,
                                   depth=1 + j // 2, score=-1.0 * j, finish="scored",
                                   computed=12)
                               for j in range(4)]),
        "dvts": ("dvts", dict(score="goal-count"),
                 lambda i, s: [row(i, j, j == 5 and s % 2 == 1, "dvts", (60, 6), depth=1 + j // 2,
                                   score=0.5) for j in range(6)]),
        "best-of-n": ("best-of-n", dict(score="goal-count"),
                      lambda i, s: [row(i, j, j % 3 == 0, "best-of-n", score=float(j % 2))
                                    for j in range(6)]),
        "random-legal": ("random-legal", {}, lambda i, s: [row(i, j, (j + s) % 7 == 0,
                                                               "random-legal", (0, 0))
                                                           for j in range(8)]),
        "oracle": ("beam", dict(propose="legal", score="distance"),
                   lambda i, s: [row(i, j, j == 1, "beam", (0, 0), depth=1 + j, score=-1.0)
                                 for j in range(2)]),
    }
    dirs = []
    for name, (strategy, settings, make) in specs.items():
        rows = [r for s, inst in enumerate(instances) for r in make(inst, s)]
        config = run_config("tiny", strategy, k={"revise": 1, "best-of-n": 6}.get(name, 8),
                            **settings)
        with RunWriter(root / name, config, instances) as writer:
            writer.append(rows)
        dirs.append(root / name)
    return dirs


def test_every_strategy_on_one_compute_axis(tmp_path):
    result = report.build_report(strategy_runs(tmp_path), tmp_path / "out")
    curves = pd.read_csv(tmp_path / "out" / "solve_rate_vs_compute.csv")
    kinds = curves.groupby("run")["kind"].first()
    assert kinds["tiny · beam · legal steps · score distance (oracle)"] == "oracle"
    assert kinds["tiny · random-legal"] == "no model" and kinds["tiny · sample"] == "model"
    assert set(curves["unit"]) == {"samples", "rounds", "nodes"} and len(kinds) == 7
    beam = curves[curves["run"] == "tiny · beam · legal steps · score logprob"]
    # 4 scoring calls reading 60 tokens each, 12 of them computed (the rest from the cache)
    assert set(beam["compute"]) == {48.0}
    assert (curves["ci_low"] <= curves["solve_rate"]).all()
    assert (curves["solve_rate"] <= curves["ci_high"]).all()
    best = pd.read_csv(tmp_path / "out" / "compute_optimal.csv")
    assert not best["best_run"].str.contains("oracle").any()
    assert best["same_pick"].between(0, 1).all()
    horizons = pd.read_csv(tmp_path / "out" / "horizon.csv")
    assert set(horizons["run"]) <= set(kinds.index) and len(horizons) >= 7
    html = result.html.read_text()
    assert (html.index("How far it plans") < html.index("The answer: solve rate against compute")
            < html.index("<h2>Runs</h2>"))
    assert "same pick in" in html and "computed tokens (prompt tokens computed" in html
    assert ">NaN<" not in html and "nan%" not in html
    votes = pd.read_csv(tmp_path / "out" / "majority_vote_state.csv")
    assert set(votes["run"]) == {"tiny · sample", "tiny · best-of-n · score goal-count",
                                 "tiny · random-legal"}


def test_a_report_where_nothing_is_solved(tmp_path):
    result = report.build_report(strategy_runs(tmp_path, solve=False), tmp_path / "out")
    curves = pd.read_csv(tmp_path / "out" / "solve_rate_vs_compute.csv")
    assert (curves["solve_rate"] == 0).all()
    html = result.html.read_text()
    assert ">NaN<" not in html and "solve_rate_vs_compute" in html
    assert "none solved" in html and "random-legal: 0%" not in html  # no run is "best" at 0%
