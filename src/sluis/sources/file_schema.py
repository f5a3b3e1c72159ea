"""The table-level half of the source check (G2, X2): which Parquet files make up a table,
and whether each file's columns are the contract's, of a type that can stand for the
contract type, with no name the checker needs for its own columns.

Apart from the row rules (:mod:`sluis.sources.check`) because the engine judges a file's
columns by the same rule when a run skips the check (``--no-check``), without loading the
checker."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
from ibis.backends.sql.datatypes import DuckDBType

from sluis.sources.contract import Column, Table
from sluis.sources.findings import Finding, TableReport
from sluis.sources.row_rules import lit

#: columns added to every quarantined row
QUARANTINE_COLUMNS = ("_source_file", "_source_row", "_rules", "_failures")

#: names of columns the checker adds (DuckDB's row number; the quarantine's columns); a
#: file with a column so named cannot be checked without confusing the two
RESERVED_COLUMNS = frozenset({"file_row_number", *QUARANTINE_COLUMNS})
RESERVED_PREFIX = "__sluis_"


def table_files(directory: Path, table: Table) -> tuple[list[Path], Finding | None]:
    """The Parquet files of one table, sorted, or a finding saying why there are none."""
    single = directory / f"{table.name}.parquet"
    folder = directory / table.name
    if single.is_file() and folder.is_dir():
        return [], Finding(
            table.name,
            str(single),
            "ambiguous-table",
            f"both {single.name} and a folder {folder.name}/ exist; keep one",
        )
    if single.is_file():
        return [single], None
    if folder.is_dir():
        parts = sorted(p for p in folder.glob("*.parquet") if p.is_file())
        if parts:
            return parts, None
        return [], Finding(
            table.name,
            str(folder),
            "missing-table",
            f"folder {folder.name}/ has no *.parquet parts",
        )
    return [], Finding(
        table.name,
        str(single),
        "missing-table",
        f"table {table.name!r} not found: expected {single.name} or a folder {folder.name}/ "
        "of *.parquet parts",
    )


def check_schema(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    files: list[Path],
    report: TableReport,
    *,
    exact: bool = False,
) -> tuple[dict[str, str], list[Path]]:
    """Table-level findings per file; with ``exact``, a column the table does not name is
    one too (a provider may send only what was asked).

    Returns the columns present with the right type in every readable file (with their DuckDB
    type), and the readable files.
    """
    usable: dict[str, str] = {}
    broken: set[str] = set()
    readable: list[Path] = []
    for path in files:
        try:
            rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
        except duckdb.Error as err:
            first = str(err).splitlines()[0]
            report.errors.append(
                Finding(
                    table.name,
                    str(path),
                    "unreadable-file",
                    f"not a readable Parquet file: {first}",
                )
            )
            count_rule(report, "unreadable-file")
            continue
        types = {name: str(dtype) for name, dtype, *_ in rows}
        named = {c.name for c in table.columns}
        clash = [n for n in types if n in RESERVED_COLUMNS or n.startswith(RESERVED_PREFIX)]
        for name in clash:
            report.errors.append(
                Finding(
                    table.name,
                    str(path),
                    "reserved-column",
                    f"column {name!r} is not in the contract and its name is one the checker "
                    "gives its own columns; drop or rename it",
                    column=name,
                )
            )
            count_rule(report, "reserved-column")
        if clash:
            continue  # not read: its rows could not be numbered
        readable.append(path)
        for extra in [n for n in types if exact and n not in named]:
            report.errors.append(
                Finding(
                    table.name,
                    str(path),
                    "unexpected-column",
                    f"column {extra!r} was not asked for (asked: {', '.join(sorted(named))})",
                    column=extra,
                )
            )
            count_rule(report, "unexpected-column")
        for finding in column_findings(table, path, types):
            report.errors.append(finding)
            count_rule(report, finding.rule)
            broken.add(str(finding.column))
        for col in table.columns:
            if col.name in types and col.name not in broken:
                usable[col.name] = types[col.name]
    return {name: dtype for name, dtype in usable.items() if name not in broken}, readable


def column_findings(
    table: Table, path: Path, types: Mapping[str, str], *, complete: bool = True
) -> list[Finding]:
    """The contract columns of ``table`` missing from one file (only when ``complete``: a
    provider's extract holds just the columns asked of it) or of a type that cannot stand
    for the contract type, given the file's DuckDB column types. The check and the engine
    (a run with ``--no-check``) judge a file's columns by this one rule."""
    found = []
    for col in table.columns:
        actual = types.get(col.name)
        if actual is None:
            if complete:
                found.append(
                    Finding(
                        table.name,
                        str(path),
                        "missing-column",
                        f"column {col.name!r} ({col.type}) is missing",
                        column=col.name,
                    )
                )
        elif not _accepts(col, actual):
            expected = col.types.accepted
            found.append(
                Finding(
                    table.name,
                    str(path),
                    "wrong-type",
                    f"column {col.name!r} is {actual}; the contract says {col.type} ({expected})",
                    column=col.name,
                    value=actual,
                )
            )
    return found


def _accepts(col: Column, engine_type: str) -> bool:
    """Whether a file's column of DuckDB type ``engine_type`` can stand for ``col``: the
    contract's declaration of the column type decides (:class:`sluis.sources.schema.Type`),
    read through Ibis's own reading of DuckDB type names."""
    try:
        found = DuckDBType.from_string(engine_type)
    except Exception:  # a type Ibis cannot name (a nested or exotic type) stands for none
        return False
    return col.types.accepts(found)


def count_rule(report: TableReport, rule: str) -> None:
    """Count one more finding of ``rule`` in the table's report."""
    report.rule_counts[rule] = report.rule_counts.get(rule, 0) + 1
