from planbench_scale import pddl, vocab
from planbench_scale.records import Instance

def _words(text):
    return text.replace("(", " ( ").replace(")", " ) ").split()


def test_mystery_domain_matches_planbench_modulo_layout(planbench):
    ours = _words(pddl.domain_pddl(vocab.get("mystery")))
    theirs = _words((planbench / "instances" / "mystery_blocksworld" / "generated_domain.pddl").read_text())
    assert ours == theirs


def test_blocksworld_domain_is_identity():
    assert pddl.domain_pddl(vocab.get("blocksworld")) == pddl.canonical_domain()


def test_problem_in_vocabulary():
    inst = Instance("x/1", "mystery", "mystery", ("a", "b"),
                    (("clear", "a"), ("handempty",), ("on", "a", "b"), ("ontable", "b")),
                    (("on", "b", "a"),), ())
    text = pddl.problem_pddl(inst)
    assert "(:domain mystery-4ops)" in text
    assert "(craves a b)" in text and "(harmony)" in text and "(craves b a)" in text
