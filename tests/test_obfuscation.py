"""Generic obfuscation: renamings of any domain's predicates, actions and objects."""

from hypothesis import given, strategies as st

from planbench_scale.domains import obfuscation
from planbench_scale.domains.blocksworld import vocab as blocks

NAMES = ("on", "clear", "stack", "in-city")


@given(st.integers(-10**6, 10**6))
def test_a_seed_draws_the_same_distinct_tokens_and_they_read_back(seed):
    words = obfuscation.randomized("any", NAMES, seed)
    assert words == obfuscation.randomized("any", NAMES, seed) and words.name == f"randomized:{seed}"
    assert len({own for _, own in words.names}) == len(NAMES)
    assert all(words.canonical(words.own(n).upper()) == n for n in NAMES)
    assert words.obj("p0") != "p0" and words.obj("p0") == obfuscation.randomized("x", (), seed).obj("p0")
    assert obfuscation.seeded(words.name) == seed and obfuscation.seeded("mystery") is None


def test_renamed_pddl_keeps_variables_and_longer_names_and_drops_comments():
    words = obfuscation.Renaming("m", "d", "dm", (("in", "vase"), ("in-city", "collect")))
    text = "; in the city\n(define (domain d) (:predicates (in ?in ?x) (in-city ?x ?c)))"
    assert words.domain_pddl(text, "d") == "\n(define (domain dm) (:predicates (vase ?in ?x) (collect ?x ?c)))"
    assert words.fact(("in-city", "l0-1", "c0")) == "(collect l0-1 c0)" and words.index("l2-1") == 2


def test_blocksworld_draws_its_tokens_from_the_shared_function():
    assert blocks.randomized(3).own("on") == obfuscation.random_token("randomized:3:on")
