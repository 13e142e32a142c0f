"""Importers: bring a community's history from another platform into coplib, through the
engine's bulk path (`Engine.import_history`).

Each importer lives in its own subpackage (`coplib.importers.stackexchange`); what they share
is here: the errors they raise when their source cannot be read as given.
"""

from __future__ import annotations

from coplib.domain.errors import FieldError, InvalidInputError, MissingExtraError

__all__ = ["MissingExtraError", "SourceError"]


class SourceError(InvalidInputError):
    """The source of an import cannot be read as given: a missing or malformed file, a row
    without a required attribute, a value that is not what it should be.

    `file` names the file (inside the dump), `line` the line of the row (None when the
    problem is the whole file), `attribute` the attribute (None when the problem is not one
    attribute); `problem` says what is wrong.
    """

    def __init__(self, file: str, line: int | None, attribute: str | None, problem: str) -> None:
        self.file = file
        self.line = line
        self.attribute = attribute
        self.problem = problem
        where = (
            file + (f", line {line}" if line is not None else "") + (f", attribute {attribute}" if attribute else "")
        )
        super().__init__([FieldError(f"$.{attribute}" if attribute else "$", problem)], context=f"import source {file}")
        self.args = (f"{where}: {problem}",)
