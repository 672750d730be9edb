"""S-expressions of PDDL text: lower-case words and nested lists that remember where they start.

The reader accepts `;` comments and a UTF-8 byte-order mark at the start. Its errors are
PDDLErrors with file, line and column and never more than an 80-character excerpt of the
offending line, so reading a file that is not PDDL does not echo the file back.
"""

from __future__ import annotations

import re

from planbench_scale.errors import PDDLError

EXCERPT = 80
"""Most characters of the input line an error message quotes."""
SHOWN = 40
"""Most characters of a name or list an error message names (see `shown`)."""

_TOKEN = re.compile(r"[^\s();]+|[()]|;[^\n]*")


class Word(str):
    """A lower-case name or keyword; `at` is its offset in the text."""

    at: int


class Expr(list):
    """A parenthesised list of Words and Exprs; `at` is the offset of its "("."""

    at: int


class Source:
    """A PDDL text and its file name, to turn offsets into PDDLErrors."""

    def __init__(self, text: str, file: str | None):
        self.text = text[1:] if text.startswith("\ufeff") else text
        self.file = file

    def position(self, at: int) -> tuple[int, int]:
        """(line, column), both from 1, of offset `at`."""
        return self.text.count("\n", 0, at) + 1, at - self.text.rfind("\n", 0, at)

    def error(self, at: int, message: str) -> PDDLError:
        """A PDDLError at offset `at`, quoting at most EXCERPT characters of its line."""
        start = self.text.rfind("\n", 0, at) + 1
        end = self.text.find("\n", at)
        line = self.text[start:end if end >= 0 else len(self.text)].strip()
        quoted = line if len(line) <= EXCERPT else line[:EXCERPT - 3] + "..."
        return PDDLError(f"{message} (in {quoted!r})" if quoted else message, self.file,
                         *self.position(at))


def read(source: Source) -> Expr:
    """The one top-level expression of a text; PDDLError if the text is not exactly one."""
    stack: list[Expr] = []
    top: list = []
    for match in _TOKEN.finditer(source.text):
        token = match.group()
        if token == "(":
            expr = Expr()
            expr.at = match.start()
            (stack[-1] if stack else top).append(expr)
            stack.append(expr)
        elif token == ")":
            if not stack:
                raise source.error(match.start(), "unexpected ')': no '(' is open")
            stack.pop()
        elif token[0] != ";":
            word = Word(token.lower())
            word.at = match.start()
            (stack[-1] if stack else top).append(word)
    if stack:
        line, column = source.position(stack[-1].at)
        raise source.error(len(source.text), f"expected ')' before the end of the text, "
                                             f"to close the '(' at line {line}, column {column}")
    if not top:
        raise source.error(0, "expected '(', found no expression")
    if not isinstance(top[0], Expr):
        raise source.error(top[0].at, f"expected '(', found the word {shown(top[0])}")
    if len(top) > 1:
        raise source.error(top[1].at, "expected the end of the text after the first expression")
    return top[0]


def shown(item) -> str:
    """A name or an Expr as an error message names it: at most SHOWN characters."""
    text = str(item) if isinstance(item, str) else \
        "(" + " ".join(w if isinstance(w, Word) else "(...)" for w in item) + ")"
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def typed_list(source: Source, items: list, what: str) -> list[tuple[Word, Word]]:
    """(name, type) pairs of a PDDL typed list "a b - block c" (untyped names are "object")."""
    pairs, pending = [], []
    at = 0
    while at < len(items):
        item = items[at]
        if not isinstance(item, Word):
            raise source.error(item.at, f"expected a {what} name, found a list")
        if item == "-":
            kind = items[at + 1] if at + 1 < len(items) else None
            if not isinstance(kind, Word) or not pending:
                raise source.error(item.at, f"expected {what} names, '-' and one type name")
            pairs += [(name, kind) for name in pending]
            pending, at = [], at + 2
            continue
        pending.append(item)
        at += 1
    return pairs + [(name, _object(name)) for name in pending]


def _object(name: Word) -> Word:
    word = Word("object")
    word.at = name.at
    return word
