"""The one exception tree: bad input carries where it was found; a bad plan is a Verdict, not an error."""

from __future__ import annotations


class PlanbenchError(Exception):
    """Bad input: a file, a name or a setting the suite cannot use.

    `file`, `line` and `column` (1-based) say where, when there is a where.
    """

    def __init__(self, message: str, file: str | None = None,
                 line: int | None = None, column: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line, self.column) if part is not None)
        return f"{where}: {self.message}" if where else self.message


class PDDLError(PlanbenchError):
    """Malformed or unsupported PDDL."""


class PlanSyntaxError(PlanbenchError):
    """A plan file that cannot be read as a sequence of actions."""
