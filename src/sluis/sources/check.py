"""Validate a directory of register extracts against the source contract (G2, X2).

A table is ``DIR/<table>.parquet`` or a folder ``DIR/<table>/`` of ``*.parquet`` parts.
Table-level problems (a missing table or column, a column of the wrong type, an unreadable
file) are reported and the affected column gets no row checks. Row-level rules run inside
DuckDB as one boolean predicate per rule and column, in one scan per table (plus one
aggregation for duplicate keys), so the check scales to tens of millions of rows without a
Python loop over rows.

Rows that break a rule are copied, with all their columns, their source file and row and the
rules they broke, to ``<quarantine>/<table>.parquet`` (written atomically); the source files
are never modified. Every quarantined row is counted per table and rule (X2: nothing is
silently dropped). The quarantine directory defaults to ``<DIR>.quarantine`` next to DIR and is
only created when there is something to put in it.

Row numbers are 1-based positions within the Parquet file (or part) that holds the row, as
stored in the file, so they are the same on every run.

No national number reaches a screen or a log (issue 23): a finding shows the row and a
masked value. Values of identifier columns (INSZ columns, ``*_id``) are masked inside the
engine, every letter and digit replaced by ``*`` (the punctuation and the length stay, so a
lost leading zero or a formatted number can still be told apart); any other text of a
finding has its runs of nine or more digits and anything shaped like a valid INSZ masked
the same way. Only the quarantine file, owner-only (0600), holds the full rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path

import duckdb

from sluis.atomic import atomic_path
from sluis.errors import UsageError
from sluis.sources.contract import CONTRACT, DATE_MAX, DATE_MIN, Table
from sluis.sources.duplicates import DUPLICATES, duplicate_keys, rows_per_bucket
from sluis.sources.file_schema import (
    QUARANTINE_COLUMNS,
    check_schema,
    column_findings,
    count_rule,
    table_files,
)
from sluis.sources.findings import CheckReport, Finding, TableReport
from sluis.sources.row_rules import DUP, Check, ident, lit, row_checks

#: every rule the checker applies, by stable id, with what it means
RULES: dict[str, str] = {
    "missing-table": "The table is neither DIR/<table>.parquet nor a folder of *.parquet parts.",
    "ambiguous-table": "Both DIR/<table>.parquet and a folder DIR/<table>/ exist.",
    "unreadable-file": "The file cannot be read as Parquet.",
    "missing-column": "A contract column is absent from a file.",
    "wrong-type": "A column's Parquet type does not match the contract type.",
    "reserved-column": "A column outside the contract has a name the checker gives its own "
    "columns (file_row_number, _source_file, _source_row, _rules, _failures, __sluis_*).",
    "null": "A column that may not be empty holds NULL (or, for text, an empty string).",
    "insz-check-digits": "An INSZ is not 11 digits with a check number valid for either century.",
    "code-list": "A code is outside its code list (NIS codes: outside the list of their vintage).",
    "date-range": f"A date lies outside {DATE_MIN.isoformat()}..{DATE_MAX.isoformat()}.",
    "period-order": "The end of a period precedes its start.",
    "duplicate-key": "Several rows share the table key (all of them are quarantined).",
    "insz-sex": "The sex does not match the parity of the INSZ day counter (odd men, even women).",
    "quarter-end": "A reference date is not the last day of a quarter (G6).",
}

#: rules about a table or a file as a whole (no row number)
TABLE_RULES = (
    "missing-table",
    "ambiguous-table",
    "unreadable-file",
    "missing-column",
    "wrong-type",
    "reserved-column",
)

# names of the helper columns added while checking (prefixed so they never meet real columns)
_FILE = "__sluis_file"
_ROW = "__sluis_row"

#: DuckDB's memory budget in MiB; beyond it, it spills to the check's temporary directory.
#: Measured on 20 million rows that all fail: 2.2 GB resident instead of 8 GB, in about the
#: same time. The duplicate keys are counted in buckets sized to it (:mod:`.duplicates`).
MEMORY_MIB = 1900


def check_sources(
    directory: Path,
    quarantine: Path | None = None,
    *,
    max_findings: int = 100,
    tables: Collection[str] | None = None,
    columns: Mapping[str, Collection[str]] | None = None,
    memory_mib: int = MEMORY_MIB,
) -> CheckReport:
    """Check every contract table in ``directory`` (or only ``tables``, e.g. those a spec's
    provider holds); quarantine bad rows; report what was found.

    ``columns`` cuts a table to the named contract columns: a provider's extract for a
    trusted third party holds only the columns a spec names (B1), and those are checked
    like the full table's; a column outside them is reported (``unexpected-column``).

    ``memory_mib`` bounds the engine's memory whatever the size of the registers (S4): it
    spills beyond it, and counts a large table's keys in buckets that fit it; the findings
    and the quarantine are the same under any limit.

    Raises :class:`~sluis.errors.UsageError` when ``directory`` is not a directory or the
    quarantine directory would lie inside it.
    """
    directory = Path(directory)
    if not directory.exists():
        raise UsageError(
            "the source directory does not exist", rule="no-such-directory", file=str(directory)
        )
    if not directory.is_dir():
        raise UsageError(
            "the sources must be a directory, not a file",
            rule="not-a-directory",
            file=str(directory),
        )
    qdir = Path(quarantine) if quarantine is not None else default_quarantine(directory)
    if qdir.resolve().is_relative_to(directory.resolve()):
        raise UsageError(
            f"the quarantine directory {qdir} lies inside the source directory {directory}",
            rule="quarantine-inside-sources",
            hint="choose a --quarantine path outside the source directory",
        )
    if qdir.exists() and not qdir.is_dir():
        raise UsageError(f"{qdir} exists and is not a directory", rule="not-a-directory")

    reports: list[TableReport] = []
    table_findings: list[Finding] = []
    row_findings: list[Finding] = []
    total = 0
    with tempfile.TemporaryDirectory(prefix="sluis-check-") as spill:
        con = duckdb.connect()
        try:
            con.execute(f"SET temp_directory = {lit(spill)}")
            con.execute(f"SET memory_limit = {lit(f'{memory_mib}MiB')}")
            # findings and quarantine are sorted explicitly; the engine need not keep order
            con.execute("SET preserve_insertion_order = false")
            for table in CONTRACT:
                if tables is not None and table.name not in tables:
                    continue
                qfile = qdir / f"{table.name}.parquet"
                if columns is not None and table.name in columns:
                    table = _cut(table, columns[table.name])
                report, found, n_found = _check_table(
                    con,
                    directory,
                    table,
                    qfile,
                    max_findings - len(row_findings),
                    exact=columns is not None and table.name in columns,
                    memory=(memory_mib, Path(spill)),
                )
                if report.quarantine_file is None:
                    qfile.unlink(missing_ok=True)  # a quarantine of an earlier run is stale
                reports.append(report)
                table_findings.extend(report.errors)
                row_findings.extend(found)
                total += len(report.errors) + n_found
        finally:
            con.close()
    _remove_if_empty(qdir)
    quarantined = any(r.quarantine_file is not None for r in reports)
    return CheckReport(
        directory=directory,
        tables=reports,
        findings=(table_findings + row_findings)[:max_findings],
        total_findings=total,
        quarantine_dir=qdir if quarantined else None,
    )


def _cut(table: Table, names: Collection[str]) -> Table:
    """``table`` with only the contract columns in ``names`` (and the rules among them)."""
    keep = tuple(c for c in table.columns if c.name in names)
    kept = {c.name for c in keep}
    return replace(
        table,
        columns=keep,
        key=tuple(k for k in table.key if k in kept),
        periods=tuple(p for p in table.periods if set(p) <= kept),
        insz_sex=table.insz_sex if table.insz_sex and set(table.insz_sex) <= kept else None,
    )


def default_quarantine(directory: Path) -> Path:
    """``<DIR>.quarantine`` next to DIR."""
    directory = Path(directory)
    if directory.name in ("", ".", ".."):
        directory = directory.resolve()
    return directory.with_name(directory.name + ".quarantine")


def _check_table(
    con: duckdb.DuckDBPyConnection,
    directory: Path,
    table: Table,
    qfile: Path,
    room: int,
    *,
    exact: bool = False,
    memory: tuple[int, Path],
) -> tuple[TableReport, list[Finding], int]:
    """Check one table: the schema of each file, then every row rule in the engine.

    ``memory``: the engine's limit in MiB and the spill directory of the check.
    Returns the report, up to ``room`` row findings and the number of row findings.
    """
    report = TableReport(table.name)
    files, missing = table_files(directory, table)
    if missing is not None:
        report.errors.append(missing)
        count_rule(report, missing.rule)
        return report, [], 0
    report.files = tuple(str(f) for f in files)
    usable, readable = check_schema(con, table, files, report, exact=exact)
    if not readable:
        return report, [], 0
    source = _source_sql(readable)
    try:
        report.rows_read = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
        checks = row_checks(table, usable)
        if not checks:
            return report, [], 0
        found, n_found = _run_row_checks(
            con, table, source, checks, report, qfile, room, memory=memory
        )
    except duckdb.Error as err:
        # a file that describes well but fails when scanned (a damaged data page)
        report.errors.append(_unreadable(table, readable, err))
        count_rule(report, "unreadable-file")
        report.rows_quarantined = 0
        return report, [], 0
    return report, found, n_found


def _run_row_checks(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    source: str,
    checks: list[Check],
    report: TableReport,
    qfile: Path,
    room: int,
    *,
    memory: tuple[int, Path],
) -> tuple[list[Finding], int]:
    """One scan flags the bad rows into a temporary table; findings and quarantine come from it.

    The duplicated keys are counted first (:func:`duplicate_keys`, in bounded memory) and
    joined to the scan: a small table, whatever the size of the register. The scan
    evaluates only the rules some row breaks (:func:`_broken`): the others are false on
    every row, so the flags, findings and quarantine are the same, and a clean table needs
    no scan of all its columns at all."""
    dup = "NULL::BIGINT"
    join = ""
    dups = None
    if any(c.rule == "duplicate-key" for c in checks):
        keys = [ident(k) for k in table.key]
        mib, spill = memory
        dups = duplicate_keys(
            con,
            source,
            table.key,
            report.rows_read,
            bucket_rows=rows_per_bucket(mib),
            spill=spill,
            n_column="__sluis_n",
        )
        join = f" LEFT JOIN {dups} AS d ON " + " AND ".join(f"s.{k} = d.{k}" for k in keys)
        dup = "d.__sluis_n"
    try:
        broken = _broken(con, source, checks, dups)
        if not broken:
            report.rows_quarantined = 0
            return [], 0
        if not any(checks[i].rule == "duplicate-key" for i in broken):
            join, dup = "", "NULL::BIGINT"
        flags = [
            f"{c.fails if i in broken else 'false'} AS __sluis_c{i}" for i, c in enumerate(checks)
        ]
        any_fail = " OR ".join(f"__sluis_c{i}" for i in sorted(broken))
        con.execute("DROP TABLE IF EXISTS bad")
        con.execute(
            f"CREATE TEMP TABLE bad AS SELECT * FROM ("
            f"SELECT s.*, {', '.join(flags)} FROM "
            f"(SELECT s.*, {dup} AS {DUP} FROM {source} AS s{join}) AS s"
            f") WHERE {any_fail}"
        )
    except duckdb.Error:
        con.execute("DROP TABLE IF EXISTS bad")
        raise
    finally:  # the duplicated keys are in the flags now; free their memory
        con.execute(f"DROP TABLE IF EXISTS {DUPLICATES}")

    n_bad = con.execute("SELECT count(*) FROM bad").fetchone()[0]
    report.rows_quarantined = n_bad
    if n_bad == 0:
        con.execute("DROP TABLE bad")
        return [], 0

    rules = list(dict.fromkeys(c.rule for c in checks))
    counts_sql = ", ".join(
        "count(*) FILTER (WHERE "
        + " OR ".join(f"__sluis_c{i}" for i, c in enumerate(checks) if c.rule == rule)
        + ")"
        for rule in rules
    )
    findings_sql = " + ".join(f"count(*) FILTER (WHERE __sluis_c{i})" for i in range(len(checks)))
    *per_rule, n_found = con.execute(f"SELECT {counts_sql}, {findings_sql} FROM bad").fetchone()
    for rule, n in zip(rules, per_rule, strict=True):
        if n:
            report.rule_counts[rule] = report.rule_counts.get(rule, 0) + n

    long = " UNION ALL ".join(
        f"SELECT {_FILE} AS file, {_ROW} AS row, {i} AS ci, {lit(c.rule)} AS rule, "
        f"{lit(c.column)} AS col, {c.value} AS value, {c.message} AS message "
        f"FROM bad WHERE __sluis_c{i}"
        for i, c in enumerate(checks)
    )
    shown = con.execute(
        f"SELECT file, row, rule, col, value, message FROM ({long}) "
        f"ORDER BY file, row, ci LIMIT {max(room, 0)}"
    ).fetchall()
    found = [
        Finding(table.name, file, rule, message, column=col, row=row, value=value)
        for file, row, rule, col, value, message in shown
    ]
    _write_quarantine(con, checks, qfile)
    con.execute("DROP TABLE bad")  # the next table's scan gets the memory
    report.quarantine_file = qfile
    return found, n_found


def _broken(
    con: duckdb.DuckDBPyConnection, source: str, checks: list[Check], dups: str | None
) -> set[int]:
    """The indices of the checks that some row fails. Each rule is asked on its own, so
    DuckDB reads only its columns, skips row groups by their statistics and stops at the
    first failing row; the duplicated keys are already counted (the table ``dups``)."""
    broken = set()
    for i, c in enumerate(checks):
        if c.rule == "duplicate-key":
            (n,) = con.execute(f"SELECT count(*) FROM {dups}").fetchone()
        else:
            (n,) = con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {c.fails} LIMIT 1)"
            ).fetchone()
        if n:
            broken.add(i)
    return broken


def _write_quarantine(con: duckdb.DuckDBPyConnection, checks: list[Check], qfile: Path) -> None:
    """Bad rows with all their columns, where they came from and what they broke; atomic."""
    rules = ", ".join(
        f"CASE WHEN __sluis_c{i} THEN {lit(c.rule)} END" for i, c in enumerate(checks)
    )
    failures = ", ".join(
        f"CASE WHEN __sluis_c{i} THEN {lit(c.column + ':' + c.rule)} END"
        for i, c in enumerate(checks)
    )
    helpers = ", ".join([_FILE, _ROW, DUP] + [f"__sluis_c{i}" for i in range(len(checks))])
    query = (
        f"SELECT * EXCLUDE ({helpers}), {_FILE} AS _source_file, {_ROW} AS _source_row, "
        f"list_sort(list_distinct([{rules}])) AS _rules, "
        f"list_sort(list_distinct([{failures}])) AS _failures "
        f"FROM bad ORDER BY {_FILE}, {_ROW}"
    )
    qfile.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with atomic_path(qfile, mode=0o600) as tmp:  # rows keyed by national number
        con.execute(f"COPY ({query}) TO {lit(str(tmp))} (FORMAT parquet)")


def _source_sql(files: list[Path]) -> str:
    """read_parquet over the files, with the file name and the 1-based row in the file."""
    paths = ", ".join(lit(str(f)) for f in files)
    return (
        f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS {_ROW} "
        f"FROM read_parquet([{paths}], filename = {lit(_FILE)}, file_row_number = true, "
        f"union_by_name = true))"
    )


def _unreadable(table: Table, files: list[Path], err: duckdb.Error) -> Finding:
    """The finding of a table whose files describe well but fail when scanned: located at
    the file the engine names, else at the one file or the folder of the parts."""
    first = str(err).splitlines()[0]
    named = [f for f in files if str(f) in str(err)]
    where = named[0] if named else files[0] if len(files) == 1 else files[0].parent
    return Finding(table.name, str(where), "unreadable-file", f"cannot be scanned: {first}")


def _remove_if_empty(path: Path) -> None:
    """Leave no empty quarantine directory behind."""
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()


__all__ = [
    "QUARANTINE_COLUMNS",
    "RULES",
    "TABLE_RULES",
    "CheckReport",
    "Finding",
    "TableReport",
    "check_sources",
    "column_findings",
    "default_quarantine",
    "table_files",
]
