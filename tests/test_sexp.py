import re

import pytest
from hypothesis import given, strategies as st

from planbench_scale.errors import PDDLError
from planbench_scale.symbolic import sexp
from planbench_scale.symbolic.sexp import Expr, Source


def _plain(expr):
    return [_plain(e) if isinstance(e, Expr) else str(e) for e in expr]


def test_words_are_lower_case_with_offsets_comments_and_bom_skipped():
    text = "\ufeff; header (not read\n(Define (Problem P1) ; note\n  (:objects A b))"
    tree = sexp.read(Source(text, "p.pddl"))
    assert _plain(tree) == ["define", ["problem", "p1"], [":objects", "a", "b"]]
    source = Source(text, "p.pddl")
    assert source.position(tree[2][1].at) == (3, 13)


@pytest.mark.parametrize("text, position, words", [
    ("(define (problem p)\n  (:init (a)", (2, 13), "expected ')' before the end of the text, "
                                                     "to close the '(' at line 2, column 3"),
    ("(a))", (1, 4), "unexpected ')'"),
    ("(a) (b)", (1, 5), "expected the end of the text"),
    ("root:x:0:0 (a)", (1, 1), "found the word root:x:0:0"),
    ("  ; nothing\n", (1, 1), "found no expression"),
])
def test_errors_say_where(text, position, words):
    with pytest.raises(PDDLError, match=re.escape(words)) as error:
        sexp.read(Source(text, "f.pddl"))
    assert (error.value.file, error.value.line, error.value.column) == ("f.pddl", *position)


def test_errors_quote_at_most_a_short_excerpt_of_one_line():
    secret = "(x " + "s3cr3t " * 100 + "\n" + "second line secret\n" * 50
    with pytest.raises(PDDLError) as error:
        sexp.read(Source(secret, "f"))
    message = str(error.value)
    assert "second line" not in message and message.count("s3cr3t") <= sexp.EXCERPT // 7
    assert len(message) < 250


def test_typed_lists():
    tree = sexp.read(Source("(a b - t c d - u e)", None))
    assert [(str(n), str(k)) for n, k in sexp.typed_list(Source("", None), tree, "object")] == [
        ("a", "t"), ("b", "t"), ("c", "u"), ("d", "u"), ("e", "object")]
    with pytest.raises(PDDLError, match="'-' and one type name"):
        sexp.typed_list(Source("(a -)", None), sexp.read(Source("(a -)", None)), "object")


_WORD = st.from_regex(r"[A-Za-z?:=-][A-Za-z0-9_-]{0,5}", fullmatch=True)
_TREE = st.recursive(_WORD, lambda inner: st.lists(inner, max_size=4), max_leaves=20)


def _write(tree, gaps) -> str:
    if isinstance(tree, str):
        return tree
    return "(" + next(gaps).join(_write(t, gaps) for t in tree) + ")"


@given(st.lists(_TREE, max_size=4), st.sampled_from([" ", "\n", " ; c\n", "\t "]))
def test_read_inverts_writing_with_any_spacing_and_case(children, gap):
    gaps = iter(lambda: gap, None)
    tree = sexp.read(Source(_write(["define", *children], gaps), None))
    lower = lambda t: t.lower() if isinstance(t, str) else [lower(c) for c in t]  # noqa: E731
    assert _plain(tree) == lower(["define", *children])
