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

import os
from dataclasses import dataclass
from math import factorial

import numba
import numpy as np

from sluis.scra.frequencies import KeyCodes, cell_ids

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
def _refine(
    d, w, s, note, lvl_codes, lvl_tag, bounds, n_groups, cards, counts, order, notes, n_noted
):
    """Refine level ``d``'s groups by key ``w`` into level ``d + 1`` (subset ``s``): a part
    of one cell of one record is a candidate unique on ``s`` (noted when ``note``); a part
    holding a candidate goes on; a part without one is dropped (nothing in it can become a
    sample unique). Returns the notes (2 × capacity: subsets, candidates) and their number.
    """
    m = lvl_codes.shape[2]
    out = 0
    groups = 0
    src = lvl_codes[d]
    tags = lvl_tag[d]
    for g in range(n_groups[d]):
        a = bounds[d, g]
        b = bounds[d, g + 1]
        size = b - a
        if size <= 32:  # insertion sort of the group's positions by key w
            for i in range(size):
                val = src[a + i, w]
                j = i
                while j > 0 and src[a + order[j - 1], w] > val:
                    order[j] = order[j - 1]
                    j -= 1
                order[j] = i
        else:  # counting sort
            card = cards[w]
            for c in range(card + 1):
                counts[c] = 0
            for i in range(a, b):
                counts[src[i, w] + 1] += 1
            for c in range(card):
                counts[c + 1] += counts[c]
            for i in range(size):
                val = src[a + i, w]
                order[counts[val]] = i
                counts[val] += 1
        i = 0
        while i < size:
            val = src[a + order[i], w]
            has_cand = tags[a + order[i]] >= 0
            j = i + 1
            while j < size and src[a + order[j], w] == val:
                if tags[a + order[j]] >= 0:
                    has_cand = True
                j += 1
            if j == i + 1 and has_cand:  # one cell of one record
                if note:
                    if n_noted == notes.shape[1]:
                        grown = np.empty((2, 2 * n_noted), dtype=np.int32)
                        grown[:, :n_noted] = notes
                        notes = grown
                    notes[0, n_noted] = s
                    notes[1, n_noted] = tags[a + order[i]]
                    n_noted += 1
            elif has_cand:
                bounds[d + 1, groups] = out
                groups += 1
                for k in range(i, j):
                    r = a + order[k]
                    for v in range(m):
                        lvl_codes[d + 1, out, v] = src[r, v]
                    lvl_tag[d + 1, out] = tags[r]
                    out += 1
            i = j
    bounds[d + 1, groups] = out
    n_groups[d + 1] = groups
    return notes, n_noted


@numba.njit(cache=True, nogil=True)
def _search(codes, tag, cards, parts):
    """The ``(subset, candidate)`` notes of some parts of the search (see :func:`suda2`).

    ``codes``: cells × M key codes; ``tag``: candidate index of a cell, -1 when it holds
    more than one record. Depth first over key subsets, each reached once by adding keys
    in increasing order; a node holds the cells still in play, grouped by their codes on
    its keys, in its own copy (refining a group reads memory in order). A part (a row of
    ``parts``: key ``a``, whether to note ``{a}`` itself, then a 0/1 flag per key) is the
    node ``{a}`` and the subtrees of its children ``{a, b}`` for the flagged keys ``b``.
    """
    n_rows, m = codes.shape
    levels = m + 1
    lvl_codes = np.empty((levels, max(n_rows, 1), m), dtype=codes.dtype)
    lvl_tag = np.empty((levels, max(n_rows, 1)), dtype=np.int32)
    bounds = np.empty((levels, n_rows + 1), dtype=np.int32)
    n_groups = np.zeros(levels, dtype=np.int64)
    masks = np.zeros(levels, dtype=np.int64)
    next_key = np.zeros(levels, dtype=np.int64)
    lvl_codes[0, :n_rows] = codes
    lvl_tag[0, :n_rows] = tag
    bounds[0, 0] = 0
    bounds[0, 1] = n_rows
    n_groups[0] = 1 if n_rows > 0 else 0
    counts = np.zeros(cards.max() + 1, dtype=np.int64)
    order = np.empty(max(n_rows, 1), dtype=np.int32)
    notes = np.empty((2, 1 << 16), dtype=np.int32)
    n_noted = 0
    for p in range(parts.shape[0]):
        a = parts[p, 0]
        notes, n_noted = _refine(
            0,
            a,
            1 << a,
            parts[p, 1] == 1,
            lvl_codes,
            lvl_tag,
            bounds,
            n_groups,
            cards,
            counts,
            order,
            notes,
            n_noted,
        )
        masks[1] = 1 << a
        d = 1
        next_key[1] = a + 1
        while d >= 1:
            w = next_key[d]
            if d == 1:
                while w < m and parts[p, 2 + w] == 0:
                    w += 1
            if w >= m or n_groups[d] == 0:
                d -= 1
                continue
            next_key[d] = w + 1
            s = masks[d] | (1 << w)
            notes, n_noted = _refine(
                d,
                w,
                s,
                True,
                lvl_codes,
                lvl_tag,
                bounds,
                n_groups,
                cards,
                counts,
                order,
                notes,
                n_noted,
            )
            masks[d + 1] = s
            next_key[d + 1] = w + 1
            d += 1
    return notes, n_noted


@numba.njit(cache=True, nogil=True)
def _msu_scores(notes_a, n_a, notes_b, n_b, n_cand, weights):
    """Each candidate's score (sum of ``weights[size - 1]`` over its MSUs) and the number
    of MSUs per size, from the notes of the search's shares (``notes[0]``: subset,
    ``notes[1]``: candidate; the first ``n`` columns). A candidate's MSUs are the minimal
    subsets among those noted for it (every subset on which it is unique contains a noted
    one, and each MSU is noted, since no prefix of it isolates the candidate). Taken by
    size, a noted subset is minimal when it contains none of the minimal ones before it."""
    m = len(weights)
    start = np.zeros(n_cand + 1, dtype=np.int64)
    for i in range(n_a):
        start[notes_a[1, i] + 1] += 1
    for i in range(n_b):
        start[notes_b[1, i] + 1] += 1
    for c in range(n_cand):
        start[c + 1] += start[c]
    fill = start[:n_cand].copy()
    by_cand = np.empty(max(n_a + n_b, 1), dtype=np.int32)  # size << 16 | subset
    for part in range(2):
        notes = notes_a if part == 0 else notes_b
        for i in range(n_a if part == 0 else n_b):
            x = notes[0, i]
            z = 0
            while x:
                z += x & 1
                x >>= 1
            c = notes[1, i]
            by_cand[fill[c]] = (z << 16) | notes[0, i]
            fill[c] += 1
    score = np.zeros(n_cand, dtype=np.float64)
    per_msu_size = np.zeros(m, dtype=np.int64)
    found = np.empty(max(n_a + n_b, 1), dtype=np.int32)
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


@numba.njit(cache=True, nogil=True)
def _refine_packed(
    d,
    w,
    s,
    note,
    lvl,
    bounds,
    n_groups,
    shift,
    width,
    cards,
    cand_shift,
    counts,
    tmp,
    notes,
    n_noted,
):
    """:func:`_refine` on cells packed in one word each (see :func:`_search_packed`): a
    large group by one counting pass and one pass that moves each cell to its part."""
    out = 0
    groups = 0
    sh = np.uint64(shift[w])
    mask = np.uint64((1 << width[w]) - 1)
    cs = np.uint64(cand_shift)
    card = cards[w]
    small = max(16, card >> 1)
    src = lvl[d]
    dst = lvl[d + 1]
    n_cnt = counts[0]
    has = counts[1]
    place = counts[2]
    for g in range(n_groups[d]):
        a = bounds[d, g]
        b = bounds[d, g + 1]
        size = b - a
        if size > small:
            for c in range(card):
                n_cnt[c] = 0
                has[c] = 0
            for i in range(a, b):
                x = src[i]
                v = (x >> sh) & mask
                n_cnt[v] += 1
                if (x >> cs) != 0:
                    has[v] = 1
            for c in range(card):
                if n_cnt[c] >= 2 and has[c]:
                    bounds[d + 1, groups] = out
                    groups += 1
                    place[c] = out
                    out += n_cnt[c]
                else:
                    place[c] = -1
            for i in range(a, b):
                x = src[i]
                v = (x >> sh) & mask
                if place[v] >= 0:
                    dst[place[v]] = x
                    place[v] += 1
                elif note and n_cnt[v] == 1 and (x >> cs) != 0:  # one cell of one record
                    if n_noted == notes.shape[1]:
                        grown = np.empty((2, 2 * n_noted), dtype=np.int32)
                        grown[:, :n_noted] = notes
                        notes = grown
                    notes[0, n_noted] = s
                    notes[1, n_noted] = np.int64(x >> cs) - 1
                    n_noted += 1
            continue
        for i in range(size):  # insertion sort of a small group's cells by key w
            x = src[a + i]
            val = (x >> sh) & mask
            j = i
            while j > 0 and (tmp[j - 1] >> sh) & mask > val:
                tmp[j] = tmp[j - 1]
                j -= 1
            tmp[j] = x
        i = 0
        while i < size:
            val = (tmp[i] >> sh) & mask
            has_cand = (tmp[i] >> cs) != 0
            j = i + 1
            while j < size and (tmp[j] >> sh) & mask == val:
                if (tmp[j] >> cs) != 0:
                    has_cand = True
                j += 1
            if j == i + 1 and has_cand:  # one cell of one record
                if note:
                    if n_noted == notes.shape[1]:
                        grown = np.empty((2, 2 * n_noted), dtype=np.int32)
                        grown[:, :n_noted] = notes
                        notes = grown
                    notes[0, n_noted] = s
                    notes[1, n_noted] = np.int64(tmp[i] >> cs) - 1
                    n_noted += 1
            elif has_cand:
                bounds[d + 1, groups] = out
                groups += 1
                for k in range(i, j):
                    dst[out] = tmp[k]
                    out += 1
            i = j
    bounds[d + 1, groups] = out
    n_groups[d + 1] = groups
    return notes, n_noted


@numba.njit(cache=True, nogil=True)
def _search_packed(packed, shift, width, cards, cand_shift, parts):
    """:func:`_search` on cells packed in one 64-bit word each: key ``v``'s code in
    ``width[v]`` bits at ``shift[v]``, the candidate index + 1 (0: none) from
    ``cand_shift``. A cell moves as one word and a group is refined in order, about twice
    as fast as the general layout."""
    n_rows = len(packed)
    m = len(shift)
    levels = m + 1
    lvl = np.empty((levels, max(n_rows, 1)), dtype=np.uint64)
    bounds = np.empty((levels, n_rows + 1), dtype=np.int32)
    n_groups = np.zeros(levels, dtype=np.int64)
    masks = np.zeros(levels, dtype=np.int64)
    next_key = np.zeros(levels, dtype=np.int64)
    lvl[0, :n_rows] = packed
    bounds[0, 0] = 0
    bounds[0, 1] = n_rows
    n_groups[0] = 1 if n_rows > 0 else 0
    counts = np.zeros((3, cards.max()), dtype=np.int64)
    tmp = np.empty(max(n_rows, 1), dtype=np.uint64)
    notes = np.empty((2, 1 << 16), dtype=np.int32)
    n_noted = 0
    for p in range(parts.shape[0]):
        a = parts[p, 0]
        notes, n_noted = _refine_packed(
            0,
            a,
            1 << a,
            parts[p, 1] == 1,
            lvl,
            bounds,
            n_groups,
            shift,
            width,
            cards,
            cand_shift,
            counts,
            tmp,
            notes,
            n_noted,
        )
        masks[1] = 1 << a
        d = 1
        next_key[1] = a + 1
        while d >= 1:
            w = next_key[d]
            if d == 1:
                while w < m and parts[p, 2 + w] == 0:
                    w += 1
            if w >= m or n_groups[d] == 0:
                d -= 1
                continue
            next_key[d] = w + 1
            s = masks[d] | (1 << w)
            notes, n_noted = _refine_packed(
                d,
                w,
                s,
                True,
                lvl,
                bounds,
                n_groups,
                shift,
                width,
                cards,
                cand_shift,
                counts,
                tmp,
                notes,
                n_noted,
            )
            masks[d + 1] = s
            next_key[d + 1] = w + 1
            d += 1
    return notes, n_noted


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


def _parts(m: int, threads: int) -> list[np.ndarray]:
    """The search cut into ``threads`` shares of about equal work (rows of
    :func:`_search`'s ``parts``): per key ``a`` the node ``{a}`` and its subtree, the
    first key's subtree (half of all subsets) split in two; a child ``{a, b}`` has
    ``2**(M-1-b)`` subsets below it."""
    rows = []
    for a in range(m):
        children = list(range(a + 1, m))
        groups = [children[:1], children[1:]] if a == 0 and threads > 1 else [children]
        for i, group in enumerate(groups):
            row = np.zeros(m + 2, dtype=np.int64)
            row[0], row[1] = a, int(i == 0)
            row[[2 + b for b in group]] = 1
            rows.append((sum(1 << (m - 1 - b) for b in group) + 1, row))
    rows.sort(key=lambda r: -r[0])
    load = [0] * threads
    shares: list[list[np.ndarray]] = [[] for _ in range(threads)]
    for work, row in rows:  # largest first to the least loaded share
        t = load.index(min(load))
        shares[t].append(row)
        load[t] += work
    return [np.stack(share) for share in shares if share]


def _msu_search(
    mat: np.ndarray,
    cand: np.ndarray,
    n_cand: int,
    cards: np.ndarray,
    weights: np.ndarray,
    _packed: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's score and the MSUs per size (see :func:`_msu_scores`), the search's
    shares on two threads (the kernels release the GIL; the scores do not depend on the
    order of the notes)."""
    m = mat.shape[1]
    tag = cand.astype(np.int32)
    shares = _parts(m, max(1, min(2, os.cpu_count() or 1)))
    bits = [max(int(c) - 1, 0).bit_length() for c in cards]
    cand_shift = sum(bits)
    if _packed and cand_shift + (n_cand + 1).bit_length() <= 64:
        width = np.array(bits, dtype=np.int64)
        shift = np.concatenate([[0], np.cumsum(width)[:-1]]).astype(np.int64)
        packed = (tag.astype(np.int64) + 1).astype(np.uint64) << np.uint64(cand_shift)
        for v in range(m):
            packed |= mat[:, v].astype(np.uint64) << np.uint64(shift[v])

        def search(share: np.ndarray) -> tuple[np.ndarray, int]:
            return _search_packed(packed, shift, width, cards, cand_shift, share)
    else:
        dtype = np.uint8 if cards.max() <= 255 else np.uint16 if cards.max() <= 65535 else np.int32
        codes = np.ascontiguousarray(mat, dtype=dtype)

        def search(share: np.ndarray) -> tuple[np.ndarray, int]:
            return _search(codes, tag, cards, share)

    if len(shares) == 1:
        notes = [search(shares[0]), (np.zeros((2, 1), dtype=np.int32), 0)]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(shares)) as pool:
            notes = list(pool.map(search, shares))
    (notes_a, n_a), (notes_b, n_b) = notes
    return _msu_scores(notes_a, n_a, notes_b, n_b, n_cand, weights)


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

    ``_packed=False`` (tests only) searches in the general layout even when a cell fits in
    one word.
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
    mat = keys.matrix()[first]
    is_cand = mult == 1
    cand = np.full(n_cells, -1, dtype=np.int64)
    n_cand = int(is_cand.sum())
    cand[is_cand] = np.arange(n_cand)
    cards = np.array([max(c, 1) for c in keys.cardinalities], dtype=np.int64)

    m_score = max(m, 3)
    weights = np.array([float(factorial(m_score - s)) for s in range(1, m + 1)])
    cell_score = np.zeros(n_cells)
    cell_score[is_cand], msu_per_size = _msu_search(mat, cand, n_cand, cards, weights, _packed)
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
    return Suda2Result(score, dis_score, msu_per_size, m, dis_fraction)
