"""G5: a run that writes a treated file reads its Parquet file once (issue 19 item 6): the
whole table built on the measures' columns is the file's own table, and those columns are
not read again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sluis.scra import inputs


def _write(path: Path, offset: int = 0) -> pa.Table:
    table = pa.table(
        {
            "id": pa.array([1 + offset, 2, 3, None], pa.int64()),
            "key": pa.array(["a", None, "b", "a"]).dictionary_encode(),
            "when": pa.array([dt.datetime(2024, 1, d + 1) for d in range(4)], pa.timestamp("us")),
            "weight": pa.array([1.5, 2.0, None, 4.25]),
            "note": pa.array([f"x{offset}", "y", "z", None]),
        }
    ).replace_schema_metadata({"made_by": "test"})
    pq.write_table(table, path)
    return pq.ParquetFile(path).read()


def test_g5_whole_table_after_the_measured_columns_reads_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """G5: load_whole after load_table equals the file read whole (types, order, schema
    metadata), and reads only the columns load_table did not."""
    path = tmp_path / "data.parquet"
    expected = _write(path)
    asked: list[list[str] | None] = []
    real_read = pq.ParquetFile.read

    def counting_read(self: pq.ParquetFile, columns: list[str] | None = None, **kw: object):
        asked.append(None if columns is None else list(columns))
        return real_read(self, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read", counting_read)
    measured = inputs.load_table(path, ["weight", "key"])
    assert measured.column_names == ["weight", "key"]
    whole = inputs.load_whole(path, measured)
    assert whole.equals(expected, check_metadata=True)
    assert asked == [["weight", "key"], ["id", "when", "note"]]
    alone = inputs.load_whole(path)  # nothing handed over: read whole
    assert alone.equals(expected, check_metadata=True) and asked[-1] is None
    every = inputs.load_table(path, ["note", "id", "when", "key", "weight"])
    reads = len(asked)
    assert inputs.load_whole(path, every).equals(expected, check_metadata=True)
    assert len(asked) == reads  # every column handed over: nothing read


def test_g5_treated_file_of_a_run_is_the_whole_input_treated(tmp_path: Path) -> None:
    """G5: ``sluis scra FILE --suppress`` writes every column and row of the file, a value
    changed only where it was suppressed (the columns the measures did not read too)."""
    from sluis.cli.scra_view import run_file

    path = tmp_path / "data.parquet"
    rows = 40
    table = pa.table(
        {
            "a": pa.array([i % 3 for i in range(rows)]),
            "b": pa.array([i % 7 for i in range(rows)]),
            "w": pa.array([2.0] * rows),
            "note": pa.array([f"r{i}" for i in range(rows)]),
        }
    )
    pq.write_table(table, path)
    run_file(path, tmp_path / "out", keys=["a,b"], weight="w", suppress=True, k=3)
    treated = pq.read_table(tmp_path / "out" / "treated.parquet")
    assert treated.schema.names == [*table.schema.names, "sdc_suppressed"]
    assert treated.num_rows == rows
    assert treated.column("note").equals(table.column("note"))
    assert treated.column("w").equals(table.column("w"))
    for key in ("a", "b"):
        before, after = table.column(key).to_pylist(), treated.column(key).to_pylist()
        assert all(y is None or y == x for x, y in zip(before, after, strict=True))
    assert treated.column("a").null_count + treated.column("b").null_count > 0
