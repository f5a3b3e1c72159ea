"""Row buffers and Arrow columns for the quarterly registers.

Rows are produced quarter by quarter in compact NumPy dtypes (codes as small integer indices
into their code list) and turned into Arrow once, sorted by person then time: sorted rows let
Parquet's dictionary and run-length encodings store a person's hundred quarters of INSZ and
mostly unchanged codes in a few bytes (S4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.synth.state import NODATE


class RowBuffer:
    """Columns appended in parts, returned in person order.

    Each part (a quarter, say) holds every person at most once, in any order. Rows come out
    sorted by person and, within a person, in the order their parts were added: a counting
    sort, so each column is scattered once into place instead of concatenated and gathered.
    """

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def add(self, **columns: np.ndarray) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns of unequal length: {lengths}")
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(values)

    def columns(self, by: str = "person") -> dict[str, np.ndarray]:
        """All columns, sorted by ``by``, then by the order of the parts."""
        if not self.parts:
            return {}
        keys = self.parts[by]
        size = max(int(k.max()) + 1 if len(k) else 0 for k in keys)
        counts = np.zeros(size, dtype=np.int64)
        for k in keys:
            counts += np.bincount(k, minlength=size)
        seen = np.cumsum(counts) - counts
        places = []
        for k in keys:
            places.append(seen[k])
            seen[k] += 1
        total = int(counts.sum())
        out = {}
        for name in list(self.parts):
            parts = self.parts.pop(name)
            column = np.empty(total, dtype=parts[0].dtype)
            for values, place in zip(parts, places, strict=True):
                column[place] = values
            out[name] = column
        return out


def codes(labels: Sequence[str], index: np.ndarray) -> pa.Array:
    """A string column from indices into ``labels`` (-1 = empty), dictionary-encoded."""
    index = np.asarray(index)
    itype = pa.int8() if len(labels) < 127 else pa.int16()
    indices = pa.array(index.astype(itype.to_pandas_dtype(), copy=False), mask=index < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(labels), pa.string()))


def flags(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """A 0/1 flag column ("0", "1"); empty where ``present`` is False."""
    index = np.asarray(values).astype(np.int8, copy=False)
    if present is not None:
        index = np.where(present, index, -1)
    return codes(("0", "1"), index)


def dates(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int32)
    return pa.array(days, type=pa.date32(), mask=days == NODATE)


def ints(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(values)
    return pa.array(values, mask=None if present is None else ~np.asarray(present))


def amounts(values: np.ndarray) -> pa.Array:
    """Euros as int32; empty where zero (no payment from that institution)."""
    values = np.asarray(values).astype(np.int32, copy=False)
    return pa.array(values, mask=values == 0)


def lookup(labels: Sequence[str], size: int = 1000) -> np.ndarray:
    """int16 array mapping an integer code (e.g. SEP 331) to its index in ``labels``."""
    table = np.full(size, -1, dtype=np.int16)
    for i, label in enumerate(labels):
        if label.isdigit() and int(label) < size:
            table[int(label)] = i
    return table


def household_ids(chunk: int, hh: np.ndarray) -> pa.Array:
    """Household identifiers as the household table writes them: the chunk in 4 digits and
    the chunk-local household number in 8 (computed in Arrow: NumPy's string functions are
    slow on millions of rows)."""
    number = pa.array(np.asarray(hh, dtype=np.int64) + chunk * 100_000_000)
    return pc.utf8_lpad(pc.cast(number, pa.string()), 12, "0")
