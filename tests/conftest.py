"""Shared fixtures: a small, valid set of source tables in the source contract (G2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from source_tables import write_sources


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A directory with one valid Parquet file per contract table."""
    return write_sources(tmp_path / "sources")


@pytest.fixture
def edit(sources: Path) -> Callable[[str, Callable[[pa.Table], pa.Table]], Path]:
    """Rewrite one table of ``sources`` through a function; returns the file."""

    def apply(name: str, change: Callable[[pa.Table], pa.Table]) -> Path:
        path = sources / f"{name}.parquet"
        pq.write_table(change(pq.read_table(path)), path)
        return path

    return apply
