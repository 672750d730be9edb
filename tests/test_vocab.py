import pytest
from hypothesis import given, strategies as st

from planbench_scale.domains.blocksworld import vocab
from planbench_scale.errors import PlanbenchError


def test_mystery_is_planbench_renaming():
    v = vocab.get("mystery")
    assert v.fact(("stack", "a", "b")) == "(overcome a b)"
    assert v.fact(("on", "a", "b")) == "(craves a b)"
    assert v.canonical("Feast") == "unstack"


def test_planbench_randomized_objects_are_indexed():
    v = vocab.get("planbench-randomized")
    assert v.fact(("on", "a", "c")) == "(b6e9q4r60gagvdcn o0 o2)"
    assert v.canonical("u64y1a9apusmslxb") == "pick-up"


def test_randomized_seed_reproduces_and_differs():
    assert vocab.get("randomized:7") == vocab.randomized(7)
    assert vocab.randomized(7).names != vocab.randomized(8).names
    assert vocab.randomized(7).obj("b") == vocab.randomized(7).obj("b") != vocab.randomized(8).obj("b")


def test_randomized_names_are_distinct_pddl_names():
    v = vocab.randomized(3)
    own = [o for _, o in v.names] + [v.obj(b) for b in vocab.block_names(60)]
    assert len(set(own)) == len(own)
    assert all(o[0].isalpha() and o.isalnum() for o in own)


@given(st.integers(min_value=0, max_value=2000))
def test_block_name_round_trip(i):
    assert vocab.block_index(vocab.block_name(i)) == i


def test_unknown_vocabulary_is_clear_error():
    with pytest.raises(PlanbenchError, match="unknown vocabulary"):
        vocab.get("klingon")
