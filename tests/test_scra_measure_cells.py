"""G5, issue 19 item 6: the measures a ``sluis scra FILE`` run takes faster are the same
measures. The individual risk computed once a cell and gathered equals the risk computed
once a record, bit for bit, and so does every count and histogram; the risk histogram by
comparisons equals ``np.histogram`` of the clipped risk; cells combined in int32 or int64,
hashed or counted, are the same partition; a treated file written on a second thread has
the bytes of one written in turn, and a failed write fails the run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.scra import inputs
from sluis.scra.background import Pending
from sluis.scra.frequencies import KeyCodes, encode_column, frequencies
from sluis.scra.measure import _RISK_EDGES, _risk_histogram, load, risk_measures
from sluis.scra.plan import plan_from_file
from sluis.scra.treatment import treat_dataset

#: cardinalities of three keys: a small key space (counted), one hashed in int32, one
#: whose combinations overflow int32 (int64)
SPACES = [(4, 3, 5), (3000, 2000, 1), (3000, 2000, 1000)]


@settings(deadline=None, max_examples=60)  # a loaded machine
@given(
    st.sampled_from(SPACES),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 40)), min_size=1, max_size=120),
    st.integers(2, 6),
    st.booleans(),
)
def test_g5_property_risk_by_cell_is_risk_by_record(
    space: tuple[int, int, int], rows: list[tuple[int, int]], k: int, households: bool
) -> None:
    """G5: every measure with ``cells`` equals the measure once a record, bit for bit."""
    codes = [
        np.array([(seed // d) % card for seed, _ in rows], np.int32)
        for d, card in zip((1, 7, 49), space, strict=True)
    ]
    keys = KeyCodes(("a", "b", "c"), tuple(codes), tuple(tuple(range(c)) for c in space))
    weights = np.array([w / 3 + 1 for _, w in rows])
    freq = frequencies(keys, weights)
    combos = list(zip(*(c.tolist() for c in codes), strict=True))
    count = Counter(combos)
    assert freq.fk.tolist() == [count[c] for c in combos]
    assert freq.n_cells == len(count)
    assert np.array_equal(freq.cell_fk[freq.cell], freq.fk)
    assert np.array_equal(freq.cell_Fk[freq.cell], freq.Fk)
    hh = np.arange(len(rows)) // 3 if households else None
    by_record, risk_record = risk_measures(freq.fk, freq.Fk, freq.n_cells, k, hh)
    by_cell, risk_cell = risk_measures(freq.fk, freq.Fk, freq.n_cells, k, hh, cells=freq)
    assert risk_cell.tobytes() == risk_record.tobytes()
    assert by_cell == by_record


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from(_RISK_EDGES),
            st.floats(0, 1),
        ),
        max_size=80,
    )
)
def test_g5_property_risk_histogram_is_numpy_histogram(values: list[float]) -> None:
    """G5: records per risk band as ``np.histogram(np.clip(risk, 0, 1), edges)`` (last band
    closed, a missing risk in none), per record and per cell weighted by its records."""
    risk = np.array(values, dtype=np.float64)
    clipped = np.clip(risk, 0.0, 1.0)
    expected = np.histogram(clipped[~np.isnan(clipped)], _RISK_EDGES)[0].tolist()
    assert list(_risk_histogram(risk).values()) == expected
    records = np.arange(1, len(risk) + 1)
    weighted = np.repeat(risk, records)
    assert _risk_histogram(risk, records) == _risk_histogram(weighted)


def test_g5_treated_file_written_in_background_same_bytes(tmp_path: Path) -> None:
    """G5: the file run's treated file, written on a second thread, is byte for byte the
    file written in turn (the same table, the same writer)."""
    n = 300
    data = tmp_path / "d.parquet"
    pq.write_table(
        pa.table(
            {
                "age": [20 + i % 13 for i in range(n)],
                "sex": [1 + i % 2 for i in range(n)],
                "town": [f"t{i % 7}" for i in range(n)],
                "income": [float(i) for i in range(n)],
            }
        ),
        data,
    )
    plan = plan_from_file(data, key_sets=[["age", "sex", "town"]], k=3, suppress=True)
    dataset = plan.datasets[0]
    loaded = load(dataset, plan.k)
    in_turn = treat_dataset(plan, dataset, loaded, tmp_path / "a")
    meanwhile = treat_dataset(plan, dataset, loaded, tmp_path / "b", background=True)
    assert in_turn.written is None and meanwhile.written is not None
    meanwhile.written.wait()
    a, b = (tmp_path / d / dataset.treated_file for d in ("a", "b"))
    assert in_turn.suppression is not None and in_turn.suppression.total > 0
    assert a.read_bytes() == b.read_bytes()


def test_g5_background_write_error_raised_by_wait() -> None:
    """G5: a write that fails on its thread fails the run where it waits for it."""

    def fails() -> None:
        raise OSError("disk gone")

    pending = Pending(fails, "test")
    with pytest.raises(OSError, match="disk gone"):
        pending.wait()
    done: list[int] = []
    Pending(lambda: done.append(1), "test").wait()
    assert done == [1]


@settings(deadline=None)
@given(
    st.one_of(
        st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=60),
        st.lists(st.one_of(st.none(), st.floats(allow_nan=False), st.just(-0.0)), max_size=60),
    )
)
def test_g5_property_hashed_codes_follow_the_definition(values: list[object]) -> None:
    """G5: a column that is not small integers (text, decimals) is coded by one hash pass
    and ranks: codes are the ranks of the sorted distinct values, missing last."""
    column = pa.array(values)
    codes, labels = encode_column(column)
    distinct = pc.drop_null(pc.unique(column))
    distinct = distinct.take(pc.sort_indices(distinct))
    # (Arrow's equality: -0.0 and 0.0 are two values, as they were before the one pass)
    expected = pc.fill_null(pc.index_in(column, value_set=distinct), len(distinct))
    assert codes.dtype == np.int32 and codes.tolist() == expected.to_pylist()
    assert list(labels) == distinct.to_pylist() + ([None] if None in values else [])


def test_g5_prefetched_read_is_the_read_and_a_changed_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """G5: columns read ahead (``sluis scra FILE`` reads while it imports) are the table a
    read then gives, taken once; a file changed since, a column not read ahead, or a
    column the file lacks make load_table read (and report) as always."""
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": [1, 2, None], "b": ["x", None, "z"], "c": [0.5, 1.0, 2.0]}), path)
    reads: list[list[str]] = []
    real_read = pq.ParquetFile.read

    def counting_read(self: pq.ParquetFile, columns: list[str] | None = None, **kw: object):
        reads.append(list(columns or []))
        return real_read(self, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read", counting_read)
    direct = inputs.load_table(path, ["c", "a"])
    inputs.prefetch(path, ["a", "b", "c"])
    early = inputs.load_table(path, ["c", "a"])
    assert early.equals(direct, check_metadata=True) and early.column_names == ["c", "a"]
    assert reads == [["c", "a"], ["a", "b", "c"]]
    inputs.load_table(path, ["c", "a"])  # taken once: read again
    assert reads[-1] == ["c", "a"]
    inputs.prefetch(path, ["a"])
    inputs.load_table(path, ["a", "b"])  # b not read ahead
    assert reads[-1] == ["a", "b"]
    inputs.prefetch(path, ["a", "b"])
    pq.write_table(pa.table({"a": [7], "b": ["y"]}), path)
    assert inputs.load_table(path, ["a"]).column("a").to_pylist() == [7]
    inputs.prefetch(path, ["a", "nope"])
    with pytest.raises(inputs.ScraInputError, match="nope"):
        inputs.load_table(path, ["a", "nope"])
    inputs.prefetch(path, ["a"])
    inputs.forget_prefetched()  # a run that stopped before reading
    assert inputs._EARLY == {}
