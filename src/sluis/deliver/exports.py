"""The data files of a delivery (G8): Parquet, Stata and CSV, byte for byte reproducible (X3).

Every writer takes a treated table (Arrow, the spec's columns in spec order) and writes one
file; columns are converted with Arrow compute, never with Python loops over rows.

- **Parquet**: rewritten with pyarrow, zstd, no schema metadata: the same table gives the
  same bytes (the writer's version string is part of the file, so the same sluis
  environment).
- **CSV**: UTF-8, a quoted header row, ``,`` separator, ``\\n`` line ends, strings quoted only
  when needed, nulls as empty fields, numbers in Arrow's shortest round-trip form.
- **Stata** (``.dta`` format 118, Stata 14 and later): through pyreadstat, which needs a pandas
  DataFrame (acceptable for a delivery-size table). String codes with classes become
  integers with value labels (:attr:`sluis.deliver.codebook.Category.stata`); whole 64-bit
  integers that fit become Stata ``long``; a quarter (``'2012Q2'``) or a month
  (``'2012-05'``) becomes a Stata date, the quarters (``%tq``) or months (``%tm``) since
  1960, so that ``tsset`` and Stata's date functions work on it as researchers expect; the
  file's timestamp (``dd Mon yyyy hh:mm``, the only varying bytes ReadStat writes) is
  replaced by the package's creation date at 00:00.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sluis.atomic import no_space_left
from sluis.deliver.codebook import DatasetDoc, VariableDoc
from sluis.errors import SluisError

#: Stata's limits (dta 118): names and value-label names 32 characters, variable labels 80
STATA_NAME = 32
STATA_LABEL = 80
#: Stata's largest "long"
STATA_LONG = 2_147_483_620
#: the year Stata counts its dates from
STATA_EPOCH = 1960
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PANDAS = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.float32(): pd.Float64Dtype(),
    pa.float64(): pd.Float64Dtype(),
}


def fsync(path: Path) -> None:
    with Path(path).open("rb") as fh:
        os.fsync(fh.fileno())


def write_parquet(table: pa.Table, path: Path) -> Path:
    """The treated table as Parquet: zstd, statistics, one row group per million rows."""
    pq.write_table(
        table.replace_schema_metadata(None),
        path,
        compression="zstd",
        row_group_size=1_000_000,
        write_statistics=True,
    )
    fsync(path)
    return path


def write_csv(table: pa.Table, path: Path) -> Path:
    """The treated table as UTF-8 CSV with a header (see the module's docstring)."""
    options = pacsv.WriteOptions(include_header=True, delimiter=",", quoting_style="needed")
    pacsv.write_csv(table, path, options)
    fsync(path)
    return path


# -- Stata -----------------------------------------------------------------------------------


def stata_timestamp(day: dt.date) -> bytes:
    """Stata's header timestamp for ``day`` at 00:00 (``"01 Dec 2026 00:00"``, 17 bytes)."""
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year:04d} 00:00".encode("ascii")


def _fix_timestamp(path: Path, created: dt.date) -> None:
    """Replace the write time ReadStat puts in the header by ``created`` (same length)."""
    data = bytearray(Path(path).read_bytes())
    tag = b"<timestamp>"
    at = data.find(tag, 0, 512)
    if at < 0:
        raise SluisError(f"{path}: no <timestamp> in the Stata header", rule="stata-format")
    length = data[at + len(tag)]
    start = at + len(tag) + 1
    if length == 17:
        data[start : start + 17] = stata_timestamp(created)
    Path(path).write_bytes(bytes(data))


def check_stata_limits(dataset: DatasetDoc) -> None:
    """Refuse a name, label or value-label name beyond Stata's limits (X2).

    pyreadstat names the value labels of the n-th labelled variable ``<name><n-1>``; that name
    must fit in 32 characters too."""
    problems = []
    labelled = 0
    for v in dataset.variables:
        if len(v.name) > STATA_NAME:
            problems.append(f"variable name {v.name} is longer than {STATA_NAME} characters")
        if len(v.label) > STATA_LABEL:
            problems.append(f"label of {v.name} is longer than {STATA_LABEL} characters")
        if _value_labels(v):
            label_name = f"{v.name}{labelled}"
            labelled += 1
            if len(label_name) > STATA_NAME:
                problems.append(
                    f"value-label name {label_name} is longer than {STATA_NAME} characters"
                )
    if problems:
        raise SluisError(
            f"dataset {dataset.name} cannot be written to Stata: " + "; ".join(problems),
            rule="stata-limit",
            hint="shorten the variable name or label in the spec",
        )


def _value_labels(v: VariableDoc) -> dict[int, str] | None:
    if v.categories is None or v.type == "number":
        return None
    labels = {c.stata: c.label for c in v.categories if c.stata is not None}
    return labels or None


def stata_date(column: pa.ChunkedArray | pa.Array, precision: str) -> pa.ChunkedArray | pa.Array:
    """Quarters ``'YYYYQn'`` (``year_quarter``) as the quarters since 1960Q1, months
    ``'YYYY-MM'`` (``year_month``) as the months since 1960-01: the values of Stata's ``%tq``
    and ``%tm`` dates (1960Q1 and 1960-01 are 0); nulls stay null."""
    year = pc.cast(pc.utf8_slice_codeunits(column, 0, 4), pa.int32())
    part = pc.cast(pc.utf8_slice_codeunits(column, 5, 7), pa.int32())
    per_year = 4 if precision == "year_quarter" else 12
    since = pc.multiply(pc.subtract(year, STATA_EPOCH), per_year)
    return pc.add(since, pc.subtract(part, 1))


def stata_column(column: pa.ChunkedArray, v: VariableDoc) -> pa.ChunkedArray | pa.Array:
    """One column as Stata will hold it: string codes with classes as their integers,
    quarters and months as Stata dates (:func:`stata_date`), 64-bit integers that fit as
    32-bit, everything else unchanged."""
    if v.stata_format is not None and pa.types.is_string(column.type):
        return stata_date(column, v.precision)  # type: ignore[arg-type]
    if v.stata_recoded:
        assert v.categories is not None
        codes = pa.array([str(c.code) for c in v.categories], pa.string())
        stata = pa.array([c.stata for c in v.categories], pa.int32())
        index = pc.index_in(column, value_set=codes)
        return pc.take(stata, index)
    if pa.types.is_integer(column.type) and column.type.bit_width == 64 and len(column):
        low, high = pc.min_max(column).values()
        if low.as_py() is None or (
            low.as_py() >= -STATA_LONG and high.as_py() <= STATA_LONG  # type: ignore[operator]
        ):
            return pc.cast(column, pa.int32())
    return column


def write_stata(table: pa.Table, dataset: DatasetDoc, path: Path, *, created: dt.date) -> Path:
    """The treated table as a Stata 14+ ``.dta`` (format 118) with variable and value labels."""
    check_stata_limits(dataset)
    docs = {v.name: v for v in dataset.variables}
    columns = [stata_column(table[name], docs[name]) for name in table.column_names]
    converted = pa.table(columns, names=table.column_names)
    frame = converted.to_pandas(types_mapper=_PANDAS.get)
    value_labels = {
        name: labels for name in table.column_names if (labels := _value_labels(docs[name]))
    }
    formats = {
        name: "%20.0f"
        for name in table.column_names
        if pa.types.is_integer(converted[name].type) and converted[name].type.bit_width == 64
    }
    formats |= {
        name: fmt
        for name in table.column_names
        if (fmt := docs[name].stata_format) and pa.types.is_string(table[name].type)
    }
    import pyreadstat  # loaded only when a package is written

    try:
        pyreadstat.write_dta(
            frame,
            str(path),
            file_label=dataset.description[:STATA_LABEL],
            column_labels=[docs[name].label for name in table.column_names],
            version=14,  # ReadStat's "Stata 14": dta release 118
            variable_value_labels=value_labels or None,
            variable_format=formats or None,
        )
    except pyreadstat.ReadstatError:
        # ReadStat says only "Unable to write data": on a full disk, say so (X2)
        if no_space_left(path.parent):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from None
        raise
    _fix_timestamp(path, created)
    fsync(path)
    return path
