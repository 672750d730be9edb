"""Plan extraction: the plan a free-text answer states, as PDDL actions in the instance's vocabulary.

The answer is read by intent, in three stages: surface forms (reader.py: how actions and objects
are spelled, abbreviations the answer defines), lines (lines.py: which statements are actions,
several on one line, actions the line rejects, the clauses of a prose plan) and runs (runs.py: the
candidate statements of the plan, and which one is the plan). Lines that start like an action but
cannot be read are reported as skipped with the reason, and an unreadable step inside the plan
keeps its place as UNREADABLE_STEP, so that a plan is never made valid by dropping a step.
Where the words leave the action to the problem (a verb two actions share, Logistics' "load";
a step without an object that only static preconditions name, a drive without its city), the
instance's static facts decide (`_meant`).

Reasoning inside <think> ... </think> is ignored. An answer that restates a problem (an echoed
one-shot example, then its own "[STATEMENT]" of the query) is read from the statement of the
query (the one that writes out the instance's goal as a whole); anything after a further
"[STATEMENT]" the model starts once a plan was given (problems it invents) is ignored. The outcome
is no_plan when the answer states no plan, when it says the goal cannot be reached (wherever it
says so, even with a plan for some other goal after it), or when a plan without delimiters is
followed by "there is no valid plan". A lone "()" is the empty plan. `explain` lists the candidate
statements and why the plan was chosen among them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from planbench_scale.domains import Vocabulary
from planbench_scale.records import Extraction, Instance, Outcome, Skipped
from planbench_scale.symbolic.ground import lifted, static_predicates
from planbench_scale.text.lines import Line, statements
from planbench_scale.text.prompts import facts_text, load_template
from planbench_scale.text.reader import Reader, reader_for, with_abbreviations
from planbench_scale.text.runs import Runs, cut
from planbench_scale import domains

UNREADABLE_STEP = "(unreadable-step)"
"""Stands in the plan for a step that could not be read; the validator rejects it (unknown action)."""

_NEW_PROBLEM = re.compile(r"^\W*\[statement\]|(?<=\[plan end\])\W*\[statement\]", re.IGNORECASE)
"""A new problem statement: at the start of a line, or right after the plan's closing delimiter."""
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
_LETTER = re.compile(r"[^\W\d_]")
_NO_PLAN = re.compile(r"\bno (?:valid |feasible |possible |viable |such |executable )?(?:plan|sequence|solution)s?\b"
                      r"|\b(?:is|it's|it is|are) (?:not possible|impossible)\b"
                      r"|\bcannot be (?:achieved|reached|accomplished)\b", re.IGNORECASE)
_NOT_AS_SUCH = (r"(?!\s*(?:(?:in|with|within|using) (?:fewer|less|one|a single|under)|without|unless|until|before"
                r"|directly|immediately|yet|right away|simply|just|only|that way|as is|faster|more quickly)\b)")
"""After "cannot be achieved": words that make it a remark on a way of reaching the goal, not a claim."""
_UNREACHABLE = (r"(?:impossible|unachievable|unreachable|unsolvable|unsatisfiable"
                r"|not (?:achievable|reachable|possible to achieve))\b")
_IMPOSSIBLE = re.compile(
    r"\b(?:goal|goals|task|problem)\s+(?:state\s+|configuration\s+)?(?:is|are)\s+" + _UNREACHABLE + _NOT_AS_SUCH +
    r"|\b(?:it|this)\s+(?:is|are)\s+" + _UNREACHABLE + r"(?=\s*(?:[.!,;:]|$))" +
    r"|\b(?:goal|goals)\b[^.\n]{0,60}\b(?:cannot|can't|can never) (?:be )?(?:achieved|reached|satisfied|met|accomplished)\b"
    + _NOT_AS_SUCH +
    r"|\bimpossible to (?:achieve|reach|satisfy|accomplish) (?:the|this|your|my) goal\b" + _NOT_AS_SUCH +
    r"|\b(?:contradictory|contradiction|inconsistent|conflicting) goals?\b|\bgoals? (?:is|are) (?:contradictory|inconsistent)\b",
    re.IGNORECASE)
_IMPOSSIBLE_HINTS = ("impossib", "unachiev", "unreach", "unsolv", "unsatisf", "not achiev", "not reach",
                     "not possible", "cannot", "can't", "can never", "contradict", "inconsistent", "conflicting")
_EMPTY_PLAN = re.compile(r"^\W*(?:\[PLAN\])?\s*(?:```\w*)?\s*\(\s*\)\s*(?:```)?\s*(?:\[PLAN[ _]END\])?\W*$",
                         re.IGNORECASE)
_THINK = re.compile(r"<(/?)think>", re.IGNORECASE)
_MAX_SKIPPED = 50


def extract(text: str, instance: Instance, templates: str = "default") -> Extraction:
    """The plan an answer states, with the action-like lines that were not taken and why."""
    return _reading(text, instance, templates)[0]


def explain(text: str, instance: Instance, templates: str = "default") -> tuple[Extraction, list[str]]:
    """The extraction and, in answer order, the candidate statements of the plan found and why
    the chosen one won (or why the outcome is no plan), one line each."""
    extraction, state, why = _reading(text, instance, templates)
    if state is None or not state.runs:
        return extraction, [why or f"no candidate statement of a plan: {extraction.outcome.value}"]
    chosen, reasons = state.choose()
    notes = []
    for i, ((lines, delimited), reason) in enumerate(zip(state.runs, reasons)):
        steps = sum(len(line.actions) + (line.unread_step or not line.actions) for line in lines)
        verdict = "chosen" if i == chosen else "not chosen"
        notes.append(f"statement {i + 1}: lines {lines[0].number}-{lines[-1].number}, {steps} step(s)"
                     f"{', delimited' if delimited else ''}: {verdict}, {reason}")
    return extraction, notes + ([why] if why else [])


def _reading(text: str, instance: Instance, templates: str) -> tuple[Extraction, Runs | None, str | None]:
    """The extraction, the answer's candidate statements (None if none were looked for), and why
    the outcome is no plan where statements were found."""
    if text is None or not text.strip():
        return Extraction(actions=(), outcome=Outcome.EMPTY), None, None
    if _unreadable(text):
        return Extraction(actions=(), outcome=Outcome.UNREADABLE), None, "the answer is binary junk"
    answer = _without_thinking(text)
    if _EMPTY_PLAN.match(answer):
        return Extraction(actions=(), outcome=Outcome.PLAN), None, "the answer is the empty plan \"()\""
    answer = _query_section(answer, instance, templates)
    reader = with_abbreviations(reader_for(instance.vocabulary, instance.objects, templates, instance.domain),
                                answer)
    lines = _meant_lines(_classify(answer, reader), reader, instance)
    state = cut(lines)
    if not state.runs or _claims_impossible(answer):
        why = "the answer says the goal cannot be reached" if state.runs else None
        skipped = tuple(_skip(line, why or line.why) for line in lines if why or line.why)
        return Extraction(actions=(), outcome=Outcome.NO_PLAN, skipped=skipped[:_MAX_SKIPPED]), state, why
    plan, delimited = state.best()
    after = "\n".join(line.text for line in lines if line.number > plan[-1].number)
    if not delimited and _NO_PLAN.search(after):
        why = "the answer concludes that no plan exists"
        skipped = tuple(_skip(line, why) for line in plan)
        return Extraction(actions=(), outcome=Outcome.NO_PLAN, skipped=skipped[:_MAX_SKIPPED]), state, why
    actions, short = _actions(plan, reader)
    return Extraction(actions=actions, outcome=Outcome.PLAN, skipped=_skipped(plan, state, short)), state, None


def _claims_impossible(answer: str) -> bool:
    """Whether the answer says the goal cannot be reached (a cheap word check guards the pattern)."""
    low = answer.lower()
    return any(hint in low for hint in _IMPOSSIBLE_HINTS) and _IMPOSSIBLE.search(answer) is not None


def _actions(plan: list[Line], reader: Reader) -> tuple[tuple[str, ...], list[Line]]:
    """The plan's actions in order, and the lines with a step one object short that nothing
    completed; an unreadable step (or the unreadable rest of a line) keeps its place."""
    actions, short = [], []
    for line in plan:
        complete = [len(a) - 1 == reader.arity[a[0]] for a in line.actions]
        actions += [_spelled(reader.vocab, a) if whole else UNREADABLE_STEP
                    for a, whole in zip(line.actions, complete)]
        short += [line] if not all(complete) else []
        if line.unread_step or not line.actions:
            actions.append(UNREADABLE_STEP)
    return tuple(actions), short


def _meant_lines(lines: list[Line], reader: Reader, instance: Instance) -> list[Line]:
    """The lines with each action as the instance makes it (`_meant`), before the plan is chosen,
    so that "load ..." and its restatement "load_truck(...)" are one action."""
    if not reader.choices and not reader.completable:
        return lines
    return [line._replace(actions=tuple(_meant(a, reader, instance) or a for a in line.actions))
            if line.actions else line for line in lines]


def _skipped(plan: list[Line], state: Runs, short: list[Line]) -> tuple[Skipped, ...]:
    """Every action-like line not taken as it stands, with the reason, in answer order."""
    skipped = [_skip(line, line.why) for line in plan if line.why]
    skipped += [_skip(line, "a step leaves out an object that no object of the problem fills in")
                for line in short]
    skipped += [_skip(line, "the answer rejects an action on it") for line in state.rejected]
    skipped += [_skip(line, "its numbered step already has an action") for line in state.restated]
    skipped += [_skip(line, "the answer retracts it on the next line") for line in state.retracted]
    skipped += [_skip(line, "it explains the plan") for line in state.commentary]
    skipped += [_skip(line, "another statement of the plan was preferred")
                for lines, _ in state.runs if lines is not plan for line in lines]
    skipped.sort(key=lambda item: item.line)
    return tuple(skipped[:_MAX_SKIPPED])


def _meant(action: tuple, reader: Reader, instance: Instance) -> tuple | None:
    """The action a step means, where its words leave it to the instance: a verb several actions
    share ("load" into a truck or into an airplane) is the one of them whose static preconditions
    (the objects' types) hold in the instance (the first if not exactly one does: the validator
    then says what fails); a step one object short (a drive without its city) takes the one
    object that its static preconditions allow, and is unreadable (None) if not exactly one does."""
    name, objects = action[0], action[1:]
    if name in reader.choices:
        fits = [choice for choice in reader.choices[name] if len(objects) == reader.arity[name]
                and _fits(instance, choice, objects)]
        name = fits[0] if len(fits) == 1 else reader.choices[name][0]
    if len(objects) == reader.arity[name]:
        return (name, *objects)
    fits = [o for o in instance.objects if _fits(instance, name, (*objects, o))]
    return (name, *objects, fits[0]) if len(fits) == 1 else None


@lru_cache(maxsize=65536)
def _fits(instance: Instance, action: str, objects: tuple) -> bool:
    """Whether the static preconditions of a canonical action on canonical objects hold in the
    instance's initial state."""
    task, vocab = domains.task_for(instance), domains.vocabulary_of(instance)
    own = vocab.own(action).lower()
    schema = next(a for a in task.schema.actions if a.name == own)
    static = static_predicates(task.schema)
    names = [vocab.obj(o).lower() for o in objects]
    facts = _initial_facts(task)
    return all(pre.format(*names) in facts for pre in schema.pre if lifted(pre)[0] in static)


@lru_cache(maxsize=4096)
def _initial_facts(task) -> frozenset[str]:
    return frozenset(task.fact_names(task.init))


@lru_cache(maxsize=65536)
def _spelled(vocab: Vocabulary, action: tuple) -> str:
    return vocab.fact(action)


def _skip(line: Line, why: str) -> Skipped:
    return Skipped(line=line.number, text=line.text.strip()[:200], why=why)


def _unreadable(text: str) -> bool:
    """Binary junk: many control or replacement characters, or no letters at all."""
    sample = text[:20000]
    return len(_JUNK.findall(sample)) > len(sample) * 0.05 or not _LETTER.search(sample)


def _without_thinking(text: str) -> str:
    """The answer without <think> blocks; an unclosed block runs to the end, and a closing tag
    with no opening one ends reasoning that started with the answer."""
    kept, start, inside, opened = [], 0, False, False
    for tag in _THINK.finditer(text):
        closing = bool(tag.group(1))
        if not closing and not inside:
            kept.append(text[start:tag.start()])
            inside = opened = True
        elif closing and (inside or not opened):
            kept = kept if opened else []
            start, inside = tag.end(), False
    if not inside:
        kept.append(text[start:])
    return "".join(kept)


def _query_section(text: str, instance: Instance, templates: str) -> str:
    """The answer from its own statement of the query on, where it restates problems: the last
    "[STATEMENT]" (of the last _STATEMENTS_READ) after which the instance's goal is written out as a
    whole; else the whole answer."""
    starts = [m.start() for m in _STATEMENT.finditer(text)]
    if not starts or not instance.goal:
        return text
    goal = _goal_text(instance, templates)
    for start in reversed(starts[-_STATEMENTS_READ:]):
        statement = " ".join(text[start:start + 3000].lower().split())
        if goal in statement and _states_goal(goal).search(statement):
            return text[start:]
    return text


@lru_cache(maxsize=4096)
def _states_goal(goal: str) -> re.Pattern:
    """The goal written out as a whole ("... that GOAL."), not as part of a larger goal of another
    problem ("... that GOAL and the yellow block is on top of the red block.")."""
    return re.compile(r"(?:\bthat|\bis|:)\s+" + re.escape(goal) + r"\s*(?:[.;]|$)")


_STATEMENT = re.compile(r"^\W*\[statement\]", re.IGNORECASE | re.MULTILINE)
_STATEMENTS_READ = 64
"""Problem statements looked at for the query's own (an answer restates a problem a few times)."""


@lru_cache(maxsize=4096)
def _goal_text(instance: Instance, templates: str) -> str:
    """The instance's goal as the prompt writes it, lower-case with single spaces."""
    vocab = domains.vocabulary_of(instance)
    text = facts_text(load_template(templates, instance.domain), vocab, instance.goal)
    return " ".join(text.lower().split())


def _classify(text: str, reader: Reader) -> list[Line]:
    """Every statement read as actions, a delimiter, or prose; stops at a new [STATEMENT] after a plan."""
    lines, seen_action = [], False
    for number, raw in enumerate(text.splitlines(), 1):
        new_problem = (_NEW_PROBLEM.search(raw) if seen_action and "[" in raw and ("TATEMENT" in raw or "tatement" in raw)
                       else None)
        raw = raw[:new_problem.start()] if new_problem else raw
        read = statements(raw, reader)
        seen_action = seen_action or any(line.actions for line in read)
        lines += [Line(number, *line[1:]) for line in read]
        if new_problem:
            break
    return lines
