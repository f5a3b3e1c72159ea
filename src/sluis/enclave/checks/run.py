"""``check_outputs``: every automatic check on every output of a job, or on the files a
26/050 researcher wants to publish (A5, B11).

Each file is judged by its kind (:mod:`~sluis.enclave.checks.policy`): a CSV with its
sidecar by the table rules on the sidecar's cells, a CSV without one by the count
heuristic, every table and text for row-level data, text for printed models, and every
table against the released ones and the other new ones for differencing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from sluis.enclave.checks.differencing import compare, released_tables
from sluis.enclave.checks.load import (
    SidecarError,
    read_csv,
    read_sidecar,
    table_from_sidecar,
    tables_from_csv,
)
from sluis.enclave.checks.models import check_residual_df, printed_models
from sluis.enclave.checks.policy import POLICY, Kind, kind_of, read_text
from sluis.enclave.checks.report import CheckReport, Finding, OutputReport, Thresholds
from sluis.enclave.checks.rowlevel import DataProfile, check_rows, check_text
from sluis.enclave.checks.tables import CellTable, check_table
from sluis.files import sha256_file


def check_outputs(
    files: list[Path],
    root: Path,
    *,
    thresholds: Thresholds,
    released: Path | None = None,
    data: Path | None = None,
) -> CheckReport:
    """Check ``files`` (named relative to ``root`` in the report) with ``thresholds``;
    compare their tables with those under ``released`` (a releases folder) and look for
    the sequence numbers and persons of ``data`` (a ``data/`` folder)."""
    profile = DataProfile.read(data) if data is not None else None
    names = {f.resolve(): _relative(f, root) for f in files}
    sidecars: dict[Path, tuple[Path, dict[str, Any]]] = {}  # described file -> its sidecar
    report = CheckReport(thresholds)
    bad_sidecars: dict[Path, str] = {}
    for file in files:
        if kind_of(file) == "sidecar":
            try:
                meta = read_sidecar(file)
            except SidecarError as err:
                bad_sidecars[file.resolve()] = str(err)
                continue
            if meta.get("file"):
                target = (file.parent / str(meta["file"])).resolve()
                if target in names:
                    sidecars[target] = (file.resolve(), meta)
    new_tables: list[CellTable] = []
    by_file: dict[Path, OutputReport] = {}
    for file in files:
        path = file.resolve()
        kind = kind_of(file)
        output = OutputReport(names[path], kind, sha256_file(path))
        by_file[path] = output
        report.outputs.append(output)
        if path.stat().st_size == 0:  # an empty file discloses nothing (an empty log)
            continue
        if path in bad_sidecars:
            output.findings.append(Finding("sidecar", "review", bad_sidecars[path]))
            continue
        if kind == "sidecar":
            output.findings += _sidecar_alone(path, sidecars, thresholds, new_tables)
        elif kind == "table":
            output.findings += _table(path, sidecars.get(path), thresholds, profile, new_tables)
        else:
            output.findings += _other(path, kind, thresholds, profile)
    output_of = {t.name: by_file[p] for p, t in _table_files(new_tables, names)}
    history = released_tables(released) if released is not None and released.is_dir() else []
    for i, table in enumerate(new_tables):
        for other in [*history, *new_tables[:i]]:
            output_of[table.name].findings += compare(table, other, thresholds.min_frequency)
    for path, (sidecar, _) in sidecars.items():  # a sidecar shares its table's verdict
        table_report = by_file[path]
        if table_report.verdict != "pass":
            by_file[sidecar].findings.append(
                Finding(
                    "sidecar-of",
                    table_report.verdict,
                    f"holds the cells of {table_report.file}, whose verdict it shares",
                )
            )
    return report


def _table(
    path: Path,
    sidecar: tuple[Path, dict[str, Any]] | None,
    thresholds: Thresholds,
    profile: DataProfile | None,
    new_tables: list[CellTable],
) -> list[Finding]:
    """A CSV: its cells by the table rules (from the sidecar, else the heuristic), every
    column for row-level data. The columns of a table the rules check are exempt from
    recognising sequence numbers by value (municipality codes or counts look like a
    handful of sequence numbers; the rules guard those cells); a name still counts."""
    try:
        data = read_csv(path)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as err:
        return [Finding("unreadable", "review", f"not a readable CSV: {err}")]
    findings: list[Finding] = []
    tables: list[CellTable] = []
    unplaced: list[str] = []
    meta = sidecar[1] if sidecar is not None else None
    if meta is not None and not _digest_matches(path, meta):
        findings.append(
            Finding(
                "sidecar-mismatch",
                "review",
                "the file changed after sluis_output wrote it: checked as a file without a sidecar",
            )
        )
        meta = None
    if meta is not None and meta["kind"] == "model":
        findings += check_residual_df(meta["residual_df"], thresholds.min_residual_df, "model")
    elif meta is not None:
        tables = [table_from_sidecar(meta, str(path))]
    else:
        tables, unplaced = tables_from_csv(data, str(path))
    keys = {c for table in tables for c in table.columns()}
    if meta is not None:  # a sidecar names its count, sum and contributors columns
        keys |= {str(c) for c in meta.get("columns", {}).values()}
    findings = check_rows(data, thresholds, profile, keys=keys) + findings
    for table in tables:
        new_tables.append(table)
        findings += check_table(table, thresholds)
    if unplaced:
        findings.append(
            Finding(
                "no-sidecar",
                "review",
                f"columns {', '.join(unplaced)} hold numbers the checks cannot place (counts "
                "need a count's name, magnitudes their contributions): write the table "
                "with sluis_output.table, or a reviewer checks them",
            )
        )
    return findings


def _sidecar_alone(
    path: Path,
    sidecars: dict[Path, tuple[Path, dict[str, Any]]],
    thresholds: Thresholds,
    new_tables: list[CellTable],
) -> list[Finding]:
    """A sidecar whose file is among the outputs is judged with it; one without (a model
    with no coefficients, or a table whose CSV was left out) is judged on its own."""
    if any(s == path for s, _ in sidecars.values()):
        return []
    meta = read_sidecar(path)
    if meta["kind"] == "model":
        return check_residual_df(meta["residual_df"], thresholds.min_residual_df, "model")
    table = table_from_sidecar(meta, str(path))
    new_tables.append(table)
    return check_table(table, thresholds)


def _other(
    path: Path, kind: Kind, thresholds: Thresholds, profile: DataProfile | None
) -> list[Finding]:
    """Text, figures, data files, objects, archives and unknown files, per the policy."""
    why = POLICY[kind][1]
    if kind == "figure":
        return [Finding("file-type", "review", why)]
    if kind in ("data", "object", "archive"):
        return [Finding("file-type", "fail", why)]
    text = read_text(path)
    if text is None:
        return [Finding("file-type", "fail", "not text and not a known type: " + why)]
    lines = text.splitlines()
    findings = check_text(lines, profile) + printed_models(lines, thresholds.min_residual_df)
    if kind == "unknown":
        findings.append(Finding("file-type", "review", f"unknown type, read as text: {why}"))
    return findings


def _table_files(tables: list[CellTable], names: dict[Path, str]) -> list[tuple[Path, CellTable]]:
    """Each new table with its file; tables are named by their resolved path until here,
    and take the report's name now (so a finding names the file as the user wrote it)."""
    pairs = []
    for table in tables:
        path = Path(table.name)
        table.name = names[path]
        pairs.append((path, table))
    return pairs


def _digest_matches(path: Path, meta: dict[str, Any]) -> bool:
    """Whether the file is still the one the sidecar describes: its SHA-256 (Python's
    helper) or MD5 (R's: base R has no SHA-256; the check is against edits, not attacks,
    as the file never left the enclave in between)."""
    data = path.read_bytes()
    if meta.get("sha256"):
        return hashlib.sha256(data).hexdigest() == meta["sha256"]
    return bool(meta.get("md5")) and hashlib.md5(data).hexdigest() == meta["md5"]


def _relative(file: Path, root: Path) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.as_posix()
