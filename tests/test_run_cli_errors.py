"""X2 (issue 23): ``sluis run`` reports a user's mistake as one readable line: a phase the
spec does not have (no doubled ``error: error:``), and registers changed in place since the
remembered sources check (G2), named with the file and never with a national number."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from entry_point import sluis
from sluis.cli.entry import error_text as _error_text
from sluis.errors import SluisError, SourceError, UsageError
from sluis.flow import run_spec
from sluis.sources.remember import check_remembered
from source_tables import PEOPLE

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"


def test_x2_unknown_phase_is_one_line_without_a_doubled_prefix(tmp_path: Path) -> None:
    done = sluis(
        "run",
        str(SPEC),
        "--phase",
        "3",
        "--data",
        str(tmp_path),
        "--work",
        str(tmp_path / "w"),
        cwd=ROOT,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == ["error: spec 25/074 has phases 1, 2, not 3"], done.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("err", "line"),
    [
        (UsageError("no phase 3"), "no phase 3"),
        (UsageError("bad", file="f.yaml", line=3, hint="fix it"), "f.yaml:3: bad (hint: fix it)"),
        (UsageError("bad", rule="bad-date", file="x"), "x: bad-date: bad"),
    ],
)
def test_x2_error_line_names_the_rule_only_when_there_is_one(err: SluisError, line: str) -> None:
    assert _error_text(err) == line


def _ksz_tables() -> frozenset[str]:
    from sluis.spec import load_spec

    return frozenset(load_spec(SPEC).parties["ksz"].tables)


def _corrupt_in_place(sources: Path) -> str:
    """Make the first person's INSZ invalid in person.parquet, same size and mtime."""
    path = sources / "person.parquet"
    pq.write_table(pq.read_table(path), path, compression="none", use_dictionary=False)
    st = path.stat()
    bad = PEOPLE[0][:-1] + str((int(PEOPLE[0][-1]) + 1) % 10)
    path.write_bytes(path.read_bytes().replace(PEOPLE[0].encode(), bad.encode()))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    return bad


def test_g2_x2_run_rechecks_a_register_changed_in_place(sources: Path, tmp_path: Path) -> None:
    """The next run after a passed check sees a register changed in place (same size and
    modification time), names the file, stops before any stage reads the data, and
    records no sources-checked event."""
    work = tmp_path / "w"
    pq.write_table(
        pq.read_table(sources / "person.parquet"),
        sources / "person.parquet",
        compression="none",
        use_dictionary=False,
    )
    assert check_remembered(sources, work / "ksz", _ksz_tables()).checked
    bad = _corrupt_in_place(sources)
    heard: list[str] = []
    with pytest.raises(SourceError) as err:
        run_spec(SPEC, sources, phase=1, work=work, notify=heard.append)
    assert heard == ["person.parquet changed since the last sources check (content); re-checking"]
    assert "person.parquet (content)" in str(err.value)
    assert bad not in str(err.value) and PEOPLE[0] not in str(err.value)
    events = [json.loads(x)["event"] for x in (work / "ksz" / "audit.log").read_text().splitlines()]
    assert "run-started" in events and "sources-checked" not in events


def test_g2_cli_paranoid_run_names_the_changed_file(sources: Path, tmp_path: Path) -> None:
    work = tmp_path / "w"
    pq.write_table(
        pq.read_table(sources / "person.parquet"),
        sources / "person.parquet",
        compression="none",
        use_dictionary=False,
    )
    check_remembered(sources, work / "ksz", _ksz_tables(), paranoid=True)
    bad = _corrupt_in_place(sources)
    done = sluis(
        "run", str(SPEC), "--data", str(sources), "--work", str(work), "--paranoid", cwd=ROOT
    )
    assert done.returncode == 2, done.stderr
    assert "person.parquet changed since the last sources check (content)" in done.stderr
    assert "sources-invalid" in done.stderr
    assert bad not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
