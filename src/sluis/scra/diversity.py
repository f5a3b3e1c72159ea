"""l-diversity as a condition of the delivery, and its treatment (G5, issue 19 item 2).

:mod:`sluis.scra.ldiversity` reports sdcMicro's *distinct* l-diversity, where a missing
sensitive value counts as a value; that figure stays for comparing with sdcMicro. It is
the wrong rule for a threshold once the treatment may withhold sensitive values: one
withheld record would then "diversify" a cell that discloses every other member's value.
The threshold and the treatment here therefore count only **known** values:

- a key cell *passes* when it holds at least ``l`` distinct known (non-null) sensitive
  values, or when no record in it has a known value (there is nothing to disclose);
- cells are the key set's cells under **strict** semantics: a value suppressed by the
  treatment is its own category ``*``, a value missing before treatment is another one,
  and cells are taken within the period when there is one, as the key-set measures do.
  Passing here implies passing when the treated file is recounted with a plain GROUP BY
  (suppressed and missing both null): that merges cells, and a union of passing cells
  passes.

**Treatment** (:func:`treat_ldiversity`), fewest changed values first, deterministic. For
every failing cell the options are

- **W**: withhold the sensitive value of its records with a known value (the cell then
  discloses nothing); it changes as many values as the cell has known values;
- **P_j**: suppress key ``j`` of all its records, so that they pool with the records that
  show the same other values and ``*`` at ``j``; allowed only when the pooled cell passes
  l *and* holds at least ``k`` records, so the treatment for k is never undone; it changes
  one key value per record. A key the cell shows as missing or suppressed is not a
  candidate: there is no value to suppress.

The cheaper option is taken, a tie goes to P (it keeps the research variable), and among
the keys the one with most categories first (sdcMicro's default importance, the order
local suppression uses), then the given order. All cells choose at once; the choices are
applied tentatively and re-measured, and a cell whose pooled cell still fails (its partners
chose otherwise) loses that option and chooses again, until no cell fails. A failing cell
always moves or is withheld as a whole, so a cell that passed is never split and a
withheld cell discloses nothing: only a cell that records moved into can fail, and each
pass takes that option away from the cells that moved there, so the loop ends (W is
always possible), normally within one round. A key suppressed by the
caller stays suppressed, rows are never dropped or reordered, and the period and the
``fixed`` keys (the spec's pinned keys) are never suppressed. Everything is numpy over
whole columns; Python loops run over rounds and keys.

**Across datasets** (26/050: ``income.poverty_risk`` with the key set on ``demobel``):
:mod:`sluis.scra.diversity_join` brings the sensitive value onto the key rows and a
withheld value back; several key rows on one sensitive row are all changed by
withholding it, so the caller re-measures after writing back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra.diversity_join import column_of as _column
from sluis.scra.frequencies import cell_ids, encode_column

#: Upper bound on treatment rounds; one round settles every cell (see the module docstring),
#: the bound only guards against a failure of that argument.
_MAX_ROUNDS = 16


@dataclass(frozen=True)
class DiversityTreatment:
    """What :func:`treat_ldiversity` decided.

    ``keys_suppressed`` marks the key values the l-diversity treatment suppresses *in
    addition* to ``already_suppressed`` (key order as given; the caller ORs the two), and
    ``sensitive_suppressed`` the sensitive values to withhold. ``per_variable`` counts both
    per variable (every key and the sensitive variable, zeros included). The explanations
    have one row per changed value: ``row`` (0-based row of the input), ``variable``, the
    size of the failing cell, its distinct known values before, and the rule.
    """

    keys_suppressed: np.ndarray
    sensitive_suppressed: np.ndarray
    per_variable: dict[str, int]
    cells_below_before: int
    cells_below_after: int
    explanations: pa.Table

    @property
    def total(self) -> int:
        """Values changed by the l-diversity treatment (key values and sensitive values)."""
        return int(self.keys_suppressed.sum()) + int(self.sensitive_suppressed.sum())


@dataclass(frozen=True)
class KnownDiversity:
    """The threshold's measure for one sensitive variable on one key set.

    ``min_l`` is the lowest number of distinct known values over the cells that have a
    known value (0 when none has); ``cells_below`` / ``records_below`` count the cells that
    fail the rule and the records in them."""

    variable: str
    l: int  # noqa: E741 (the measure's name in the literature)
    cells: int
    min_l: int
    cells_below: int
    records_below: int


@dataclass(frozen=True)
class _Cells:
    """Per-record cell ids and per-cell size, known values and distinct known values."""

    cell: np.ndarray
    n_cells: int
    size: np.ndarray
    known: np.ndarray
    distinct: np.ndarray

    def failing(self, l: int) -> np.ndarray:  # noqa: E741
        """Cells that disclose: some known value, fewer than ``l`` distinct ones."""
        return (self.known > 0) & (self.distinct < l)


def _cells(
    shown: Sequence[np.ndarray],
    radices: Sequence[int],
    sensitive: np.ndarray,
    n_sensitive: int,
    known: np.ndarray,
) -> _Cells:
    n = len(sensitive)
    cell, n_cells = cell_ids(list(shown), list(radices), n)
    size = np.bincount(cell, minlength=n_cells)
    known_count = np.bincount(cell[known], minlength=n_cells)
    rows = np.flatnonzero(known)
    radix = max(n_sensitive, 1)
    pair = cell[rows] * radix + sensitive[rows]
    if n_cells * radix <= max(8 * n, 1 << 22):  # a presence table, no sort
        seen = np.zeros(n_cells * radix, dtype=bool)
        seen[pair] = True
        distinct = seen.reshape(n_cells, radix).sum(axis=1)
    else:
        distinct = np.bincount(np.unique(pair) // radix, minlength=n_cells)
    return _Cells(cell, n_cells, size, known_count, distinct)


@dataclass(frozen=True)
class _Encoded:
    """The table's keys, period and sensitive variable as codes."""

    keys: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    cards: tuple[int, ...]  # categories per key, missing included; ``*`` is ``cards[j]``
    missing: tuple[int, ...]  # the code of a missing value per key (-1: none missing)
    strata: np.ndarray  # period codes (all 0 without a period outside the keys)
    n_strata: int
    free: tuple[int, ...]  # keys that may be suppressed (not the period)
    sensitive: np.ndarray
    n_sensitive: int
    known: np.ndarray

    def shown(
        self, star: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[list[np.ndarray], list[int]]:
        """Each record's shown codes (``*`` = the code after the key's categories) and the
        radices, the period last; only ``rows`` when given (``star`` is then theirs)."""
        pick = (lambda a: a) if rows is None else (lambda a: a[rows])
        cols = [
            np.where(star[:, j], card, pick(code))
            for j, (code, card) in enumerate(zip(self.codes, self.cards, strict=True))
        ]
        return [*cols, pick(self.strata)], [*(c + 1 for c in self.cards), self.n_strata]

    def measure(self, star: np.ndarray, withheld: np.ndarray) -> _Cells:
        cols, radices = self.shown(star)
        return _cells(cols, radices, self.sensitive, self.n_sensitive, self.known & ~withheld)


def _encode(
    table: pa.Table,
    keys: Sequence[str],
    sensitive: str,
    period: str | None,
    fixed: Sequence[str] = (),
) -> _Encoded:
    keys = tuple(keys)
    if len(set(keys)) != len(keys):
        raise SluisError("a key is named twice", rule="scra-ldiversity-column")
    if sensitive in keys:
        raise SluisError(
            f"the sensitive variable {sensitive} is also a key",
            rule="scra-ldiversity-column",
            column=sensitive,
        )
    codes, cards, missing = [], [], []
    for name in keys:
        code, labels = encode_column(_column(table, name, "key"))
        codes.append(code.astype(np.int64))
        cards.append(max(len(labels), 1))
        missing.append(len(labels) - 1 if labels and labels[-1] is None else -1)
    n = table.num_rows
    if period is not None and period not in keys:
        strata, labels = encode_column(_column(table, period, "period"))
        strata, n_strata = strata.astype(np.int64), max(len(labels), 1)
    else:
        strata, n_strata = np.zeros(n, dtype=np.int64), 1
    column = _column(table, sensitive, "sensitive")
    sens, labels = encode_column(column)
    known = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=bool)
    unknown = [name for name in fixed if name not in keys]
    if unknown:
        raise SluisError(
            f"fixed keys must be keys: {', '.join(unknown)}",
            rule="scra-ldiversity-column",
            column=unknown[0],
        )
    free = tuple(j for j, name in enumerate(keys) if name != period and name not in fixed)
    return _Encoded(
        keys,
        tuple(codes),
        tuple(cards),
        tuple(missing),
        strata,
        n_strata,
        free,
        sens.astype(np.int64),
        max(len(labels), 1),
        known,
    )


def _mask(already: np.ndarray | None, n: int, m: int) -> np.ndarray:
    if already is None:
        return np.zeros((n, m), dtype=bool, order="F")
    mask = np.asarray(already, dtype=bool)
    if mask.shape != (n, m):
        raise SluisError(
            f"already_suppressed has shape {mask.shape}, expected ({n}, {m}) (rows x keys)",
            rule="scra-ldiversity-mask",
        )
    return mask.copy(order="F")  # column-major: the work is per key


def known_l_diversity(
    table: pa.Table,
    *,
    keys: Sequence[str],
    sensitive: str,
    l: int,  # noqa: E741
    period: str | None = None,
    suppressed: np.ndarray | None = None,
) -> KnownDiversity:
    """The l-diversity threshold's measure (see the module docstring): cells of ``keys``
    (within ``period``; ``suppressed`` marks key values suppressed by the treatment, a
    category of their own) that hold a known value of ``sensitive`` but fewer than ``l``
    distinct ones. A null sensitive value is not a value here."""
    enc = _encode(table, keys, sensitive, period)
    n = table.num_rows
    cells = enc.measure(_mask(suppressed, n, len(enc.keys)), np.zeros(n, dtype=bool))
    failing = cells.failing(l)
    with_known = cells.distinct[cells.known > 0]
    return KnownDiversity(
        variable=sensitive,
        l=l,
        cells=cells.n_cells,
        min_l=int(with_known.min()) if len(with_known) else 0,
        cells_below=int(np.count_nonzero(failing)),
        records_below=int(np.count_nonzero(failing[cells.cell])),
    )


def cells_below_l(
    table: pa.Table,
    *,
    keys: Sequence[str],
    sensitive: str,
    l: int,  # noqa: E741
    period: str | None = None,
    suppressed: np.ndarray | None = None,
) -> int:
    """Cells that fail the l-diversity threshold (:func:`known_l_diversity`)."""
    return known_l_diversity(
        table, keys=keys, sensitive=sensitive, l=l, period=period, suppressed=suppressed
    ).cells_below


def _preference(enc: _Encoded) -> list[int]:
    """Keys that may be suppressed, most categories first, then in the given order."""
    return sorted(enc.free, key=lambda j: (-enc.cards[j], j))


def _choose(
    cost_w: np.ndarray, cost_p: np.ndarray, feasible: np.ndarray, order: Sequence[int]
) -> np.ndarray:
    """Per failing cell: the key to suppress (-1 = withhold the sensitive values)."""
    choice = np.full(len(cost_w), -1, dtype=np.int64)
    for j in reversed(order):  # the first key of the order wins
        choice = np.where(feasible[:, j], j, choice)
    return np.where((choice >= 0) & (cost_p <= cost_w), choice, -1)


def _round(
    enc: _Encoded,
    star: np.ndarray,
    withheld: np.ndarray,
    cells: _Cells,
    l: int,  # noqa: E741
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One round over the failing cells: every failing cell chooses W or P_j at once, a
    cell whose pool fails chooses again; returns the suppression and withheld masks."""
    m = star.shape[1]
    fail_cells = np.flatnonzero(cells.failing(l))
    index = np.full(cells.n_cells, -1, dtype=np.int64)
    index[fail_cells] = np.arange(len(fail_cells))
    at = index[cells.cell]  # each record's failing cell (-1 when its cell passes)
    rows = np.flatnonzero(at >= 0)
    rep = np.zeros(len(fail_cells), dtype=np.int64)
    rep[at[rows]] = rows  # a row of each failing cell (all show the same keys)
    known = enc.known & ~withheld
    cost_w = cells.known[fail_cells]
    cost_p = cells.size[fail_cells]
    # optimistic pre-check of P_j: the pool if every failing cell of the group moved.
    # Only records that show ``*`` at j, or would, can be in such a pool.
    feasible = np.zeros((len(fail_cells), m), dtype=bool)
    in_fail = at >= 0
    for j in enc.free:
        sub = np.flatnonzero(star[:, j] | in_fail)
        trial = np.asfortranarray(star[sub])
        trial[in_fail[sub], j] = True
        cols, radices = enc.shown(trial, sub)
        pool = _cells(cols, radices, enc.sensitive[sub], enc.n_sensitive, known[sub])
        target = pool.cell[np.searchsorted(sub, rep)]
        ok = (~pool.failing(l)[target]) & (pool.size[target] >= k)
        # a key already suppressed, or missing in the cell, has no value to suppress
        feasible[:, j] = ok & ~star[rep, j] & (enc.codes[j][rep] != enc.missing[j])
    order = _preference(enc)
    while True:
        choice = _choose(cost_w, cost_p, feasible, order)
        new_star = star.copy(order="F")
        new_withheld = withheld.copy()
        rc = choice[at[rows]]
        moved = rows[rc >= 0]
        new_star[moved, rc[rc >= 0]] = True
        new_withheld[rows[(rc < 0) & known[rows]]] = True
        after = enc.measure(new_star, new_withheld)
        moved_in = np.zeros(after.n_cells, dtype=bool)
        moved_in[after.cell[moved]] = True
        bad = after.failing(l) | (moved_in & (after.size < k))
        if not bad[after.cell[moved]].any():
            return new_star, new_withheld
        # a cell whose pool fails loses that option and chooses again
        lost = np.unique(at[moved[bad[after.cell[moved]]]])
        feasible[lost, choice[lost]] = False


def treat_ldiversity(
    table: pa.Table,
    *,
    keys: Sequence[str],
    sensitive: str,
    l: int,  # noqa: E741
    k: int,
    period: str | None = None,
    already_suppressed: np.ndarray | None = None,
    fixed: Sequence[str] = (),
) -> DiversityTreatment:
    """Treat ``table`` until every key cell (within ``period``) holds at least ``l`` distinct
    known values of ``sensitive`` or none, suppressing keys or withholding sensitive values,
    fewest changed values first (see the module docstring).

    ``table`` holds the keys as treated for k (null where suppressed) and the sensitive
    column; ``already_suppressed`` (rows x keys) says which key values local suppression
    suppressed, so that they count as ``*`` and not as a value missing before treatment
    (without it every null is a missing value). ``k`` is the key set's k: a pooled cell
    must keep at least k records. ``fixed`` keys are never suppressed, like the period
    (the spec's pinned keys, ``sluis.scra.implied.pinned_keys``: 25/074's
    ``first_registration_yq``, which the panel's first quarter gives back)."""
    if l < 1 or k < 1:
        raise SluisError(f"l={l} and k={k} must be at least 1", rule="scra-ldiversity-params")
    enc = _encode(table, keys, sensitive, period, fixed)
    n, m = table.num_rows, len(enc.keys)
    already = _mask(already_suppressed, n, m)
    star = already.copy(order="F")
    withheld = np.zeros(n, dtype=bool)
    cells = enc.measure(star, withheld)
    before = int(np.count_nonzero(cells.failing(l)))
    # per changed value: the failing cell's size and distinct known values, and its choice
    size_at = np.zeros(n, dtype=np.int64)
    distinct_at = np.zeros(n, dtype=np.int64)
    known_at = np.zeros(n, dtype=np.int64)
    for _ in range(_MAX_ROUNDS):
        if not cells.failing(l).any():
            break
        star_next, withheld_next = _round(enc, star, withheld, cells, l, k)
        changed = (star_next != star).any(axis=1) | (withheld_next != withheld)
        cell_of = cells.cell[changed]
        size_at[changed] = cells.size[cell_of]
        distinct_at[changed] = cells.distinct[cell_of]
        known_at[changed] = cells.known[cell_of]
        star, withheld = star_next, withheld_next
        cells = enc.measure(star, withheld)
    new = star & ~already
    per_variable = {name: int(new[:, j].sum()) for j, name in enumerate(enc.keys)}
    per_variable[sensitive] = int(withheld.sum())
    return DiversityTreatment(
        keys_suppressed=new,
        sensitive_suppressed=withheld,
        per_variable=per_variable,
        cells_below_before=before,
        cells_below_after=int(np.count_nonzero(cells.failing(l))),
        explanations=_explanations(
            enc, new, withheld, size_at, distinct_at, known_at, sensitive, l, k
        ),
    )


def _rule(name: str, sensitive: str, l: int, k: int, size: int, distinct: int, known: int) -> str:  # noqa: E741
    """The explanation of one change (``name`` is the key suppressed, or ``sensitive``)."""
    head = f"cell of {size} records with {distinct} distinct known {sensitive} (< l={l}): "
    if name != sensitive:
        return head + (
            f"{name} suppressed to pool it into a cell with >= {l} distinct known values and "
            f">= k={k} records ({size} key values, withholding would change {known})"
        )
    why = (
        f"pooling by a key would change {size} key values"
        if known < size
        else f"no key pools it into a cell with >= {l} distinct known values and >= k={k} records"
    )
    return head + f"its {known} known {sensitive} values withheld ({why})"


def _explanations(
    enc: _Encoded,
    new: np.ndarray,
    withheld: np.ndarray,
    size_at: np.ndarray,
    distinct_at: np.ndarray,
    known_at: np.ndarray,
    sensitive: str,
    l: int,  # noqa: E741
    k: int,
) -> pa.Table:
    """One row per changed value, ordered by row, then keys in the given order, the
    sensitive variable last. The texts are built once per distinct (variable, cell size,
    distinct, known) and held as a dictionary column, not once per row."""
    names = [*enc.keys, sensitive]
    masks = [new[:, j] for j in range(len(enc.keys))] + [withheld]
    rows = np.concatenate([np.flatnonzero(mask) for mask in masks]).astype(np.int64)
    rank = np.concatenate(
        [np.full(int(mask.sum()), j, dtype=np.int64) for j, mask in enumerate(masks)]
    )
    order = np.lexsort((rank, rows))
    rows, rank = rows[order], rank[order]
    size, distinct, known = size_at[rows], distinct_at[rows], known_at[rows]
    combo, n_combo = cell_ids(
        [rank, size, distinct, known],
        [len(names), *(int(a.max()) + 1 if len(a) else 1 for a in (size, distinct, known))],
        len(rows),
    )
    first = np.zeros(n_combo, dtype=np.int64)
    first[combo] = np.arange(len(rows))  # any row of a combination gives its text
    texts = [
        _rule(names[rank[i]], sensitive, l, k, int(size[i]), int(distinct[i]), int(known[i]))
        for i in first.tolist()
    ]
    variable = pa.DictionaryArray.from_arrays(
        pa.array(rank.astype(np.int32)), pa.array(names, pa.string())
    )
    rule = pa.DictionaryArray.from_arrays(
        pa.array(combo.astype(np.int32)), pa.array(texts, pa.string())
    )
    return pa.table(
        {
            "row": pa.array(rows),
            "variable": variable,
            "cell_size": pa.array(size, pa.int64()),
            "distinct_before": pa.array(distinct, pa.int64()),
            "rule": rule,
        }
    )


def apply_ldiversity(
    table: pa.Table, treatment: DiversityTreatment, *, keys: Sequence[str], sensitive: str
) -> pa.Table:
    """``table`` with the treatment's key values suppressed and sensitive values withheld
    (null); same rows, columns and types."""
    out = table
    masks = [(name, treatment.keys_suppressed[:, j]) for j, name in enumerate(keys)]
    masks.append((sensitive, treatment.sensitive_suppressed))
    for name, mask in masks:
        if name in out.column_names and mask.any():
            column = out.column(name)
            out = out.set_column(
                out.schema.get_field_index(name),
                name,
                pc.if_else(pa.array(mask), pa.nulls(len(mask), column.type), column),
            )
    return out
