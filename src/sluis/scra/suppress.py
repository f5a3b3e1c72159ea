"""Treatment (G5): global recoding along a declared hierarchy and local suppression to k.

**Semantics of a suppressed value** (``semantics=``). Under ``"strict"`` (the default) a
suppressed value is a category of its own, ``*``: a record's cell after treatment is its
values with suppressed ones shown as ``*``, and every such cell must hold at least k
records (:func:`strict_frequencies`). A record alone in its cell is then never counted as
safe just because neighbours were suppressed. Under ``"sdcmicro"`` a suppressed value is a
*wildcard*: it matches every value of that key, as in sdcMicro after ``localSuppression``,
and the frequency of a record is the number of records that agree with it on every key
where *both* have a value (:func:`wildcard_frequencies`). A value that was missing *before*
treatment stays a category of its own under both (it is information: "not naturalised"), so
a suppressed value must not be confused with it: the treated table carries the suppressed
variables of each record in ``sdc_suppressed`` and the explanations list every one.

**Local suppression** (:func:`local_suppression`) is deterministic and guarantees ``fk >= k``
for every record under the chosen semantics (if the table, or each stratum of the
``fixed`` keys, has at least ``k`` records). Keys are suppressed in a fixed order (by
default the key with most categories first, as sdcMicro's default importance), so every
record's suppressed keys are a prefix of that order. Under wildcard semantics round ``L``
handles the records that still violate k (all have the first ``L`` keys suppressed):

- their *cell* is their values on the keys from ``L`` on, their *group* the values from
  ``L + 1`` on (what they would still show after suppressing key ``L``);
- within a group, cells are taken by increasing fk; a cell is left alone when its fk plus
  the records already suppressed in the group reaches k (each suppressed record of the
  group now matches it), otherwise all its records get key ``L`` suppressed.

This reuses every suppression for the neighbours it helps, which is why it needs fewer
suppressions than sdcMicro's record-by-record loop. Records still below k after the last
key have all keys suppressed and match everyone.

Under strict semantics records match only when they have the same keys suppressed, so
round ``L`` suppresses key ``L`` of every record in a cell below k; where the records so
suppressed in a group are still fewer than k, the group *borrows* the missing records from
the cells of the same group that have more than k (their surplus, largest first), which
costs one value each instead of a further round for the whole group. Records left with
every key suppressed in a group below k take whole cells, smallest first.

``fixed`` keys (the quarter of a person-quarter table) are never suppressed: they are part
of every cell, so k holds within each stratum; a stratum with fewer than k records cannot
reach k and is counted in :attr:`Suppression.unreachable`. Each suppression is explained
(record, variable, value, cell, fk, rule) in a table written as Parquet.
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
from sluis.scra.strict import strict_levels, suffix_codes

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
    patterns, pattern_of = suppression_patterns(suppressed)
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


def suppression_patterns(suppressed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct patterns of suppressed keys (bit ``j`` set when key ``j`` is suppressed,
    ascending) and each record's index among them: ``np.unique(bits, return_inverse=True)``
    by counting instead of sorting a million records (a tenth of a second), for up to 24
    keys."""
    m = suppressed.shape[1]
    bits = (suppressed.astype(np.int64) << np.arange(m, dtype=np.int64)).sum(axis=1)
    if m > 24:
        patterns, pattern_of = np.unique(bits, return_inverse=True)
        return patterns, pattern_of.reshape(-1)
    present = np.bincount(bits, minlength=1 << m) > 0
    remap = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present).astype(np.int64), remap[bits]


def strict_frequencies(
    keys: KeyCodes, suppressed: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """fk, Fk and the number of cells when a suppressed value is its own category ``*``:
    records match iff they show the same values with the same keys suppressed."""
    n = keys.n
    shown = [
        np.where(suppressed[:, j], card, keys.codes[j]) for j, card in enumerate(keys.cardinalities)
    ]
    cell, n_cells = cell_ids(shown, [c + 1 for c in keys.cardinalities], n)
    fk = np.bincount(cell, minlength=n_cells)[cell]
    if weights is None:
        Fk = fk.astype(np.float64)
    else:
        Fk = np.bincount(cell, weights=weights, minlength=n_cells)[cell]
    return fk, Fk, n_cells


def treated_frequencies(
    keys: KeyCodes, suppressed: np.ndarray, semantics: str, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """fk, Fk and cells shown after treatment under ``semantics`` (strict or sdcmicro)."""
    check_semantics(semantics)
    strict = strict_frequencies(keys, suppressed, weights)
    if semantics == "strict":
        return strict
    fk, Fk = wildcard_frequencies(keys, suppressed, weights)
    return fk, Fk, strict[2]


SEMANTICS = ("strict", "sdcmicro")


def check_semantics(semantics: str) -> None:
    if semantics not in SEMANTICS:
        raise SluisError(
            f"unknown suppression semantics {semantics!r}",
            rule="scra-semantics",
            hint="strict (a suppressed value is its own category) or sdcmicro (a wildcard)",
        )


@dataclass
class Suppression:
    """The outcome of :func:`local_suppression`."""

    k: int
    order: tuple[str, ...]  # keys in the order they may be suppressed
    suppressed: np.ndarray  # records × keys (in ``keys.names`` order), bool
    fk_when_suppressed: np.ndarray  # records: the fk that made us suppress (0 if none)
    round_of: np.ndarray  # records: number of keys suppressed (prefix length of ``order``)
    per_variable: dict[str, int] = field(default_factory=dict)
    semantics: str = "strict"
    fixed: tuple[str, ...] = ()  # keys never suppressed (strata)
    unreachable: int = 0  # records in strata with fewer than k records

    @property
    def total(self) -> int:
        return int(self.suppressed.sum())

    @property
    def records_touched(self) -> int:
        return int(np.count_nonzero(self.suppressed.any(axis=1)))


def importance_order(keys: KeyCodes, exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """Keys by number of categories, most first (ties: declaration order), as sdcMicro's
    default importance for ``localSuppression``; ``exclude`` (fixed keys) left out."""
    ranked = sorted(range(len(keys.names)), key=lambda j: (-keys.cardinalities[j], j))
    return tuple(keys.names[j] for j in ranked if keys.names[j] not in exclude)


def local_suppression(
    keys: KeyCodes,
    k: int,
    order: Sequence[str] | None = None,
    *,
    semantics: str = "strict",
    fixed: Sequence[str] = (),
) -> Suppression:
    """Suppress key values until every record has ``fk >= k`` under ``semantics``
    (``"strict"``: a suppressed value is its own category; ``"sdcmicro"``: a wildcard);
    ``fixed`` keys are never suppressed (see the module docstring)."""
    check_semantics(semantics)
    n = keys.n
    fixed = tuple(dict.fromkeys(fixed))
    bad_fixed = [name for name in fixed if name not in keys.names]
    if bad_fixed:
        raise SluisError(
            f"fixed keys must be keys: {', '.join(bad_fixed)}", rule="scra-suppression-order"
        )
    free = [name for name in keys.names if name not in fixed]
    order = tuple(order) if order is not None else importance_order(keys, fixed)
    unknown = [name for name in order if name not in free]
    if unknown or len(set(order)) != len(free):
        raise SluisError(
            f"the suppression order must name every key once: {', '.join(order)}",
            rule="scra-suppression-order",
        )
    m = len(order)
    if not fixed and n and n < k:
        raise SluisError(
            f"{n} records cannot reach k={k}: even suppressing every key leaves fewer than k",
            rule="scra-k-unreachable",
        )
    pos = [keys.names.index(name) for name in order]
    fpos = [keys.names.index(name) for name in fixed]
    codes, cards = list(keys.codes), list(keys.cardinalities)
    if semantics == "strict":  # on key cells (sluis.scra.strict), the same outcome
        level_of, fk_when, stratum, n_strata = strict_levels(codes, cards, pos, fpos, n, k)
    else:
        suffix = suffix_codes(codes, cards, pos, fpos, n)
        level_of, fk_when = _wildcard_levels(suffix, n, m, k)
        stratum, n_strata = suffix[m]
    suppressed = np.zeros((n, len(keys.names)), dtype=bool)
    for rank, j in enumerate(pos):
        suppressed[:, j] = level_of > rank
    per_variable = {name: int(suppressed[:, keys.names.index(name)].sum()) for name in order}
    strata = np.bincount(stratum, minlength=n_strata) if n else np.zeros(0, np.int64)
    unreachable = int(strata[strata < k].sum()) if n else 0
    return Suppression(
        k, order, suppressed, fk_when, level_of, per_variable, semantics, fixed, unreachable
    )


def _wildcard_levels(
    suffix: list[tuple[np.ndarray, int]], n: int, m: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rounds under wildcard semantics (see the module docstring)."""
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
    return level_of, fk_when


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
    meaning = (
        "a suppressed value is its own category *"
        if result.semantics == "strict"
        else "suppressed values match any value"
    )
    rule_text = (
        "; keys suppressed in the order "
        + " > ".join(result.order)
        + f" until every record's fk reaches k ({meaning})"
    )
    below = f" < k={result.k}"
    donor = f" >= k={result.k}, taken to complete a group of suppressed records"
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
                    "rule": pa.array(
                        np.char.add(
                            np.char.add(
                                np.char.mod("fk=%d", fk), np.where(fk < result.k, below, donor)
                            ),
                            rule_text,
                        )
                    )
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
    patterns, pattern_of = suppression_patterns(result.suppressed)
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
