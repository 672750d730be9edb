import json
import os
import random

import pytest

from planbench_scale.symbolic import batch, validate
from planbench_scale.symbolic.batch import validate_jsonl

DOMAIN = """(define (domain d) (:requirements :strips)
  (:predicates (at ?x) (link ?x ?y))
  (:action move :parameters (?x ?y) :precondition (and (at ?x) (link ?x ?y))
   :effect (and (at ?y) (not (at ?x)))))"""


def _problem(n: int, length: int = 5) -> str:
    """Problem n: a line of `length` + 1 places; the goal is the far end."""
    places = [f"p{i}" for i in range(length + 1)]
    links = " ".join(f"(link {a} {b})" for a, b in zip(places, places[1:]))
    return (f"(define (problem line{n}) (:domain d) (:objects {' '.join(places)})"
            f" (:init (at p0) {links}) (:goal (at {places[-1]})))")


def _plan(length: int = 5) -> str:
    return "\n".join(f"(move p{i} p{i + 1})" for i in range(length))


@pytest.fixture
def fresh(monkeypatch):
    """An empty task memory, and counts of problems read and tables built."""
    monkeypatch.setattr(batch, "_TASKS", batch._Tasks())
    counts = {"read": 0, "tables": 0}

    def counting(function, key):
        def wrapper(*args):
            counts[key] += 1
            return function(*args)
        return wrapper

    monkeypatch.setattr(batch, "read_task", counting(batch.read_task, "read"))
    monkeypatch.setattr(validate, "_Tables", counting(validate._Tables, "tables"))
    return counts


def _run(lines, *defaults):
    return [json.loads(row, parse_constant=_refuse) for row in validate_jsonl(lines, *defaults)]


def _refuse(constant):
    raise AssertionError(f"not strict JSON: {constant}")


def test_a_mix_of_many_problems_reads_each_once(tmp_path, fresh):
    (tmp_path / "d.pddl").write_text(DOMAIN)
    lines = []
    for n in range(150):  # more than the 64 tasks remembered before
        (tmp_path / f"p{n}.pddl").write_text(_problem(n))
        for k in range(1 + n % 5):
            plan = _plan() if k % 2 == 0 else _plan().replace("p0", "p1", 1)
            lines.append({"id": [n, k], "plan": plan, "problem": str(tmp_path / f"p{n}.pddl")})
    random.Random(0).shuffle(lines)
    rows = _run([json.dumps(line) for line in lines], str(tmp_path / "d.pddl"))
    assert [r["id"] for r in rows] == [line["id"] for line in lines]
    assert all(r["valid"] == (r["id"][1] % 2 == 0) for r in rows)
    assert fresh == {"read": 150, "tables": 0}  # 1-5 plans a problem: checked plan by plan


def test_memory_is_bounded_by_bytes_not_by_count(tmp_path, fresh, monkeypatch):
    monkeypatch.setattr(batch, "MAX_TASK_BYTES", 50_000)  # a task read grounds nothing: ~2.6 kB
    (tmp_path / "d.pddl").write_text(DOMAIN)
    for n in range(40):
        (tmp_path / f"p{n}.pddl").write_text(_problem(n))
    lines = [json.dumps({"plan": _plan(), "problem": str(tmp_path / f"p{n}.pddl")})
             for n in range(40)]
    assert all(r["valid"] for r in _run(lines, str(tmp_path / "d.pddl")))
    assert batch._TASKS.bytes <= 50_000 and 1 < len(batch._TASKS.tasks) < 40


def test_same_content_is_one_task_and_a_changed_file_is_read_again(tmp_path, fresh):
    (tmp_path / "d.pddl").write_text(DOMAIN)
    for name in ("a.pddl", "b.pddl"):
        (tmp_path / name).write_text(_problem(1))
    lines = [json.dumps({"plan": _plan(), "problem": str(tmp_path / name)})
             for name in ("a.pddl", "b.pddl", "a.pddl")]
    assert all(r["valid"] for r in _run(lines, str(tmp_path / "d.pddl")))
    assert fresh["read"] == 1
    (tmp_path / "a.pddl").write_text(_problem(1, length=6))
    os.utime(tmp_path / "a.pddl", ns=(1, 1))
    assert [r["valid"] for r in _run(lines, str(tmp_path / "d.pddl"))] == [False, True, False]
    assert fresh["read"] == 2


@pytest.mark.parametrize("line, echoed", [
    ('{"id": 7, "plan": 5}', 7),
    ('{"id": "x", "plan": ["(move p0 p1)", 3]}', "x"),
    ('{"id": {"k": [1]}}', {"k": [1]}),
    ('{"id": NaN, "plan": "(move p0 p1)"}', "NaN"),
    ('{"id": [Infinity, -Infinity], "plan": 5}', ["Infinity", "-Infinity"]),
    ('{"id": 1e999, "plan": "(move p0 p1)"}', "1e999"),
    ('{"id": 2.5, "plan": "(move p0 p1)"}', 2.5),
])
def test_ids_are_echoed_as_strict_json(tmp_path, line, echoed):
    (tmp_path / "d.pddl").write_text(DOMAIN)
    (tmp_path / "p.pddl").write_text(_problem(0))
    (row,) = _run([line], str(tmp_path / "d.pddl"), str(tmp_path / "p.pddl"))
    assert row["id"] == echoed


def test_a_file_named_as_problem_is_not_echoed_back(tmp_path):
    (tmp_path / "d.pddl").write_text(DOMAIN)
    (tmp_path / "secret").write_text("password=" + "z" * 300 + "\n" + "api key line\n" * 30)
    for name in ("secret", "d.pddl"):
        line = json.dumps({"id": 1, "plan": "(move p0 p1)", "problem": str(tmp_path / "secret"),
                           "domain": str(tmp_path / name)})
        (row,) = _run([line])
        assert "secret" in row["error"] and "api key" not in row["error"]
        assert "z" * 81 not in row["error"]
