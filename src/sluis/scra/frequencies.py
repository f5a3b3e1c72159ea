"""Key variables as integer codes, and frequency counts fk and Fk per key cell (G5).

Every measure of the small-cell risk analysis starts here: each key column becomes a dense
integer code (values sorted, a missing value is a category of its own, coded after the
values), and the combination of key codes identifies a record's *key cell*. ``fk`` is the
number of sample records in the record's cell and ``Fk`` the sum of their weights, as in
sdcMicro's ``freqCalc`` / ``measure_risk`` (with the difference that a missing value is its
own category instead of a wildcard; see docs/scra.md).

All work is vectorised numpy over whole columns; nothing loops over records in Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Largest radix product combined without re-densifying (keeps int64 products safe).
_RADIX_LIMIT = 1 << 62
#: Radix products below this are combined in int32.
_INT32_LIMIT = 1 << 31


def arrow_view(array: np.ndarray) -> pa.Array:
    """A contiguous numpy array of numbers as an Arrow array over the same memory.

    ``pa.array(ndarray)`` asks whether the array is a masked one, which imports
    ``numpy.ma`` (0.01 s of CPU of every ``sluis scra FILE`` run) for arrays that never
    are; the buffer is shared (no copy) either way."""
    array = np.ascontiguousarray(array)
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(array.dtype), len(array), [None, pa.py_buffer(array)]
    )


@dataclass(frozen=True)
class KeyCodes:
    """Key variables of a table as dense integer codes.

    ``codes[j]`` holds the codes of key ``names[j]`` (int32, 0..cardinality-1);
    ``labels[j][c]`` is the original value of code ``c`` (``None`` for missing).
    """

    names: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    labels: tuple[tuple[object, ...], ...]

    @property
    def n(self) -> int:
        return len(self.codes[0]) if self.codes else 0

    @property
    def cardinalities(self) -> tuple[int, ...]:
        return tuple(len(lab) for lab in self.labels)

    def matrix(self) -> np.ndarray:
        """Records × keys, int32, C order (one record's codes contiguous)."""
        if not self.codes:
            return np.zeros((0, 0), dtype=np.int32)
        return np.ascontiguousarray(np.stack(self.codes, axis=1), dtype=np.int32)

    def label(self, key: int, code: int) -> object:
        return self.labels[key][code]


def encode_column(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, tuple[object, ...]]:
    """Dense codes of one column: sorted distinct values 0..L-1, missing coded L (last)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_integer(column.type):
        encoded = _encode_integers(column)
        if encoded is not None:
            return encoded
    if pa.types.is_null(column.type):  # every value missing: one category, missing
        return np.zeros(len(column), dtype=np.int32), (None,) if len(column) else ()
    # the distinct values and each record's index among them in one hash pass
    # (pc.unique then pc.index_in hashed every record twice), then their ranks
    encoded = column.dictionary_encode()  # a missing value stays missing, not in the values
    order = pc.sort_indices(encoded.dictionary)
    n_values = len(order)
    rank = np.empty(n_values, dtype=np.int32)
    rank[order.to_numpy(zero_copy_only=False)] = np.arange(n_values, dtype=np.int32)
    codes = pc.take(arrow_view(rank), encoded.indices)
    labels: list[object] = encoded.dictionary.take(order).to_pylist()
    if column.null_count:
        codes = pc.fill_null(codes, n_values)
        labels.append(None)
    array = codes.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return array, tuple(labels)


def _encode_integers(column: pa.Array) -> tuple[np.ndarray, tuple[object, ...]] | None:
    """:func:`encode_column` of a column of small non-negative integers (years, classes,
    counts): the distinct values by hashing, then each record's code by a lookup table
    indexed by its value (``take``) instead of a hash lookup per record; the same codes and
    labels. Arrow allocates the codes from its memory pool: fresh numpy arrays of millions
    of records cost more in page faults than the lookup saves. None for other columns."""
    distinct = pc.drop_null(pc.unique(column)).to_numpy(zero_copy_only=False)
    if len(distinct) == 0 or distinct.min() < 0 or distinct.max() > 4 * len(column) + (1 << 16):
        return None
    values = np.sort(distinct)
    table = np.zeros(int(values[-1]) + 1, dtype=np.int32)
    table[values] = np.arange(len(values), dtype=np.int32)
    codes = pc.take(arrow_view(table), column)
    labels: list[object] = values.tolist()
    if column.null_count:
        codes = pc.fill_null(codes, len(labels))
        labels.append(None)
    return codes.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), tuple(labels)


def encode_keys(table: pa.Table, keys: Sequence[str]) -> KeyCodes:
    """Encode the key columns ``keys`` of ``table`` (see :class:`KeyCodes`)."""
    codes = []
    labels = []
    for name in keys:
        array, lab = encode_column(table.column(name))
        codes.append(array)
        labels.append(lab)
    return KeyCodes(tuple(keys), tuple(codes), tuple(labels))


def cell_ids(
    codes: Sequence[np.ndarray],
    cardinalities: Sequence[int],
    n: int | None = None,
    *,
    ordered: bool = True,
) -> tuple[np.ndarray, int]:
    """Dense id (0..cells-1, ordered by the key codes) of each record's key cell.

    Codes are combined in mixed radix; when the product of cardinalities would overflow,
    the partial combination is re-densified first. With no keys every record is in cell 0.
    ``ordered=False``: ids in order of first appearance when the key space is large (a hash
    instead of a sort of every record), for counts that do not depend on the order.
    """
    if not codes:
        size = 0 if n is None else n
        return np.zeros(size, dtype=np.int64), 1 if size else 0
    # 32-bit keys when every combination fits: half the memory traffic, and Arrow's hash
    # of int32 (below) is a quarter faster than of int64 (K8 at 1 M: 63 ms against 81 ms)
    whole = math.prod(max(int(card), 1) for card in cardinalities)
    dtype = np.int32 if whole < _INT32_LIMIT else np.int64
    key = np.array(codes[0], dtype=dtype)  # a copy: updated in place below
    radix = max(int(cardinalities[0]), 1)
    for column, card in zip(codes[1:], cardinalities[1:], strict=True):
        card = max(int(card), 1)
        if radix * card >= _RADIX_LIMIT:
            key, radix = _densify(key, radix)
        key *= card  # in place: a fresh array of millions of records per key costs page faults
        key += column
        radix *= card
    if not ordered and radix > max(4 * len(key), 1 << 20):
        encoded = arrow_view(key).dictionary_encode()
        ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return ids, len(encoded.dictionary)
    return _densify(key, radix)


def _densify(key: np.ndarray, radix: int) -> tuple[np.ndarray, int]:
    """Map keys to 0..distinct-1 in key order."""
    if len(key) == 0:
        return key.astype(np.int64), 0
    if radix <= max(4 * len(key), 1 << 20):
        present = np.bincount(key, minlength=radix) > 0
        remap = np.cumsum(present, dtype=np.int64) - 1
        return remap[key], int(remap[-1] + 1)
    uniq, inverse = np.unique(key, return_inverse=True)
    return inverse.astype(np.int64, copy=False), len(uniq)


@dataclass(frozen=True)
class Frequencies:
    """Per record: its cell, ``fk`` (records in the cell) and ``Fk`` (weights in the cell);
    per cell (``cell_fk``, ``cell_Fk``) the same counts once, for measures that depend on a
    record only through its cell (computed once a cell instead of once a record)."""

    cell: np.ndarray
    n_cells: int
    fk: np.ndarray
    Fk: np.ndarray
    cell_fk: np.ndarray
    cell_Fk: np.ndarray

    def records_below(self, k: int) -> int:
        """Number of RECORDS (not cells) whose cell has fewer than ``k`` records."""
        return int(np.count_nonzero(self.fk < k))

    def cell_sizes(self) -> np.ndarray:
        """Records per cell (length ``n_cells``)."""
        return self.cell_fk


def frequencies(keys: KeyCodes, weights: np.ndarray | None = None) -> Frequencies:
    """fk and Fk for every record (sdcMicro ``freqCalc``; missing = own category). Cell
    ids are dense but, for a large key space, in order of first appearance (nothing here
    depends on their order; sorting a million records cost a tenth of a second)."""
    cell, n_cells = cell_ids(keys.codes, keys.cardinalities, keys.n, ordered=False)
    counts = np.bincount(cell, minlength=n_cells)
    fk = counts[cell]
    if weights is None:
        cell_Fk = counts.astype(np.float64)
        Fk = fk.astype(np.float64)
    else:
        cell_Fk = np.bincount(cell, weights=weights, minlength=n_cells)
        Fk = cell_Fk[cell]
    return Frequencies(cell, n_cells, fk, Fk, counts, cell_Fk)
