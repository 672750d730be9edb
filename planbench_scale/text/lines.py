"""Reading one line of an answer: the actions it states, a plan delimiter, or prose.

A line is first split into the statements it holds: a numbered list written on one line
("1. Feast b from a 2. Succumb b", "Step 1: ... Step 2: ..."), a JSON array of strings or a
bracketed list of calls ("[unstack(b, a), put_down(b)]") gives one segment per item. A
segment is an action when, after list markers, step numbers, markdown and a filler word
("Then"), it starts with an action's name and names as many objects as the action takes, or
when it holds PDDL s-expressions "(stack a b)". More actions may follow on the same line
("..., then put down the red block", "X -> Y", "X is not possible now, so first Y"). An action the
line itself rejects ("is not correct", "(this fails)") is not taken. A line of prose that states no
action at its start is read as a prose plan when, cut before each sequence word ("first", "then",
"next", "after that", "finally"), two or more of its clauses state actions. A numbered line that
names objects but no action it can read is kept as a possible unreadable step: the run it continues
decides (see runs.py).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from planbench_scale.text.reader import CONNECTORS, TOKEN, Reader, normalise

_PREFIX = re.compile(
    r"^(?:\s|[-*+•>#|]|\*\*|__|`"
    r"|(?P<num>\d{1,4})\s*[.):|]|step\s*(?P<step>\d{1,4})\s*[.):-]?|(?:action|move)\s*(?:\d{1,4}\s*[.):-]?|:)"
    r"|(?:first|then|next|finally|lastly|now|after that|afterwards|and)\b,?"
    r"|(?:perform|do|apply|execute)\s+(?:the\s+)?(?:action\s+)?"
    r"|i\s+(?:will|would|can|should|need to|must)?\b)+", re.IGNORECASE)
_SEXPR = re.compile(r"\(\s*([A-Za-z][\w-]*)((?:\s+[\w-]+)*)\s*\)")
_SEXPR_HEAD = re.compile(r"\s*\(\s*([A-Za-z][\w-]*)")
OPEN = re.compile(r"^\W*\[[a-z _]*plan\]", re.IGNORECASE)
CLOSE = re.compile(r"\[[a-z _]*plan[ _]end\]", re.IGNORECASE)
FENCE = re.compile(r"^\s*(?:```|~~~)")
_TABLE = re.compile(r"\b(?:table|down)\b", re.IGNORECASE)
_EMPHASIS = re.compile(r"(?<![\w*])[_*]([^_*\s]+)[_*](?![\w*])")
_PARENTHESES = re.compile(r"\([^()]*\)")
_CALL = re.compile(r"\s*\(([^()]*)\)")
_INLINE_NUMBER = re.compile(r"(?:^|(?<=\s))(?:step\s+)?(\d{1,2})[.):]\s+(?=\S)", re.IGNORECASE)
_CALL_ITEM = re.compile(r"[A-Za-z_][\w-]*\s*\([^()]*\)")
_CALL_LIST = re.compile(r"\[\s*[A-Za-z_][\w-]*\s*\([^()]*\)\s*,")
_JSON_ARRAY = re.compile(r'(?:^\W*|:\s*)\[\s*"')
_JSON_ITEM = re.compile(r'"((?:[^"\\]|\\.)*)"\s*(?=[,\]])')
_REJECT = re.compile(r"\b(?:is|was|would be|will be)\s+(?:not\s+(?:correct|possible|valid|allowed|legal|right)"
                     r"|impossible|invalid|incorrect|wrong)\b|\bthis fails\b|\b(?:does not|doesn't) work\b"
                     r"|\bnot (?:possible|allowed|valid)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;.|]|->|=>|→|⇒|\b(?:and|then|so|instead|rather)\b", re.IGNORECASE)
_NEXT = re.compile(r"^(?:[\s,;.:|]|->|=>|→|⇒)*(?:(?:and|so|then|instead|rather|next|first|finally|lastly|now"
                   r"|after that|afterwards|i will|i|we)\b[\s,]*)*", re.IGNORECASE)
_SEQUENCE = re.compile(r"(?:^|[.,;:!?]\s*|\band\s+)(first(?:ly)?|then|next|after that|afterwards|finally|lastly"
                       r"|subsequently)\b", re.IGNORECASE)
"""Where a clause of a prose plan starts: a sequence word at the start or after punctuation or "and"."""
_PROSE_PLAN_CHARS = 20
"""A line shorter than this cannot hold a prose plan of two actions."""
_SEQUENCE_HINTS = ("hen", "irst", "ext", "inally", "fter", "astly", "ubsequently", "HEN", "IRST", "EXT", "INALLY")
"""Cheap substring checks before the sequence-word pattern (most prose lines have none)."""
_REJECT_HINT = re.compile(r"not|impossib|invalid|incorrect|wrong|fail|n't", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_ARGUMENT_CHARS = (80, 300)
"""Objects are looked for in this many characters after an action's name: a short reach first."""
_NOT_A_VERB = frozenset("the a an this that these it its we our my your you i there here both all each now "
                        "then so since because after before when if once".split())
"""First words of a numbered line that make it a statement about the state, not a misspelt step."""
_WORD = re.compile(r"[^\W_]{2,}")
_REMARK_WORDS = 3
"""An action line with this many words after its last action remarks on it."""
_STEP_WORDS = 12
"""An unreadable action line of at most this many words after the action name is a plan step."""
_LOOSE_WORDS = 15
"""A numbered line with no action and at most this many words that names objects may be a step."""


class Line(NamedTuple):
    """One statement of the answer (a line, or one item of a list written on one line), classified
    (a named tuple: lines are made by the hundred thousand)."""

    number: int
    """1-based line number."""
    text: str
    """The statement as written."""
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
    loose: bool = False
    """A numbered line with no action that names objects: a step if it continues a numbered plan."""
    rejected: tuple = ()
    """Actions the line names and itself rejects ("... is not correct")."""
    remark: bool = False
    """Whether the line says more after its last action ("Succumb object b frees the hand")."""
    clause: bool = False
    """Whether it is one clause of a prose plan ("First, I unstack ... Then, I put down ...")."""


def segments(raw: str) -> list[str]:
    """The statements one line holds: the items of a numbered list, a JSON array of strings or a
    list of calls ("[unstack(b, a), put_down(b)]") written on one line."""
    if "[" in raw:
        array = _JSON_ARRAY.search(raw) if '"' in raw else None
        if array and _JSON_ITEM.findall(raw[array.end() - 1:]):
            return _JSON_ITEM.findall(raw[array.end() - 1:])
        calls = _CALL_LIST.search(raw)
        if calls:
            return _CALL_ITEM.findall(raw[calls.start():])
    first = _INLINE_NUMBER.search(raw)
    if first is None or (first.start() == 0 and not _INLINE_NUMBER.search(raw, first.end())):
        return [raw]
    starts = list(_INLINE_NUMBER.finditer(raw))
    if not starts or (len(starts) == 1 and not raw[:starts[0].start()].rstrip().endswith(":")):
        return [raw]  # one numbered item is a list on one line only after "Plan:"
    numbers = [int(m.group(1)) for m in starts]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return [raw]
    cuts = [m.start() for m in starts]
    pieces = [raw[:cuts[0]]] if raw[:cuts[0]].strip() else []
    return pieces + [raw[a:b] for a, b in zip(cuts, cuts[1:] + [len(raw)])]


@lru_cache(maxsize=1 << 17)
def statements(raw: str, reader: Reader) -> tuple[Line, ...]:
    """Every statement one line of an answer holds, read (line number 0; answers repeat their
    lines, so the result is cached): its segments, and a prose line's clauses where they state a plan."""
    lines = []
    if not raw or raw.isspace():
        return ()  # a blank line says nothing
    for piece in segments(normalise(raw[:2000])):
        line = _read(piece, reader)
        prose = () if line.actions or line.mark or line.step is not None or len(piece) < _PROSE_PLAN_CHARS \
            else _clauses(piece, reader)
        lines += prose or (line,)
    return tuple(lines)


def _clauses(text: str, reader: Reader) -> tuple[Line, ...]:
    """A line of prose read as a plan: its clauses, cut before each sequence word ("first, I unstack
    ... Then, I put down ..."), when two or more of them state actions; else no lines. The text
    before the first sequence word starts the line, which states no action, so it is prose."""
    if not any(word in text for word in _SEQUENCE_HINTS):
        return ()
    cuts = [m.start(1) for m in _SEQUENCE.finditer(text)]
    if len(cuts) < 2:
        return ()
    pieces = [text[a:b] for a, b in zip(cuts, cuts[1:] + [len(text)])]
    lines = tuple(_read(piece, reader) for piece in pieces)
    if sum(bool(line.actions) for line in lines) < 2:
        return ()
    return (Line(0, text[:cuts[0]], (), None, None),) + tuple(line._replace(clause=bool(line.actions)) for line in lines)


@lru_cache(maxsize=1 << 17)
def _read(original: str, reader: Reader) -> Line:
    """One statement classified: delimiter, actions, unreadable step, or prose (line number 0;
    cached: answers repeat their statements)."""
    number = 0
    if not original.strip():
        return Line(number, original, (), None, None)
    if "[" in original or "`" in original or "~" in original:
        for mark, pattern in (("open", OPEN), ("close", CLOSE), ("fence", FENCE)):
            if pattern.match(original):
                return Line(number, original, (), None, None, mark)
    raw = original
    if "*" in raw or "_" in raw or "`" in raw:
        raw = _EMPHASIS.sub(r"\1", raw.replace("**", "").replace("`", ""))
    prefix = _PREFIX.match(raw)
    rest = raw[prefix.end():] if prefix else raw
    step = prefix and (prefix.group("num") or prefix.group("step"))
    step = int(step) if step else None
    sexprs = _SEXPR.findall(raw) if "(" in raw else ()
    if sexprs:
        line = _sexpr_line(number, original, rest, step, sexprs, reader)
        if line is not None:
            return line
    read = _verb_line(rest.lstrip("*_`'\" "), step is not None, reader)
    return Line(number, original, read.actions, step, *read[4:])


def _sexpr_line(number, original, rest, step, sexprs, reader: Reader) -> Line | None:
    actions = [_sexpr_action(name, args, reader) for name, args in sexprs]
    if all(actions):
        return Line(number, original, tuple(actions), step, None)
    if any(actions) or rest.lstrip().startswith("("):
        head = _SEXPR_HEAD.match(rest)  # "(drive-truck t2(l2-0 ...": a known action, misbracketed
        named = any(name.lower() in reader.actions for name, _ in sexprs) or bool(
            head and head.group(1).lower() in reader.actions)
        return Line(number, original, (), step, "s-expression is not an action of this problem",
                    unread_step=named or step is not None)
    return None


@lru_cache(maxsize=1 << 16)
def _verb_line(rest: str, numbered: bool, reader: Reader) -> Line:
    """The actions a line states from its start (after its step marker: cached, since steps recur
    under other numbers), one clause after another ("X, then Y"); those the line rejects ("X is not
    correct, so Y") apart. Line number, text and step are left for the caller to fill in."""
    number, original, step = 0, rest, (0 if numbered else None)
    actions, rejected, text, remark = [], [], rest, False
    while True:
        verb = reader.verbs.match(text)
        if not verb:
            break
        after = text[verb.end():]
        action, objects, tail = _action_at(after, verb, reader)
        shorter = _first_word_verb(text, verb, reader) if isinstance(objects, str) else None
        if shorter is not None:  # "drive truck 0 from ...": the verb is "drive", not "drive truck"
            retry = _action_at(text[shorter.end():], shorter, reader)
            if not isinstance(retry[1], str):
                verb, after, (action, objects, tail) = shorter, text[shorter.end():], retry
        if isinstance(objects, str):
            why = objects.format(action=action)
            if actions or rejected:
                return Line(number, original, tuple(actions), step, f"a further action on the line: {why}",
                            unread_step=True, rejected=tuple(rejected))
            return Line(number, original, (), step, why, unread_step=step is not None or _step_shaped(after))
        cut, text = _next_clause(tail, reader) if _LETTER.search(tail) else (len(tail), "")
        refused = _rejects(tail[:cut]) or (cut == len(tail) and _rejects(after))
        remark = cut == len(tail) and len(_WORD.findall(tail)) >= _REMARK_WORDS
        if actions[-1:] != [(action, *objects)]:  # "Put down X: I put down X" states it once
            (rejected if refused else actions).append((action, *objects))
    if actions or rejected:
        why = "the answer rejects the action it names" if rejected and not actions else None
        return Line(number, original, tuple(actions), step, why, rejected=tuple(rejected), remark=remark)
    return Line(number, original, (), step, None, loose=step is not None and _names_objects(rest, reader))


def _first_word_verb(text: str, verb: re.Match, reader: Reader) -> re.Match | None:
    """The action name that the first word of a longer matched name ("drive truck", the spelling
    of drive-truck) is by itself, or None."""
    first = re.split(r"[\s_-]+", verb.group(), maxsplit=1)[0]
    return reader.verbs.match(text[:len(first)]) if len(first) < len(verb.group()) else None


def _action_at(after: str, verb: re.Match, reader: Reader) -> tuple[str, list | str, str]:
    """The action a verb starts, its objects (or why they cannot be read), and the text after them."""
    arguments, tail = _arguments(after)
    if verb.lastgroup == "place":
        action = reader.place_actions["table" if _TABLE.search(arguments) else "object"]
    else:
        action = reader.action_names[int(verb.lastgroup[1:])]
    objects, end = _objects(arguments, reader, reader.arity[action], action)
    placed = _placed(action, objects, arguments, reader)
    if placed is not None:
        action = placed
        objects, end = _objects(arguments, reader, reader.arity[action], action)
    return action, objects, arguments[end:] if tail is None else tail


def _placed(action: str, objects, arguments: str, reader: Reader) -> str | None:
    """The place action a misnamed placing step means, from where the object goes: "stack the red
    block on the table" puts it down, "put down the red block on top of the blue block" stacks it."""
    if not isinstance(objects, str) or not reader.place_actions:
        return None
    if action == reader.place_actions.get("object") and _TABLE.search(arguments):
        return reader.place_actions["table"]
    if action == reader.place_actions.get("table") and "more are named" in objects:
        return reader.place_actions.get("object")
    return None


def _next_clause(tail: str, reader: Reader) -> tuple[int, str]:
    """Where the next clause that starts with an action begins in `tail`, and that clause; or
    (len(tail), "") when there is none. Only punctuation, connecting words or a rejection
    ("is not correct") may stand before it: "X, then Y", "X is wrong, so Y", not "X so that Y"."""
    for boundary in _CLAUSE.finditer(tail):
        between = tail[:boundary.start()]
        if any(w[0].isalnum() for w in TOKEN.findall(between)) and not _REJECT.search(between):
            return len(tail), ""
        clause = _NEXT.sub("", tail[boundary.start():], count=1)
        if reader.verbs.match(clause):
            return boundary.start(), clause
    return len(tail), ""


def _rejects(text: str) -> bool:
    """Whether `text` rejects the action before it ("is not correct", "(this fails)")."""
    return _REJECT_HINT.search(text) is not None and _REJECT.search(text) is not None


def _step_shaped(after: str) -> bool:
    """Whether the unreadable rest of an action line reads like a step ("the green block from on
    top of the red block"): short (asides in parentheses aside), no sentence after it, not an
    introduction ending in ":"."""
    after = _PARENTHESES.sub(" ", after)
    words = [w for w in TOKEN.findall(after.replace("_", " ")) if not w.isdigit()]  # "location_1_0": one word
    return 0 < len(words) <= _STEP_WORDS and not after.rstrip().endswith(":") and "," not in after


def _names_objects(text: str, reader: Reader) -> bool:
    """Whether a short line with no colon names one of the objects (a candidate step)."""
    if ":" in text or len(text) > _LOOSE_WORDS * 12:
        return False
    tokens = TOKEN.findall(text.replace("_", " "))
    if not tokens or len(tokens) > _LOOSE_WORDS or tokens[0].lower() in _NOT_A_VERB:
        return False
    lower = [t.lower() for t in tokens]
    return any(_object_at(tokens, lower, at, reader)[0] is not None for at in range(len(tokens)))


def _objects(text: str, reader: Reader, count: int, action: str = "") -> tuple[list[str] | str, int]:
    """The first `count` objects named in `text` and the character offset just after them, or why
    they cannot be read; one fewer for an action whose last object the instance fixes (see
    Reader.completable). Only connecting words ("the", "from", "on top of", ...) and punctuation
    may stand before and between them."""
    text = text.replace("_", " ")
    for chars in _ARGUMENT_CHARS:
        matches = list(TOKEN.finditer(text[:chars]))
        tokens = [m.group() for m in matches]
        lower = [token.lower() for token in tokens]
        found, at = _named(tokens, lower, reader, count)
        if len(text) <= chars or at + 2 < len(tokens):  # the objects (and a word after them) were in reach
            break
    end = matches[at - 1].end() if 0 < at <= len(matches) else 0
    if isinstance(found, str):
        return found, end
    if len(found) < count - (action in reader.completable):
        return f"{{action}} needs {count} object(s)", end
    if _another_object(tokens, lower, at, reader):
        return f"{{action}} takes {count} object(s) but more are named", end
    return found, end


def _named(tokens: list[str], lower: list[str], reader: Reader, count: int) -> tuple[list | str, int]:
    """Up to `count` objects from the start of the tokens, and how many tokens they took; or why not."""
    found, at = [], 0
    while at < len(tokens) and len(found) < count:
        obj, size = _object_at(tokens, lower, at, reader)
        if obj is not None:
            found.append(obj)
            at += size
        elif lower[at] in reader.ambiguous:
            return f"{{action}}: the abbreviation {tokens[at]!r} is defined ambiguously", at
        elif lower[at][0].isalnum() and lower[at] not in reader.connectors:
            return "words other than objects after {action}", at
        else:
            at += 1
    return found, at


def _another_object(tokens: list[str], lower: list[str], at: int, reader: Reader) -> bool:
    """Whether, after only connecting words, one more object follows ("put down X on top of Y"
    names a destination that put-down does not take: the step means something else)."""
    while at < len(tokens) and lower[at] in reader.connectors and lower[at] != "and":
        at += 1
    return at < len(tokens) and lower[at - 1] in reader.connectors and _object_at(tokens, lower, at, reader)[0] is not None


def _object_at(tokens: list[str], lower: list[str], at: int, reader: Reader) -> tuple[str | None, int]:
    """The object named by the words starting at `at`, and how many words name it."""
    for size in range(min(reader.longest, len(tokens) - at), 0, -1):
        obj = reader.phrases.get(tuple(lower[at:at + size]))
        if obj is not None:
            return obj, size
    obj = reader.letters.get(lower[at])
    if obj is None or (tokens[at] == "a" and _article(lower, at)):
        return None, 1
    return obj, 1


def _article(lower: list[str], at: int) -> bool:
    """Whether a lower-case "a" is the article: a word of two or more letters follows it."""
    following = lower[at + 1] if at + 1 < len(lower) else ""
    return len(following) > 1 and following.isalpha() and following not in CONNECTORS


def _arguments(after: str) -> tuple[str, str | None]:
    """The text after an action name without asides in parentheses, and the text after a call's
    argument list when "(x, y)" follows the name ("Stack(red, blue), then ..."), else None."""
    call = _CALL.match(after)
    if call:
        return f" {call.group(1)} ", after[call.end():]
    return _PARENTHESES.sub(" ", after), None


def _sexpr_action(name: str, args: str, reader: Reader):
    action = reader.actions.get(name.lower())
    objects = [reader.names.get(arg.lower(), reader.phrases.get((arg.lower(),))) for arg in args.split()]
    if action is None or None in objects or len(objects) != reader.arity[action]:
        return None
    return (action, *objects)
