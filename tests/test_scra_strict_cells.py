"""Strict local suppression on key cells instead of records (G5, issue 19): the same
suppressions, record for record, as the rounds on records, and the recode candidates'
costs on distinct cells equal to those on the records."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.errors import SluisError
from sluis.scra.frequencies import KeyCodes, cell_ids, encode_keys
from sluis.scra.suppress import importance_order, local_suppression
from sluis.scra.treat import distinct_cells, suppress_until_safe, suppressions_on_cells


def _rank_in_runs(labels: np.ndarray) -> np.ndarray:
    start = np.ones(len(labels), dtype=bool)
    start[1:] = labels[1:] != labels[:-1]
    idx = np.arange(len(labels))
    return idx - np.maximum.accumulate(np.where(start, idx, 0))


def _rounds_on_records(keys: KeyCodes, k: int, fixed: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The reference: strict rounds record by record (suppress.py's docstring), each
    record's level and the fk that moved it."""
    order = importance_order(keys, fixed)
    pos = [keys.names.index(x) for x in order]
    fpos = [keys.names.index(x) for x in fixed]
    n, m = keys.n, len(pos)
    codes, cards = keys.codes, keys.cardinalities
    suffix = [
        cell_ids([codes[j] for j in pos[lv:] + fpos], [cards[j] for j in pos[lv:] + fpos], n)
        for lv in range(m + 1)
    ]
    level_of = np.zeros(n, dtype=np.int64)
    fk_when = np.zeros(n, dtype=np.int64)
    for level in range(m):
        rows = np.flatnonzero(level_of == level)
        code, n_cells = suffix[level]
        counts = np.bincount(code[rows], minlength=n_cells)
        fail = counts[code[rows]] < k
        if level > 0 and len(rows) == 0:
            break
        moved = rows[fail]
        fk_when[moved] = np.where(fk_when[moved] == 0, counts[code[moved]], fk_when[moved])
        level_of[moved] = level + 1
        gcode, n_groups = suffix[level + 1]
        per_group = np.bincount(gcode[moved], minlength=n_groups)
        need = np.where((per_group > 0) & (per_group < k), k - per_group, 0)
        donors = rows[~fail]
        donors = donors[need[gcode[donors]] > 0]
        donors = donors[np.lexsort((donors, code[donors]))]
        surplus = counts[code[donors]] - k
        donors = donors[_rank_in_runs(code[donors]) < surplus]
        group = gcode[donors]
        donors = donors[np.bincount(group, minlength=n_groups)[group] >= need[group]]
        surplus = counts[code[donors]] - k
        donors = donors[np.lexsort((donors, code[donors], -surplus, gcode[donors]))]
        taken = donors[_rank_in_runs(gcode[donors]) < need[gcode[donors]]]
        fk_when[taken] = counts[code[taken]]
        level_of[taken] = level + 1
    stratum, n_strata = suffix[m]
    last = level_of == m
    per_stratum = np.bincount(stratum[last], minlength=n_strata)
    sizes = np.bincount(stratum, minlength=n_strata)
    for s in np.flatnonzero((per_stratum > 0) & (per_stratum < k) & (sizes >= k)):
        rows = np.flatnonzero((stratum == s) & ~last)
        lev = level_of[rows]
        cell = np.array([suffix[int(lv)][0][r] for lv, r in zip(lev, rows, strict=True)])
        ids, inverse, size = np.unique(
            np.stack([lev, cell], axis=1).reshape(-1, 2),
            axis=0,
            return_inverse=True,
            return_counts=True,
        )
        inverse = inverse.reshape(-1)
        rank = np.lexsort((np.arange(len(ids)), -ids[:, 0], size))
        chosen = rank[: int(np.searchsorted(np.cumsum(size[rank]), k - per_stratum[s])) + 1]
        hit = np.isin(inverse, chosen)
        fk_when[rows[hit]] = size[inverse[hit]]
        level_of[rows[hit]] = m
    return level_of, fk_when


def _keys(data: st.DataObject, n: int, cards: list[int]) -> KeyCodes:
    codes = tuple(
        np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), np.int32)
        for c in cards
    )
    return KeyCodes(
        tuple(f"k{j}" for j in range(len(cards))), codes, tuple(tuple(range(c)) for c in cards)
    )


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_g5_strict_suppression_on_cells_is_the_rounds_on_records(data: st.DataObject) -> None:
    cards = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    n = data.draw(st.integers(5, 300))
    keys = _keys(data, n, cards)
    k = data.draw(st.integers(1, 5))
    fixed = ["k0"] if len(cards) > 1 and data.draw(st.booleans()) else []
    result = local_suppression(keys, k, semantics="strict", fixed=fixed)
    level_of, fk_when = _rounds_on_records(keys, k, fixed)
    assert np.array_equal(result.round_of, level_of)
    assert np.array_equal(result.fk_when_suppressed, fk_when)
    assert result.total == int(level_of.sum())


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_g5_recode_candidates_cost_the_same_on_cells_as_on_records(data: st.DataObject) -> None:
    cards = data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    n = data.draw(st.integers(10, 300))
    keys = _keys(data, n, cards)
    table = pa.table({name: keys.codes[j] for j, name in enumerate(keys.names)})
    names = list(keys.names)
    k = data.draw(st.integers(2, 5))
    risk = data.draw(st.sampled_from([None, 0.01, 0.1, 0.3]))
    fixed = ["k0"] if data.draw(st.booleans()) else []
    analysed = [names, names[1:]]

    def on_records() -> int:
        sup, _ = suppress_until_safe(
            encode_keys(table, names),
            analysed,
            k,
            max_global_risk=risk,
            max_k=12,
            semantics="strict",
            period=None,
            weights=None,
            households=None,
            pinned=fixed,
        )
        return sup.total

    def on_cells() -> int:
        cells, counts = distinct_cells(table, names)
        return suppressions_on_cells(
            encode_keys(cells, names),
            counts,
            k,
            analysed=analysed,
            max_global_risk=risk,
            max_k=12,
            fixed=fixed,
        )

    outcomes = []
    for way in (on_records, on_cells):
        try:
            outcomes.append(way())
        except SluisError as err:  # k raised beyond the records: refused both ways
            outcomes.append(err.rule)
    assert outcomes[0] == outcomes[1]
