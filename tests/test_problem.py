import functools
import random
import re
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import given, settings, strategies as st

from planbench_scale.errors import PDDLError
from planbench_scale.symbolic import pddl
from planbench_scale.symbolic.problem import read_problem
from planbench_scale.symbolic.schema import read_domain

DOMAIN = """(define (domain d) (:requirements :strips :typing)
  (:types block)
  (:predicates (on ?x ?y - block) (clear ?x - block) (handempty))
  (:action take :parameters (?x ?y - block) :precondition (and (on ?x ?y) (clear ?x))
   :effect (and (clear ?y) (not (on ?x ?y)))))"""
PROBLEM = """(define (problem p) (:domain d)
  (:objects a b - block)
  (:init (on a b) (clear a) (handempty))
  (:goal (and (clear b) (handempty))))"""


def _up_facts(domain: str, problem: str):
    """(objects, init facts, goal facts) as unified-planning reads them."""
    up = _up_problem(domain.lower(), problem.lower())
    fact = lambda f: "(" + " ".join([f.fluent().name, *map(str, f.args)]) + ")"  # noqa: E731
    goals = [g for goal in up.goals for g in (goal.args if goal.is_and() else [goal])]
    return ({o.name for o in up.all_objects},
            {fact(f) for f, v in up.explicit_initial_values.items() if v.is_true()},
            {fact(g) for g in goals})


@functools.lru_cache(maxsize=1)
def _up_domain(domain: str):
    """unified-planning's parse of a domain (its private helpers, only to test in seconds
    what its public reader takes minutes for: every PlanBench problem)."""
    from unified_planning.io import PDDLReader
    from unified_planning.io.utils import parse_string

    reader = PDDLReader()
    return reader, parse_string(reader._pp_domain, domain, parse_all=True)


def _up_problem(domain: str, problem: str):
    from unified_planning.io.utils import parse_string

    domain = pddl.up_readable(domain)
    reader, parsed = _up_domain(domain)
    return reader._parse_problem(parsed, domain, parse_string(reader._pp_problem, problem,
                                                               parse_all=True), problem)


def _ours(domain: str, problem: str):
    read = read_problem(read_domain(domain), problem)
    return {o for o, _ in read.objects}, set(read.init), set(read.goal)


def _problems(planbench):
    """(config, domain text, problem path) of every PlanBench problem."""
    for folder in sorted((planbench / "instances").iterdir()):
        domain = next(folder.glob("generated_domain*.pddl")).read_text()
        for problem in sorted(folder.glob("instance-*.pddl")):
            yield folder.name, domain, problem


def _disagreements(job):
    domain, paths = job
    return [str(p) for p in paths if _ours(domain, p.read_text()) != _up_facts(domain, p.read_text())]


def test_every_planbench_problem_reads_as_unified_planning_reads_it(planbench):
    by_config: dict = {}
    for config, domain, path in _problems(planbench):
        by_config.setdefault((config, domain), []).append(path)
    jobs = [(domain, paths[half::2]) for (_, domain), paths in by_config.items() for half in (0, 1)]
    with ProcessPoolExecutor(2) as pool:  # unified-planning reads a problem in ~50 ms
        assert [bad for bad in pool.map(_disagreements, jobs) if bad] == []
    assert len(by_config) == 12 and sum(map(len, by_config.values())) > 2_800


def _up_ground(domain: str, problem: str) -> dict:
    """Ground action -> (pre, add, delete) fact sets, by unified-planning's grounder."""
    from unified_planning.plans import ActionInstance
    from unified_planning.shortcuts import CompilationKind, Compiler, get_environment

    get_environment().credits_stream = None
    up = _up_problem(domain.lower(), problem.lower())
    with Compiler(problem_kind=up.kind, compilation_kind=CompilationKind.GROUNDING) as grounder:
        result = grounder.compile(up, CompilationKind.GROUNDING)
    fact = lambda f: "(" + " ".join([f.fluent().name, *map(str, f.args)]) + ")"  # noqa: E731
    ground = {}
    for action in result.problem.actions:
        lifted = result.map_back_action_instance(ActionInstance(action))
        name = "(" + " ".join([lifted.action.name, *map(str, lifted.actual_parameters)]) + ")"
        pre = {fact(c) for p in action.preconditions for c in (p.args if p.is_and() else [p])}
        add = {fact(e.fluent) for e in action.effects if e.value.bool_constant_value()}
        delete = {fact(e.fluent) for e in action.effects if not e.value.bool_constant_value()}
        ground[name] = pre, add, delete - add
    return ground


def _our_ground(domain: str, problem: str, names) -> dict:
    """Our ground actions of those names (each instantiated when named), and check that the
    relaxed-reachable ones are among them."""
    task = pddl.read_task(domain, problem)
    found = {a: task.find(a) for a in names}
    assert {task.actions[i] for i in task.reachable} <= set(names)
    changed = {atom[1:].split()[0] for action in task.schema.actions
               for atom in (*action.add, *action.delete)}
    dynamic = lambda facts: {f for f in facts if f[1:].split()[0] in changed}  # noqa: E731
    # unified-planning's grounder leaves out the preconditions no action changes (true in the init)
    return {a: (dynamic(task.fact_names(task.pre[i])), *(set(task.fact_names(m[i]))
                                                          for m in (task.add, task.delete)))
            for a, i in found.items()}


def test_ground_actions_match_unified_planning_grounder(planbench):
    rng = random.Random(0)
    by_config: dict = {}
    for config, domain, path in _problems(planbench):
        by_config.setdefault(config, (domain, []))[1].append(path)
    for config, (domain, paths) in by_config.items():
        for path in rng.sample(paths, 2):
            theirs = _up_ground(domain, path.read_text())
            assert _our_ground(domain, path.read_text(), theirs) == theirs, path


_NAMES = ["a", "B", "c1", "Dd", "e-2", "f_x"]


@st.composite
def _problem_texts(draw):
    """A PDDL problem over DOMAIN with random objects, facts, case, comments and layout."""
    objects = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=5, unique=True))
    atom = st.one_of(st.tuples(st.sampled_from(["on", "ON"]), st.sampled_from(objects),
                               st.sampled_from(objects)),
                     st.tuples(st.sampled_from(["clear", "Clear"]), st.sampled_from(objects)),
                     st.just(("HandEmpty",)))
    init, goal = draw(st.lists(atom, max_size=8)), draw(st.lists(atom, min_size=1, max_size=4))
    gap = draw(st.sampled_from([" ", "\n  ", " ; a comment (not read\n ", "\t"]))
    write = lambda atoms: gap.join("(" + " ".join(a) + ")" for a in atoms)  # noqa: E731
    goal_text = write(goal) if len(goal) == 1 and draw(st.booleans()) else f"(AND {write(goal)})"
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (f"{bom}(define (PROBLEM p){gap}(:domain D){gap}(:objects {' '.join(objects)} - block)"
            f"{gap}(:init {write(init)}){gap}(:goal {goal_text}))")


@settings(max_examples=40, deadline=None)
@given(_problem_texts())
def test_generated_problems_read_as_unified_planning_reads_them(text):
    assert _ours(DOMAIN, text) == _up_facts(DOMAIN, text.lstrip("\ufeff"))


@pytest.mark.parametrize("goal, feature", [
    ("(not (clear b))", "negative goals (not)"),
    ("(or (clear b) (handempty))", "disjunctive conditions (or)"),
    ("(forall (?x - block) (clear ?x))", "universal conditions (forall)"),
    ("(exists (?x - block) (clear ?x))", "existential conditions (exists)"),
    ("(imply (clear a) (clear b))", "implications (imply)"),
    ("(= a b)", "equality in the goal"),
    ("(not (= a b))", "equality in the goal"),
])
def test_goals_beyond_strips_are_refused_where_written(goal, feature):
    problem = PROBLEM.replace("(and (clear b) (handempty))", f"(and (clear a)\n   {goal})")
    assert _refusal(problem, feature) == (5, 4)


def _refusal(problem: str, words: str) -> tuple[int, int]:
    """(line, column) of the PDDLError reading `problem`, which must say `words`."""
    with pytest.raises(PDDLError, match=re.escape(words)) as error:
        pddl.read_task(DOMAIN, problem, "d.pddl", "p.pddl")
    assert error.value.file == "p.pddl"
    return error.value.line, error.value.column


@pytest.mark.parametrize("section, feature", [
    ("(:constraints (clear a))", "constraints (:constraints)"),
    ("(:metric minimize (total-cost))", "plan metrics (:metric)"),
    ("(:frobs)", "unknown problem section :frobs"),
])
def test_problem_sections_beyond_strips_are_named(section, feature):
    assert _refusal(PROBLEM[:-1] + "\n  " + section + ")", feature) == (5, 3)


@pytest.mark.parametrize("fact, words", [
    ("(not (clear a))", "negative initial facts (not)"),
    ("(= (cost) 3)", "numeric fluents (=)"),
])
def test_init_beyond_strips_is_named(fact, words):
    assert _refusal(PROBLEM.replace("(clear a)", fact, 1), words)[0] == 3


def test_a_problem_for_another_domain_is_refused_with_both_names():
    with pytest.raises(PDDLError, match="for domain other-domain, but the domain read is d") as error:
        pddl.read_task(DOMAIN, PROBLEM.replace("(:domain d)", "(:domain Other-Domain)"),
                       "d.pddl", "p.pddl")
    assert (error.value.file, error.value.line, error.value.column) == ("p.pddl", 1, 30)


def test_types_of_objects_are_checked():
    typed = DOMAIN.replace("(:types block)", "(:types block ball)")
    with pytest.raises(PDDLError, match="c is not a block") as error:
        pddl.read_task(typed, PROBLEM.replace("a b - block", "a b - block c - ball").replace(
            "(clear a)", "(clear c)"), "d.pddl", "p.pddl")
    assert error.value.line == 3
    with pytest.raises(PDDLError, match="unknown type bal"):
        pddl.read_task(typed, PROBLEM.replace("a b - block", "a b - bal"))


def test_bom_case_and_comments_are_accepted():
    upper = "\ufeff; a problem\n" + PROBLEM.upper().replace("BLOCK", "block")
    task = pddl.read_task("\ufeff" + DOMAIN, upper, "d.pddl", "p.pddl")
    assert task.name == "p" and task.fact_names(task.goal) == ("(handempty)", "(clear b)")
    assert task.fact_names(task.init) == ("(on a b)", "(clear a)", "(handempty)")


def test_a_file_that_is_not_pddl_is_not_echoed_back(tmp_path):
    secret = "root:x:0:0:root:/root:/bin/bash\n" + "token=" + "x" * 200 + "\n" + "more secrets\n" * 40
    long = "y" * 500
    for text in (secret, "(" + secret, "(define (problem p) " + secret + ")",
                 PROBLEM.replace("(handempty))))", f"({long}))))"),
                 PROBLEM.replace("(on a b)", f"(on a {long})"),
                 PROBLEM.replace("(:domain d)", f"(:domain {long})"),
                 PROBLEM.replace("(:objects", f"({long}").replace("a b - block", "a - " + long)):
        with pytest.raises(PDDLError) as error:
            pddl.read_task(DOMAIN, text, "d.pddl", "secret.txt")
        message = str(error.value)
        assert message.startswith("secret.txt:") and "more secrets" not in message
        assert "x" * 81 not in message and "y" * 81 not in message and len(message) < 300
