"""G5: key columns as dense codes. Integer columns are encoded by counting over their range
(issue 19 item 6: faster than hashing and sorting); the codes and labels are those of the
definition: distinct values sorted, 0..L-1, missing coded L; and frequency counts do not
depend on the order of the cell ids."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.scra.frequencies import KeyCodes, cell_ids, encode_column, frequencies

INT_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32()]


@settings(deadline=None)  # a loaded machine
@given(
    st.sampled_from(INT_TYPES),
    st.lists(st.one_of(st.none(), st.integers(0, 120)), max_size=60),
    st.sampled_from([0, -60, 10**6]),
)
def test_g5_property_integer_codes_follow_the_definition(
    kind: pa.DataType, values: list[int | None], shift: int
) -> None:
    """G5: codes are the ranks of the sorted distinct values, missing last, labels typed."""
    if kind not in (pa.int32(), pa.int64()):
        shift = 0  # keep the values in the type's range
    shifted = [None if v is None else v + shift for v in values]
    codes, labels = encode_column(pa.array(shifted, kind))
    distinct = sorted({v for v in shifted if v is not None})
    expected = [len(distinct) if v is None else distinct.index(v) for v in shifted]
    assert codes.dtype == np.int32 and codes.tolist() == expected
    assert list(labels) == distinct + ([None] if None in shifted else [])
    assert all(type(label) is int for label in labels if label is not None)


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2000)), min_size=1, max_size=80))
def test_g5_property_fk_independent_of_cell_order(rows: list[tuple[int, int]]) -> None:
    """G5: fk by brute force, whatever order the cell ids come in (large key space: hashed)."""
    a = np.array([r[0] for r in rows], np.int32)
    b = np.array([r[1] for r in rows], np.int32)
    keys = KeyCodes(("a", "b"), (a, b), (tuple(range(4)), tuple(range(2001))))
    freq = frequencies(keys)
    count = Counter(rows)
    assert freq.fk.tolist() == [count[r] for r in rows]
    assert freq.n_cells == len(count)
    ordered, n = cell_ids(keys.codes, keys.cardinalities, keys.n)
    assert n == freq.n_cells
    # the same partition of records into cells
    assert len(set(zip(ordered.tolist(), freq.cell.tolist(), strict=True))) == n
