"""Treatment (G5): global recoding along a declared hierarchy and local suppression to k.

**Semantics of a suppressed value.** A suppressed value is a *wildcard*: it matches every
value of that key, as in sdcMicro after ``localSuppression``. The frequency of a record is
then the number of records that agree with it on every key where *both* have a value
(:func:`wildcard_frequencies`). This is what makes suppression work: a record whose birth
year is suppressed can no longer be told apart from anyone of the same sex, country and
region. A value that was missing *before* treatment stays a category of its own (it is
information: "not naturalised"), so a suppressed value must not be confused with it: the
treated table carries the suppressed variables of each record in ``sdc_suppressed``.

**Local suppression** (:func:`local_suppression`) is deterministic and guarantees ``fk >= k``
for every record under those semantics (if the table has at least ``k`` records). Keys are
suppressed in a fixed order (by default the key with most categories first, as sdcMicro's
default importance), so every record's suppressed keys are a prefix of that order. Round
``L`` handles the records that still violate k (all have the first ``L`` keys suppressed):

- their *cell* is their values on the keys from ``L`` on, their *group* the values from
  ``L + 1`` on (what they would still show after suppressing key ``L``);
- within a group, cells are taken by increasing fk; a cell is left alone when its fk plus
  the records already suppressed in the group reaches k (each suppressed record of the
  group now matches it), otherwise all its records get key ``L`` suppressed.

This reuses every suppression for the neighbours it helps, which is why it needs fewer
suppressions than sdcMicro's record-by-record loop. Records still below k after the last
key have all keys suppressed and match everyone. Each suppression is explained (record,
variable, value, cell, fk, rule) in a table written as Parquet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sluis.atomic import atomic_path
from sluis.errors import SluisError
from sluis.scra.frequencies import KeyCodes, cell_ids

SUPPRESSED_COLUMN = "sdc_suppressed"


def wildcard_frequencies(
    keys: KeyCodes, suppressed: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """fk and Fk when ``suppressed[i, j]`` marks key ``j`` of record ``i`` as a wildcard.

    Records are grouped by their pattern of suppressed keys; for every pair of patterns
    ``(a, b)`` the records of ``b`` are counted by their values on the keys suppressed in
    neither, and looked up for the records of ``a``. Exact for any pattern; the work grows
    with the square of the number of distinct patterns (a handful after suppression).
    """
    n, m = suppressed.shape
    bits = (suppressed.astype(np.int64) << np.arange(m, dtype=np.int64)).sum(axis=1)
    patterns, pattern_of = np.unique(bits, return_inverse=True)
    members = [np.flatnonzero(pattern_of == p) for p in range(len(patterns))]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    fk = np.zeros(n, dtype=np.int64)
    Fk = np.zeros(n, dtype=np.float64)
    codes_cache: dict[int, tuple[np.ndarray, int]] = {}
    for a, pa_bits in enumerate(patterns):
        rows_a = members[a]
        for b, pb_bits in enumerate(patterns):
            rows_b = members[b]
            union = int(pa_bits) | int(pb_bits)
            if union not in codes_cache:
                kept = [j for j in range(m) if not (union >> j) & 1]
                codes_cache[union] = cell_ids(
                    [keys.codes[j] for j in kept], [keys.cardinalities[j] for j in kept], n
                )
            code, n_cells = codes_cache[union]
            fk[rows_a] += np.bincount(code[rows_b], minlength=n_cells)[code[rows_a]]
            Fk[rows_a] += np.bincount(code[rows_b], weights=w[rows_b], minlength=n_cells)[
                code[rows_a]
            ]
    return fk, Fk


@dataclass
class Suppression:
    """The outcome of :func:`local_suppression`."""

    k: int
    order: tuple[str, ...]  # keys in the order they may be suppressed
    suppressed: np.ndarray  # records × keys (in ``keys.names`` order), bool
    fk_when_suppressed: np.ndarray  # records: the fk that made us suppress (0 if none)
    round_of: np.ndarray  # records: number of keys suppressed (prefix length of ``order``)
    per_variable: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return int(self.suppressed.sum())

    @property
    def records_touched(self) -> int:
        return int(np.count_nonzero(self.suppressed.any(axis=1)))


def importance_order(keys: KeyCodes) -> tuple[str, ...]:
    """Keys by number of categories, most first (ties: declaration order), as sdcMicro's
    default importance for ``localSuppression``."""
    ranked = sorted(range(len(keys.names)), key=lambda j: (-keys.cardinalities[j], j))
    return tuple(keys.names[j] for j in ranked)


def local_suppression(keys: KeyCodes, k: int, order: Sequence[str] | None = None) -> Suppression:
    """Suppress key values until every record has ``fk >= k`` (see the module docstring)."""
    n, m = keys.n, len(keys.names)
    order = tuple(order) if order is not None else importance_order(keys)
    unknown = [name for name in order if name not in keys.names]
    if unknown or len(set(order)) != m:
        raise SluisError(
            f"the suppression order must name every key once: {', '.join(order)}",
            rule="scra-suppression-order",
        )
    if n and n < k:
        raise SluisError(
            f"{n} records cannot reach k={k}: even suppressing every key leaves fewer than k",
            rule="scra-k-unreachable",
        )
    pos = [keys.names.index(name) for name in order]
    # suffix cell ids: level L = the records' values on order[L:], L = 0..m
    suffix = []
    for level in range(m + 1):
        cols = pos[level:]
        suffix.append(
            cell_ids([keys.codes[j] for j in cols], [keys.cardinalities[j] for j in cols], n)
        )
    level_of = np.zeros(n, dtype=np.int64)
    fk_when = np.zeros(n, dtype=np.int64)
    for level in range(m):
        fk = _prefix_fk(suffix, level_of, m)
        viol = np.flatnonzero(fk < k)
        if len(viol) == 0:
            break
        cell_code, n_cells = suffix[level]
        group_code, _ = suffix[level + 1]
        # one entry per violating cell: its group, fk and size
        vcell = cell_code[viol]
        cells, first, size = np.unique(vcell, return_index=True, return_counts=True)
        c_fk = fk[viol][first]
        c_group = group_code[viol][first]
        sort = np.lexsort((cells, c_fk, c_group))
        c_group, c_fk, size, cells = c_group[sort], c_fk[sort], size[sort], cells[sort]
        new_group = np.ones(len(cells), dtype=bool)
        new_group[1:] = c_group[1:] != c_group[:-1]
        csum = np.cumsum(size)
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(cells)), 0))
        before = csum - size - np.where(group_start > 0, csum[group_start - 1], 0)
        fails = c_fk + before < k
        # only a leading run of failing cells is suppressed (fk ascending within a group)
        ok_so_far = np.cumsum(~fails)
        ok_before_group = np.where(group_start > 0, ok_so_far[group_start - 1], 0)
        take = fails & (ok_so_far - ok_before_group == 0)
        chosen = np.zeros(n_cells, dtype=bool)
        chosen[cells[take]] = True
        hit = viol[chosen[vcell]]
        fk_when[hit] = np.where(fk_when[hit] == 0, fk[hit], fk_when[hit])
        level_of[hit] = level + 1
    suppressed = np.zeros((n, m), dtype=bool)
    for rank, j in enumerate(pos):
        suppressed[:, j] = level_of > rank
    per_variable = {name: int(suppressed[:, keys.names.index(name)].sum()) for name in order}
    return Suppression(k, order, suppressed, fk_when, level_of, per_variable)


def _prefix_fk(suffix: list[tuple[np.ndarray, int]], level_of: np.ndarray, m: int) -> np.ndarray:
    """fk under wildcard semantics when every record's suppressed keys are a prefix of the
    order: records at levels ``a`` and ``b`` match iff they agree on the keys from
    ``max(a, b)`` on."""
    n = len(level_of)
    fk = np.zeros(n, dtype=np.int64)
    present = np.unique(level_of)
    members = {int(a): np.flatnonzero(level_of == a) for a in present}
    for a in present:
        rows_a = members[int(a)]
        for b in present:
            rows_b = members[int(b)]
            code, n_cells = suffix[max(int(a), int(b))]
            fk[rows_a] += np.bincount(code[rows_b], minlength=n_cells)[code[rows_a]]
    return fk


def explanations(
    keys: KeyCodes, result: Suppression, record_ids: pa.Array | None = None
) -> pa.Table:
    """One row per suppressed value: record, variable, original value, the record's cell
    before treatment, the fk that triggered it and the rule (vectorised, no record loop).
    Rows are ordered by record, then by the order in which keys are suppressed."""
    n_keys = len(keys.names)
    labels = [
        pa.array([None if v is None else str(v) for v in keys.labels[j]], pa.string())
        for j in range(n_keys)
    ]
    rule_text = (
        f"< k={result.k}; keys suppressed in the order "
        + " > ".join(result.order)
        + " until every record's fk reaches k (suppressed values match any value)"
    )
    parts = []
    for name in result.order:
        j = keys.names.index(name)
        rows = np.flatnonzero(result.suppressed[:, j])
        cell = pc.binary_join_element_wise(
            *[
                pc.binary_join_element_wise(
                    f"{keys.names[i]}=",
                    pc.fill_null(labels[i].take(pa.array(keys.codes[i][rows])), "(missing)"),
                    "",
                )
                for i in range(n_keys)
            ],
            ", ",
        )
        fk = result.fk_when_suppressed[rows]
        record = (
            pa.array(rows.astype(np.int64))
            if record_ids is None
            else record_ids.take(pa.array(rows))
        )
        parts.append(
            pa.table(
                {
                    "record": record,
                    "variable": pa.array([name] * len(rows), pa.string()),
                    "value": labels[j].take(pa.array(keys.codes[j][rows])),
                    "cell": cell,
                    "fk": pa.array(fk, pa.int64()),
                    "rule": pa.array(np.char.add(np.char.mod("fk=%d ", fk), rule_text))
                    if len(rows)
                    else pa.array([], pa.string()),
                    "_row": pa.array(rows.astype(np.int64)),
                    "_rank": pa.array(np.full(len(rows), result.order.index(name))),
                }
            )
        )
    if not parts:
        return pa.table({"record": pa.array([], pa.int64()), "variable": pa.array([], pa.string())})
    table = pa.concat_tables(parts)
    table = table.take(pc.sort_indices(table, [("_row", "ascending"), ("_rank", "ascending")]))
    return table.drop_columns(["_row", "_rank"])


def write_explanations(path: Path, table: pa.Table) -> Path:
    """Write the explanation table as Parquet, atomically."""
    with atomic_path(Path(path)) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def apply_suppression(table: pa.Table, keys: KeyCodes, result: Suppression) -> pa.Table:
    """The treated table: suppressed values become null and ``sdc_suppressed`` lists the
    suppressed keys of each record (comma-separated, empty when none), so a suppressed
    value is never mistaken for a value that was missing before treatment."""
    out = table
    for j, name in enumerate(keys.names):
        mask = result.suppressed[:, j]
        if mask.any():
            column = table.column(name)
            out = out.set_column(
                out.schema.get_field_index(name),
                name,
                pc.if_else(pa.array(mask), pa.nulls(len(mask), column.type), column),
            )
    m = len(keys.names)
    bits = (result.suppressed.astype(np.int64) << np.arange(m, dtype=np.int64)).sum(axis=1)
    patterns, pattern_of = np.unique(bits, return_inverse=True)
    text = pa.array(
        [",".join(keys.names[j] for j in range(m) if (int(p) >> j) & 1) for p in patterns],
        pa.string(),
    )
    listed = text.take(pa.array(pattern_of.astype(np.int64)))
    return out.append_column(SUPPRESSED_COLUMN, listed)


def global_recode(table: pa.Table, column: str, mapping: Mapping[object, object]) -> pa.Table:
    """Recode ``column`` along a declared hierarchy (fine code → coarser code).

    Every value present must be mapped (a value without a parent is an error, never passed
    through silently); missing stays missing. The result never has more categories than
    the input, so recoding only ever coarsens.
    """
    data = table.column(column)
    fine = pa.array(list(mapping.keys()), type=data.type)
    present = pc.drop_null(pc.unique(data))
    unmapped = pc.filter(present, pc.invert(pc.is_in(present, value_set=fine)))
    if len(unmapped):
        raise SluisError(
            f"the hierarchy for {column} has no parent for "
            + ", ".join(str(v) for v in unmapped.to_pylist()[:5]),
            rule="scra-hierarchy-incomplete",
            column=column,
            hint="map every value to a coarser code",
        )
    coarse = pa.array(list(mapping.values()))
    recoded = coarse.take(pc.index_in(data, value_set=fine))
    if len(pc.unique(pc.drop_null(recoded))) > len(present):
        raise SluisError(f"the hierarchy for {column} makes it finer", rule="scra-hierarchy-finer")
    return table.set_column(table.schema.get_field_index(column), column, recoded)
