from planbench_scale.domains import blocksworld
from planbench_scale.domains import DOMAINS, instance_pddl
from planbench_scale.symbolic import pddl
from planbench_scale.domains.blocksworld import vocab
from planbench_scale.records import Instance

def _words(text):
    return text.replace("(", " ( ").replace(")", " ) ").split()


def test_mystery_domain_matches_planbench_modulo_layout(planbench):
    ours = _words(DOMAINS["mystery"].domain_pddl(vocab.get("mystery")))
    theirs = _words((planbench / "instances" / "mystery_blocksworld" / "generated_domain.pddl").read_text())
    assert ours == theirs


def test_blocksworld_domain_is_identity():
    assert DOMAINS["blocksworld"].domain_pddl(vocab.get("blocksworld")) == blocksworld.FILES.joinpath("domain.pddl").read_text()


def test_problem_in_vocabulary():
    inst = Instance("x/1", "mystery", "mystery", ("a", "b"),
                    (("clear", "a"), ("handempty",), ("on", "a", "b"), ("ontable", "b")),
                    (("on", "b", "a"),), ())
    text = instance_pddl(inst)[1]
    assert "(:domain mystery-4ops)" in text
    assert "(craves a b)" in text and "(harmony)" in text and "(craves b a)" in text


# ---- reading tasks -----------------------------------------------------------------------

import pytest
from hypothesis import given, strategies as st

from planbench_scale.errors import PDDLError, PlanSyntaxError

DOMAIN = """(define (domain d) (:requirements :strips)
  (:predicates (p ?x) (q))
  (:action go :parameters (?x) :precondition (and (p ?x) (q)) :effect (and (not (p ?x)))))"""
PROBLEM = "(define (problem y) (:domain d) (:objects o1 o2) (:init (p o1) (q)) (:goal (q)))"


def test_read_task_planbench_mystery(planbench):
    folder = planbench / "instances" / "mystery_blocksworld"
    task = pddl.read_task((folder / "generated_domain.pddl").read_text(),
                          (folder / "instance-1.pddl").read_text())
    assert {task.actions[i].split()[0] for i in task.reachable} == \
        {"(attack", "(succumb", "(overcome", "(feast"}
    assert "(harmony)" in task.fact_names(task.init)


@pytest.mark.parametrize("domain, feature", [
    (DOMAIN.replace(":effect (and (not (p ?x)))", ":effect (when (q) (not (p ?x)))"),
     "conditional effects"),
    (DOMAIN.replace("(q))\n", "(q)) (:functions (f))\n").replace(
        "(and (not (p ?x)))", "(and (increase (f) 1))"), "numeric fluents"),
    (DOMAIN.replace("(:action go", "(:derived (q) (p o1)) (:action go"), "derived predicates"),
    (DOMAIN.replace("(:action go :parameters (?x) :precondition (and (p ?x) (q))",
                    "(:durative-action go :parameters (?x) :duration (= ?duration 1) "
                    ":condition (at start (p ?x))").replace("(and (not (p ?x)))",
                                                              "(at end (not (p ?x)))"),
     "durative actions"),
    (DOMAIN.replace("(and (p ?x) (q))", "(and (not (p ?x)) (q))"), "negative preconditions"),
    (DOMAIN.replace("(and (p ?x) (q))", "(or (p ?x) (q))"), "disjunctive conditions"),
])
def test_unsupported_features_are_named(domain, feature):
    with pytest.raises(PDDLError, match=feature) as error:
        pddl.read_task(domain, PROBLEM, "d.pddl", "p.pddl")
    assert error.value.file == "d.pddl" and error.value.line and error.value.column


def test_malformed_pddl_has_file_line_column():
    with pytest.raises(PDDLError) as error:
        pddl.read_task(DOMAIN, PROBLEM.replace("(:goal (q)))", "(:goal (q))\n"), "d.pddl", "p.pddl")
    assert (error.value.file, error.value.line) == ("p.pddl", 2)
    with pytest.raises(PDDLError) as error:
        pddl.read_task(DOMAIN + " junk", PROBLEM, "d.pddl", "p.pddl")
    assert (error.value.file, error.value.line, error.value.column) == ("d.pddl", 3, len(DOMAIN.split("\n")[2]) + 2)


@pytest.mark.parametrize("problem, name", [
    (PROBLEM.replace("(q))", "(r o2))"), "(r o2)"),
    (PROBLEM.replace("(:goal (q))", "(:goal (p o9))"), "o9"),
])
def test_unknown_names_point_into_the_problem(problem, name):
    with pytest.raises(PDDLError, match=name.replace("(", r"\(").replace(")", r"\)")) as error:
        pddl.read_task(DOMAIN, problem, "d.pddl", "p.pddl")
    assert error.value.file == "p.pddl" and error.value.line == 1


def test_huge_and_empty_pddl_are_refused():
    with pytest.raises(PDDLError, match="too large"):
        pddl.read_task(DOMAIN + " " * pddl.MAX_PDDL_CHARS, PROBLEM)
    with pytest.raises(PDDLError, match="empty"):
        pddl.read_task(DOMAIN, "  \n")


# ---- plans -------------------------------------------------------------------------------

def test_parse_plan_usual_forms():
    text = ("; a plan\n1: (Stack A B)\n\n2. ( unstack  b c )\n3 (pick-up a) ; note\n"
            "0.000: (put-down a) [1]\n(stack a b)\r\n; cost = 5 (unit cost)\n")
    assert pddl.parse_plan(text) == ["(stack a b)", "(unstack b c)", "(pick-up a)",
                                     "(put-down a)", "(stack a b)"]
    assert pddl.parse_plan("") == [] and pddl.parse_plan("; cost = 0\n") == []


def test_parse_plan_error_has_line_and_column():
    with pytest.raises(PlanSyntaxError) as error:
        pddl.parse_plan("(stack a b)\n   stack a b\n", "plan.txt")
    assert (error.value.file, error.value.line, error.value.column) == ("plan.txt", 2, 4)
    with pytest.raises(PlanSyntaxError, match="too large"):
        pddl.parse_plan("\n" * (pddl.MAX_PLAN_CHARS + 1))


_NAME = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,8}", fullmatch=True)
_ACTIONS = st.lists(st.lists(_NAME, min_size=1, max_size=4).map(lambda w: f"({' '.join(w)})"),
                    max_size=30)


@given(_ACTIONS, st.data())
def test_parse_plan_round_trips_any_numbering(actions, data):
    prefixes = data.draw(st.lists(st.sampled_from(["", "1: ", "12. ", " 3 ", "0.500: "]),
                                  min_size=len(actions), max_size=len(actions)))
    text = "".join(p + a + "\n" for p, a in zip(prefixes, actions))
    assert pddl.parse_plan(text) == [a.lower() for a in actions]
    assert pddl.parse_plan(pddl.format_plan(pddl.parse_plan(text))) == pddl.parse_plan(text)


@given(st.text(max_size=200))
def test_parse_plan_reads_or_says_where(text):
    try:
        actions = pddl.parse_plan(text)
    except PlanSyntaxError as error:
        assert 1 <= error.line <= text.count("\n") + 1 and error.column >= 1
    else:
        assert all(a.startswith("(") and a.endswith(")") and a == a.lower() for a in actions)


def test_equality_in_the_goal_is_named():
    problem = PROBLEM.replace("(:goal (q))", "(:goal (and (q) (= o1 o2)))")
    with pytest.raises(PDDLError, match="equality in the goal") as error:
        pddl.read_task(DOMAIN.replace(":strips", ":strips :equality"), problem, "d.pddl", "p.pddl")
    assert (error.value.file, error.value.line, error.value.column) == ("p.pddl", 1, 85)
