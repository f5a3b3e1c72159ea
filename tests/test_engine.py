"""The engine seam (X1): HMAC in the engine equals the standard library's, writes are
atomic and byte-reproducible, missing sources are clear errors."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.engine import connect
from sluis.errors import SourceError


@pytest.fixture(scope="module")
def engine():
    with connect(memory_limit="1GB", threads=1) as e:
        yield e


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=20), min_size=1, max_size=5), st.binary(max_size=100))
def test_g3_engine_hmac_is_rfc2104(engine, values: list[str], key: bytes) -> None:
    table = engine.arrow(pa.table({"v": values}))
    got = engine.to_arrow(table.select(table.v, h=engine.hmac_sha256(table.v, key))).to_pylist()
    for row in got:
        assert row["h"] == hmac.new(key, row["v"].encode(), hashlib.sha256).hexdigest()


def test_x3_write_parquet_is_atomic_ordered_and_reproducible(engine, tmp_path: Path) -> None:
    table = engine.arrow(pa.table({"k": [3, 1, 2, 5, 4], "v": list("cabed")}))
    first = engine.write_parquet(table, tmp_path / "a.parquet", order_by=["k"])
    second = engine.write_parquet(table, tmp_path / "b.parquet", order_by=["k"])
    assert first.read_bytes() == second.read_bytes()
    assert engine.to_arrow(engine.read_parquet(first)).column("k").to_pylist() == [1, 2, 3, 4, 5]
    assert first.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.parquet"]


def test_x3_parallel_writer_gives_the_same_bytes_as_one_thread(tmp_path: Path) -> None:
    """Several row groups written by every thread equal the single-threaded file byte for
    byte, and the rows are in order (X3)."""
    n = 2_500_000
    rows = pa.table(
        {"k": pa.array([(i * 7919) % n for i in range(n)]), "v": [str(i % 977) for i in range(n)]}
    )
    digests = set()
    for threads in (1, 2, 4):
        with connect(memory_limit="1GB", threads=threads) as e:
            path = e.write_parquet(e.arrow(rows), tmp_path / f"t{threads}.parquet", order_by=["k"])
            digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
            back = pq.read_table(path).column("k").to_numpy()
            assert len(back) == n and (back[1:] > back[:-1]).all()
    assert len(digests) == 1


def test_x2_a_missing_source_table_names_the_file(engine, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="person"):
        engine.source(tmp_path, "person")


def test_x1_scratch_drops_what_a_stage_does_not_keep(engine) -> None:
    """Intermediate tables of a block are freed at its end; the kept result and lasting
    caches stay; a dropped table is gone."""
    base = engine.arrow(pa.table({"k": [1, 2, 3]}))
    with engine.scratch() as keep:
        step = engine.materialise(base.mutate(v=base.k * 2))
        cache = engine.materialise(base.filter(base.k > 1), lasting=True)
        result = keep(engine.materialise(step.filter(step.v > 2)))
    tables = _temp_tables(engine)
    assert step.get_name() not in tables
    assert {cache.get_name(), result.get_name()} <= tables
    assert engine.count(result) == 2
    engine.drop(result)
    assert result.get_name() not in _temp_tables(engine)


def _temp_tables(engine) -> set[str]:
    rows = engine.con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return {name for (name,) in rows}
