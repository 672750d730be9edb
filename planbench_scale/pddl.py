"""PDDL text: write domains and problems in any vocabulary."""

from __future__ import annotations

import re
from importlib import resources

from .records import Instance
from .vocab import Vocabulary, get


def canonical_domain() -> str:
    """The 4-operator Blocksworld domain shipped in planbench_scale/domains/."""
    return resources.files("planbench_scale").joinpath("domains/blocksworld.pddl").read_text()


def domain_pddl(vocab: Vocabulary) -> str:
    """The Blocksworld domain with every predicate, action and the domain name renamed."""
    renames = dict(vocab.names)
    renames["blocksworld-4ops"] = vocab.pddl_domain
    pattern = re.compile(r"(?<![\w?-])(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True)))
                         + r")(?![\w-])")
    return pattern.sub(lambda m: renames[m.group(1)], canonical_domain())


def problem_pddl(instance: Instance) -> str:
    """The instance as a PDDL problem in its own vocabulary."""
    vocab = get(instance.vocabulary)
    objects = " ".join(vocab.obj(b) for b in instance.blocks)
    init = "\n    ".join(vocab.fact(f) for f in instance.init)
    goal = "\n      ".join(vocab.fact(f) for f in instance.goal)
    return (f"(define (problem {_problem_name(instance.id)})\n"
            f"  (:domain {vocab.pddl_domain})\n"
            f"  (:objects {objects})\n"
            f"  (:init\n    {init})\n"
            f"  (:goal (and\n      {goal})))\n")


def _problem_name(instance_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", instance_id)
