"""The privacy scan of a (decrypted) package (G8, G1, G3, G4): nothing leaves that identifies.

:func:`scan_package` reads every file of a package and reports, as :class:`Finding` records:

- ``insz``: an 11-digit number with valid INSZ check digits
  (:func:`sluis.domain.insz.is_valid_insz`) in any column of a data file (text, or a whole
  number of 9 to 11 digits, zero-padded as an INSZ born in 2000-2009 would be), in the
  ``YY.MM.DD-SSS.CC`` notation, or in any text file;
- ``exact-date``: a date-typed column (Parquet date/time/timestamp, a Stata day, week or
  time format: ``%td``, ``%tw``, ``%tc``; ``%tq`` and ``%tm`` are quarters and months), or
  a value like ``YYYY-MM-DD``, ``DD/MM/YYYY`` (also ``.`` and ``-``) in a data file; in the
  other text files every such date that is not one of the spec's own dates (the decision's,
  the reference dates, the retention deadline) or the package's creation date;
- ``name-column``: a column named like a person's name (name, surname, naam, voornaam...);
- ``not-in-spec``: a column the spec does not name for the file's dataset;
- ``unknown-dataset``: a data file whose name is not a dataset of the spec;
- ``unscanned-file``: a file the scan cannot read (neither a data file nor UTF-8 text).

Data files are scanned in DuckDB (Stata files through pyreadstat and Arrow); only the distinct
11-digit candidates come back to Python for the check-digit rule. A finding never shows a
value: only where and how many.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sluis.deliver.package import read_bag_info
from sluis.domain.insz import is_valid_insz
from sluis.spec.model import DateRange, Spec

DATA_SUFFIXES = (".parquet", ".csv", ".dta")
#: tokens of a column name that suggest a person's name (en, nl, fr)
NAME_TOKENS = frozenset(
    {"name", "names", "surname", "firstname", "lastname", "naam", "voornaam", "achternaam"}
    | {"familienaam", "nom", "prenom", "prénom", "fullname", "givenname"}
)
_DAY = r"(0[1-9]|[12][0-9]|3[01])"
_MONTH = r"(0[1-9]|1[0-2])"
_YEAR = r"(1[89][0-9]{2}|20[0-9]{2})"
#: dates in values (DuckDB's RE2 and Python's re both read these)
DATE_SQL = (
    rf"(^|[^0-9]){_YEAR}-{_MONTH}-{_DAY}([^0-9]|$)"
    rf"|(^|[^0-9]){_DAY}[/.-]{_MONTH}[/.-]{_YEAR}([^0-9]|$)"
)
_DATE_TEXT = re.compile(
    rf"(?<![0-9])(?:(?P<iso>{_YEAR}-{_MONTH}-{_DAY})|(?P<eu>{_DAY}[/.-]{_MONTH}[/.-]{_YEAR}))(?![0-9])"
)
#: an 11-digit run in text; not glued to letters or a decimal point (hex digests, fractions)
_INSZ_TEXT = re.compile(r"(?<![0-9A-Za-z.])[0-9]{11}(?![0-9A-Za-z])")
_INSZ_FORMATTED = r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}-[0-9]{3}\.[0-9]{2}"
_INSZ_FORMATTED_TEXT = re.compile(rf"(?<![0-9]){_INSZ_FORMATTED}(?![0-9])")


@dataclass(frozen=True)
class Finding:
    """Something in a package that may identify a person."""

    file: str
    rule: str
    message: str
    column: str | None = None
    count: int = 1

    def __str__(self) -> str:
        where = f"{self.file}:{self.column}" if self.column else self.file
        return f"{where}: {self.rule}: {self.message}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _allowed_dates(spec: Spec, root: Path) -> set[str]:
    """The dates that describe the authorisation and the package, not a person."""
    days: set[dt.date] = {spec.decision.date, spec.decision.in_force, *spec.decision.amended}
    if spec.retention.deadline:
        days.add(spec.retention.deadline)
    for p in spec.populations.values():
        days.add(p.reference_date)
        for r in (p.first_registration, p.naturalised):
            if isinstance(r, DateRange):
                days |= {r.start, r.end}
    info = root / "bag-info.txt"
    if info.is_file():
        with contextlib.suppress(ValueError):
            days.add(dt.date.fromisoformat(read_bag_info(info).get("Bagging-Date", "")))
    return {d.isoformat() for d in days} | {d.strftime("%d/%m/%Y") for d in days}


def _is_date_type(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_time(t)


def _exact_stata_format(fmt: str) -> bool:
    """A Stata display format of a day, a week or a time (``%td``, ``%tw``, ``%tc``, the old
    ``%d``): an exact date. Quarters, months, half-years and years (``%tq``, ``%tm``, ``%th``,
    ``%ty``) are the coarsened dates G4 allows."""
    f = fmt.lower().replace("%-", "%")
    if f.startswith("%d"):
        return True
    return f.startswith("%t") and not f.startswith(("%tq", "%tm", "%th", "%ty"))


def _load(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """Register ``path`` as view ``t``; returns (column, kind) pairs and date-typed columns.
    kind is ``int``, ``float`` or ``text``."""
    dated: list[str] = []
    if path.suffix == ".parquet":
        schema = pq.read_schema(path)
        dated = [f.name for f in schema if _is_date_type(f.type)]
        con.execute(f"CREATE TEMP TABLE t AS SELECT * FROM read_parquet('{path}')")
    elif path.suffix == ".csv":
        con.execute(
            "CREATE TEMP TABLE t AS SELECT * FROM read_csv("
            f"'{path}', header=true, all_varchar=true, delim=',', quote='\"', escape='\"')"
        )
    else:
        import pyreadstat

        frame, meta = pyreadstat.read_dta(str(path))
        dated = [
            c
            for c, fmt in (meta.original_variable_types or {}).items()
            if _exact_stata_format(str(fmt))
        ]
        table = pa.Table.from_pandas(frame, preserve_index=False)
        dated += [f.name for f in table.schema if _is_date_type(f.type) and f.name not in dated]
        con.register("t_arrow", table)
        con.execute("CREATE TEMP TABLE t AS SELECT * FROM t_arrow")
    columns = []
    for name, kind, *_ in con.execute("DESCRIBE t").fetchall():
        k = kind.upper()
        if any(x in k for x in ("INT",)) and "INTERVAL" not in k:
            columns.append((name, "int"))
        elif any(x in k for x in ("DOUBLE", "FLOAT", "DECIMAL", "REAL")):
            columns.append((name, "float"))
        elif any(x in k for x in ("DATE", "TIME")):
            columns.append((name, "date"))
            if name not in dated:
                dated.append(name)
        else:
            columns.append((name, "text"))
    return columns, dated


def _insz_candidates(column: str, kind: str) -> str | None:
    """A SELECT of (column, candidate) for the distinct 11-digit candidates of one column."""
    c = _q(column)
    label = "'" + column.replace("'", "''") + "'"
    if kind in ("int", "float"):
        whole = f" AND {c} = trunc({c})" if kind == "float" else ""
        return (
            f"SELECT {label} AS col, lpad(CAST(CAST({c} AS BIGINT) AS VARCHAR), 11, '0') AS x "
            f"FROM t WHERE {c} BETWEEN 100000000 AND 99999999999{whole}"
        )
    if kind == "text":
        v = f"CAST({c} AS VARCHAR)"
        runs = f"list_filter(regexp_extract_all({v}, '[0-9]+'), lambda x: length(x) = 11)"
        formatted = (
            f"list_transform(regexp_extract_all({v}, '{_INSZ_FORMATTED}'), "
            "lambda x: regexp_replace(x, '[^0-9]', '', 'g'))"
        )
        return (
            f"SELECT {label} AS col, unnest(list_concat({runs}, {formatted})) AS x FROM t "
            f"WHERE regexp_matches({v}, '[0-9]{{11}}|{_INSZ_FORMATTED}')"
        )
    return None


def scan_table(path: Path, rel: str, spec: Spec) -> list[Finding]:
    """Findings of one data file (Parquet, CSV or Stata)."""
    findings: list[Finding] = []
    dataset = path.stem
    if dataset not in spec.datasets:
        findings.append(
            Finding(rel, "unknown-dataset", f"{dataset!r} is not a dataset of the spec")
        )
    named = set(spec.variable_names(dataset)) if dataset in spec.datasets else set()
    con = duckdb.connect()
    try:
        columns, dated = _load(con, path)
        for name, _ in columns:
            if name not in named and dataset in spec.datasets:
                findings.append(
                    Finding(rel, "not-in-spec", f"column not named by the spec for {dataset}", name)
                )
            tokens = set(re.split(r"[^a-zé]+", name.lower()))
            if tokens & NAME_TOKENS:
                findings.append(
                    Finding(rel, "name-column", "column named like a person's name", name)
                )
        for name in dated:
            findings.append(Finding(rel, "exact-date", "date-typed column", name))
        texts = [name for name, kind in columns if kind == "text"]
        if texts:
            matches = (
                f"count(*) FILTER (WHERE regexp_matches(CAST({_q(n)} AS VARCHAR), '{DATE_SQL}'))"
                for n in texts
            )
            counts = con.execute(f"SELECT {', '.join(matches)} FROM t").fetchone()
            assert counts is not None
            for name, n in zip(texts, counts, strict=True):
                if n:
                    findings.append(
                        Finding(rel, "exact-date", f"{n} value(s) holding an exact date", name, n)
                    )
        selects = [sql for name, kind in columns if (sql := _insz_candidates(name, kind))]
        found: dict[str, set[str]] = {}
        if selects:
            union = " UNION ALL ".join(selects)
            for col, x in con.execute(f"SELECT DISTINCT col, x FROM ({union})").fetchall():
                if is_valid_insz(x):
                    found.setdefault(col, set()).add(x)
        for name, _ in columns:
            valid = found.get(name)
            if valid:
                findings.append(
                    Finding(
                        rel,
                        "insz",
                        f"{len(valid)} distinct national number(s) with valid check digits",
                        name,
                        len(valid),
                    )
                )
    except (duckdb.Error, OSError, ValueError) as exc:
        findings.append(Finding(rel, "unscanned-file", f"cannot read the file: {exc}"))
    finally:
        con.close()
    return findings


def scan_text(path: Path, rel: str, allowed: set[str]) -> list[Finding]:
    """Findings of one text file (README, codebook, SCRA report, manifests)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [Finding(rel, "unscanned-file", "neither a data file nor UTF-8 text")]
    findings = []
    numbers = {m.group(0) for m in _INSZ_TEXT.finditer(text)}
    numbers |= {re.sub(r"[^0-9]", "", m.group(0)) for m in _INSZ_FORMATTED_TEXT.finditer(text)}
    valid = sorted(x for x in numbers if is_valid_insz(x))
    if valid:
        findings.append(
            Finding(
                rel,
                "insz",
                f"{len(valid)} national number(s) with valid check digits",
                count=len(valid),
            )
        )
    dates = [m.group(0) for m in _DATE_TEXT.finditer(text) if m.group(0) not in allowed]
    if dates:
        findings.append(
            Finding(
                rel,
                "exact-date",
                f"{len(dates)} exact date(s) that are not the spec's or the package's own",
                None,
                len(dates),
            )
        )
    return findings


def scan_package(path: Path, spec: Spec) -> list[Finding]:
    """Every finding in every file under ``path`` (a plaintext package); empty when clean."""
    root = Path(path)
    allowed = _allowed_dates(spec, root)
    findings: list[Finding] = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if file.suffix.lower() in DATA_SUFFIXES:
            findings += scan_table(file, rel, spec)
        else:
            findings += scan_text(file, rel, allowed)
    return findings
