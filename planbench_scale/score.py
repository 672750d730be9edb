"""Scoring an answer: the plan a completion states, and the validator's verdict on it."""

from __future__ import annotations

from planbench_scale.domains import task_for
from planbench_scale.records import Extraction, Instance, Verdict
from planbench_scale.symbolic.validate import validate
from planbench_scale.text.extract import extract


def check(instance: Instance, text: str, templates: str = "default") -> tuple[Extraction, Verdict]:
    """Extract the plan an answer states and validate it against the instance."""
    extraction = extract(text, instance, templates)
    return extraction, validate(task_for(instance), extraction.actions)
