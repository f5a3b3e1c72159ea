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

from sluis.synth.state import NODATE


class RowBuffer:
    """Columns appended in parts of equal length; concatenated and sorted once."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def add(self, **columns: np.ndarray) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns of unequal length: {lengths}")
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(values)

    def columns(self, by: str = "person") -> dict[str, np.ndarray]:
        """All columns, stably sorted by ``by`` (so rows of a person keep their time order)."""
        if not self.parts:
            return {}
        key = np.concatenate(self.parts[by])
        order = np.argsort(key, kind="stable")
        out = {}
        for name in list(self.parts):
            out[name] = np.concatenate(self.parts.pop(name))[order]
        return out


def codes(labels: Sequence[str], index: np.ndarray) -> pa.Array:
    """A string column from indices into ``labels`` (-1 = empty), dictionary-encoded."""
    index = np.asarray(index)
    itype = pa.int8() if len(labels) < 127 else pa.int16()
    indices = pa.array(index.astype(itype.to_pandas_dtype()), mask=index < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(labels), pa.string()))


def flags(values: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """A 0/1 flag column ("0", "1"); empty where ``present`` is False."""
    index = np.asarray(values).astype(np.int8)
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
    values = np.asarray(values).astype(np.int32)
    return pa.array(values, mask=values == 0)


def lookup(labels: Sequence[str], size: int = 1000) -> np.ndarray:
    """int16 array mapping an integer code (e.g. SEP 331) to its index in ``labels``."""
    table = np.full(size, -1, dtype=np.int16)
    for i, label in enumerate(labels):
        if label.isdigit() and int(label) < size:
            table[int(label)] = i
    return table
