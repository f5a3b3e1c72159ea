"""What the engine may use of the machine (X1, X3; issue 20): a memory limit set from the
machine or ``--memory``, spilling past it into the workspace (never the system's temporary
directory), and a killed command's spill directory removed by the next command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.engine import connect
from sluis.engine.resources import (
    MIN_BYTES,
    SPILL_FOLDER,
    SPILL_PREFIX,
    machine_memory,
    memory_limit,
    parse_bytes,
    spill_root,
)
from sluis.errors import UsageError
from sluis.flow.lock import workspace_lock

_FACTOR = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=4096),
    unit=st.sampled_from(["k", "m", "g", "t"]),
    suffix=st.sampled_from(["", "b", "ib", "B", "iB"]),
    space=st.sampled_from(["", " "]),
    upper=st.booleans(),
)
def test_x1_memory_sizes_read_in_binary_units(
    n: int, unit: str, suffix: str, space: str, upper: bool
) -> None:
    """X1: '4GB', '4 GiB', '4g' and '4G' are all 4 GiB (the engine counts in GiB)."""
    text = f"{n}{space}{unit.upper() if upper else unit}{suffix}"
    assert parse_bytes(text) == n * _FACTOR[unit]


@pytest.mark.parametrize("bad", ["", "lots", "4 XB", "-1GB", "GB"])
def test_x1_a_bad_memory_size_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="--memory"):
        memory_limit(bad)


def test_x1_a_memory_limit_below_the_floor_is_refused() -> None:
    with pytest.raises(UsageError, match="at least"):
        memory_limit("1MB")


def test_x1_the_default_limit_comes_from_the_machine() -> None:
    """X1: a quarter of the machine's memory, at most half of what is free, not a
    constant (DuckDB was allowed 8 GB whatever the machine had)."""
    total, available = machine_memory()
    limit = memory_limit()
    assert limit == max(MIN_BYTES, min(total // 4, available // 2))
    assert MIN_BYTES <= limit <= max(MIN_BYTES, total // 4)


def test_x1_the_engine_takes_its_limit_and_spills_in_the_workspace(tmp_path: Path) -> None:
    """X1, X3: the engine's limit is the one asked, and its temporary directory is a
    directory of its own under the workspace's spill folder, removed with the folder when
    the engine closes."""
    root = spill_root(tmp_path / "ksz")
    with connect(memory_limit="512MB", threads=1, temp_directory=root) as engine:
        got = dict(
            engine.con.raw_sql(
                "SELECT name, value FROM duckdb_settings() "
                "WHERE name IN ('memory_limit', 'temp_directory')"
            ).fetchall()
        )
        assert got["memory_limit"] in ("512.0 MiB", "512.0MiB", "536.8 MB", "536.8MB")
        spill = Path(got["temp_directory"])
        assert spill.parent == root and spill.name.startswith(f"{SPILL_PREFIX}{os.getpid()}-")
        assert not str(spill).startswith(tempfile.gettempdir() + "/sluis-engine")
    assert not spill.exists() and not root.exists()


def test_x1_the_engine_spills_instead_of_failing(tmp_path: Path) -> None:
    """X1: a sort bigger than the limit spills to the workspace and completes."""
    root = spill_root(tmp_path)
    with connect(memory_limit="256MB", threads=1, temp_directory=root) as engine:
        n = engine.con.raw_sql(
            "SELECT count(*) FROM (SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS s "
            "FROM range(6000000) t(i) ORDER BY s)"
        ).fetchall()[0][0]
    assert n == 6_000_000


_KILLED = """
import os, signal, sys
from pathlib import Path
from sluis.engine import connect
from sluis.engine.resources import spill_root
engine = connect(memory_limit="256MB", threads=1, temp_directory=spill_root(Path(sys.argv[1])))
engine.con.raw_sql("CREATE TABLE t AS SELECT i, md5(i::VARCHAR) s FROM range(3000000) t(i)")
engine.con.raw_sql("SELECT * FROM t ORDER BY s").fetchall()  # spills
print("spill=" + engine._spill.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_x3_a_killed_runs_spill_directory_is_gone_after_the_next_command(tmp_path: Path) -> None:
    """X3 (issue 20): an engine killed with SIGKILL cannot remove its spill directory; the
    next command on the workspace (every command takes the workspace lock) removes it,
    also when its pid has since been given to a live process."""
    work = tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED, str(work / "ksz")], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    killed = Path(proc.stdout.split("spill=")[-1].strip())
    assert killed.parent == work / "ksz" / SPILL_FOLDER and killed.is_dir()
    # a leftover whose pid is alive now (this process's parent): stale all the same
    reused = work / "statbel" / SPILL_FOLDER / f"{SPILL_PREFIX}{os.getppid()}-x"
    reused.mkdir(parents=True)
    with workspace_lock(work, "sluis run"):
        assert not killed.exists() and not reused.exists()


def test_x1_sluis_run_refuses_a_bad_memory_option_before_anything_runs(tmp_path: Path) -> None:
    """X1, X2: ``sluis run --memory lots`` is a usage error (the entry point prints it in
    one line, exit 2) before any data is generated or read and before the workspace is
    made."""
    from typer.testing import CliRunner

    from sluis.cli.app import app

    work = tmp_path / "work"
    result = CliRunner().invoke(
        app, ["run", "specs/25-074.yaml", "--data", str(tmp_path), "--work", str(work),
              "--memory", "lots"],
    )  # fmt: skip
    assert isinstance(result.exception, UsageError)
    assert result.exception.rule == "bad-memory" and not work.exists()
