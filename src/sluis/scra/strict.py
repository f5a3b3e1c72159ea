"""Local suppression under strict semantics on key cells, not records (G5, issue 19).

:func:`sluis.scra.suppress.local_suppression` decides, round by round, which records get
the next key of the order suppressed. Every record of a key cell (its values on every key)
shares its fate, except where a group borrows the surplus of a cell (the records of the
lowest row numbers, see :mod:`sluis.scra.suppress`). So the rounds run here on *units*:
a key cell's records in a range of their ranks (row order within the cell), with a count,
a level (keys suppressed) and the fk that made them move. A cell starts as one unit and is
split only where a group borrows part of it; the rows borrowed are looked up among the
records of the cells concerned only. The outcome is the same, record for record, as the
rounds on records, in the time of the cells (some 30,000 for two million person-years of
26/050 instead of the records at every round).

:func:`strict_units` without records (``rows=None``) counts only: which of a cell's units
lend does not change any count, cell or risk after treatment (the units of one cell at a
level show the same values), so the treatment's choice of recode steps
(:mod:`sluis.scra.treat`) is evaluated on the distinct key cells of each candidate with
their record counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sluis.scra.frequencies import cell_ids
from sluis.scra.risk import individual_risk


@dataclass
class Units:
    """Records of one key cell in the ranks ``lo``..``hi`` (exclusive), at one level."""

    cell: np.ndarray  # the key cell (level-0 suffix id)
    lo: np.ndarray
    hi: np.ndarray
    level: np.ndarray  # keys of the order suppressed
    fk: np.ndarray  # the fk that made the records move (0 if none)

    @property
    def count(self) -> np.ndarray:
        return self.hi - self.lo

    def split(self, units: np.ndarray, taken: np.ndarray, level: int, fk: np.ndarray) -> None:
        """The first ``taken`` records of each of ``units`` move to ``level`` with ``fk``."""
        whole = taken == self.count[units]
        moved = units[whole]
        self.level[moved], self.fk[moved] = level, fk[whole]
        part, t, f = units[~whole], taken[~whole], fk[~whole]
        self.cell = np.concatenate([self.cell, self.cell[part]])
        self.lo = np.concatenate([self.lo, self.lo[part]])
        self.hi = np.concatenate([self.hi, self.lo[part] + t])
        self.level = np.concatenate([self.level, np.full(len(part), level, np.int64)])
        self.fk = np.concatenate([self.fk, f])
        self.lo[part] += t


def suffix_codes(
    codes: list[np.ndarray], cards: list[int], pos: list[int], fpos: list[int], n: int
) -> list[tuple[np.ndarray, int]]:
    """Level ``L``'s cell of each row: its values on ``order[L:]`` and the fixed keys."""
    out = []
    for level in range(len(pos) + 1):
        cols = pos[level:] + fpos
        out.append(cell_ids([codes[j] for j in cols], [cards[j] for j in cols], n))
    return out


class _Rows:
    """The records of the key cells, to tell which of a cell's records a group borrows."""

    def __init__(self, cell_of_record: np.ndarray, n_cells: int) -> None:
        self.cell = cell_of_record
        self.n_cells = n_cells

    def ranked(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of ``cells`` (by cell, then row), their cell and rank within it."""
        mark = np.zeros(self.n_cells, dtype=bool)
        mark[cells] = True
        rows = np.flatnonzero(mark[self.cell])
        cell = self.cell[rows]
        # a stable sort of the cells renumbered densely: a radix sort when they are few
        dense = np.cumsum(mark) - 1
        small = np.uint16 if len(cells) <= np.iinfo(np.uint16).max else np.int64
        sort = np.argsort(dense[cell].astype(small), kind="stable")
        rows, cell = rows[sort], cell[sort]
        return rows, cell, _rank_in_runs(cell)

    def unit_of(self, units: Units, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``cells`` and the unit each belongs to."""
        rows, cell, rank = self.ranked(cells)
        mine = np.flatnonzero(np.isin(units.cell, cells))
        scale = np.int64(len(self.cell) + 1)
        ukey = units.cell[mine] * scale + units.lo[mine]
        sort = np.argsort(ukey)
        at = np.searchsorted(ukey[sort], cell * scale + rank, side="right") - 1
        return rows, mine[sort][at]


def _rank_in_runs(labels: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal consecutive ``labels``."""
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.ones(len(labels), dtype=bool)
    start[1:] = labels[1:] != labels[:-1]
    idx = np.arange(len(labels))
    return idx - np.maximum.accumulate(np.where(start, idx, 0))


def _lend(
    units: Units,
    at: np.ndarray,
    code: np.ndarray,
    want: np.ndarray,
    counts: np.ndarray,
    level: int,
    rows: _Rows | None,
) -> None:
    """Move ``want[c]`` records of each level-``level - 1`` cell ``c`` (``code`` of the units
    ``at``) to ``level``: the lowest row numbers (or, counting only, the first units)."""
    lending = at[want[code] > 0]
    if len(lending) == 0:
        return
    lcode = code[want[code] > 0]
    if rows is None:
        sort = np.lexsort((lending, lcode))
        lending, lcode = lending[sort], lcode[sort]
        count = units.count[lending]
        before = np.cumsum(count) - count
        start = np.maximum.accumulate(np.where(_rank_in_runs(lcode) == 0, before, 0))
        taken = np.clip(want[lcode] - (before - start), 0, count)
    else:
        record_rows, unit = rows.unit_of(units, np.unique(units.cell[lending]))
        inside = np.zeros(len(units.cell), dtype=np.int64)
        inside[lending] = lcode + 1
        keep = inside[unit] > 0
        record_rows, unit = record_rows[keep], unit[keep]
        rcode = inside[unit] - 1
        sort = np.lexsort((record_rows, rcode))
        unit, rcode = unit[sort], rcode[sort]
        hit = unit[_rank_in_runs(rcode) < want[rcode]]
        taken = np.bincount(hit, minlength=len(units.cell))[lending]
    some = taken > 0
    units.split(lending[some], taken[some], level, counts[lcode[some]])


def strict_units(
    suffix: list[tuple[np.ndarray, int]], sizes: np.ndarray, k: int, rows: _Rows | None
) -> Units:
    """The rounds of strict local suppression (:mod:`sluis.scra.suppress`) on key cells:
    ``suffix[L]`` the level-``L`` cell of each key cell, ``sizes`` its records."""
    m = len(suffix) - 1
    n0 = len(sizes)
    sizes = np.asarray(sizes, dtype=np.int64)
    units = Units(
        np.arange(n0, dtype=np.int64),
        np.zeros(n0, dtype=np.int64),
        sizes.copy(),
        np.zeros(n0, dtype=np.int64),
        np.zeros(n0, dtype=np.int64),
    )
    for level in range(m):
        at = np.flatnonzero(units.level == level)
        code_all, n_cells = suffix[level]
        code = code_all[units.cell[at]]
        counts = np.bincount(code, weights=units.count[at], minlength=n_cells).astype(np.int64)
        cnt = counts[code]
        fail = cnt < k
        if level > 0 and len(at) == 0:
            break
        if not fail.any():
            continue
        moved = at[fail]
        units.fk[moved] = np.where(units.fk[moved] == 0, cnt[fail], units.fk[moved])
        units.level[moved] = level + 1
        # groups of the moved records still below k borrow the surplus of their group's cells
        gcode, n_groups = suffix[level + 1]
        per_group = np.bincount(
            gcode[units.cell[moved]], weights=units.count[moved], minlength=n_groups
        ).astype(np.int64)
        need = np.where((per_group > 0) & (per_group < k), k - per_group, 0)
        donors = at[~fail]
        dcode = code[~fail]
        wanted = need[gcode[units.cell[donors]]] > 0
        donors, dcode = donors[wanted], dcode[wanted]
        if len(donors) == 0:
            continue
        # one entry per lending cell: its group, surplus (records it may lend)
        cells, first = np.unique(dcode, return_index=True)
        surplus = counts[cells] - k
        group = gcode[units.cell[donors[first]]]
        available = np.bincount(group, weights=surplus, minlength=n_groups)
        ok = (available[group] >= need[group]) & (surplus > 0)
        cells, surplus, group = cells[ok], surplus[ok], group[ok]
        sort = np.lexsort((cells, -surplus, group))
        cells, surplus, group = cells[sort], surplus[sort], group[sort]
        before = np.cumsum(surplus) - surplus
        start = np.maximum.accumulate(np.where(_rank_in_runs(group) == 0, before, 0))
        want = np.zeros(n_cells, dtype=np.int64)
        want[cells] = np.clip(need[group] - (before - start), 0, surplus)
        _lend(units, at, code, want, counts, level + 1, rows)
    _fill_last_level(suffix, units, m, k)
    return units


def _fill_last_level(suffix: list[tuple[np.ndarray, int]], units: Units, m: int, k: int) -> None:
    """A stratum whose records with every key suppressed are fewer than k takes whole cells
    of the stratum (smallest first, fewest keys left first) into that group until it holds
    k (:func:`sluis.scra.suppress.local_suppression`'s last step), on units."""
    stratum_all, n_strata = suffix[m]
    stratum = stratum_all[units.cell]
    last = units.level == m
    count = units.count
    per_stratum = np.bincount(stratum[last], weights=count[last], minlength=n_strata)
    sizes = np.bincount(stratum, weights=count, minlength=n_strata)
    short = np.flatnonzero((per_stratum > 0) & (per_stratum < k) & (sizes >= k))
    for s in short:
        us = np.flatnonzero((stratum == s) & ~last)
        lev = units.level[us]
        cell = np.zeros(len(us), dtype=np.int64)
        for level in np.unique(lev):
            here = lev == level
            cell[here] = suffix[int(level)][0][units.cell[us[here]]]
        ids, inverse = np.unique(np.stack([lev, cell], axis=1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        size = np.bincount(inverse, weights=count[us], minlength=len(ids)).astype(np.int64)
        rank = np.lexsort((np.arange(len(ids)), -ids[:, 0], size))
        need = k - int(per_stratum[s])
        running = np.cumsum(size[rank])
        chosen = rank[: int(np.searchsorted(running, need)) + 1]
        hit = np.isin(inverse, chosen)
        units.fk[us[hit]] = size[inverse[hit]]
        units.level[us[hit]] = m


def strict_levels(
    codes: list[np.ndarray], cards: list[int], pos: list[int], fpos: list[int], n: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Each record's level and fk when suppressed (strict semantics), and its stratum
    (values on the fixed keys) with the number of strata."""
    cell0, n0 = cell_ids([codes[j] for j in pos + fpos], [cards[j] for j in pos + fpos], n)
    rep = np.zeros(n0, dtype=np.int64)
    rep[cell0] = np.arange(n, dtype=np.int64)  # any record of a cell stands for its codes
    suffix = suffix_codes([c[rep] for c in codes], cards, pos, fpos, n0)
    units = strict_units(suffix, np.bincount(cell0, minlength=n0), k, _Rows(cell0, n0))
    level_of, fk_when = _per_record(units, cell0, n0)
    return level_of, fk_when, suffix[-1][0][cell0], suffix[-1][1]


def _per_record(units: Units, cell0: np.ndarray, n0: int) -> tuple[np.ndarray, np.ndarray]:
    """The units' levels and fk on their records."""
    per_cell = np.bincount(units.cell, minlength=n0)
    single = np.full(n0, -1, dtype=np.int64)
    alone = per_cell[units.cell] == 1
    single[units.cell[alone]] = np.flatnonzero(alone)
    unit = single[cell0]
    split = np.flatnonzero(per_cell > 1)
    if len(split):
        rows, at = _Rows(cell0, n0).unit_of(units, split)
        unit[rows] = at
    return units.level[unit], units.fk[unit]


def strict_global_risk(
    units: Units,
    cell_codes: list[np.ndarray],
    cards: list[int],
    pos: list[int],
    used: list[int],
) -> float:
    """The global risk after strict suppression of the key set ``used`` (key positions)
    from counted units (no weights: Fk = fk): a unit shows its cell's values with the
    keys ``pos[:level]`` suppressed (one extra code per key)."""
    if len(units.cell) == 0:
        return 0.0
    shown = []
    for j in used:
        value = cell_codes[j][units.cell]
        rank = pos.index(j) if j in pos else len(pos)
        shown.append(np.where(units.level > rank, cards[j], value))
    cell, n_cells = cell_ids(shown, [cards[j] + 1 for j in used], len(units.cell))
    count = units.count
    fk = np.bincount(cell, weights=count, minlength=n_cells)[cell]
    risk = individual_risk(fk, fk)
    return float(np.sum(risk * count) / np.sum(count))


def counted_units(
    codes: list[np.ndarray],
    cards: list[int],
    counts: np.ndarray,
    pos: list[int],
    fpos: list[int],
    k: int,
) -> tuple[Units, list[np.ndarray]]:
    """Strict local suppression counted on rows standing for ``counts`` records each (the
    distinct key cells of a candidate recoding): the units (no record ranges) and the codes
    of their key cells."""
    n = len(counts)
    cell0, n0 = cell_ids([codes[j] for j in pos + fpos], [cards[j] for j in pos + fpos], n)
    rep = np.zeros(n0, dtype=np.int64)
    rep[cell0] = np.arange(n, dtype=np.int64)
    cell_codes = [c[rep] for c in codes]
    sizes = np.bincount(cell0, weights=counts, minlength=n0).astype(np.int64)
    suffix = suffix_codes(cell_codes, cards, pos, fpos, n0)
    return strict_units(suffix, sizes, k, None), cell_codes
