import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale.analysis import metrics


def samples(verdicts: dict, run="r", strategy="sample", plans=None, tokens=(10, 5), computed=0):
    """A samples frame: verdicts maps instance id -> (domain, optimal length, [valid per sample]);
    every row computed `computed` of its prompt tokens."""
    rows = []
    for iid, (domain, length, valid) in verdicts.items():
        for i, ok in enumerate(valid):
            plan = plans[iid][i] if plans else ("(stack a b)" if ok else f"(bad {i})")
            rows.append(dict(run=run, instance_id=iid, domain=domain, vocabulary=domain,
                             n_objects=length + 1, optimal_length=length, sample_index=i, round=0,
                             strategy=strategy, prompt_tokens=tokens[0],
                             completion_tokens=tokens[1], computed_tokens=computed,
                             valid=bool(ok), plan=plan))
    return pd.DataFrame(rows)


def brute_pass_at_k(valid, k):
    subsets = list(itertools.combinations(valid, k))
    return sum(any(s) for s in subsets) / len(subsets)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=10), st.integers(1, 12))
def test_pass_at_k_is_average_over_all_k_subsets(valid, k):
    got = metrics.pass_at_k(len(valid), sum(valid), k)
    if k > len(valid):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(brute_pass_at_k(valid, k), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=1, max_size=8), min_size=1, max_size=6))
def test_pass_at_k_table_matches_brute_force_mean(per_instance_valid):
    verdicts = {f"i{j}": ("blocksworld", 4, v) for j, v in enumerate(per_instance_valid)}
    table = metrics.pass_at_k_table(metrics.per_instance(samples(verdicts)), by=("domain",),
                                    ks=[1, 2, 3])
    for k in (1, 2, 3):
        got = table.loc[table["k"] == k, "pass_at_k"].item()
        if any(len(v) < k for v in per_instance_valid):
            assert math.isnan(got)
        else:
            want = np.mean([brute_pass_at_k(v, k) for v in per_instance_valid])
            assert got == pytest.approx(want, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    assert metrics.pass_at_k(10_000, 1, 8192) == pytest.approx(0.8192)
    assert metrics.pass_at_k(10_000, 3, 1) == pytest.approx(3e-4)
    assert 0 < 1 - metrics.pass_at_k(10_000, 2, 5000) < 1


def test_k_values_are_powers_of_two_then_all():
    assert metrics.k_values(10) == [1, 2, 4, 8, 10]
    assert metrics.k_values(8) == [1, 2, 4, 8]
    assert metrics.k_values(0) == []


def test_wilson_interval_known_values():
    low, high = metrics.wilson_interval([8], [10])
    assert low[0] == pytest.approx(0.4902, abs=1e-4) and high[0] == pytest.approx(0.9433, abs=1e-4)
    low, high = metrics.wilson_interval([0], [0])
    assert math.isnan(low[0])


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_rate_and_stays_in_0_1(case):
    successes, trials = case
    low, high = metrics.wilson_interval([successes], [trials])
    assert 0.0 <= low[0] <= successes / trials <= high[0] <= 1.0
    assert (low[0] == 0.0) == (successes == 0) and (high[0] == 1.0) == (successes == trials)


def test_accuracy_per_domain_and_length_with_interval():
    verdicts = {"a": ("blocksworld", 2, [1, 0]), "b": ("blocksworld", 4, [0, 1]),
                "c": ("mystery", 2, [1, 1]), "d": ("mystery", 2, [0])}
    inst = metrics.per_instance(samples(verdicts))
    by_domain = metrics.accuracy(inst, "domain").set_index("domain")
    assert by_domain.loc["blocksworld", "accuracy"] == 0.5
    assert by_domain.loc["mystery", "correct"] == 1 and by_domain.loc["mystery", "instances"] == 2
    assert by_domain.loc["mystery", "ci_low"] < 0.5 < by_domain.loc["mystery", "ci_high"]
    by_length = metrics.accuracy(inst, ["domain", "optimal_length"])
    assert len(by_length) == 3
    assert set(metrics.accuracy(inst, "n_objects")["n_objects"]) == {3, 5}


def test_accuracy_skips_instances_without_first_sample():
    frame = samples({"a": ("blocksworld", 2, [1, 1])})
    frame = frame[frame["sample_index"] == 1]
    table = metrics.accuracy(metrics.per_instance(frame))
    assert table["instances"].item() == 0 and table["missing"].item() == 1
    assert math.isnan(table["accuracy"].item())


def test_coverage_rises_and_step_buckets():
    verdicts = {f"i{j}": ("blocksworld", 2 + j, [j % 2, 1, 0, 0]) for j in range(6)}
    inst = metrics.per_instance(samples(verdicts))
    cov = metrics.coverage(inst)
    assert list(cov["k"]) == [1, 2, 4]
    assert cov["coverage"].is_monotonic_increasing and cov["coverage"].iloc[-1] == 1.0
    assert list(inst["steps"].astype(str)) == ["1-2", "3-4", "3-4", "5-6", "5-6", "7-8"]


def test_revision_rounds_first_valid():
    rows = []
    # instance a: chain 0 valid at round 2, chain 1 never; instance b: chain 0 valid at round 0.
    # A revision's conversation is mostly cached: it computes 40 of its 100 prompt tokens.
    for iid, chain, rounds in (("a", 0, [0, 0, 1]), ("a", 1, [0, 0, 0]), ("b", 0, [1])):
        for r, ok in enumerate(rounds):
            rows.append(dict(run="rev", instance_id=iid, domain="blocksworld", sample_index=chain,
                             round=r, strategy="revise", prompt_tokens=100, completion_tokens=10,
                             computed_tokens=100 if r == 0 else 40, valid=bool(ok)))
    table = metrics.revision_rounds(pd.DataFrame(rows), ["revise"]).set_index("round")
    assert list(table["accuracy"]) == [0.5, 0.5, 0.75]
    assert list(table["tokens"]) == [110, (220 + 110) / 2, (330 + 110) / 2]
    assert list(table["compute"]) == [110, (160 + 110) / 2, (210 + 110) / 2]
    chains = metrics.chain_rounds(pd.DataFrame(rows), ["revise"]).set_index(["instance_id", "round"])
    assert chains.loc[("a", 2), "n"] == 2 and chains.loc[("a", 2), "c"] == 1


def test_revision_rounds_ignore_sampling_runs():
    assert metrics.revision_rounds(samples({"a": ("blocksworld", 2, [1])}), ["revise"]).empty


def test_power_law_fit_recovers_parameters():
    ks = np.array([1, 2, 4, 8, 16, 32, 64])
    fit = metrics.fit_power_law(ks, np.exp(-2.0 * ks ** -0.4))
    assert fit.a == pytest.approx(-2.0) and fit.b == pytest.approx(-0.4)
    assert fit.coverage(fit.samples_for(0.9)) == pytest.approx(0.9)
    assert metrics.fit_power_law([1, 2], [0.0, 1.0]) is None


def test_coverage_fits_per_bucket():
    ks = [1, 2, 4, 8]
    cov = pd.DataFrame({"run": "r", "domain": "blocksworld", "steps": ["1-2"] * 4 + ["3-4"] * 4,
                        "k": ks * 2, "coverage": [*np.exp(-1.0 * np.array(ks) ** -0.5),
                                                  0, 0, 0, 0]})
    fits = metrics.coverage_fits(cov, target=0.5).set_index("steps")
    assert fits.loc["1-2", "b"] == pytest.approx(-0.5)
    assert fits.loc["1-2", "k_for_target"] == pytest.approx((math.log(0.5) / -1.0) ** (1 / -0.5))
    assert fits.loc["3-4", "points"] == 0 and math.isnan(fits.loc["3-4", "a"])


def test_cost_per_instance_and_valid_plan():
    inst = metrics.per_instance(samples({"a": ("blocksworld", 2, [1, 0]),
                                         "b": ("blocksworld", 2, [0, 0])}, tokens=(100, 20),
                                        computed=30))
    table = metrics.cost(inst).iloc[0]
    assert table["prompt_tokens_per_instance"] == 200 and table["completion_tokens_per_instance"] == 40
    assert table["computed_tokens_per_instance"] == 60
    assert table["compute_per_instance"] == 100 and table["compute_per_valid_plan"] == 200


def test_compute_counts_computed_prompt_tokens_and_generated_ones():
    frame = samples({"a": ("blocksworld", 2, [1, 0, 0])}, tokens=(100, 7))
    frame["computed_tokens"] = [100, 0, 12]  # a request's first answer, its second, a scoring call
    frame["completion_tokens"] = [7, 7, 0]
    assert list(metrics.row_compute(frame)) == [107, 7, 12]
    inst = metrics.per_instance(frame).iloc[0]
    assert inst["rows"] == 3 and inst["compute"] == 126
    assert list(metrics.row_compute(frame.assign(cost=[0.5, 0.25, 1.0]))) == [0.5, 0.25, 1.0]


def test_pass_at_k_table_of_no_sampled_instances_is_empty_not_an_error():
    empty = pd.DataFrame(columns=["run", "domain", "optimal_length", "n", "c"])
    table = metrics.pass_at_k_table(empty)
    assert table.empty and list(table.columns) == ["run", "domain", "optimal_length", "k",
                                                   "instances", "pass_at_k"]
