"""Choosing the plan: the action lines of an answer cut into candidate statements of the plan (runs),
then one chosen by a few rules.

Cutting. A new run starts at a plan delimiter ("[PLAN]", "[PLAN END]", a code fence), where step
numbers restart, at a heading that introduces a plan ("Final plan:", "**Plan Summary**:", "Actions
in the plan:", "Final answer:"), and where a line of prose is followed by the run's first action
again (unless a numbered step heading such as "3. Current State: ..." says the plan is still going).
A note on one step belongs to that step and never changes how the rest is read: a bullet or an
indented line under a numbered step, or an indented line under any step ("- **Explanation**: ...",
"- Justification: ..."); under a numbered step that already has its action, further action lines
("- Action: unstack ...") restate it, as do indented lines under any step that state its actions
again. A section titled "Explanation" (or "Reasoning", "Verification", ...) after a plan is
commentary until a delimiter or a plan heading. A numbered line that names objects but no readable
action, numbered next in a run, is an unreadable step of it. A line that retracts the step before
it ("Wait, that does not work") removes that step; a correction block ("Corrected 7, 8 and 9
steps:") replaces the steps it numbers, and a step numbered again from n > 1 without one replaces
the steps from n on.

Choosing (`Runs.choose`), in order: (1) a run that only remarks on steps of an earlier run (each
action line says more after its action, or it is read from prose, and no plan heading introduced
it) comments on it and is no statement; (2) a delimited run beats undelimited ones; (3) of the rest
the last wins. An answer that concludes that no plan exists after its last undelimited run
withdraws it (extract.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from planbench_scale.text.lines import Line

_PLAN_NOUN = (r"(?:plan(?:\s+summary|\s+steps)?|solution|answer|summary(?:\s+of\s+(?:the\s+)?(?:plan|steps|actions))?"
              r"|(?:sequence|list)\s+of\s+(?:actions|steps|moves)|action\s+sequence"
              r"|(?:actions|steps|moves)\s+(?:in|of)\s+the\s+plan)")
_HEADING = re.compile(r"^\W*(?:#+\s*)?(?:\*\*)?\s*(?:(?:so|thus|therefore|hence|ok|okay|alright|finally|now|then)\b,?\s*)?"
                      r"(?:(?:here is|here's|this is)\s+)?(?:(?:the|my|our|a)\s+)?"
                      r"(?:(?:final|corrected|revised|complete|full|draft|proposed|optimal|correct|new|updated|"
                      r"valid|initial|first|second)\s+)?" + _PLAN_NOUN +
                      r"(?:\s+is)?(?:\s+as\s+follows)?\s*(?:\*\*)?\s*:?\s*(?:\*\*)?\s*$", re.IGNORECASE)
_COMMENTARY = re.compile(r"^\W*(?:#+\s*)?(?:\*\*)?[\w\s-]{0,30}?\b(?:explanation|explanations|reasoning|verification"
                         r"|justification|notes?|breakdown|analysis|rationale|key steps)\b[^:]{0,60}(?::|\**\s*$)",
                         re.IGNORECASE)
_COMMENTARY_WORDS = ("explanation", "reasoning", "verification", "justification", "note", "breakdown",
                     "analysis", "rationale", "key steps")
_HEADING_WORDS = ("plan", "summary", "solution", "answer", "sequence", "list", "action", "step", "move")
_NOTE = re.compile(r"^(?:\s+|\s*[-+•>]|\s*\*(?!\*))")
"""A bullet or an indented line: under a numbered step (or, indented, under any step), a note on it."""
_RETRACT = re.compile(r"^\W*(?:(?:wait|no|oops|hmm|actually)\b.{0,40}\b(?:not work|doesn't work|fails?|wrong"
                      r"|invalid|mistake|not (?:possible|correct|valid|allowed))"
                      r"|\(?(?:this|that|it)\s+(?:fails|does not work|doesn't work|is (?:not possible|invalid"
                      r"|wrong|incorrect|not allowed|not valid))\b)", re.IGNORECASE)
_CORRECTION = re.compile(r"^\W*(?:the\s+)?(?:corrected|correction\s+(?:of|for|to)|revised|fixed|updated|replace)\s+"
                         r"(?:steps?\s+)?(?P<numbers>\d{1,4}(?:\s*(?:,|and|&|-|to|through)\s*\d{1,4})*)"
                         r"(?:\s+steps?)?\W*$", re.IGNORECASE)
_INDENT = (" ", "\t")
_LOOK_BACK = 16
"""A run that may only remark on steps is compared with this many statements before it."""
_CORRECTION_WORDS = ("correct", "revised", "fixed", "updated", "replace")
_NUMBERS = re.compile(r"\d{1,4}|-|to|through")


@dataclass
class Runs:
    """The action lines cut into runs, each a candidate statement of the plan."""

    runs: list = field(default_factory=list)
    """(lines, delimited) pairs in answer order; delimited runs sat between plan delimiters."""
    restated: list = field(default_factory=list)
    """Unnumbered action lines under a numbered step that already has its action."""
    retracted: list = field(default_factory=list)
    """Action lines the answer retracted on the line after them, or replaced by a correction."""
    rejected: list = field(default_factory=list)
    """Lines that name an action and reject it ("... is not correct")."""
    commentary: list = field(default_factory=list)
    """Action lines under an "Explanation:" heading after a plan."""
    current: list = field(default_factory=list)
    """The run being built."""
    inside: bool = False
    """Whether an opening delimiter or code fence is open."""
    headed: set = field(default_factory=set)
    """Indexes of the runs a plan heading ("Final plan:") introduced: statements, never remarks."""
    heading: bool = False
    """Whether the current run follows a plan heading."""

    def close(self, delimited: bool, heading: bool = False) -> None:
        """Keep the current run if it holds an action or two unreadable steps (a plan none of whose
        steps can be read is still a plan, not a claim that there is none); start a new one, after
        a plan heading if `heading`."""
        if any(line.actions for line in self.current) or len(self.current) >= 2:
            if self.heading:
                self.headed.add(len(self.runs))
            self.runs.append((self.current, delimited))
        self.current, self.heading = [], heading

    def choose(self) -> tuple[int, list[str]]:
        """The index of the chosen run, and for each run why it was chosen or not (the rules of
        the module's docstring, in order)."""
        if len(self.runs) == 1:
            return 0, ["the only statement"]
        why = [""] * len(self.runs)
        for i, (lines, _) in enumerate(self.runs):
            if i in self.headed or not _remarks_only(lines):
                continue
            actions = _actions_of(lines)
            earlier = next((j for j in range(max(0, i - _LOOK_BACK), i)
                            if _in_order(actions, _actions_of(self.runs[j][0]))), None)
            if earlier is not None:
                why[i] = f"it only remarks on steps of statement {earlier + 1}"
        kept = [i for i in range(len(self.runs)) if not why[i]] or list(range(len(self.runs)))
        delimited = [i for i in kept if self.runs[i][1]]
        chosen = (delimited or kept)[-1]
        for i in kept:
            if i != chosen:
                why[i] = ("a delimited statement is preferred" if delimited and not self.runs[i][1]
                          else "a later statement is preferred")
        why[chosen] = "the last delimited statement" if delimited else "the last statement"
        return chosen, why

    def best(self) -> tuple[list, bool]:
        """The chosen run and whether it is delimited."""
        return self.runs[self.choose()[0]]


@dataclass
class _Cursor:
    """Where the cutting stands inside the current run."""

    prose_since: bool = False
    """Whether a line of prose came since the last action line."""
    last_step: int | None = None
    """The step number of the run's last numbered action line."""
    context: int | None = None
    """The step number of the numbered line we are under."""
    step_actions: set = field(default_factory=set)
    """The actions the current numbered step already has."""
    pending: Line | None = None
    """The last numbered line with objects but no action: a step if the next step follows it."""
    explaining: bool = False
    """Whether an "Explanation:" heading after a plan is open (until a delimiter or plan heading)."""
    replacing: frozenset = frozenset()
    """The step numbers a correction block ("Corrected 7, 8 and 9 steps:") replaces."""
    parent: tuple = ()
    """The actions of the last action line that is not indented: indented lines stating them restate it."""


def cut(lines: list[Line]) -> Runs:
    """The answer's action lines cut into runs."""
    state, at = Runs(), _Cursor()
    for line in lines:
        if line.mark in ("open", "close", "fence"):
            closing = line.mark == "close" or (line.mark == "fence" and state.inside)
            state.close(delimited=state.inside or closing)
            state.inside, at = not closing, _Cursor()
            continue
        if line.step is not None:
            at.context, at.step_actions = line.step, set()
        if line.loose and state.current and at.last_step is not None and line.step == at.last_step + 1:
            line = _unread(line)
        elif (line.actions or line.unread_step) and at.pending is not None and line.step == at.pending.step + 1:
            _action(state, at, _unread(at.pending))
        if line.rejected:
            state.rejected.append(line)
        at.pending = line if line.loose else (at.pending if line.step is None else None)
        if not (line.actions or line.unread_step):
            _prose(state, at, line)
        elif at.explaining:
            state.commentary.append(line)
        else:
            _action(state, at, line)
    state.close(delimited=state.inside)
    return state


def _remarks_only(lines: list[Line]) -> bool:
    """Whether a run may only remark on steps ("- Step 2: Succumb object b frees the hand", or prose
    naming some steps): it has actions, and every action line says more after its action or is a
    clause of prose. Such a run comments on an earlier one whose steps it names in their order."""
    return any(line.actions for line in lines) and all(line.remark or line.clause for line in lines if line.actions)


def _actions_of(lines: list[Line]) -> list:
    return [a for line in lines for a in line.actions]


def _in_order(short: list, long: list) -> bool:
    items = iter(long)
    return all(any(a == b for b in items) for a in short)


def _unread(line: Line) -> Line:
    """A numbered line with objects but no action, as an unreadable step of the plan."""
    return Line(line.number, line.text, (), line.step, "no action of this problem is named", unread_step=True)


def _corrects(state: Runs, line: Line) -> bool:
    """A step numbered again from n > 1 ("4. ... Alternatively: 4. ...") replaces the run's steps
    from n on: those are retracted and the run goes on (unless the line only remarks on a step)."""
    kept = [i for i, old in enumerate(state.current) if old.step is not None and old.step < line.step]
    if line.step <= 1 or line.remark or not kept:
        return False
    cut = kept[-1] + 1
    while cut < len(state.current) and state.current[cut].step is None:
        cut += 1
    state.retracted += state.current[cut:]
    del state.current[cut:]
    return True


def _replaces(state: Runs, line: Line) -> bool:
    """A step of a correction block replaces the run's lines of the same step number, in place."""
    at = [i for i, old in enumerate(state.current) if old.step == line.step]
    if not at:
        return False
    end = at[-1] + 1
    while end < len(state.current) and state.current[end].step is None:
        end += 1
    state.retracted += state.current[at[0]:end]
    state.current[at[0]:end] = [line]
    return True


def _numbers(text: str) -> frozenset:
    """The step numbers "7, 8 and 9" or "7-9" name."""
    tokens, numbers = _NUMBERS.findall(text), set()
    for i, token in enumerate(tokens):
        if token.isdigit():
            numbers.add(int(token))
        elif 0 < i < len(tokens) - 1 and tokens[i - 1].isdigit() and tokens[i + 1].isdigit():
            numbers.update(range(int(tokens[i - 1]), min(int(tokens[i + 1]), int(tokens[i - 1]) + 100) + 1))
    return frozenset(numbers)


def _prose(state: Runs, at: _Cursor, line: Line) -> None:
    """A line that is no step: it may retract the step before it, open a correction block, or head
    a new statement of the plan or a commentary section; a note under a step does neither, and
    is no prose between steps."""
    text = line.text.strip()
    if not text:
        return
    if not at.prose_since and state.current and _RETRACT.match(text):
        state.retracted.append(state.current.pop())
        steps = [kept.step for kept in state.current if kept.step is not None]
        at.last_step, at.step_actions = (steps[-1] if steps else None), set()
        return
    low = text[:120].lower()
    if line.step is None and len(text) < 120 and any(w in low for w in _HEADING_WORDS) and _HEADING.match(text):
        state.close(delimited=False, heading=True)
        at.last_step, at.context, at.step_actions, at.explaining, at.parent = None, None, set(), False, ()
    elif state.current and (at.context is not None or line.text[:1] in _INDENT) and _NOTE.match(line.text):
        return
    if state.current and any(word in low for word in _CORRECTION_WORDS):
        correction = _CORRECTION.match(text)
        at.replacing = _numbers(correction.group("numbers")) if correction else at.replacing
    if line.step is None and (state.runs or state.current) and any(w in low for w in _COMMENTARY_WORDS) \
            and _COMMENTARY.match(text):
        state.close(delimited=state.inside)
        at.explaining = True
    at.prose_since = True


def _action(state: Runs, at: _Cursor, line: Line) -> None:
    """An action line (or unreadable step): a step of the current run, a restart, or commentary."""
    indented = line.text[:1] in _INDENT
    if line.step is None and (at.step_actions if at.context is not None else
                              indented and at.parent and all(a in at.parent for a in line.actions)):
        state.restated.append(line)
        return
    if line.step in at.replacing and _replaces(state, line):
        at.step_actions |= set(line.actions)
        at.prose_since = False
        return
    at.replacing = frozenset()
    restart = line.step is not None and at.last_step is not None and line.step <= at.last_step
    repeat = (at.context is None and at.prose_since and state.current
              and line.actions[:1] == state.current[0].actions[:1])
    if restart and _corrects(state, line):
        pass
    elif restart or repeat:
        state.close(delimited=False)
    state.current.append(line)
    at.parent = at.parent if indented else line.actions
    at.last_step = line.step if line.step is not None else at.last_step
    at.step_actions |= set(line.actions)
    at.prose_since = False
