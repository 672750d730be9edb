"""Plan extraction: the plan a free-text answer states, as PDDL actions in the instance's vocabulary.

An answer is read line by line. A line is an action when, after list markers, step numbers,
markdown and a filler word ("Then", "Finally"), it starts with an action's name and names exactly
as many objects as the action takes, or when it holds PDDL s-expressions "(stack a b)". Objects
may be written as the prompt wrote them ("the red block", "object a", "object_0"), as bare colours
("red"), as PDDL names ("o3", "b"; a lone letter only where it cannot be the article "a"), or as
"block B" / "object B". Lines that start like an action but cannot be read are reported as skipped
with the reason, and an unreadable step inside the plan (numbered, or an s-expression of a known
action) keeps its place as UNREADABLE_STEP, so that a plan is never made valid by dropping a step.

Answers often state a plan more than once (a draft, then "the final plan"). The action lines are
cut into runs: a new run starts at a plan delimiter ("[PLAN]", "[PLAN END]", a code fence), where
step numbers restart, and where a line of prose is followed by the run's first action again
(unless a numbered step heading such as "3. Current State: ..." says the plan is still going).
Under a numbered step that already has its action, further action lines ("- Action: unstack
...") are commentary. The plan is the last delimited run, or else the last run; a plain run that
the answer then says is no plan ("there is no valid plan") gives the outcome no_plan. Reasoning
inside <think> ... </think> is ignored, and so is anything after the model starts a new
"[STATEMENT]" of its own once a plan was given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from planbench_scale.text.prompts import load_template, object_phrase
from planbench_scale.records import Extraction, Instance, Outcome, Skipped
from planbench_scale import domains
from planbench_scale.domains import Vocabulary

UNREADABLE_STEP = "(unreadable-step)"
"""Stands in the plan for a step that could not be read; the validator rejects it (unknown action)."""

_PREFIX = re.compile(
    r"^(?:\s|[-*+•>#|]|\*\*|__|`"
    r"|(?P<num>\d{1,4})\s*[.):]|step\s*(?P<step>\d{1,4})\s*[.):-]?|(?:action|move)\s*(?:\d{1,4}\s*[.):-]?|:)"
    r"|(?:first|then|next|finally|lastly|now|after that|afterwards|and)\b,?"
    r"|(?:perform|do|apply|execute)\s+(?:the\s+)?(?:action\s+)?"
    r"|i\s+(?:will|would|can|should|need to|must)?\b)+", re.IGNORECASE)
_SEXPR = re.compile(r"\(\s*([A-Za-z][\w-]*)((?:\s+[\w-]+)*)\s*\)")
_OPEN = re.compile(r"^\W*\[[a-z _]*plan\]", re.IGNORECASE)
_CLOSE = re.compile(r"\[[a-z _]*plan[ _]end\]", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_NEW_PROBLEM = re.compile(r"^\W*\[statement\]", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+(?:[_-][^\W_]+)*|\S")
_CONNECTORS = frozenset("the object block a an from on top of onto to off and with over in into upon "
                        "using by then".split())
_TABLE = re.compile(r"\b(?:table|down)\b", re.IGNORECASE)
_EMPHASIS = re.compile(r"(?<![\w*])[_*]([^_*\s]+)[_*](?![\w*])")
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
_LETTER = re.compile(r"[^\W\d_]")
_PARENTHESES = re.compile(r"\([^()]*\)")
_CALL = re.compile(r"\s*\(([^()]*)\)")
_NO_PLAN = re.compile(r"\bno (?:valid |feasible |possible |viable |such |executable )?(?:plan|sequence|solution)s?\b"
                      r"|\b(?:is|it's|it is|are) (?:not possible|impossible)\b"
                      r"|\bcannot be (?:achieved|reached|accomplished)\b", re.IGNORECASE)
_THINK = re.compile(r"<(/?)think>", re.IGNORECASE)
_MAX_SKIPPED = 50
_STEP_WORDS = 12
"""An unreadable action line of at most this many words after the action name is a plan step."""


@dataclass(frozen=True)
class _Reader:
    """What one instance's actions and objects look like in text."""

    verbs: re.Pattern
    """Matches an action name at the start of a line; group names are canonical action indexes."""
    actions: dict
    """Lower-case own or canonical action name -> canonical action, for s-expressions."""
    names: dict
    """Lower-case PDDL object name or "object_<index>" -> canonical block."""
    phrases: dict
    """Object phrase as a tuple of lower-case words ("red", "block") -> canonical block."""
    letters: dict
    """Lower-case one-letter PDDL object name -> canonical block."""
    longest: int
    """The most words an object phrase has."""
    vocab: Vocabulary
    """The instance's vocabulary."""
    action_names: tuple
    """The domain's canonical action names; verb group v<i> stands for the i-th."""
    arity: dict
    """Canonical action name -> number of objects it takes."""


@dataclass(frozen=True)
class _Line:
    """One line of the answer, classified."""

    number: int
    """1-based line number."""
    text: str
    """The line as written."""
    actions: tuple
    """Canonical actions read from it (empty when none)."""
    step: int | None
    """Its step number, if it has one."""
    why: str | None
    """Why an action-like line was not read; None otherwise."""
    mark: str | None = None
    """"open", "close" or "fence" for a plan delimiter line."""
    unread_step: bool = False
    """A step of a plan that could not be read (numbered, or an s-expression of a known action)."""


def extract(text: str, instance: Instance, templates: str = "default") -> Extraction:
    """The plan an answer states, with the action-like lines that were not taken and why."""
    if text is None or not text.strip():
        return Extraction(actions=(), outcome=Outcome.EMPTY)
    if _unreadable(text):
        return Extraction(actions=(), outcome=Outcome.UNREADABLE)
    reader = _reader(instance.vocabulary, instance.objects, templates, instance.domain)
    lines = _classify(_without_thinking(text), reader)
    state = _runs(lines)
    if not state.runs:
        skipped = tuple(_skip(line, line.why) for line in lines if line.why)[:_MAX_SKIPPED]
        return Extraction(actions=(), outcome=Outcome.NO_PLAN, skipped=skipped)
    plan, delimited = state.best()
    after = "\n".join(line.text for line in lines if line.number > plan[-1].number)
    if not delimited and _NO_PLAN.search(after):
        skipped = tuple(_skip(line, "the answer concludes that no plan exists") for line in plan)
        return Extraction(actions=(), outcome=Outcome.NO_PLAN, skipped=skipped[:_MAX_SKIPPED])
    actions = []
    for line in plan:
        actions += [_spelled(reader.vocab, a) for a in line.actions] or [UNREADABLE_STEP]
    skipped = [_skip(line, line.why) for line in plan if line.why]
    skipped += [_skip(line, "its numbered step already has an action") for line in state.restated]
    skipped += [_skip(line, "another statement of the plan was preferred")
                for lines, _ in state.runs if lines is not plan for line in lines]
    skipped.sort(key=lambda item: item.line)
    return Extraction(actions=tuple(actions), outcome=Outcome.PLAN,
                      skipped=tuple(skipped[:_MAX_SKIPPED]))


@lru_cache(maxsize=65536)
def _spelled(vocab: Vocabulary, action: tuple) -> str:
    return vocab.fact(action)


def _skip(line: _Line, why: str) -> Skipped:
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


def _classify(text: str, reader: _Reader) -> list[_Line]:
    """Every line read as actions, a delimiter, or prose; stops at a new [STATEMENT] after a plan."""
    lines, seen_action = [], False
    for number, raw in enumerate(text.splitlines(), 1):
        if _NEW_PROBLEM.match(raw) and seen_action:
            break
        line = _read_line(number, raw[:2000], reader)
        seen_action = seen_action or bool(line.actions)
        lines.append(line)
    return lines


def _read_line(number: int, original: str, reader: _Reader) -> _Line:
    if not original.strip():
        return _Line(number, original, (), None, None)
    if "[" in original or "`" in original or "~" in original:
        for mark, pattern in (("open", _OPEN), ("close", _CLOSE), ("fence", _FENCE)):
            if pattern.match(original):
                return _Line(number, original, (), None, None, mark)
    raw = original
    if "*" in raw or "_" in raw or "`" in raw:
        raw = _EMPHASIS.sub(r"\1", raw.replace("**", "").replace("`", ""))
    prefix = _PREFIX.match(raw)
    rest = raw[prefix.end():] if prefix else raw
    step = prefix and (prefix.group("num") or prefix.group("step"))
    step = int(step) if step else None
    sexprs = _SEXPR.findall(raw)
    if sexprs:
        actions = [_sexpr_action(name, args, reader) for name, args in sexprs]
        if all(actions):
            return _Line(number, original, tuple(actions), step, None)
        if any(actions) or rest.lstrip().startswith("("):
            named = any(name.lower() in reader.actions for name, _ in sexprs)
            return _Line(number, original, (), step, "s-expression is not an action of this problem",
                         unread_step=named or step is not None)
    verb = reader.verbs.match(rest.lstrip("*_`'\" "))
    if not verb:
        return _Line(number, original, (), step, None)
    after = _arguments(rest.lstrip("*_`'\" ")[verb.end():])
    action = _placing(after) if verb.lastgroup == "place" else reader.action_names[int(verb.lastgroup[1:])]
    objects = _objects(after, reader, reader.arity[action])
    if isinstance(objects, str):
        return _Line(number, original, (), step, objects.format(action=action),
                     unread_step=step is not None or _step_shaped(after))
    return _Line(number, original, ((action, *objects),), step, None)


def _step_shaped(after: str) -> bool:
    """Whether the unreadable rest of an action line reads like a step ("the green block from on
    top of the red block"): short, no sentence after it, not an introduction ending in ":"."""
    words = _TOKEN.findall(after)
    return 0 < len(words) <= _STEP_WORDS and not after.rstrip().endswith(":") and "," not in after


def _objects(text: str, reader: _Reader, count: int) -> list[str] | str:
    """The first `count` objects named in `text`, or why they cannot be read. Only connecting
    words ("the", "from", "on top of", ...) and punctuation may stand before and between them."""
    tokens = _TOKEN.findall(text[:600])
    lower = [token.lower() for token in tokens]
    found, at = [], 0
    while at < len(tokens) and len(found) < count:
        block, size = _object_at(tokens, lower, at, reader)
        if block is not None:
            found.append(block)
            at += size
        elif lower[at][0].isalnum() and lower[at] not in _CONNECTORS:
            return "words other than objects after {action}"
        else:
            at += 1
    return found if len(found) == count else f"{{action}} needs {count} object(s)"


def _object_at(tokens: list[str], lower: list[str], at: int, reader: _Reader) -> tuple[str | None, int]:
    """The block named by the words starting at `at`, and how many words name it."""
    for size in range(min(reader.longest, len(tokens) - at), 0, -1):
        block = reader.phrases.get(tuple(lower[at:at + size]))
        if block is not None:
            return block, size
    block = reader.letters.get(lower[at])
    if block is None or (tokens[at] == "a" and _article(lower, at)):
        return None, 1
    return block, 1


def _article(lower: list[str], at: int) -> bool:
    """Whether a lower-case "a" is the article: a word of two or more letters follows it."""
    following = lower[at + 1] if at + 1 < len(lower) else ""
    return len(following) > 1 and following.isalpha() and following not in _CONNECTORS


def _arguments(after: str) -> str:
    """The text after an action name without asides in parentheses; "(x, y)" right after the
    name is its argument list ("Stack(red, blue)") and stays."""
    call = _CALL.match(after)
    if call:
        return f" {call.group(1)} {_PARENTHESES.sub(' ', after[call.end():])}"
    return _PARENTHESES.sub(" ", after)


def _placing(after: str) -> str:
    """"put/place X on the table" or "put X down" is put-down; "put/place X on Y" is stack."""
    return "put-down" if _TABLE.search(after) else "stack"


def _sexpr_action(name: str, args: str, reader: _Reader):
    action = reader.actions.get(name.lower())
    blocks = [reader.names.get(arg.lower(), reader.phrases.get((arg.lower(),))) for arg in args.split()]
    if action is None or None in blocks or len(blocks) != reader.arity[action]:
        return None
    return (action, *blocks)


@dataclass
class _Runs:
    """The action lines cut into runs, each a candidate statement of the plan."""

    runs: list = field(default_factory=list)
    """(lines, delimited) pairs in answer order; delimited runs sat between plan delimiters."""
    restated: list = field(default_factory=list)
    """Unnumbered action lines under a numbered step that already has its action."""
    current: list = field(default_factory=list)
    """The run being built."""
    inside: bool = False
    """Whether an opening delimiter or code fence is open."""

    def close(self, delimited: bool) -> None:
        """Keep the current run if it holds an action; start a new one."""
        if any(line.actions for line in self.current):
            self.runs.append((self.current, delimited))
        self.current = []

    def best(self) -> tuple[list, bool]:
        """The last delimited run if there is one, else the last run; and whether it is delimited."""
        delimited = [run for run in self.runs if run[1]]
        return (delimited or self.runs)[-1]


def _runs(lines: list[_Line]) -> _Runs:
    state = _Runs()
    prose_since, last_step, context, step_actions = False, None, None, set()
    for line in lines:
        if line.mark in ("open", "close", "fence"):
            closing = line.mark == "close" or (line.mark == "fence" and state.inside)
            state.close(delimited=state.inside or closing)
            state.inside = not closing
            prose_since, last_step, context, step_actions = False, None, None, set()
            continue
        if line.step is not None:
            context, step_actions = line.step, set()
        if not (line.actions or line.unread_step):
            prose_since = prose_since or bool(line.text.strip())
            continue
        if context is not None and line.step is None and step_actions:
            state.restated.append(line)
            continue
        restart = line.step is not None and last_step is not None and line.step <= last_step
        repeat = (context is None and prose_since and state.current
                  and line.actions[:1] == state.current[0].actions[:1])
        if restart or repeat:
            state.close(delimited=False)
        state.current.append(line)
        last_step = line.step if line.step is not None else last_step
        step_actions |= set(line.actions)
        prose_since = False
    state.close(delimited=state.inside)
    return state


@lru_cache(maxsize=256)
def _reader(vocabulary: str, blocks: tuple[str, ...], templates: str, domain: str) -> _Reader:
    vocab = domains.get(domain).vocabulary(vocabulary)
    arity = dict(domains.get(domain).actions)
    template = load_template(templates, domain)
    verbs, actions = {}, {}
    for index, action in enumerate(arity):
        own = vocab.own(action)
        spellings = {own, own.replace("-", " ")}
        form = dict(template.actions).get(own, dict(template.actions).get(action, ""))
        spellings.add(form.split("{}")[0].replace("{name}", own).strip())
        if vocab.name == "blocksworld":
            spellings |= {action.replace("-", " "), action.replace("-", "")}
        verbs[index] = sorted((s.lower() for s in spellings if s), key=len, reverse=True)
        actions.update({s.lower().replace(" ", "-"): action for s in spellings if s})
        actions[own.lower()] = action
    verb_pattern = "|".join(f"(?P<v{i}>{'|'.join(_words(s) for s in names)})"
                            for i, names in verbs.items())
    if vocab.name == "blocksworld":
        verb_pattern += "|(?P<place>put|place|set)"
    names, phrases, letters = _object_names(vocab, blocks, template)
    return _Reader(verbs=re.compile(rf"(?:{verb_pattern})(?![\w-])", re.IGNORECASE),
                   actions=actions, names=names, phrases=phrases, letters=letters,
                   longest=max(map(len, phrases)), vocab=vocab, action_names=tuple(arity),
                   arity=arity)


def _words(spelling: str) -> str:
    """A spelling as a pattern where any run of spaces or hyphens may stand between words."""
    return r"[\s-]*".join(re.escape(word) for word in re.split(r"[\s-]+", spelling))


def _object_names(vocab: Vocabulary, blocks: tuple[str, ...], template) -> tuple[dict, dict, dict]:
    """Lookups: PDDL name -> block; phrase (lower-case word tuple) -> block; lone letter -> block."""
    names, phrases, letters = {}, {}, {}
    for block in blocks:
        pddl_name, index = vocab.obj(block), vocab.index(block)
        phrase = re.sub(r"^the\s+", "", object_phrase(template, vocab, block), flags=re.IGNORECASE)
        spellings = {phrase, f"object_{index}", f"object {pddl_name}", f"block {pddl_name}"}
        if phrase.endswith(" block"):
            spellings.add(phrase[:-len(" block")])
        if len(pddl_name) > 1:
            spellings.add(pddl_name)
        for spelling in spellings:
            phrases[tuple(word.lower() for word in _TOKEN.findall(spelling))] = block
        if len(pddl_name) == 1:
            letters[pddl_name.lower()] = block
        names[pddl_name.lower()] = block
        names[f"object_{index}"] = block
    return names, phrases, letters
