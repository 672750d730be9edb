import re

import pytest

from planbench_scale.errors import PDDLError
from planbench_scale.symbolic.schema import read_domain

DOMAIN = """(define (domain d) (:requirements :strips :equality)
  (:constants hand)
  (:predicates (p ?x) (q) (at ?x ?y))
  (:action go :parameters (?x ?y)
   :precondition (and (p ?x) (q) (not (= ?x ?y)))
   :effect (and (at ?x hand) (not (p ?x)))))"""


def test_schema_holds_templates_tests_and_constants():
    schema = read_domain(DOMAIN)
    (go,) = schema.actions
    assert (schema.name, schema.constants, go.head) == ("d", (("hand", "object"),), "(go {0} {1})")
    assert go.pre == ("(p {0})", "(q)") and go.tests == ((False, "{0}", "{1}"),)
    assert go.add == ("(at {0} hand)",) and go.delete == ("(p {0})",)
    assert schema.predicates == {"p": ("object",), "q": (), "at": ("object", "object")}


def test_a_domain_text_is_read_once():
    assert read_domain(DOMAIN, "d.pddl") is read_domain(DOMAIN, "d.pddl")


@pytest.mark.parametrize("old, new, feature, position", [
    ("(q) (not", "(not (q)) (not", "negative preconditions (not)", (5, 30)),
    ("(and (p ?x) (q)", "(and (p ?x) (or (q) (p ?y))", "disjunctive conditions (or)", (5, 30)),
    ("(and (p ?x) (q)", "(and (p ?x) (exists (?z) (q))", "existential conditions (exists)", (5, 30)),
    ("(and (at ?x hand)", "(and (when (q) (at ?x hand))", "conditional effects (when)", (6, 17)),
    ("(and (at ?x hand)", "(and (forall (?z) (at ?x ?z))", "universal effects (forall)", (6, 17)),
    ("(:constants hand)", "(:constants hand) (:functions (f))", "numeric fluents (:functions)", (2, 21)),
    ("(:action go", "(:derived (q) (p hand)) (:action go", "derived predicates (:derived)", (4, 3)),
    ("(:action go", "(:durative-action go", "durative actions (:durative-action)", (4, 3)),
])
def test_features_beyond_strips_are_refused_where_written(old, new, feature, position):
    with pytest.raises(PDDLError, match=re.escape(feature)) as error:
        read_domain(DOMAIN.replace(old, new, 1), "d.pddl")
    assert (error.value.file, error.value.line, error.value.column) == ("d.pddl", *position)


@pytest.mark.parametrize("old, new, words", [
    ("(at ?x hand)", "(at ?x)", "at takes 2 arguments, not 1"),
    ("(at ?x hand)", "(at ?x ?z)", "unknown variable ?z"),
    ("(at ?x hand)", "(at ?x foot)", "unknown object foot"),
    ("(at ?x hand)", "(fly ?x)", "unknown predicate fly"),
    ("(:constants hand)", "(:constants hand - tool)", "unknown type tool"),
    (":effect", ":after", "unknown action part :after"),
])
def test_bad_domains_say_what_and_where(old, new, words):
    with pytest.raises(PDDLError, match=re.escape(words)) as error:
        read_domain(DOMAIN.replace(old, new, 1), "d.pddl")
    assert error.value.file == "d.pddl" and error.value.line is not None


def test_types_know_their_ancestors():
    typed = DOMAIN.replace("(:constants hand)", "(:types ball box - thing thing) (:constants hand)")
    types = read_domain(typed).types
    assert types["ball"] == {"ball", "thing", "object"} and types["thing"] == {"thing", "object"}
    with pytest.raises(PDDLError, match="its own ancestor"):
        read_domain(DOMAIN.replace("(:constants hand)", "(:types a - b b - a) (:constants hand)"))
