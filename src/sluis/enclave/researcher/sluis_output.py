"""sluis_output: write a result table together with what the output checks need (A5, B11).

Researchers import this module in their scripts, inside the enclave (it is on ``PYTHONPATH``
in the sandbox) and on their own computer alike (copy this one file next to the script: it
needs only the standard library, and pyarrow for :func:`summarise`). It exists so that most
outputs are checked automatically: a table written with :func:`table` carries, in a
``<name>.meta.json`` sidecar, the count and the contributors of every cell and, for a
magnitude table, each cell's two largest contributions, so the checks (``sluis enclave
check``) can apply the minimum frequency, dominance and p% rules without the microdata. A
model written with :func:`model` records its residual degrees of freedom.

The script computes the aggregates itself, from the data in ``SLUIS_DATA`` (DuckDB SQL or
pyarrow), and hands them over; :func:`summarise` does it for a pyarrow table::

    import duckdb, sluis_output as so
    persons = f"{so.data_dir()}/parquet/person.parquet"
    counts = duckdb.sql(f"SELECT region, sex, count(*) AS n FROM '{persons}' GROUP BY ALL")
    so.table(counts, "persons_by_region_sex", kind="count", count="n")

Files go to ``SLUIS_OUTPUT`` (``/output`` in the enclave), else to ``./output``.
See docs/enclave.md, "Helper library".
"""

from __future__ import annotations

import csv
import decimal
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["data_dir", "model", "output_dir", "summarise", "table"]

#: the version of the sidecar format the checks read
FORMAT = 1
KINDS = ("count", "magnitude")


def data_dir() -> Path:
    """The data folder: ``SLUIS_DATA`` (``/data`` in the enclave, the phase-1 package's
    ``data/`` folder on a researcher's computer)."""
    value = os.environ.get("SLUIS_DATA")
    if not value:
        raise RuntimeError("SLUIS_DATA is not set: point it at the package's data/ folder")
    return Path(value)


def output_dir() -> Path:
    """The output folder: ``SLUIS_OUTPUT`` (``/output`` in the enclave), else ``./output``."""
    path = Path(os.environ.get("SLUIS_OUTPUT") or "output")
    path.mkdir(parents=True, exist_ok=True)
    return path


def table(
    data: Any,
    name: str,
    *,
    kind: str = "count",
    count: str | None = None,
    value: str | None = None,
    contributors: str | None = None,
    top1: str = "top1",
    top2: str = "top2",
    dimensions: list[str] | None = None,
    unit: str = "persons",
    population: str | None = None,
    output: str | Path | None = None,
) -> Path:
    """Write ``<name>.csv`` and ``<name>.meta.json``; return the CSV's path.

    ``data`` is the aggregated table, one row per cell: a pyarrow Table, a DuckDB relation,
    a pandas DataFrame, a dict of columns or a list of row dicts.

    - ``kind="count"``: ``count`` names the column of frequencies (default ``n``, else
      ``count``); ``contributors`` the column of distinct persons per cell when a count is
      not of persons (person-quarters, jobs); else each counted unit is one contributor.
    - ``kind="magnitude"``: ``value`` names the cell's total (a sum of wages, days...),
      ``contributors`` the number of persons who contributed to it (default ``n``), and
      ``top1`` and ``top2`` the largest and second-largest contribution of one person (as
      absolute values). ``top1`` and ``top2`` stay in the sidecar, not in the CSV: the
      release keeps only the public part of the sidecar.

    ``dimensions`` are the columns that name a cell (default: every other column).
    ``unit`` says what a count counts; ``population`` names the population the table
    describes: tables of the same unit and population are compared with each other for
    differencing.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    _check_name(name)
    columns = _columns(data)
    if kind == "count":
        count = count or ("n" if "n" in columns else "count")
        roles = {"count": count, "contributors": contributors}
    else:
        value = value or ("total" if "total" in columns else "sum")
        contributors = contributors or "n"
        roles = {"sum": value, "contributors": contributors, "top1": top1, "top2": top2}
    for role, column in roles.items():
        if column is not None and column not in columns:
            raise ValueError(f"{name}: no column {column!r} for {role}; columns: {list(columns)}")
    used = {c for c in roles.values() if c is not None}
    dims = dimensions if dimensions is not None else [c for c in columns if c not in used]
    missing = [d for d in dims if d not in columns]
    if missing:
        raise ValueError(f"{name}: no dimension column(s) {missing}")
    hidden = {top1, top2} if kind == "magnitude" else set()
    shown = [c for c in columns if c not in hidden and (c in dims or c in used)]
    out = Path(output) if output is not None else output_dir()
    out.mkdir(parents=True, exist_ok=True)
    csv_bytes = _csv_bytes(columns, shown)
    csv_path = _write(out / f"{name}.csv", csv_bytes)
    cells: dict[str, Any] = {"keys": {d: [_plain(v) for v in columns[d]] for d in dims}}
    for role, column in roles.items():
        if column is not None:
            cells[role] = [_number(v, column, name) for v in columns[column]]
    meta = {
        "sluis_output": FORMAT,
        "kind": kind,
        "file": csv_path.name,
        "sha256": hashlib.sha256(csv_bytes).hexdigest(),
        "rows": len(columns[shown[0]]) if shown else 0,
        "dimensions": dims,
        "columns": {role: column for role, column in roles.items() if column is not None},
        "unit": unit,
        "population": population,
        "cells": cells,
    }
    _write(out / f"{name}.meta.json", _json_bytes(meta))
    return csv_path


def model(
    name: str,
    *,
    residual_df: int,
    n_obs: int | None = None,
    n_params: int | None = None,
    method: str | None = None,
    coefficients: Any = None,
    output: str | Path | None = None,
) -> Path:
    """Record a fitted model: ``<name>.meta.json`` with its residual degrees of freedom
    (observations minus estimated parameters), and ``<name>.csv`` with its coefficients
    when given (any table :func:`table` accepts). Returns the sidecar's path.

    With statsmodels: ``model("wage_ols", residual_df=int(fit.df_resid),
    n_obs=int(fit.nobs), method="ols", coefficients=...)``.
    """
    _check_name(name)
    if int(residual_df) != residual_df:
        raise ValueError(f"{name}: residual_df must be a whole number, got {residual_df!r}")
    out = Path(output) if output is not None else output_dir()
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "sluis_output": FORMAT,
        "kind": "model",
        "file": None,
        "sha256": None,
        "residual_df": int(residual_df),
        "n_obs": n_obs,
        "n_params": n_params,
        "method": method,
    }
    if coefficients is not None:
        columns = _columns(coefficients)
        csv_bytes = _csv_bytes(columns, list(columns))
        csv_path = _write(out / f"{name}.csv", csv_bytes)
        meta["file"] = csv_path.name
        meta["sha256"] = hashlib.sha256(csv_bytes).hexdigest()
    return _write(out / f"{name}.meta.json", _json_bytes(meta))


def summarise(
    rows: Any, by: list[str], *, value: str | None = None, contributor: str = "person_seq"
) -> Any:
    """Aggregate a row-level pyarrow table to one row per cell of ``by``, ready for
    :func:`table`: ``n`` (distinct contributors), and with ``value`` also ``total``,
    ``top1`` and ``top2`` (each contributor's values summed first; the top contributions
    in absolute value). The rows stay in pyarrow and numpy; only the aggregates come back.
    A missing value (null) in a ``by`` column is a cell of its own."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(rows, pa.Table):
        rows = pa.table(rows) if isinstance(rows, dict) else pa.table(_columns(rows))
    keys = [*by, contributor]
    if value is None:
        per = rows.group_by(keys).aggregate([])
        out = per.group_by(by).aggregate([([], "count_all")]).rename_columns([*by, "n"])
        return out.sort_by([(k, "ascending") for k in by])
    per = rows.group_by(keys).aggregate([(value, "sum")]).rename_columns([*keys, "v"])
    per = per.append_column("a", pc.abs(per["v"]))
    ranked = per.sort_by([*((k, "ascending") for k in by), ("a", "descending")])
    n_rows = ranked.num_rows
    new_cell = np.ones(n_rows, dtype=bool)
    for k in by:  # a row starts a new cell when any key differs from the row above
        col = ranked[k].combine_chunks()
        prev, cur = col.slice(0, n_rows - 1), col.slice(1)
        same = pc.or_kleene(pc.equal(prev, cur), pc.and_(pc.is_null(prev), pc.is_null(cur)))
        new_cell[1:] &= ~np.asarray(pc.fill_null(same, False).to_numpy(zero_copy_only=False))
    if not by:
        new_cell[1:] = False
    starts = np.flatnonzero(new_cell)
    if n_rows == 0:
        starts = np.zeros(0, dtype=np.int64)
    cell = np.cumsum(new_cell) - 1
    position = np.arange(n_rows) - starts[cell] if n_rows else np.zeros(0, dtype=np.int64)
    v = ranked["v"].to_numpy()
    a = ranked["a"].to_numpy()
    top2 = np.zeros(len(starts), dtype=a.dtype)
    top2[cell[position == 1]] = a[position == 1]
    out = ranked.take(pa.array(starts)).select(by)
    return (
        out.append_column("n", pa.array(np.diff(np.append(starts, n_rows))))
        .append_column("total", pa.array(np.add.reduceat(v, starts) if n_rows else v))
        .append_column("top1", pa.array(a[starts]))
        .append_column("top2", pa.array(top2))
    )


def _check_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"output name must be a plain file name, got {name!r}")


def _columns(data: Any) -> dict[str, list[Any]]:
    """Any supported table as ``{column: values}``, in column order."""
    if isinstance(data, dict):
        return {str(k): list(v) for k, v in data.items()}
    if isinstance(data, list):
        names: list[str] = []
        for row in data:
            names.extend(k for k in row if k not in names)
        return {k: [row.get(k) for row in data] for k in names}
    for method in ("to_arrow_table", "arrow", "fetch_arrow_table"):  # DuckDB relations
        if hasattr(data, method) and not hasattr(data, "to_pydict"):
            data = getattr(data, method)()
            break
    if hasattr(data, "to_pydict"):  # pyarrow Table or RecordBatch
        return dict(data.to_pydict())
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas
        return {str(c): list(data[c]) for c in data.columns}
    raise TypeError(f"cannot read a table from {type(data).__name__}")


def _plain(value: Any) -> Any:
    """A cell key as JSON has it: numbers and text as they are, anything else as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):  # DuckDB's sum of integers (HUGEINT)
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _number(value: Any, column: str, name: str) -> int | float:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: column {column!r} holds {value!r}, not a number")
    return int(value) if float(value).is_integer() else float(value)


def _csv_bytes(columns: dict[str, list[Any]], shown: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(shown)
    n = len(columns[shown[0]]) if shown else 0
    for i in range(n):
        writer.writerow(["" if columns[c][i] is None else _plain(columns[c][i]) for c in shown])
    return buffer.getvalue().encode("utf-8")


def _json_bytes(meta: dict[str, Any]) -> bytes:
    return (json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _write(path: Path, data: bytes) -> Path:
    """Write atomically: a temporary file in the same folder, then a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
