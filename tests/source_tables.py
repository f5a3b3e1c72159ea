"""Small, valid source tables built from the contract declaration, for the G2/X2 tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sluis.domain.codelists import codelists
from sluis.domain.insz import make_insz
from sluis.sources.contract import CONTRACT, Column, Table

#: three people: born 1985 (man), 2001 (woman, uses the 2000 rule), 1950 (man, BIS number)
PEOPLE = (
    make_insz(dt.date(1985, 7, 30), 33),
    make_insz(dt.date(2001, 3, 15), 2),
    make_insz(dt.date(1950, 1, 2), 5, bis=True),
)
N_ROWS = len(PEOPLE)
#: a NIS code valid in both vintages (Aartselaar)
NIS_BOTH = "11001"

_ARROW = {
    "insz": pa.string(),
    "code": pa.string(),
    "string": pa.string(),
    "date": pa.date32(),
    "int": pa.int64(),
    "float": pa.float64(),
}


def _value(table: Table, col: Column, i: int) -> object:
    """A valid value for row ``i`` of ``table.col``."""
    ends = {end for _, end in table.periods}
    if col.nullable and i == N_ROWS - 1:
        return None  # the last row leaves every column that may be empty empty
    if col.type == "insz":
        # the row's own person, then other people for father, mother, spouse, ...
        others = [c.name for c in table.columns if c.type == "insz"]
        return PEOPLE[(i + others.index(col.name)) % N_ROWS]
    if col.name == table.quarter_end:
        return dt.date(2015 + i, 12, 31)  # the last day of a quarter (G6)
    if col.type == "date":
        # ends of periods after their starts; all inside DATE_MIN..DATE_MAX
        return dt.date(2010, 1 + i, 1) if col.name in ends else dt.date(1980 + i, 3, 1)
    if col.codelist == "municipality":
        return NIS_BOTH
    if col.codelist is not None:
        codes = sorted(codelists()[col.codelist].codes)
        return codes[i % len(codes)]
    if col.type == "int":
        return i
    if col.type == "float":
        return i * 1.5
    return f"{col.name}-{i}"


def valid_table(table: Table) -> pa.Table:
    """A small valid Arrow table for ``table``, built from the contract declaration."""
    return pa.table(
        {
            col.name: pa.array([_value(table, col, i) for i in range(N_ROWS)], _ARROW[col.type])
            for col in table.columns
        }
    )


def write_sources(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for table in CONTRACT:
        pq.write_table(valid_table(table), directory / f"{table.name}.parquet")
    return directory


def set_value(column: str, row: int, value: object) -> Callable[[pa.Table], pa.Table]:
    """A change that puts ``value`` in ``column`` at 0-based ``row``, keeping the type."""

    def change(t: pa.Table) -> pa.Table:
        values = t.column(column).to_pylist()
        values[row] = value
        i = t.schema.get_field_index(column)
        return t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))

    return change
