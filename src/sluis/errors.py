"""Errors a user can cause (X2): each says what is wrong and where, and the CLI prints it
without a traceback."""

from __future__ import annotations


class SluisError(Exception):
    """A user-facing error with a location (file, line, column, row) and a stable rule id."""

    def __init__(
        self,
        message: str,
        *,
        rule: str = "error",
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        row: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.file = file
        self.line = line
        self.column = column
        self.row = row
        self.hint = hint

    def __str__(self) -> str:
        where = ":".join(
            str(part) for part in (self.file, self.line, self.column, self.row) if part is not None
        )
        text = f"{where}: {self.rule}: {self.message}" if where else f"{self.rule}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class UsageError(SluisError):
    """A command-line argument that cannot be honoured (bad scale, unwritable directory...)."""


class SourceError(SluisError):
    """Source data that does not meet the source contract (G2, X2)."""
