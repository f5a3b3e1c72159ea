"""X2, G2 (issue 22): a broken register never ends in a traceback.

A small valid register set (``source_tables``) is mutated as a careless or unlucky provider
would (a column dropped, renamed or retyped, a file truncated or not Parquet at all, a table
emptied, an invalid INSZ or code, a duplicated key) and ``sluis sources check`` and ``sluis
run`` are run through the real entry point. Either the bad rows are quarantined and counted,
or the command fails with one located line (exit 2 for bad input); never a traceback, and
``sluis run`` never leaves a staged extract behind when it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entry_point import sluis
from sluis.sources.contract import CONTRACT, Table
from source_tables import PEOPLE, set_value, write_sources

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
TABLES = {t.name: t for t in CONTRACT}
#: a valid INSZ with its check number broken, and values that are no INSZ at all
BAD_INSZ = (PEOPLE[0][:-1] + str((int(PEOPLE[0][-1]) + 1) % 10), "123", "abcdefghijk")
#: names a provider might give a column that the checker also uses
CLASHING = ("file_row_number", "_source_row", "_rules", "__sluis_row")

#: how many examples each property tries: every one runs the CLI in a fresh process (set
#: SLUIS_BAD_EXAMPLES for a longer search)
FEW = settings(
    max_examples=int(os.environ.get("SLUIS_BAD_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def _rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert not any(x.startswith("bug: ") for x in done.stderr.splitlines()), done.stderr


def _one_located_line(done: subprocess.CompletedProcess[str], where: Path) -> str:
    """The one error line, which must name ``where`` (a file or the register directory)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    errors = [x for x in lines if x.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], done.stderr
    assert str(where) in errors[0], errors[0]
    return errors[0]


# -- mutations -----------------------------------------------------------------------------


@st.composite
def mutations(
    draw: st.DrawFn, names: tuple[str, ...] | None = None
) -> tuple[str, str, Callable[[Path], str | None]]:
    """(table, kind, apply): ``apply(directory)`` breaks ``table`` (one of ``names``, by
    default any) and returns the rule the check must report for it, or None when the result
    may pass or fail."""
    table: Table = draw(st.sampled_from([t for t in CONTRACT if names is None or t.name in names]))
    kind = draw(
        st.sampled_from(
            [
                "drop",
                "rename",
                "retype",
                "truncate",
                "not-parquet",
                "damage",
                "empty",
                "insz",
                "code",
                "duplicate",
            ]
        )
    )
    col = draw(st.sampled_from(table.columns))
    insz_cols = [c for c in table.columns if c.type == "insz"]
    code_cols = [c for c in table.columns if c.codelist is not None]
    if (kind == "insz" and not insz_cols) or (kind == "code" and not code_cols):
        kind = "drop"
    if kind == "duplicate" and not table.key:
        kind = "empty"
    cut = draw(st.floats(0.0, 0.999))
    new_name = draw(st.sampled_from((*CLASHING, "renamed")))
    bad_insz = draw(st.sampled_from(BAD_INSZ))
    insz_col = draw(st.sampled_from(insz_cols)) if insz_cols else None
    code_col = draw(st.sampled_from(code_cols)) if code_cols else None
    row = draw(st.integers(0, 1))  # not the last row: it leaves nullable columns empty
    noise = draw(st.binary(min_size=16, max_size=64))

    def apply(directory: Path) -> str | None:
        path = directory / f"{table.name}.parquet"
        if kind == "drop":
            _rewrite(path, lambda t: t.drop_columns([col.name]))
            return "missing-column"
        if kind == "rename":
            _rewrite(
                path,
                lambda t: t.rename_columns(
                    [new_name if n == col.name else n for n in t.column_names]
                ),
            )
            return "reserved-column" if new_name != "renamed" else "missing-column"
        if kind == "retype":
            other = (
                pa.array(range(3))
                if col.type in ("insz", "code", "string")
                else pa.array(["x"] * 3)
            )
            _rewrite(path, lambda t: t.set_column(t.column_names.index(col.name), col.name, other))
            return "wrong-type"
        if kind == "truncate":
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * cut)])
            return "unreadable-file"
        if kind == "not-parquet":
            path.write_text("insz,sex\n85073003328,1\n")  # a CSV under a .parquet name
            return "unreadable-file"
        if kind == "damage":  # header and footer intact, bytes of the data pages overwritten
            data = bytearray(path.read_bytes())
            data[4 : 4 + len(noise)] = noise
            path.write_bytes(bytes(data))
            return None
        if kind == "empty":
            _rewrite(path, lambda t: t.slice(0, 0))
            return "ok"
        if kind == "insz":
            assert insz_col is not None
            _rewrite(path, set_value(insz_col.name, row, bad_insz))
            return "insz-check-digits"
        if kind == "code":
            assert code_col is not None
            _rewrite(path, set_value(code_col.name, row, "ZZZ"))
            return "code-list"
        _rewrite(path, lambda t: pa.concat_tables([t, t.slice(row, 1)]))
        return "duplicate-key"

    return table.name, kind, apply


def _quarantined(qdir: Path, table: str) -> pa.Table | None:
    path = qdir / f"{table}.parquet"
    return pq.read_table(path) if path.exists() else None


@FEW
@given(mutation=mutations())
def test_x2_g2_sources_check_quarantines_or_locates_every_broken_register(
    mutation: tuple[str, str, Callable[[Path], str | None]],
) -> None:
    """Whatever is broken, ``sluis sources check`` reports it at its file (and row), counts
    and quarantines the bad rows, and exits 0 or 1; never a traceback."""
    table, kind, apply = mutation
    with tempfile.TemporaryDirectory() as tmp:
        sources = write_sources(Path(tmp) / "sources")
        qdir = Path(tmp) / "quarantine"
        rule = apply(sources)
        done = sluis("sources", "check", str(sources), "--quarantine", str(qdir), cwd=ROOT)
        _no_traceback(done)
        assert done.returncode in (0, 1), (kind, done.stdout, done.stderr)
        path = sources / f"{table}.parquet"
        if rule == "ok":
            assert done.returncode == 0, done.stdout
            return
        if rule is None:  # damaged bytes may or may not change what is read
            findings = [x for x in done.stdout.splitlines() if re.match(r"\S+\.parquet:", x)]
            assert all(x.startswith(str(path)) for x in findings), done.stdout
            return
        assert done.returncode == 1, (kind, done.stdout)
        located = [x for x in done.stdout.splitlines() if x.startswith(f"{path}:")]
        assert any(f": {rule}: " in x for x in located), (kind, rule, done.stdout)
        bad = _quarantined(qdir, table)
        if rule in ("insz-check-digits", "code-list", "duplicate-key"):
            assert bad is not None
            assert any(rule in rules for rules in bad.column("_rules").to_pylist())
            total = sum(pq.read_metadata(f).num_rows for f in qdir.glob("*.parquet"))
            assert f"{total} of " in done.stdout  # every quarantined row is counted
            if rule == "duplicate-key":
                assert bad.num_rows >= 2  # every row of the key
            assert stat.S_IMODE((qdir / f"{table}.parquet").stat().st_mode) == 0o600
        else:
            assert bad is None  # a table-level problem quarantines no rows


# -- sluis run on a few fixed mutations ----------------------------------------------------


def _runnable(directory: Path) -> Path:
    """The small valid set where 25/074 selects someone: two of its three people first
    registered in 2007 (the man born 1985, then 21, and the man born 1950) and resident on
    31 December 2012, so phase 1 draws one person (25% of two, rounded half up)."""
    write_sources(directory)
    _rewrite(
        directory / "person.parquet", set_value("first_registration_date", 0, dt.date(2007, 3, 1))
    )
    _rewrite(
        directory / "person.parquet", set_value("first_registration_date", 2, dt.date(2007, 3, 1))
    )
    _rewrite(directory / "residence.parquet", set_value("valid_to", 0, None))
    return directory


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[8:200] = b"\x07" * 192
    path.write_bytes(bytes(data))


RUN_CASES: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...], str]] = {
    # name: (table, change, extra args, the rule of the error line)
    "truncated, checked": ("person", _truncate, (), "sources-invalid"),
    "truncated, --no-check": ("person", _truncate, ("--no-check",), "unreadable-file"),
    "damaged page, --no-check": ("residence", _damage, ("--no-check",), "unreadable-file"),
    "not Parquet, --no-check": (
        "residence",
        lambda p: p.write_text("insz;valid_from\n"),
        ("--no-check",),
        "unreadable-file",
    ),
    "empty, checked": ("person", lambda p: _rewrite(p, lambda t: t.slice(0, 0)), (), "empty-table"),
    "file_row_number column, checked": (
        "person",
        lambda p: _rewrite(p, lambda t: t.append_column("file_row_number", pa.array([7, 8, 9]))),
        (),
        "sources-invalid",
    ),
    "missing column, --no-check": (
        "person",
        lambda p: _rewrite(p, lambda t: t.drop_columns(["birth_date"])),
        ("--no-check",),
        "missing-column",
    ),
    "wrong type, --no-check": (
        "residence",
        lambda p: _rewrite(p, lambda t: t.set_column(1, "valid_from", pa.array(["x"] * 3))),
        ("--no-check",),
        "wrong-type",
    ),
    "invalid INSZ, checked": (
        "person",
        lambda p: _rewrite(p, set_value("insz", 0, BAD_INSZ[0])),
        (),
        "sources-invalid",
    ),
}


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_x2_run_on_a_broken_register_is_one_located_line_and_stages_nothing(
    case: str, tmp_path: Path
) -> None:
    table, change, args, rule = RUN_CASES[case]
    sources = _runnable(tmp_path / "sources")
    path = sources / f"{table}.parquet"
    change(path)
    work = tmp_path / "w"
    done = sluis("run", str(SPEC), "--data", str(sources), "--work", str(work), *args, cwd=ROOT)
    _no_traceback(done)
    line = _one_located_line(done, path if rule != "sources-invalid" else sources)
    assert f": {rule}: " in line, line
    if rule == "sources-invalid":
        assert path.name in line  # the first finding names the file
    assert BAD_INSZ[0] not in done.stdout + done.stderr
    assert not (work / "ksz" / "staged").exists() and not (work / "run.json").exists()
    assert not [p for p in work.rglob("*.parquet") if "quarantine" not in p.parts]


def test_x2_run_reads_past_a_column_named_file_row_number_without_the_check(tmp_path: Path) -> None:
    """A column the checker reserves is no problem for the run itself (``--no-check``): the
    runnable set with it runs to the small-cell analysis (exit 0 or 1: thresholds)."""
    sources = _runnable(tmp_path / "sources")
    _rewrite(
        sources / "person.parquet",
        lambda t: t.append_column("file_row_number", pa.array([7, 8, 9])),
    )
    work = tmp_path / "w"
    done = sluis(
        "run", str(SPEC), "--data", str(sources), "--work", str(work), "--no-check", cwd=ROOT
    )
    _no_traceback(done)
    assert done.returncode in (0, 1), done.stderr
    # the staged extract is sealed from the run's first write (G9)
    assert (work / "run.json").exists()
    assert (work / "ksz" / "staged" / "person.parquet.sealed").exists()


def test_x2_run_selecting_no_one_is_a_located_error(sources: Path, tmp_path: Path) -> None:
    """The plain small set selects no one for 25/074 (nobody first registered in 2000-2012):
    one line naming the registers, before anything is staged (the small-cell analysis of
    no rows failed with a numpy traceback before)."""
    work = tmp_path / "w"
    done = sluis("run", str(SPEC), "--data", str(sources), "--work", str(work), cwd=ROOT)
    _no_traceback(done)
    line = _one_located_line(done, sources)
    assert ": empty-selection: " in line and "target 0" in line
    assert not (work / "ksz" / "staged").exists()


# -- a bug is one line too ------------------------------------------------------------------

_BOOM = """
from sluis.cli.app import app, main

@app.command("boom")
def boom() -> None:
    '''Fail as a bug would.'''
    raise KeyError("a national number {insz} in a message")

main()
"""


def test_x2_a_bug_is_one_line_naming_the_traceback_file(tmp_path: Path) -> None:
    """An exception that is no user error: one line saying it is a bug (the message
    redacted) and where the full traceback is, an owner-only file; exit 3."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _BOOM.format(insz=PEOPLE[0]), "boom"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bug: "), done.stderr
    assert "KeyError" in lines[0] and PEOPLE[0] not in lines[0]
    (trace,) = tmp_path.glob("sluis-bug-*.txt")
    assert str(trace) in lines[0]
    assert "Traceback" in trace.read_text() and "def boom" not in lines[0]
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600


#: the tables 25/074 reads at KSZ (a mutation elsewhere cannot reach the run)
RUN_TABLES = ("person", "residence", "nationality", "household", "dwh_position")


@settings(FEW, max_examples=int(os.environ.get("SLUIS_BAD_RUN_EXAMPLES", "3")))
@given(mutation=mutations(RUN_TABLES), check=st.booleans())
def test_x2_run_on_a_mutated_register_delivers_or_stops_at_one_located_line(
    mutation: tuple[str, str, Callable[[Path], str | None]], check: bool
) -> None:
    """``sluis run`` with or without the sources check on the runnable set, one table
    broken: it runs to the small-cell analysis (exit 0 or 1), or stops with one line that
    names the register (exit 2) and no staged extract; never a traceback."""
    table, kind, apply = mutation
    with tempfile.TemporaryDirectory() as tmp:
        sources = _runnable(Path(tmp) / "sources")
        apply(sources)
        work = Path(tmp) / "w"
        args = () if check else ("--no-check",)
        done = sluis("run", str(SPEC), "--data", str(sources), "--work", str(work), *args, cwd=ROOT)
        _no_traceback(done)
        if done.returncode in (0, 1):
            assert (work / "run.json").exists(), (table, kind, done.stderr)
            return
        _one_located_line(done, sources)
        assert not (work / "ksz" / "staged").exists() and not (work / "run.json").exists()


@pytest.mark.parametrize("table", ["person", "residence"])
def test_x2_b1_linked_run_on_an_empty_register_names_it(
    table: str, sources: Path, tmp_path: Path
) -> None:
    """26/050 selects its cohorts at the trusted third party without ``select_samples``:
    an empty register there is the same located line (a numpy traceback in the small-cell
    analysis before), and nothing is staged."""
    path = sources / f"{table}.parquet"
    _rewrite(path, lambda t: t.slice(0, 0))
    work = tmp_path / "w"
    spec = ROOT / "specs" / "26-050.yaml"
    done = sluis(
        "run", str(spec), "--data", str(sources), "--work", str(work), "--no-check", cwd=ROOT
    )
    _no_traceback(done)
    line = _one_located_line(done, path)
    assert ": empty-table: " in line, line
    assert not [p for p in work.rglob("*.parquet") if "quarantine" not in p.parts]


def test_x2_run_names_the_part_that_lacks_a_column(tmp_path: Path) -> None:
    """A table as a folder of parts, one part without a column: DuckDB would read the folder
    by the first part's schema; the run names the part (``--no-check``), as the check does."""
    sources = _runnable(tmp_path / "sources")
    single = sources / "residence.parquet"
    rows = pq.read_table(single)
    single.unlink()
    (sources / "residence").mkdir()
    pq.write_table(rows, sources / "residence" / "a.parquet")
    part = sources / "residence" / "b.parquet"
    pq.write_table(rows.drop_columns(["nis_code"]), part)
    for args in (("--no-check",), ()):
        work = tmp_path / f"w{len(args)}"
        done = sluis("run", str(SPEC), "--data", str(sources), "--work", str(work), *args, cwd=ROOT)
        _no_traceback(done)
        line = _one_located_line(done, part if args else sources)
        assert f"{part}:nis_code: missing-column: " in line, line
        assert not (work / "ksz" / "staged").exists()


def test_x2_engine_names_a_damaged_source_file_and_lets_a_bug_through(sources: Path) -> None:
    """A data page that fails only when scanned ("Out of buffer", no file named) is traced
    to its file and table; a query the code built wrong is not blamed on the data."""
    import duckdb

    from sluis.engine import connect
    from sluis.errors import SourceError

    _damage(sources / "residence.parquet")
    with connect(threads=1) as engine:
        person = engine.source(sources, "person")
        residence = engine.source(sources, "residence")
        assert engine.count(person) == 3
        with pytest.raises(SourceError) as err:
            engine.to_arrow(residence)
        assert err.value.rule == "unreadable-file"
        assert err.value.file == str(sources / "residence.parquet")
        assert "table residence" in err.value.message
        with pytest.raises(duckdb.BinderException), engine.located():
            engine.con.raw_sql("SELECT no_such_column FROM src_person").fetchall()
