"""Row-level data in an output (B11: results are only aggregated): sequence numbers, a
table with about as many rows as there are persons, exact dates, a log that prints rows.

The delivery's sequence numbers are read from the enclave data (every ``*_seq`` column
of its Parquet files, in DuckDB) into a :class:`DataProfile`; outside the enclave a
researcher may point the checks at the phase-1 package's ``data/`` folder, and without
data only a column's name gives a sequence number away. Sequence numbers are ranks 1..N,
so a value alone proves nothing: a column is taken for sequence numbers when its name is
a sequence column's, or when it is nearly unique, mostly made of the delivery's numbers,
not a run of consecutive numbers (row numbers, years, ages) and not a dimension of a table
the table rules check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.deliver.scan import DATE_SQL
from sluis.enclave.checks.report import Finding, Thresholds, Verdict, plural
from sluis.enclave.checks.tables import MAX_CELLS

#: share of the persons from which a table's rows are too many (fail), or worth a look
ROWS_FAIL_SHARE = 0.5
ROWS_REVIEW_SHARE = 0.1
#: a column of sequence numbers: this share of its values are the delivery's; a list of
#: persons when this share of them are distinct
UNIQUE_SHARE = 0.9
SEQ_SHARE = 0.9
#: consecutive lines of a text output that look like a printed table
PRINTED_RUN = 5
_SEQ_NAME = re.compile(r"(^|_)seq$", re.IGNORECASE)
_DATE = re.compile(DATE_SQL)
_FIELD_SPLIT = re.compile(r"[\s,;|]+")
_NUMBER = re.compile(r"^-?[0-9]+([.,][0-9]+)?$")


@dataclass(frozen=True)
class DataProfile:
    """What the checks need to know about the data: the sequence columns' names, every
    sequence number (sorted, distinct) and the number of persons."""

    seq_columns: frozenset[str]
    seq_values: np.ndarray
    persons: int

    @classmethod
    def read(cls, data: Path) -> DataProfile:
        """The profile of a ``data/`` folder (its ``parquet/*.parquet`` files)."""
        files = sorted((data / "parquet").glob("*.parquet")) or sorted(data.glob("*.parquet"))
        names: set[str] = set()
        parts: list[str] = []
        persons = 0
        con = duckdb.connect()
        try:
            for file in files:
                source = f"read_parquet('{_quote(file)}')"
                columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
                seqs = [c for c in columns if _SEQ_NAME.search(c)]
                names.update(seqs)
                parts += [f'SELECT "{c}" AS s FROM {source}' for c in seqs]
                if "person_seq" in columns:
                    row = con.execute(f"SELECT count(DISTINCT person_seq) FROM {source}").fetchone()
                    persons = max(persons, int(row[0]) if row else 0)
            values = np.zeros(0, dtype=np.int64)
            if parts:
                sql = f"SELECT DISTINCT s FROM ({' UNION ALL '.join(parts)}) WHERE s IS NOT NULL"
                values = np.asarray(con.execute(f"{sql} ORDER BY s").fetchnumpy()["s"])
                values = values.astype(np.int64)
        finally:
            con.close()
        return cls(frozenset(names), values, persons)


def check_rows(
    data: pa.Table,
    thresholds: Thresholds,
    profile: DataProfile | None,
    *,
    keys: set[str] | frozenset[str] = frozenset(),
) -> list[Finding]:
    """Row-level data in a table: sequence numbers, exact dates, too many rows. ``keys``
    are the columns that name the cells of a checked table: not taken for sequence
    numbers by their values."""
    findings = sequence_columns(data, thresholds, profile, keys=keys)
    findings += exact_dates(data)
    if profile is not None and profile.persons > 0:
        share = data.num_rows / profile.persons
        if share >= ROWS_REVIEW_SHARE:
            verdict = "fail" if share >= ROWS_FAIL_SHARE else "review"
            findings.append(
                Finding(
                    "row-level",
                    verdict,
                    f"{data.num_rows:,} rows for {profile.persons:,} persons in the data "
                    f"({share:.0%}): a table this long is close to one row per person",
                )
            )
    return findings


def sequence_columns(
    data: pa.Table,
    thresholds: Thresholds,
    profile: DataProfile | None,
    *,
    keys: set[str] | frozenset[str] = frozenset(),
) -> list[Finding]:
    """Columns of sequence numbers: by name (fail), or, with the data, by their values: a
    nearly unique column is a list of persons (fail), a repeating one may be sequence
    numbers repeated per record, say per quarter (review). The ``keys`` (the columns of a
    table the rules check) only by name."""
    known = profile.seq_columns if profile is not None else frozenset()
    findings = []
    for name, column in zip(data.column_names, data.columns, strict=True):
        verdict: Verdict = "fail"
        if _SEQ_NAME.search(name) or name in known:
            why = "is named like a sequence-number column"
        elif profile is not None and name not in keys:
            unique = _seq_values(column, thresholds, profile)
            if unique is None:
                continue
            verdict = "fail" if unique else "review"
            why = (
                f"holds the delivery's sequence numbers ({SEQ_SHARE:.0%} or more of its "
                f"values{', each once' if unique else ', repeated'})"
            )
        else:
            continue
        findings.append(
            Finding(
                "sequence-numbers",
                verdict,
                f"column {name} {why}: sequence numbers identify persons and never leave",
                [[r, name] for r in range(1, min(data.num_rows, MAX_CELLS) + 1)],
            )
        )
    return findings


def _seq_values(
    column: pa.ChunkedArray, thresholds: Thresholds, profile: DataProfile
) -> bool | None:
    """None when the column does not look like sequence numbers; else whether each comes
    once (at least :data:`UNIQUE_SHARE` distinct). It must be whole numbers, at least
    min_frequency different ones, :data:`SEQ_SHARE` of them the delivery's, and not a run
    of consecutive numbers (row numbers, years, ages)."""
    if not pa.types.is_integer(column.type) or column.null_count == len(column):
        return None
    values = column.drop_null().to_numpy()
    distinct = np.unique(values)
    if len(distinct) < thresholds.min_frequency:
        return None
    if int(distinct[-1]) - int(distinct[0]) + 1 == len(distinct):
        return None
    if float(np.isin(values, profile.seq_values).mean()) < SEQ_SHARE:
        return None
    return len(distinct) >= UNIQUE_SHARE * len(values)


def exact_dates(data: pa.Table) -> list[Finding]:
    """Exact dates (``YYYY-MM-DD``, ``DD/MM/YYYY``) in any text column."""
    findings = []
    for name, column in zip(data.column_names, data.columns, strict=True):
        if pa.types.is_date(column.type) or pa.types.is_timestamp(column.type):
            hit = np.ones(len(column), dtype=bool)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            matched = pc.match_substring_regex(column, DATE_SQL)
            hit = np.asarray(pc.fill_null(matched, False).to_numpy(zero_copy_only=False))
        else:
            continue
        if hit.any():
            rows = np.flatnonzero(hit)[:MAX_CELLS] + 1
            findings.append(
                Finding(
                    "exact-date",
                    "fail",
                    f"column {name} has {int(hit.sum())} exact dates: outputs carry years, "
                    "quarters or months, never days",
                    [[int(r), name] for r in rows],
                )
            )
    return findings


def check_text(lines: list[str], profile: DataProfile | None) -> list[Finding]:
    """Row-level data in a text output (a log, a report): exact dates, sequence-number
    column names, and runs of lines that look like printed data rows."""
    findings = []
    dated = [i + 1 for i, line in enumerate(lines) if _DATE.search(line)]
    if dated:
        findings.append(
            Finding(
                "exact-date",
                "fail",
                f"{plural(len(dated), 'line')} with an exact date (print years, quarters or "
                "months; leave timestamps out of logs)",
                [[i, None] for i in dated[:MAX_CELLS]],
            )
        )
    known = profile.seq_columns if profile is not None else frozenset()
    for start, end in printed_runs(lines):
        block = lines[max(start - 1, 0) : end]
        header = {f for line in block for f in _FIELD_SPLIT.split(line.strip())}
        seqs = sorted(f for f in header if _SEQ_NAME.search(f) or f in known)
        cells = [[i + 1, None] for i in range(start, end)][:MAX_CELLS]
        if seqs:
            findings.append(
                Finding(
                    "printed-rows",
                    "fail",
                    f"lines {start + 1}-{end} print data rows with {', '.join(seqs)}: a log "
                    "must not print records",
                    cells,
                )
            )
        else:
            findings.append(
                Finding(
                    "printed-table",
                    "review",
                    f"lines {start + 1}-{end} print a table the checks cannot read: write it "
                    "with sluis_output.table, or a reviewer checks its cells",
                    cells,
                )
            )
    return findings


def printed_runs(lines: list[str]) -> list[tuple[int, int]]:
    """``(start, end)`` (0-based, end excluded) of every run of at least
    :data:`PRINTED_RUN` lines with the same number (3 or more) of fields, one of them a
    number: what ``print(df)`` or a loop over rows leaves in a log."""
    shape = []
    for line in lines:
        fields = [f for f in _FIELD_SPLIT.split(line.strip()) if f]
        numeric = any(_NUMBER.match(f) for f in fields)
        shape.append(len(fields) if len(fields) >= 3 and numeric else 0)
    runs = []
    start = 0
    for i in range(1, len(shape) + 1):
        if i == len(shape) or shape[i] != shape[start]:
            if shape[start] and i - start >= PRINTED_RUN:
                runs.append((start, i))
            start = i
    return runs


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
