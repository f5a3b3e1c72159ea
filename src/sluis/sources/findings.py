"""What the source check finds (G2, X2): each problem with its place, and the counts per
table and in all, as :func:`sluis.sources.check.check_sources` returns them to the CLI, the
run and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sluis.sources.masking import redact


@dataclass(frozen=True)
class Finding:
    """One problem: where (file, column, row), which rule, the bad value and a message.

    The message and the value are redacted when the finding is made (see :func:`redact`), so
    no printer, log or error built from a finding can show a national number."""

    table: str
    file: str
    rule: str
    message: str
    column: str | None = None
    row: int | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact(self.message))
        if self.value is not None:
            object.__setattr__(self, "value", redact(self.value))

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.row, self.column) if p is not None)
        text = f"{where}: {self.rule}: {self.message}"
        return f"{text} ({self.value})" if self.value is not None else text


@dataclass
class TableReport:
    """What the check found in one table."""

    name: str
    files: tuple[str, ...] = ()
    rows_read: int = 0
    rows_quarantined: int = 0
    #: rows breaking each row rule; findings for each table rule
    rule_counts: dict[str, int] = field(default_factory=dict)
    #: table-level findings (missing table or column, wrong type, unreadable file)
    errors: list[Finding] = field(default_factory=list)
    quarantine_file: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.rows_quarantined == 0


@dataclass
class CheckReport:
    """The result of :func:`check_sources`: per-table counts and the first findings."""

    directory: Path
    tables: list[TableReport]
    #: the first findings, table-level ones first, then rows in table, file and row order
    findings: list[Finding]
    total_findings: int
    #: where bad rows were written; None when nothing was quarantined
    quarantine_dir: Path | None

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables)
