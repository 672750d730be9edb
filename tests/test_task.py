import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale import domains
from planbench_scale.domains import blocksworld
from planbench_scale.symbolic import pddl
from planbench_scale.symbolic import task as task_module
from planbench_scale.domains.blocksworld import vocab
from planbench_scale.errors import PDDLError
from planbench_scale.records import Instance
from planbench_scale.domains import task_for

INSTANCE = Instance("t/1", "blocksworld", "blocksworld", ("a", "b", "c"),
                    (("clear", "a"), ("clear", "c"), ("handempty",), ("on", "a", "b"),
                     ("ontable", "b"), ("ontable", "c")),
                    (("on", "c", "a"),), (("pick-up", "c"), ("stack", "c", "a")))

TYPED = """(define (domain typed) (:requirements :typing :equality)
  (:types ball - thing thing)
  (:constants hand - thing)
  (:predicates (at ?x - thing ?y - thing) (free))
  (:action move :parameters (?b - ball ?to - thing)
    :precondition (and (free) (not (= ?b ?to)))
    :effect (and (at ?b ?to) (not (free)) (free))))"""
TYPED_PROBLEM = """(define (problem p) (:domain typed) (:objects b1 b2 - ball t1 - thing)
  (:init (free)) (:goal (at b1 t1)))"""


def test_blocksworld_grounding():
    task = task_for(INSTANCE)
    assert len(task.reachable) == 3 + 3 + 2 * 9
    assert set(task.fact_names(task.init)) == {"(clear a)", "(clear c)", "(handempty)",
                                               "(on a b)", "(ontable b)", "(ontable c)"}
    assert task.fact_names(task.goal) == ("(on c a)",)
    stack = task.index["(stack c a)"]
    assert set(task.fact_names(task.pre[stack])) == {"(clear a)", "(holding c)"}
    assert set(task.fact_names(task.delete[stack])) == {"(clear a)", "(holding c)"}
    assert task.schemas == {"pick-up": 1, "put-down": 1, "stack": 2, "unstack": 2}


def test_reading_grounds_nothing_and_a_named_action_is_instantiated_alone():
    domain, problem = domains.instance_pddl(INSTANCE)
    task = pddl.read_task(domain, problem)
    assert task.actions == [] and len(task.facts) == 7  # the init's six and the goal's one
    stack = task.find("( Stack  C A)")
    assert task.actions == ["(stack c a)"] and task.find("(stack c a)") == stack
    assert set(task.fact_names(task.add[stack])) == {"(on c a)", "(clear c)", "(handempty)"}
    for wrong in ("(stack c)", "(stack c z)", "(fly c a)", "()", ""):
        assert task.find(wrong) is None
    assert len(task.actions) == 1


@pytest.mark.parametrize("name", ["mystery", "planbench-randomized", "randomized:7"])
def test_every_vocabulary_grounds_the_same_structure(name):
    plain = task_for(INSTANCE)
    renamed = task_for(Instance(**{**INSTANCE.__dict__, "vocabulary": name}))
    words = vocab.get(name)
    assert len(renamed.reachable) == len(plain.reachable)
    assert len(renamed.facts) == len(plain.facts)
    assert renamed.find(words.fact(("stack", "c", "a"))) in renamed.reachable
    assert renamed.fact_names(renamed.goal) == (words.fact(("on", "c", "a")),)


def test_task_for_is_cached():
    assert task_for(INSTANCE) is task_for(Instance(**INSTANCE.__dict__))


def test_types_constants_equality_and_add_after_delete():
    task = pddl.read_task(TYPED, TYPED_PROBLEM)
    # ?b ranges over balls only, ?to over every thing (balls, t1, the constant) except ?b
    assert len(task.reachable) == 2 * 3
    assert task.find("(move b1 b1)") is None and task.find("(move b1 hand)") in task.reachable
    assert task.find("(move t1 b1)") is None  # t1 is no ball
    move = task.index["(move b1 t1)"]
    assert set(task.fact_names(task.add[move])) == {"(free)", "(at b1 t1)"}
    assert task.delete[move] == 0  # (free) is deleted and added: the add wins


def test_too_many_ground_actions_are_refused(monkeypatch):
    monkeypatch.setattr(task_module, "MAX_GROUND_ACTIONS", 10)
    with pytest.raises(PDDLError, match="grounds to more than 10 actions"):
        domains.task_for.__wrapped__(INSTANCE).reachable


def _table_problem(blocks: int) -> str:
    names = [f"b{i}" for i in range(blocks)]
    init = " ".join(f"(ontable {b}) (clear {b})" for b in names)
    return (f"(define (problem table) (:domain blocksworld-4ops) (:objects {' '.join(names)})"
            f" (:init (handempty) {init}) (:goal (and (on b0 b1))))")


_MEMORY_PROBE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from planbench_scale.errors import PDDLError
from planbench_scale.symbolic import pddl
from planbench_scale.symbolic.validate import validate
task = pddl.read_task(open(sys.argv[1]).read(), open(sys.argv[2]).read(), "d.pddl", "p.pddl")
print(validate(task, ["(pick-up b0)", "(stack b0 b1)"]).valid)
try:
    task.reachable
except PDDLError as error:
    print(error)
# VmHWM is this process image's own peak; ru_maxrss would include the forking parent's.
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print("peak MiB", int(peak.split()[1]) // 1024)
"""


def test_a_450_block_problem_validates_and_its_full_grounding_is_refused_before_memory_grows(tmp_path):
    """The masks grow as the fourth power of the blocks: 450 on the table once took 8.6 GB."""
    (tmp_path / "d.pddl").write_text(blocksworld.FILES.joinpath("domain.pddl").read_text())
    (tmp_path / "p.pddl").write_text(_table_problem(450))
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(tmp_path / "d.pddl"),
                          str(tmp_path / "p.pddl")], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1])
    assert out.stdout.startswith("True\n"), out.stderr[-2000:]
    assert "p.pddl: the problem grounds to 405,900 actions over up to 203,85" in out.stdout, \
        out.stderr[-2000:]  # 203,851 reached, and the facts of the plan's two actions
    assert int(out.stdout.split("peak MiB")[1]) < 1024


def test_a_140_block_problem_still_grounds():
    domain = blocksworld.FILES.joinpath("domain.pddl").read_text()
    task = pddl.read_task(domain, _table_problem(140))
    assert len(task.reachable) == 2 * 140 + 2 * 140 * 140
    assert task_module.MAX_GROUND_BITS < len(task.actions) * len(task.facts) * 1.5


def test_instances_are_built_without_unified_planning():
    code = ("import sys; from planbench_scale.domains import task_for; import tests.test_task as t;"
            " task_for(t.INSTANCE).reachable; print('unified_planning' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "False", out.stderr[-2000:]


# ---- relaxed reachability against a plain fixpoint over every binding ----------------------

def _naive_reachable(task) -> list[str]:
    """Every type-correct binding that passes the tests, kept when a plain fixpoint over all of
    them reaches its preconditions; in the schema's order, bindings as products of objects."""
    objects = list(task.kinds.items())
    candidates = []
    for action in task.schema.actions:
        domains_ = [[o for o, k in objects if kind in task.schema.types[k]] for kind in action.params]
        for values in itertools.product(*domains_):
            if all((l.format(*values) == r.format(*values)) == eq for eq, l, r in action.tests):
                candidates.append((action, values))
    reached, grew = set(task.fact_names(task.init)), True
    while grew:
        before = len(reached)
        for action, values in candidates:
            if all(p.format(*values) in reached for p in action.pre):
                reached |= {a.format(*values) for a in action.add}
        grew = len(reached) > before
    return [action.head.format(*values) for action, values in candidates
            if all(p.format(*values) in reached for p in action.pre)]


def _logistics(planbench, number: int) -> str:
    return (planbench / "instances" / "logistics" / f"instance-{number}.pddl").read_text()


@pytest.mark.parametrize("number", [1, 40, 137, 285])
def test_logistics_grounds_what_a_plain_fixpoint_reaches(planbench, number):
    domain = (planbench / "instances" / "logistics" / "generated_domain.pddl").read_text()
    task = pddl.read_task(domain, _logistics(planbench, number))
    ours = [task.actions[i] for i in task.reachable]
    assert ours == _naive_reachable(task)
    assert all(" ".join(a.split()[1:2]).startswith("t") for a in ours if "(drive-truck" in a)


REPEATS = """(define (domain repeats) (:requirements :strips)
  (:constants hub)
  (:predicates (link ?a ?b) (at ?a) (seen ?a) (loop ?a))
  (:action walk :parameters (?from ?to)
    :precondition (and (at ?from) (link ?from ?to)) :effect (and (at ?to) (not (at ?from))))
  (:action mark :parameters (?x) :precondition (and (at ?x) (link ?x ?x)) :effect (loop ?x))
  (:action home :parameters (?x ?y) :precondition (and (at hub) (seen ?x))
    :effect (and (at ?x)))
  (:action look :parameters (?x) :precondition (at ?x) :effect (seen ?x)))"""


@settings(max_examples=60, deadline=None)
@given(st.sets(st.tuples(st.sampled_from("abcd"), st.sampled_from(["a", "b", "c", "d", "hub"])),
               max_size=10),
       st.sampled_from(["a", "b", "hub"]))
def test_reachability_with_constants_repeated_and_unbound_parameters(links, start):
    init = " ".join(f"(link {x} {y})" for x, y in sorted(links)) + f" (at {start})"
    problem = f"(define (problem p) (:domain repeats) (:objects a b c d) (:init {init}) (:goal (at d)))"
    task = pddl.read_task(REPEATS, problem)
    assert [task.actions[i] for i in task.reachable] == _naive_reachable(task)
