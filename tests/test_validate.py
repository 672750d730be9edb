import gc
import json
import random
import re
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale.domains import DOMAINS, instance_pddl
from planbench_scale.symbolic import pddl
from planbench_scale.symbolic.explain import explain
from planbench_scale.domains.blocksworld import vocab
from planbench_scale.errors import PlanSyntaxError
from planbench_scale.records import Instance, Reason, Verdict
from planbench_scale.domains import task_for
from planbench_scale.symbolic.validate import validate, validate_many, validate_texts

INSTANCE = Instance("v/1", "blocksworld", "blocksworld", ("a", "b", "c"),
                    (("clear", "a"), ("clear", "c"), ("handempty",), ("on", "a", "b"),
                     ("ontable", "b"), ("ontable", "c")),
                    (("on", "a", "c"), ("on", "c", "b")), ())
PLAN = ["(unstack a b)", "(put-down a)", "(pick-up c)", "(stack c b)", "(pick-up a)", "(stack a c)"]

CROSS_CHECK_PLANS = 2_000
"""HOW MANY random plans the unified-planning cross-check validates (about 10 ms each)."""


@pytest.fixture(scope="module", autouse=True)
def numpy_path():
    """Every batch through the numpy tables here, however small (see test_small_batches_...)."""
    from planbench_scale.symbolic import validate as module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "SMALL_BATCH", 0)
        yield


def test_small_batches_are_checked_plan_by_plan_with_the_same_verdicts(monkeypatch):
    from planbench_scale.symbolic import validate as module

    task = task_for(INSTANCE)
    texts = ["\n".join(PLAN), "hello\n", "1: (fly a)", "(pick-up c)\n(pick-up a)", ""]
    numpy = list(validate_texts(task, texts))
    plans = [PLAN, PLAN[1:], ["(unstack a z)"], []]
    monkeypatch.setattr(module, "SMALL_BATCH", 32)
    monkeypatch.setattr(module, "_Tables", None)  # the small path never builds tables
    small = list(validate_texts(task, texts))
    assert small[:1] + small[2:] == numpy[:1] + numpy[2:]
    assert (small[1].line, small[1].column, small[1].message) == \
        (numpy[1].line, numpy[1].column, numpy[1].message)
    assert list(validate_many(task, plans)) == [validate(task, p) for p in plans]


def test_tables_live_as_long_as_their_task(monkeypatch):
    from planbench_scale.symbolic import validate as module

    built = []
    monkeypatch.setattr(module, "_Tables", lambda: built.append(1) or object())
    tasks = [task_for(Instance(**{**INSTANCE.__dict__, "id": f"v/t{i}"})) for i in range(100)]
    for _ in range(2):
        for task in tasks:
            module._tables(task)
    assert len(built) == len(tasks)  # each built once: no eviction at 64
    domain, problem = instance_pddl(INSTANCE)
    alone = pddl.read_task(domain, problem)
    module._tables(alone)
    before = len(module._TABLES)
    del alone, built[:]
    gc.collect()
    assert len(module._TABLES) == before - 1  # and no longer than the task


def test_valid_plan_and_trace():
    task = task_for(INSTANCE)
    verdict = validate(task, PLAN, trace=True)
    assert verdict == Verdict(True, Reason.VALID)
    assert len(verdict.trace) == len(PLAN) + 1
    assert "(holding a)" in verdict.trace[1] and "(on a c)" in verdict.trace[-1]


@pytest.mark.parametrize("plan, expected, words", [
    (PLAN[1:], Verdict(False, Reason.INAPPLICABLE, 0, ("(holding a)",)),
     "step 1 (put-down a): unmet preconditions (holding a)"),
    (["(pick-up c)", "(pick-up a)"],  # facts in bit order: init, goal, then as actions need them
     Verdict(False, Reason.INAPPLICABLE, 1, ("(handempty)", "(ontable a)")),
     "step 2 (pick-up a): unmet preconditions (handempty) (ontable a)"),
    (PLAN[:4], Verdict(False, Reason.GOAL_NOT_REACHED, None, ("(on a c)",)),
     "goal_not_reached: missing goal facts (on a c)"),
    ([], Verdict(False, Reason.EMPTY_PLAN, None, ("(on a c)", "(on c b)")),
     "empty_plan: missing goal facts (on a c) (on c b)"),
    (["(UNSTACK A B)", "(fly a)"], Verdict(False, Reason.UNKNOWN_ACTION, 1),
     "step 2 (fly a): unknown action; known: pick-up, put-down, stack, unstack"),
    (["(unstack a)"], Verdict(False, Reason.WRONG_ARITY, 0),
     "step 1 (unstack a): unstack takes 2 arguments"),
    (["(unstack a z)"], Verdict(False, Reason.UNKNOWN_OBJECT, 0),
     "step 1 (unstack a z): unknown object z"),
    (["not an action (("], Verdict(False, Reason.UNKNOWN_ACTION, 0),
     "step 1 not an action ((: unknown action; known: pick-up, put-down, stack, unstack"),
])
def test_each_failure_names_exactly_what_is_wrong(plan, expected, words):
    task = task_for(INSTANCE)
    assert validate(task, plan) == expected
    assert list(validate_many(task, [plan])) == [expected]
    assert explain(task, plan, expected) == words


def test_case_and_spacing_do_not_matter():
    task = task_for(INSTANCE)
    plan = [a.upper().replace(" ", "   ") for a in PLAN]
    assert validate(task, plan).valid and next(validate_many(task, [plan])).valid
    assert next(validate_texts(task, ["\n".join(plan)])).valid


def test_texts_yield_syntax_errors_in_place():
    task = task_for(INSTANCE)
    out = list(validate_texts(task, ["\n".join(PLAN), "hello\n", "1: (fly a)"]))
    assert out[0].valid and isinstance(out[1], PlanSyntaxError) and out[1].line == 1
    assert out[2].reason is Reason.UNKNOWN_ACTION


def test_many_facts_span_several_words():
    blocks = vocab.block_names(12)  # 12*12 + 3*12 + 1 facts: 3 uint64 words
    init = tuple(sorted([("clear", b) for b in blocks] + [("ontable", b) for b in blocks]
                        + [("handempty",)]))
    instance = Instance("v/12", "blocksworld", "blocksworld", blocks, init,
                        (("on", "l", "k"),), ())
    task = task_for(instance)
    plans = [["(pick-up l)", "(stack l k)"], ["(pick-up l)"], ["(stack l k)"], []]
    assert list(validate_many(task, plans)) == [validate(task, p) for p in plans]


_ACTION = st.sampled_from(["(pick-up a)", "(pick-up c)", "(put-down a)", "(stack a c)",
                           "(stack c b)", "(unstack a b)", "(unstack c b)", "(Stack A C)",
                           "(fly)", "(stack a)", "(stack a q)", "", "(("])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(_ACTION, st.sampled_from(PLAN)), max_size=10), max_size=20))
def test_batch_paths_agree_with_validate(plans):
    task = task_for(INSTANCE)
    expected = [validate(task, p) for p in plans]
    assert list(validate_many(task, plans)) == expected
    readable = [p for p in plans if all(re.fullmatch(r"\(\w[\w -]*\)", a) for a in p)]
    texts = list(validate_texts(task, ["\n".join(p) for p in readable]))
    assert texts == [validate(task, p) for p in readable]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=8))
def test_validate_never_raises(plan):
    task = task_for(INSTANCE)
    verdict = validate(task, plan, trace=True)
    assert verdict.valid == (verdict.reason is Reason.VALID)
    assert list(validate_many(task, [plan])) == [verdict]


# ---- PlanBench ground truth and the unified-planning cross-check --------------------------

def _planbench_sets(planbench):
    """(config, domain text, [(problem path, plan text)]) for every config with plans."""
    for folder in sorted((planbench / "instances").iterdir()):
        info = folder / "info.json"
        derived = folder / "ground_truth_plans_DERIVED.json"
        if info.exists():
            plans = {k: v["plan"] for k, v in json.loads(info.read_text()).items()}
        elif derived.exists():
            plans = json.loads(derived.read_text())["plans"]
        else:
            continue
        domain = next(folder.glob("generated_domain*.pddl")).read_text()
        pairs = [(_problem_file(folder, name), plan) for name, plan in sorted(plans.items())]
        yield folder.name, domain, pairs


def _problem_file(folder, name):
    path = folder / name
    return path if path.exists() else folder / name.replace(".pddl", "_DERIVED.pddl")


def _invalid_ground_truth(job):
    """The (problem, verdict) pairs of a chunk of ground-truth plans that do not validate."""
    config, domain, pairs = job
    bad = []
    for problem, plan in pairs:
        task = pddl.read_task(domain, problem.read_text(), config, str(problem))
        verdict = validate(task, pddl.parse_plan(plan))
        if not verdict.valid:
            bad.append((str(problem), verdict))
    return len(pairs), bad


def test_every_planbench_ground_truth_plan_is_valid(planbench):
    sets = list(_planbench_sets(planbench))
    jobs = [(config, domain, pairs[half::2]) for config, domain, pairs in sets for half in (0, 1)]
    with ProcessPoolExecutor(2) as pool:  # reading ~1,900 problems with unified-planning
        results = list(pool.map(_invalid_ground_truth, jobs))
    assert [bad for _, bad in results if bad] == []
    assert len(sets) == 7 and sum(n for n, _ in results) > 1_900


def _blocksworld_instance(text: str, name: str, vocabulary: str) -> Instance:
    """A PlanBench Blocksworld problem as a canonical Instance in another vocabulary."""
    init_text, goal_text = text.split("(:goal")
    facts = lambda part: tuple(sorted(tuple(f.split()) for f in re.findall(r"\(([a-z -]+)\)", part)
                                      if f.split()[0] in vocab.PREDICATES))  # noqa: E731
    blocks = tuple(sorted(set(re.search(r"\(:objects([^)]*)\)", text).group(1).split())))
    return Instance(name, "randomized", vocabulary, blocks, facts(init_text), facts(goal_text), ())


def _cross_check_problems(planbench):
    """(domain text, problem text, ground-truth plan) across the three domains."""
    rng = random.Random(0)
    for config, domain, pairs in _planbench_sets(planbench):
        if config in ("blocksworld", "mystery_blocksworld", "obfuscated_randomized_blocksworld"):
            for problem, plan in rng.sample(pairs, 8):
                yield domain, problem.read_text(), pddl.parse_plan(plan)
        if config == "blocksworld":
            for seed, (problem, plan) in enumerate(rng.sample(pairs, 8)):
                words = vocab.get(f"randomized:{seed}")
                instance = _blocksworld_instance(problem.read_text(), f"x/{seed}", words.name)
                plan = [words.fact(tuple(a.strip("()").split())) for a in pddl.parse_plan(plan)]
                yield DOMAINS[words.domain].domain_pddl(words), instance_pddl(instance)[1], plan
    for config in ("logistics", "obfuscated_deceptive_logistics", "obfuscated_randomized_logistics"):
        folder = planbench / "instances" / config
        domain = (folder / "generated_domain.pddl").read_text()
        for number in rng.sample(range(1, 286), 4):
            text = (folder / f"instance-{number}.pddl").read_text()
            yield domain, text, _walk(pddl.read_task(domain, text), rng)


def _walk(task, rng, steps: int = 8) -> list[str]:
    """A random walk of applicable actions (PlanBench ships no Logistics plans)."""
    state, plan = task.init, []
    for _ in range(steps):
        i = rng.choice(task.applicable(state))
        state, plan = (state & ~task.delete[i]) | task.add[i], plan + [task.actions[i]]
    return plan


def _variants(plan, task, rng):
    """A valid plan, a truncation, a swap, a mutation and a random extension of it."""
    cut = plan[:rng.randrange(len(plan))]
    swapped = list(plan)
    i = rng.randrange(len(plan) - 1)
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    mutated = list(plan)
    mutated[rng.randrange(len(plan))] = _random_action(task, rng)
    extended = plan[:rng.randrange(len(plan))] + [_random_action(task, rng)
                                                 for _ in range(rng.randrange(1, 4))]
    return [plan, cut, swapped, mutated, extended]


def _random_action(task, rng) -> str:
    """A reachable ground action, or (half the time) an action over any objects at all, which
    an untyped domain instantiates only when a plan names it."""
    if rng.random() < 0.5:
        return task.actions[rng.choice(task.reachable)]
    action = rng.choice(task.schema.actions)
    return action.head.format(*rng.choices(sorted(task.objects), k=len(action.params)))


def _disagreements(job):
    """(plans checked, reasons seen, disagreements) of unified-planning's validator and ours."""
    from unified_planning.engines import SequentialPlanValidator
    from unified_planning.io import PDDLReader
    from unified_planning.plans import ActionInstance, SequentialPlan

    problems, per_problem, seed = job
    rng, checked, kinds, disagree = random.Random(seed), 0, set(), []
    up_validator = SequentialPlanValidator()
    for domain, text, plan in problems:
        task = pddl.read_task(domain, text)
        up_problem = PDDLReader().parse_problem_string(pddl.up_readable(domain), text)
        plans = [p for _ in range(per_problem) for p in _variants(plan, task, rng)]
        for plan_, ours in zip(plans, validate_many(task, plans)):
            steps = [ActionInstance(up_problem.action(a.strip("()").split()[0]),
                                    [up_problem.object(o) for o in a.strip("()").split()[1:]])
                     for a in plan_]
            theirs = up_validator.validate(up_problem, SequentialPlan(steps))
            expected = "VALID" if ours.valid else \
                "INAPPLICABLE_ACTION" if ours.failed_step is not None else "UNSATISFIED_GOALS"
            got = theirs.status.name if theirs.status.name == "VALID" else theirs.reason.name
            if got != expected:
                disagree.append((plan_, ours, got))
            checked += 1
            kinds.add(ours.reason)
    return checked, kinds, disagree


def test_verdicts_agree_with_unified_planning(planbench):
    problems = list(_cross_check_problems(planbench))
    per_problem = CROSS_CHECK_PLANS // (5 * len(problems)) + 1
    jobs = [(problems[half::2], per_problem, half) for half in (0, 1)]
    with ProcessPoolExecutor(2) as pool:  # unified-planning's validator needs ~10 ms a plan
        results = list(pool.map(_disagreements, jobs))
    assert [d for _, _, disagree in results for d in disagree] == []
    assert sum(checked for checked, _, _ in results) >= CROSS_CHECK_PLANS
    kinds = set().union(*(k for _, k, _ in results))
    assert {Reason.VALID, Reason.INAPPLICABLE, Reason.GOAL_NOT_REACHED} <= kinds


def test_memories_stay_bounded(monkeypatch):
    from planbench_scale.symbolic import validate as module

    monkeypatch.setattr(module, "MAX_LINES", 50)
    task = task_for(INSTANCE)
    texts = [f"{n}: (pick-up c)\n; note {n}\n" for n in range(500)]
    assert all(v.reason is Reason.GOAL_NOT_REACHED for v in validate_texts(task, texts))
    assert len(module._tables(task).lines) <= 50
