"""The error of the coarsening stage (G4)."""

from __future__ import annotations

from dataclasses import dataclass

from sluis.errors import SluisError


@dataclass(frozen=True)
class Offence:
    """One column of a coarsened table that is finer than its rule.

    ``example`` is one offending value as text, or a note saying why it is not shown
    (pseudonym columns, values that look like a national number).
    """

    column: str
    rule: str
    rows: int
    example: str


class CoarseningError(SluisError):
    """A table that cannot be coarsened as its spec says, or that is finer than its rules
    after coarsening; ``offences`` lists every offending column."""

    def __init__(self, message: str, *, offences: tuple[Offence, ...] = (), **where: object):
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.offences = offences
