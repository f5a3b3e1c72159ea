"""Reading outputs for the checks (A5, B11): the helper library's sidecars, CSV files, and
the heuristic that finds the counts of a CSV written without a sidecar.

A sidecar (``<name>.meta.json``, written by ``sluis_output``) names the table's dimensions
and gives every cell's count and contributors, and for a magnitude table its total and two
largest contributions. The CSV it describes must still have the digest the sidecar
recorded; an edited CSV is checked on its own, as a file without a sidecar.

Without a sidecar a CSV is a count table only when a whole-number column has a count's
name (:data:`COUNT_NAMES`, or ``n_...``, ``..._n``, ``..._count``); its dimensions are the
other columns, except fractions and whole numbers named like a magnitude (total, wage...).
Those could be magnitudes, whose dominance cannot be checked from the file: such a file
goes to review, and so does a file with numbers but no column named as a count.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sluis.enclave.checks.tables import CellTable

#: column names taken for counts in a CSV without a sidecar (en, nl, fr)
COUNT_NAMES = frozenset(
    {"n", "count", "counts", "freq", "frequency", "persons", "people", "nobs", "aantal"}
    | {"personen", "frequentie", "effectif", "nombre", "total_persons"}
)
_COUNT_PATTERN = re.compile(r"^(n_.+|.+_n|.+_count|count_.+|.+_persons|aantal_.+)$")
#: whole-number columns that hold magnitudes, not categories, in a CSV without a sidecar
_MAGNITUDE_PATTERN = re.compile(
    r"(^|_)(total|sum|mean|avg|average|median|amount|wage|wages|income|days|value|"
    r"loon|bedrag|totaal|som|gemiddelde)(_|$)"
)
#: the sidecar fields only the checks may see: a release keeps the rest
PRIVATE_CELLS = ("top1", "top2")


class SidecarError(Exception):
    """A sidecar the checks cannot read (becomes a review finding, not a crash)."""


def is_count_name(name: str) -> bool:
    lower = name.strip().lower()
    return lower in COUNT_NAMES or bool(_COUNT_PATTERN.match(lower))


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar's JSON, with its required fields checked."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SidecarError(f"not a readable sidecar: {err}") from err
    if not isinstance(meta, dict) or meta.get("sluis_output") != 1:
        raise SidecarError('not a sluis_output sidecar (no "sluis_output": 1)')
    kind = meta.get("kind")
    if kind not in ("count", "magnitude", "model"):
        raise SidecarError(f"unknown kind {kind!r}")
    if kind == "model" and not isinstance(meta.get("residual_df"), int):
        raise SidecarError("a model sidecar needs a whole residual_df")
    if kind != "model":
        cells = meta.get("cells")
        dims = meta.get("dimensions")
        if not isinstance(cells, dict) or not isinstance(dims, list):
            raise SidecarError("a table sidecar needs dimensions and cells")
        keys = cells.get("keys", {})
        need = ["count"] if kind == "count" else ["sum", "contributors", "top1", "top2"]
        lengths = {len(keys.get(d, [])) for d in dims} | {len(cells.get(n) or []) for n in need}
        if len(lengths) != 1 or any(d not in keys for d in dims):
            raise SidecarError("cells: every dimension and value needs one entry per cell")
    return meta


def public_sidecar(path: Path) -> bytes:
    """The sidecar as a release may carry it: without the cells' largest contributions
    (they are confidential; the checks needed them, a reader of the release must not)."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    cells = meta.get("cells")
    if isinstance(cells, dict):
        for name in PRIVATE_CELLS:
            cells.pop(name, None)
    return (json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def table_from_sidecar(meta: dict[str, Any], name: str) -> CellTable:
    """The cells a table sidecar describes (the released ones have no top contributions)."""
    cells = meta["cells"]
    dims = [str(d) for d in meta["dimensions"]]
    columns = meta.get("columns", {})

    def numbers(role: str) -> np.ndarray | None:
        values = cells.get(role)
        return None if values is None else np.asarray(values, dtype=np.float64)

    kind = meta["kind"]
    return CellTable(
        name=name,
        kind=kind,
        dimensions=dims,
        keys={d: text_keys(cells["keys"][d]) for d in dims},
        count=numbers("count"),
        contributors=numbers("contributors"),
        total=numbers("sum"),
        top1=numbers("top1"),
        top2=numbers("top2"),
        column=str(columns.get("count" if kind == "count" else "sum", "n")),
        unit=str(meta.get("unit") or "persons"),
        population=meta.get("population"),
    )


def read_csv(path: Path) -> pa.Table:
    """A CSV or TSV file as an Arrow table (types inferred, dates left as text)."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(timestamp_parsers=[], strings_can_be_null=False),
    )


def tables_from_csv(data: pa.Table, name: str) -> tuple[list[CellTable], list[str]]:
    """The count tables the heuristic finds in a CSV without a sidecar, one per count
    column, and the numeric columns it cannot place: fractions and whole numbers named
    like a magnitude (total, wage...), or every number when no column is named a count.
    The dimensions are the other columns (text, and whole numbers such as a year)."""
    types = dict(zip(data.column_names, data.schema.types, strict=True))
    integers = [c for c, t in types.items() if pa.types.is_integer(t)]
    counts = [c for c in integers if is_count_name(c)]
    magnitudes = [
        c
        for c, t in types.items()
        if pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or (c in integers and c not in counts and _MAGNITUDE_PATTERN.search(c.lower()))
    ]
    dims = [c for c in data.column_names if c not in counts and c not in magnitudes]
    keys = {d: text_keys(data[d]) for d in dims}
    tables = [
        CellTable(
            name=name,
            kind="count",
            dimensions=dims,
            keys=keys,
            count=data[c].to_numpy(zero_copy_only=False).astype(np.float64),
            column=c,
        )
        for c in counts
    ]
    unplaced = magnitudes if counts else [c for c in types if c in magnitudes or c in integers]
    return tables, unplaced


def text_keys(values: list[Any] | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Cell keys as text, the same whether they came from JSON or a CSV: Arrow writes
    each value (a whole float as an integer: ``1.0`` and ``1`` are one category; ``true``
    and ``false``), a missing value is empty. Values of mixed types are written one by
    one, as Python would."""
    try:
        array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        text = pc.fill_null(array.cast(pa.string()), "")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        text = pa.array(["" if v is None else str(v) for v in values], pa.string())
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=str)
