"""SUDA2 scores and DIS scores (G5), as sdcMicro's ``suda2`` with its defaults
(``missing = -999``, ``DisFraction = 0.01``, ``original_scores = TRUE``).

A *minimal sample unique* (MSU) of a record is a set of key variables on which the record
is unique in the sample while it is not unique on any proper subset (Elliot et al., "SUDA:
A Program for Detecting Special Uniques"; Manning, Haglin and Keane 2008, SUDA2). A record
with an MSU of size ``s`` among ``M`` key variables scores ``(M - s)!`` for it; its SUDA
score is the sum over its MSUs. Only records unique on all keys can have MSUs.

The search is SUDA2's recursive partitioning, over the distinct key cells: depth first over
key subsets, each reached once by adding keys in increasing order, a node holds the cells
still in play grouped by their codes on its keys, and a child refines each group by one
more key. A cell of one record that ends alone in a part is unique on the child's keys but
not on its parent's and leaves the search (unique on every subset below, never minimal
there); a part without such a candidate is dropped (nothing in it can become unique). A
candidate's MSUs are the minimal subsets among those where it was left alone. A cell
travels as one 64-bit word (its codes and candidate number packed) when they fit, so a
group is refined by two passes over memory in order; the search is cut into two shares of
about equal work run on two threads (numba kernels, cached on disk, release the GIL).

The DIS score follows sdcMicro's C++ to the bit, including two details that change its
value: the DIS probability and the exponent are computed in single precision, and the
number of sample uniques it uses is the number of buckets of a 16-bit hash of the key
values that hold exactly one record (sdcMicro counts uniques only in such buckets). To
reproduce that hash the key values are taken as R passes them: numeric columns as their
(truncated) values, other columns as factor level numbers 1..L, missing as -999. With fewer
than 3 keys sdcMicro pads constant dummy columns, so scores use ``M = max(M, 3)``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from math import factorial

import numba
import numpy as np

from sluis.scra.frequencies import KeyCodes, cell_ids
from sluis.scra.suda_search import search

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
def _msu_scores(subsets, cands, first, stop, weights):
    """The score (sum of ``weights[size - 1]`` over its MSUs) of each candidate numbered
    ``first .. stop - 1`` and their number of MSUs per size, from the search's notes
    (``subsets[i]`` noted for ``cands[i]``; two threads take a range each). A
    candidate's MSUs are the minimal subsets among those noted for it (every subset on
    which it is unique contains a noted one, and each MSU is noted, since no prefix of it
    isolates the candidate). Taken by size, a noted subset is minimal when it contains
    none of the minimal ones before it."""
    m = len(weights)
    n_cand = stop - first
    start = np.zeros(n_cand + 1, dtype=np.int64)
    n = 0
    for i in range(len(subsets)):
        if first <= cands[i] < stop:
            start[cands[i] - first + 1] += 1
            n += 1
    for c in range(n_cand):
        start[c + 1] += start[c]
    fill = start[:n_cand].copy()
    by_cand = np.empty(max(n, 1), dtype=np.int32)  # size << 16 | subset
    for i in range(len(subsets)):
        c = cands[i] - first
        if c < 0 or c >= n_cand:
            continue
        x = subsets[i]
        z = 0
        while x:
            z += x & 1
            x >>= 1
        by_cand[fill[c]] = (z << 16) | subsets[i]
        fill[c] += 1
    score = np.zeros(n_cand, dtype=np.float64)
    per_msu_size = np.zeros(m, dtype=np.int64)
    found = np.empty(max(n, 1), dtype=np.int32)
    for c in range(n_cand):
        lo = start[c]
        hi = start[c + 1]
        for i in range(lo + 1, hi):  # a candidate's few notes, by size
            x = by_cand[i]
            j = i
            while j > lo and by_cand[j - 1] > x:
                by_cand[j] = by_cand[j - 1]
                j -= 1
            by_cand[j] = x
        n_found = 0
        for i in range(lo, hi):
            f = by_cand[i] & 0xFFFF
            minimal = True
            for j in range(n_found):
                if (found[j] & f) == found[j]:
                    minimal = False
                    break
            if minimal:
                found[n_found] = f
                n_found += 1
                z = by_cand[i] >> 16
                score[c] += weights[z - 1]
                per_msu_size[z - 1] += 1
    return score, per_msu_size


def _hash_unique_buckets(values: np.ndarray) -> int:
    """sdcMicro's count of uniques: buckets of its 16-bit key hash holding one record (the
    hash rotates left by one bit, then adds a key value, column by column)."""
    h = np.zeros(len(values), dtype=np.int64)
    for j in range(values.shape[1]):  # a few keys: vectorised over the records
        carry = (h >> 15) & 1
        h = (((h << 1) & 0xFFFF) + values[:, j]) & 0xFFFF
        h = (h + carry) & 0xFFFF
    return int(np.count_nonzero(np.bincount(h, minlength=1 << 16) == 1))


def warm() -> None:
    """Load the compiled kernels (numba's on-disk cache) on a tiny input, with the types a
    run passes: a run that will score SUDA2 calls this on a thread while it reads and
    encodes the file, so loading the kernels overlaps that work."""
    mat = np.array([[0, 0], [0, 1], [1, 1]], dtype=np.int32)
    cand = np.arange(3, dtype=np.int64)
    cards = np.array([2, 2], dtype=np.int64)
    _msu_search(mat, cand, 3, cards, np.array([2.0, 1.0]))


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


def _msu_search(
    mat: np.ndarray,
    cand: np.ndarray,
    n_cand: int,
    cards: np.ndarray,
    weights: np.ndarray,
    _packed: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's score and the MSUs per size (see :func:`_msu_scores`) from the
    notes of the search (:func:`sluis.scra.suda_search.search`)."""
    shares = search(mat, cand, n_cand, cards, one_word=_packed)
    subsets = np.concatenate([sub for sub, _ in shares])
    cands = np.concatenate([c for _, c in shares])
    half = n_cand // 2
    scored: list = [None]
    other = threading.Thread(
        target=lambda: scored.__setitem__(0, _msu_scores(subsets, cands, half, n_cand, weights))
    )
    other.start()
    score, per_size = _msu_scores(subsets, cands, 0, half, weights)
    other.join()
    return np.concatenate([score, scored[0][0]]), per_size + scored[0][1]


def suda2(
    keys: KeyCodes,
    dis_fraction: float = 0.01,
    *,
    cells: tuple[np.ndarray, int] | None = None,
    _packed: bool = True,
) -> Suda2Result:
    """SUDA2 and DIS scores of every record (sdcMicro ``suda2`` defaults).

    ``cells``: each record's dense key-cell id and the number of cells, when the caller
    has them already (:func:`~sluis.scra.frequencies.frequencies`; any order of the ids).

    ``_packed=False`` (tests only) searches with every key in a word of its own, the
    layout of key sets too wide for one word.
    """
    m = len(keys.names)
    if m == 0 or keys.n == 0:
        empty = np.zeros(keys.n)
        return Suda2Result(empty, empty.copy(), np.zeros(m, np.int64), m, dis_fraction)
    if m > MAX_KEYS:
        raise ValueError(f"SUDA2 supports at most {MAX_KEYS} key variables, got {m}")
    cell, n_cells = cells or cell_ids(keys.codes, keys.cardinalities, keys.n, ordered=False)
    mult = np.bincount(cell, minlength=n_cells).astype(np.int64)
    first = np.full(n_cells, -1, dtype=np.int64)
    first[cell[::-1]] = np.arange(keys.n - 1, -1, -1)
    mat = np.ascontiguousarray(np.stack([c[first] for c in keys.codes], axis=1))
    is_cand = mult == 1
    cand = np.full(n_cells, -1, dtype=np.int64)
    n_cand = int(is_cand.sum())
    cand[is_cand] = np.arange(n_cand)
    cards = np.array([max(c, 1) for c in keys.cardinalities], dtype=np.int64)

    m_score = max(m, 3)
    weights = np.array([float(factorial(m_score - s)) for s in range(1, m + 1)])
    # sdcMicro's count of uniques for DIS, on a thread of its own while the search runs
    # (numpy releases the GIL; it fills the time one share of the search ends before the other)
    hashed: list[int] = []
    counter = threading.Thread(target=lambda: hashed.append(_hash_unique_buckets(r_values(keys))))
    counter.start()
    cell_score = np.zeros(n_cells)
    cell_score[is_cand], msu_per_size = _msu_search(mat, cand, n_cand, cards, weights, _packed)
    score = cell_score[cell]
    counter.join()

    # DIS score, in sdcMicro's precision (see module docstring)
    n_unique = hashed[0]
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
    return Suda2Result(score, dis_score, msu_per_size, m, dis_fraction)
