"""The one place a `Verdict` becomes words or JSON: a line, the CLI's text, a JSON object.

`explain` is the one-line reason; `verdict_dict` the JSON-ready report (with the trace when
the verdict has one); `verdict_lines` the text `validate` prints; `verdict_summary` the short
line `extract --validate` prints; `verdict_members` the verdict's JSON members for
`validate-batch`, built once per distinct verdict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

from planbench_scale.records import Reason, Verdict
from planbench_scale.symbolic.task import Task


def explain(task: Task, plan: Sequence[str], verdict: Verdict) -> str:
    """One readable line for a verdict: what failed, where (1-based step), and why."""
    if verdict.valid:
        return f"all {len(plan)} actions apply and the goal holds at the end"
    if verdict.failed_step is None:
        return f"{verdict.reason.value}: missing goal facts {' '.join(verdict.unmet)}"
    action = plan[verdict.failed_step]
    where = f"step {verdict.failed_step + 1} {action.strip()}"
    if verdict.reason is Reason.INAPPLICABLE:
        return f"{where}: unmet preconditions {' '.join(verdict.unmet)}"
    if verdict.reason is Reason.UNKNOWN_OBJECT:
        unknown = [a for a in action.strip("() ").lower().split()[1:] if a not in task.objects]
        return f"{where}: unknown object {' '.join(unknown)}" if unknown else \
            f"{where}: objects of the wrong type"
    if verdict.reason is Reason.WRONG_ARITY:
        name = action.strip("() ").lower().split()[0]
        return f"{where}: {name} takes {task.schemas[name]} arguments"
    return f"{where}: unknown action; known: {', '.join(sorted(task.schemas))}"


def verdict_dict(task: Task, plan: Sequence[str], verdict: Verdict) -> dict:
    """A verdict as plain JSON-ready data, with a readable message (and the trace if it has one)."""
    report = {"valid": verdict.valid, "reason": verdict.reason.value,
              "failed_step": verdict.failed_step, "unmet": list(verdict.unmet),
              "message": explain(task, plan, verdict)}
    if verdict.trace is not None:
        report["trace"] = [sorted(state) for state in verdict.trace]
    return report


def verdict_lines(task: Task, plan: Sequence[str], verdict: Verdict) -> str:
    """The text `validate` prints: "valid: ..." or "invalid: ...", then each traced state."""
    lines = [("valid: " if verdict.valid else "invalid: ") + explain(task, plan, verdict)]
    for step, state in enumerate(verdict.trace or ()):
        lines.append(f"  state {step}: {' '.join(sorted(state))}")
    return "\n".join(lines)


def verdict_summary(verdict: Verdict) -> str:
    """A short line without the plan: "valid", or "invalid: inapplicable at step 2; unmet: ..."."""
    if verdict.valid:
        return "valid"
    where = f" at step {verdict.failed_step + 1}" if verdict.failed_step is not None else ""
    unmet = f"; unmet: {' '.join(verdict.unmet)}" if verdict.unmet else ""
    return f"invalid: {verdict.reason.value}{where}{unmet}"


@lru_cache(maxsize=100_000)
def verdict_members(verdict: Verdict) -> str:
    """The verdict's fields as JSON members, without braces (verdicts repeat: built once)."""
    body = json.dumps({"valid": verdict.valid, "reason": verdict.reason.value,
                       "failed_step": verdict.failed_step, "unmet": list(verdict.unmet)})
    return body[1:-1]
