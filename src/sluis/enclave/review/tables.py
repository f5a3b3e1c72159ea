"""How the review page shows an output (A5): a CSV as a table, a log or other text as
numbered lines, with the cells the automatic checks name highlighted.

A finding's ``cells`` are ``[row, column]`` as the checks write them
(:class:`sluis.enclave.checks.report.Finding`): row 1 is the first line after a CSV's
header and the column is its name; in a text file ``[line, None]`` names a line (1: the
first). The page numbers rows and lines the same way.
Large files are cut to their first :data:`MAX_ROWS` rows (the page says so): an output
that long is itself a finding of the checks (row-level data), and the reviewer rejects it
rather than reads it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: rows (or lines) shown at most
MAX_ROWS = 2000
#: columns shown at most
MAX_COLS = 60
#: bytes read at most
MAX_BYTES = 4 * 1024 * 1024
#: suffixes shown as a table
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}


@dataclass
class Marks:
    """The findings that name each cell: (row, column index) to ``[(rule, verdict), ...]``,
    0-based; column None marks the whole row (a line of a text file)."""

    cells: dict[tuple[int, int | None], list[tuple[str, str]]] = field(default_factory=dict)

    def at(self, row: int, col: int) -> list[tuple[str, str]]:
        """The findings on a cell, or on its whole row (none: empty)."""
        return self.cells.get((row, col), []) + self.cells.get((row, None), [])

    def line(self, row: int) -> list[tuple[str, str]]:
        """The findings on any cell of a row (for a text file: the line)."""
        return [mark for (r, _), marks in self.cells.items() if r == row for mark in marks]


def marks(findings: Iterable[Mapping[str, Any]], header: Sequence[str] = ()) -> Marks:
    """Index the cells named by ``findings`` (``[row, column]`` as the checks write them:
    row 1 is the first data row or line, the column a name of ``header``, or None for a
    line). A cell that names no row or column of the file is skipped: the finding's
    message is shown in full anyway."""
    found = Marks()
    columns = {name: i for i, name in enumerate(header)}
    for finding in findings:
        rule = str(finding.get("rule", "?"))
        verdict = str(finding.get("verdict", "review"))
        for cell in finding.get("cells") or []:
            if not (isinstance(cell, list | tuple) and len(cell) == 2):
                continue
            row, col = cell
            if not isinstance(row, int) or isinstance(row, bool) or row < 1:
                continue
            index = columns.get(col) if isinstance(col, str) else None
            if isinstance(col, str) and index is None:
                continue
            found.cells.setdefault((row - 1, index), []).append((rule, verdict))
    return found


@dataclass
class Shown:
    """An output ready for the page."""

    #: ``table``, ``text`` or ``binary``
    kind: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    #: rows (or lines) not shown
    cut: int = 0
    #: columns not shown
    cut_cols: int = 0


def _text(path: Path) -> str | None:
    with path.open("rb") as fh:
        data = fh.read(MAX_BYTES)
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start > len(data) - 4:  # a character cut by MAX_BYTES
            return data[: err.start].decode("utf-8")
        return None


def show(path: Path) -> Shown:
    """Read ``path`` for display: a table for CSV and TSV, lines for other UTF-8 text,
    ``binary`` for anything else (shown by size only)."""
    text = _text(path)
    if text is None:
        return Shown(kind="binary")
    delimiter = TABLE_SUFFIXES.get(path.suffix.lower())
    if delimiter is not None:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = list(reader)
        header = rows[0] if rows else []
        body = rows[1:]
        width = max([len(header), *(len(r) for r in body)], default=0)
        return Shown(
            kind="table",
            header=header[:MAX_COLS],
            rows=[r[:MAX_COLS] for r in body[:MAX_ROWS]],
            cut=max(0, len(body) - MAX_ROWS),
            cut_cols=max(0, width - MAX_COLS),
        )
    lines = text.splitlines()
    return Shown(kind="text", lines=lines[:MAX_ROWS], cut=max(0, len(lines) - MAX_ROWS))
