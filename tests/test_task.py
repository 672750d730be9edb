import pytest

from planbench_scale import domains
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
