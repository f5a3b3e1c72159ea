"""SUDA2 scores and DIS scores (G5), as sdcMicro's ``suda2`` with its defaults
(``missing = -999``, ``DisFraction = 0.01``, ``original_scores = TRUE``).

A *minimal sample unique* (MSU) of a record is a set of key variables on which the record
is unique in the sample while it is not unique on any proper subset (Elliot et al., "SUDA:
A Program for Detecting Special Uniques"; Manning, Haglin and Keane 2008, SUDA2). A record
with an MSU of size ``s`` among ``M`` key variables scores ``(M - s)!`` for it; its SUDA
score is the sum over its MSUs. Only records unique on all keys can have MSUs.

The search here is our own: it walks the lattice of key subsets by size over the distinct
key cells (weighted by their size), counting each subset's cells with a dense array when the
product of cardinalities is small and an open-addressing hash table otherwise. A unique
record is *active* for a subset only when it is not unique on any immediate subset, and an
active record that is unique is exactly an MSU, so uniqueness never needs to be recomputed
and the work shrinks as subsets grow. Numba compiles the kernels (cached on disk).

The DIS score follows sdcMicro's C++ to the bit, including two details that change its
value: the DIS probability and the exponent are computed in single precision, and the
number of sample uniques it uses is the number of buckets of a 16-bit hash of the key
values that hold exactly one record (sdcMicro counts uniques only in such buckets). To
reproduce that hash the key values are taken as R passes them: numeric columns as their
(truncated) values, other columns as factor level numbers 1..L, missing as -999. With fewer
than 3 keys sdcMicro pads constant dummy columns, so scores use ``M = max(M, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numba
import numpy as np

from sluis.scra.frequencies import KeyCodes, cell_ids

#: Largest product of cardinalities counted with a dense array (else a hash table).
_DENSE_LIMIT = 1 << 22
#: Most key variables SUDA2 accepts here (the lattice has 2**M subsets).
MAX_KEYS = 16
MISSING_R = -999


@dataclass(frozen=True)
class Suda2Result:
    """Per-record SUDA score and DIS score, MSU counts per size, and summary figures."""

    score: np.ndarray
    dis_score: np.ndarray
    msu_per_size: np.ndarray  # number of MSUs of size 1..M over all records
    n_keys: int
    dis_fraction: float

    @property
    def records_with_score(self) -> int:
        return int(np.count_nonzero(self.score > 0))

    @property
    def score_sum(self) -> float:
        return float(self.score.sum())

    @property
    def score_max(self) -> float:
        return float(self.score.max()) if len(self.score) else 0.0

    def records_dis_above(self, threshold: float = 0.1) -> int:
        return int(np.count_nonzero(self.dis_score > threshold))

    @property
    def dis_sum(self) -> float:
        return float(self.dis_score.sum())


@numba.njit(cache=True, nogil=True)
def _mix(h: np.uint64, x: np.int64) -> np.uint64:
    h ^= np.uint64(x) + np.uint64(0x9E3779B97F4A7C15) + (h << np.uint64(6)) + (h >> np.uint64(2))
    return h * np.uint64(0xBF58476D1CE4E5B9)


@numba.njit(cache=True, nogil=True)
def _is_set(unique, s, c):
    return (unique[s, c >> 6] >> np.uint64(c & 63)) & np.uint64(1)


@numba.njit(cache=True, nogil=True)
def _set(unique, s, c):
    unique[s, c >> 6] |= np.uint64(1) << np.uint64(c & 63)


@numba.njit(cache=True, nogil=True)
def _one_subset(s, mat, mult, cand, cards, unique, msu, keys, active, dense, rep, cnt):
    """Count the cells of key subset ``s``; mark candidates unique on it; count MSUs.

    ``dense``, ``rep`` and ``cnt`` are this thread's scratch tables, all zero (``rep``: -1)
    on entry and left so on exit: only the slots used are reset, since allocating and
    clearing a table of millions of slots per subset cost more than the counting."""
    n_rows, m = mat.shape
    dense_limit = len(dense)
    size = 0
    prod = 1
    big = False
    for v in range(m):
        if (s >> v) & 1:
            size += 1
            if not big:
                prod *= cards[v]
                if prod > dense_limit:
                    big = True
    n_active = 0
    for r in range(n_rows):
        c = cand[r]
        a = True
        if c >= 0:
            for v in range(m):
                if (s >> v) & 1:
                    t = s ^ (1 << v)
                    if t != 0 and _is_set(unique, t, c):
                        a = False
                        break
            if not a:  # unique on a subset: unique here too, but not minimal
                _set(unique, s, c)
        active[r] = a
        if a:
            n_active += 1
    if not big:
        for r in range(n_rows):
            if active[r]:
                key = 0
                for v in range(m):
                    if (s >> v) & 1:
                        key = key * cards[v] + mat[r, v]
                keys[r] = key
                dense[key] += mult[r]
        for r in range(n_rows):
            c = cand[r]
            if active[r] and c >= 0 and dense[keys[r]] == 1:
                _set(unique, s, c)
                msu[c, size - 1] += 1
        for r in range(n_rows):
            if active[r]:
                dense[keys[r]] = 0
        return
    cap = 1
    while cap < 2 * n_active + 2:
        cap <<= 1
    mask = np.uint64(cap - 1)
    for r in range(n_rows):
        if not active[r]:
            continue
        h = np.uint64(0)
        for v in range(m):
            if (s >> v) & 1:
                h = _mix(h, np.int64(mat[r, v]))
        slot = np.int64(h & mask)
        while rep[slot] != -1:
            o = rep[slot]
            same = True
            for v in range(m):
                if (s >> v) & 1 and mat[o, v] != mat[r, v]:
                    same = False
                    break
            if same:
                break
            slot = (slot + 1) & (cap - 1)
        if rep[slot] == -1:
            rep[slot] = r
        cnt[slot] += mult[r]
        keys[r] = slot
    for r in range(n_rows):
        c = cand[r]
        if active[r] and c >= 0 and cnt[keys[r]] == 1:
            _set(unique, s, c)
            msu[c, size - 1] += 1
    for r in range(n_rows):
        if active[r]:
            rep[keys[r]] = -1
            cnt[keys[r]] = 0


@numba.njit(cache=True, parallel=True)
def _msu_search(mat, mult, cand, n_cand, cards, subsets, level_start, dense_limit, n_threads):
    """MSU counts per size (n_cand × M) for the candidate cells.

    ``mat``: cells × M codes; ``mult``: records per cell; ``cand``: candidate index of a
    cell (-1 when the cell has more than one record); ``subsets``: bitmasks ordered by
    size, size ``z`` starting at ``level_start[z - 1]``. The subsets of one size depend
    only on smaller ones, so threads share a size; each thread has its own scratch space
    and writes only its own subsets' rows of ``unique`` (subset × candidate bits).
    """
    n_rows, m = mat.shape
    words = (max(n_cand, 1) + 63) >> 6
    unique = np.zeros((1 << m, words), dtype=np.uint64)
    msu = np.zeros((n_threads, max(n_cand, 1), m), dtype=np.int32)
    keys = np.zeros((n_threads, n_rows), dtype=np.int64)
    active = np.zeros((n_threads, n_rows), dtype=np.bool_)
    dense = np.zeros((n_threads, dense_limit), dtype=np.int32)
    cap = 1
    while cap < 2 * n_rows + 2:
        cap <<= 1
    rep = np.full((n_threads, cap), -1, dtype=np.int32)
    cnt = np.zeros((n_threads, cap), dtype=np.int32)
    for z in range(m):
        lo = level_start[z]
        hi = level_start[z + 1]
        for t in numba.prange(n_threads):
            for i in range(lo + t, hi, n_threads):
                _one_subset(
                    subsets[i],
                    mat,
                    mult,
                    cand,
                    cards,
                    unique,
                    msu[t],
                    keys[t],
                    active[t],
                    dense[t],
                    rep[t],
                    cnt[t],
                )
    total = np.zeros((max(n_cand, 1), m), dtype=np.int64)
    for t in range(n_threads):
        for c in range(n_cand):
            for z in range(m):
                total[c, z] += msu[t, c, z]
    return total


@numba.njit(cache=True, nogil=True)
def _hash_unique_buckets(values):
    """sdcMicro's count of uniques: buckets of its 16-bit key hash holding one record."""
    n, m = values.shape
    per_bucket = np.zeros(1 << 16, dtype=np.int64)
    for i in range(n):
        h = 0
        for j in range(m):
            carry = h & 0x8000
            h = (h << 1) & 0xFFFF
            h = (h + values[i, j]) & 0xFFFF
            if carry:
                h = (h + 1) & 0xFFFF
        per_bucket[h] += 1
    total = 0
    for b in range(1 << 16):
        if per_bucket[b] == 1:
            total += 1
    return total


def r_values(keys: KeyCodes) -> np.ndarray:
    """The key matrix as sdcMicro's R code hands it to C++ (see the module docstring)."""
    columns = []
    for j, labels in enumerate(keys.labels):
        codes = keys.codes[j]
        values = [lab for lab in labels if lab is not None]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:
            table = np.array([MISSING_R if lab is None else int(lab) for lab in labels], np.int64)
        else:
            table = np.array(
                [MISSING_R if lab is None else i + 1 for i, lab in enumerate(labels)], np.int64
            )
        columns.append(table[codes] if len(table) else np.zeros(len(codes), np.int64))
    return np.ascontiguousarray(np.stack(columns, axis=1))


def _subsets_by_size(m: int) -> tuple[np.ndarray, np.ndarray]:
    """All non-empty subsets of ``m`` keys as bitmasks ordered by size, and where each size
    starts (``start[z - 1]`` for size ``z``; ``start[m]`` is the end)."""
    masks = np.arange(1, 1 << m, dtype=np.int64)
    sizes = np.array([bin(int(x)).count("1") for x in masks])
    order = np.argsort(sizes, kind="stable")
    start = np.searchsorted(sizes[order], np.arange(1, m + 2)).astype(np.int64)
    return masks[order], start


def suda2(
    keys: KeyCodes, dis_fraction: float = 0.01, *, _dense_limit: int = _DENSE_LIMIT
) -> Suda2Result:
    """SUDA2 and DIS scores of every record (sdcMicro ``suda2`` defaults).

    ``_dense_limit`` (tests only) moves subsets to the hash-table path.
    """
    m = len(keys.names)
    if m == 0 or keys.n == 0:
        empty = np.zeros(keys.n)
        return Suda2Result(empty, empty.copy(), np.zeros(m, np.int64), m, dis_fraction)
    if m > MAX_KEYS:
        raise ValueError(f"SUDA2 supports at most {MAX_KEYS} key variables, got {m}")
    cell, n_cells = cell_ids(keys.codes, keys.cardinalities, keys.n)
    mult = np.bincount(cell, minlength=n_cells).astype(np.int64)
    first = np.full(n_cells, -1, dtype=np.int64)
    first[cell[::-1]] = np.arange(keys.n - 1, -1, -1)
    mat = keys.matrix()[first]
    is_cand = mult == 1
    cand = np.full(n_cells, -1, dtype=np.int64)
    n_cand = int(is_cand.sum())
    cand[is_cand] = np.arange(n_cand)
    cards = np.array([max(c, 1) for c in keys.cardinalities], dtype=np.int64)
    subsets, level_start = _subsets_by_size(m)
    threads = max(1, min(numba.get_num_threads(), 8))
    msu = _msu_search(mat, mult, cand, n_cand, cards, subsets, level_start, _dense_limit, threads)[
        :n_cand
    ]

    m_score = max(m, 3)
    weights = np.array([float(factorial(m_score - s)) for s in range(1, m + 1)])
    cell_score = np.zeros(n_cells)
    cell_score[is_cand] = msu @ weights
    score = cell_score[cell]

    # DIS score, in sdcMicro's precision (see module docstring)
    n_unique = _hash_unique_buckets(r_values(keys))
    n_pair_records = 2 * int(np.count_nonzero(mult == 2))
    dis_score = np.zeros(keys.n)
    positive = score > 0
    if positive.any():
        f32 = np.float32
        frac = f32(dis_fraction)
        nu = f32(n_unique)
        with np.errstate(divide="ignore", invalid="ignore"):
            dis = (nu * frac) / (nu * frac + f32(n_pair_records) * (f32(1.0) - frac))
            term = float(f32(f32(nu / dis) - nu))
        q = float(f32(1.0) + (f32(8.0) - f32(m_score)) / f32(20.0))
        powered = np.power(score[positive], q)
        adj = float(np.sum(1.0 / powered))
        dis_score[positive] = 1.0 / (1.0 + term / (powered * adj))
    return Suda2Result(score, dis_score, msu.sum(axis=0), m, dis_fraction)
