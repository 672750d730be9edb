import subprocess
import sys
from pathlib import Path

import pytest

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
    assert len(task.actions) == 3 + 3 + 2 * 9
    assert set(task.fact_names(task.init)) == {"(clear a)", "(clear c)", "(handempty)",
                                               "(on a b)", "(ontable b)", "(ontable c)"}
    assert task.fact_names(task.goal) == ("(on c a)",)
    stack = task.index["(stack c a)"]
    assert set(task.fact_names(task.pre[stack])) == {"(clear a)", "(holding c)"}
    assert set(task.fact_names(task.delete[stack])) == {"(clear a)", "(holding c)"}
    assert task.schemas == {"pick-up": 1, "put-down": 1, "stack": 2, "unstack": 2}


@pytest.mark.parametrize("name", ["mystery", "planbench-randomized", "randomized:7"])
def test_every_vocabulary_grounds_the_same_structure(name):
    plain = task_for(INSTANCE)
    renamed = task_for(Instance(**{**INSTANCE.__dict__, "vocabulary": name}))
    words = vocab.get(name)
    assert len(renamed.actions) == len(plain.actions) and len(renamed.facts) == len(plain.facts)
    assert words.fact(("stack", "c", "a")) in renamed.index
    assert renamed.fact_names(renamed.goal) == (words.fact(("on", "c", "a")),)


def test_task_for_is_cached():
    assert task_for(INSTANCE) is task_for(Instance(**INSTANCE.__dict__))


def test_types_constants_equality_and_add_after_delete():
    task = pddl.read_task(TYPED, TYPED_PROBLEM)
    # ?b ranges over balls only, ?to over every thing (balls, t1, the constant) except ?b
    assert len(task.actions) == 2 * 3
    assert "(move b1 b1)" not in task.index and "(move b1 hand)" in task.index
    move = task.index["(move b1 t1)"]
    assert set(task.fact_names(task.add[move])) == {"(free)", "(at b1 t1)"}
    assert task.delete[move] == 0  # (free) is deleted and added: the add wins


def test_too_many_ground_actions_are_refused(monkeypatch):
    monkeypatch.setattr(task_module, "MAX_GROUND_ACTIONS", 10)
    with pytest.raises(PDDLError, match="grounds to 24 actions"):
        domains.task_for.__wrapped__(INSTANCE)


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
try:
    pddl.read_task(open(sys.argv[1]).read(), open(sys.argv[2]).read(), "d.pddl", "p.pddl")
except PDDLError as error:
    print(error)
# VmHWM is this process image's own peak; ru_maxrss would include the forking parent's.
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print("peak MiB", int(peak.split()[1]) // 1024)
"""


def test_a_450_block_problem_is_refused_before_memory_grows(tmp_path):
    """The masks grow as the fourth power of the blocks: 450 on the table once took 8.6 GB."""
    (tmp_path / "d.pddl").write_text(blocksworld.FILES.joinpath("domain.pddl").read_text())
    (tmp_path / "p.pddl").write_text(_table_problem(450))
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(tmp_path / "d.pddl"),
                          str(tmp_path / "p.pddl")], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1])
    assert "p.pddl: the problem grounds to 405,900 actions over up to 203,851 facts" in out.stdout, \
        out.stderr[-2000:]
    assert int(out.stdout.split("peak MiB")[1]) < 1024


def test_a_140_block_problem_still_grounds():
    domain = blocksworld.FILES.joinpath("domain.pddl").read_text()
    task = pddl.read_task(domain, _table_problem(140))
    assert len(task.actions) == 2 * 140 + 2 * 140 * 140
    assert task_module.MAX_GROUND_BITS < len(task.actions) * len(task.facts) * 1.5


def test_instances_are_built_without_unified_planning():
    code = ("import sys; from planbench_scale.domains import task_for; import tests.test_task as t;"
            " task_for(t.INSTANCE); print('unified_planning' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_problems_over_the_same_objects_share_their_ground_actions():
    other = Instance(**{**INSTANCE.__dict__, "id": "t/2", "init": INSTANCE.init[::-1],
                        "goal": (("on", "a", "c"),)})
    first, second = task_for(INSTANCE), task_for(other)
    assert first.actions is second.actions
    assert second.facts[:6] == tuple(f"({' '.join(f)})" for f in INSTANCE.init[::-1])
    stack = second.index["(stack c a)"]
    assert set(second.fact_names(second.pre[stack])) == {"(clear a)", "(holding c)"}
    assert second.fact_names(second.goal) == ("(on a c)",)
