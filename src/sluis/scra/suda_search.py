"""SUDA2's search for minimal sample uniques (G5, issue 19 item 6): the numba kernels and
the layout of a key cell they work on; scores and DIS are in :mod:`sluis.scra.suda`.

The search is SUDA2's recursive partitioning over the distinct key cells: depth first over
key subsets, each reached once by adding keys in increasing order; a node holds the cells
still in play grouped by their codes on its keys, and a child refines each group by one
more key. A cell of one record that ends alone in a part is unique on the child's keys but
not on its parent's and leaves the search (unique on every subset below, never minimal
there).

What keeps the search small is a second rule. Below a node ``S`` whose last key is ``w``
only keys after ``w`` are added, so the largest subset the subtree reaches is
``L = S ∪ {w+1, ..., M-1}``: a candidate (a cell of one record) can become unique in the
subtree only if it is unique on ``L`` (uniqueness is inherited by supersets). A candidate
not unique on ``L`` is *dead* in the subtree: its cell stays as company for the others but
it is no longer a candidate there, and a part without a live candidate is dropped. To
see this at no extra cost the cells are ordered once, lexicographically by their codes
from the last key to the first, and every refinement is stable: within a part, cells that
agree on the keys after ``w`` are then neighbours, so a candidate is live when it differs
from both neighbours on those keys. The keys are taken by decreasing number of values (the
coarse keys last, where their subtrees are small and die early); on the reference data at
1 M records and 8 keys this cuts the cells moved from 169 M to 63 M.

A cell travels as ``W`` 64-bit words (one on the usual key sets): each key's code in its
own bits of one word, the candidate number + 1 (0: none, or dead) in the top bits of the
last word; a group is refined by an insertion sort when small, else by a counting pass and
a pass moving each cell to its part.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numba
import numpy as np
from numba.extending import overload

# One kernel for cells of one word and of several: the kernels read and write a cell's
# words through these three, and numba compiles the overloads below for the array's rank
# (1-D: one word, the loops over words vanish; 2-D: several). The Python bodies say the
# same for a call outside numba.


def _get(cells, i, q):
    """Word ``q`` of cell ``i`` (a cell of one word: ``cells`` is 1-D)."""
    return cells[i] if cells.ndim == 1 else cells[i, q]


def _set(cells, i, q, x):
    """Set word ``q`` of cell ``i``."""
    if cells.ndim == 1:
        cells[i] = x
    else:
        cells[i, q] = x


def _width(cells):
    """Words per cell."""
    return 1 if cells.ndim == 1 else cells.shape[1]


@overload(_get, inline="always")
def _get_nb(cells, i, q):
    if cells.ndim == 1:
        return lambda cells, i, q: cells[i]
    return lambda cells, i, q: cells[i, q]


@overload(_set, inline="always")
def _set_nb(cells, i, q, x):
    if cells.ndim == 1:

        def one(cells, i, q, x):
            cells[i] = x

        return one

    def many(cells, i, q, x):
        cells[i, q] = x

    return many


@overload(_width, inline="always")
def _width_nb(cells):
    if cells.ndim == 1:
        return lambda cells: 1
    return lambda cells: cells.shape[1]


@dataclass(frozen=True)
class Layout:
    """Where each key's code and the candidate number lie in a cell's words."""

    word: np.ndarray  # int64 per key: which word
    shift: np.ndarray  # int64 per key: lowest bit in that word
    width: np.ndarray  # int64 per key: bits
    cards: np.ndarray  # int64 per key: number of codes (at least 1)
    suffix: np.ndarray  # uint64 (M + 1) × W: the bits of keys j..M-1, per word
    cand_shift: int  # the candidate number + 1 from this bit of the last word
    n_words: int


def layout(cards: np.ndarray, n_cand: int, one_word: bool = True) -> Layout:
    """Keys packed in order into as few 64-bit words as hold them (a key never straddles
    two words), the candidate number above them in the last word. ``one_word=False``
    (tests) gives every key a word of its own, as a key set too wide for one word."""
    m = len(cards)
    bits = [max(int(c) - 1, 0).bit_length() for c in cards]
    word = np.zeros(m, np.int64)
    shift = np.zeros(m, np.int64)
    w, used = 0, 0
    for v, b in enumerate(bits):
        if used + b > 64 or (v and not one_word):
            w, used = w + 1, 0
        word[v], shift[v] = w, used
        used += b
    if used + (n_cand + 1).bit_length() > 64:
        w, used = w + 1, 0
    n_words = w + 1
    suffix = np.zeros((m + 1, n_words), np.uint64)
    for j in range(m):
        for v in range(j, m):
            suffix[j, word[v]] |= np.uint64(((1 << bits[v]) - 1) << int(shift[v]))
    width = np.array(bits, np.int64)
    return Layout(word, shift, width, cards.astype(np.int64), suffix, used, n_words)


def pack(mat: np.ndarray, cand: np.ndarray, lay: Layout) -> np.ndarray:
    """The cells in the search's layout, ordered by their codes from the last key to the
    first (the order that puts cells agreeing on the later keys side by side in every
    part): one word a cell, 1-D, when the layout has one word."""
    if lay.n_words == 1:
        return _pack_one_word(mat, cand, lay.shift, lay.cand_shift)
    n, m = mat.shape
    cells = np.zeros((n, lay.n_words), np.uint64)
    for v in range(m):
        cells[:, lay.word[v]] |= mat[:, v].astype(np.uint64) << np.uint64(lay.shift[v])
    order = np.lexsort(cells.T)  # key bits only: the candidate is not in yet
    cells[:, -1] |= (cand.astype(np.int64) + 1).astype(np.uint64) << np.uint64(lay.cand_shift)
    return np.ascontiguousarray(cells[order])


@numba.njit(cache=True, nogil=True)
def _pack_one_word(mat, cand, shift, cs):
    """:func:`pack` into one word a cell: the words built, then sorted by their key bits
    (LSD radix, 11 bits a pass; stable, so the order is a function of the codes)."""
    n, m = mat.shape
    cells = np.empty(n, np.uint64)
    for i in range(n):
        x = np.uint64(cand[i] + 1) << np.uint64(cs)
        for v in range(m):
            x |= np.uint64(mat[i, v]) << np.uint64(shift[v])
        cells[i] = x
    spare = np.empty(n, np.uint64)
    counts = np.empty(2049, np.int64)
    sh = 0
    while sh < cs:
        low = (np.uint64(1) << np.uint64(min(11, cs - sh))) - np.uint64(1)
        counts[:] = 0
        for i in range(n):
            counts[np.int64((cells[i] >> np.uint64(sh)) & low) + 1] += 1
        for c in range(2048):
            counts[c + 1] += counts[c]
        for i in range(n):
            digit = np.int64((cells[i] >> np.uint64(sh)) & low)
            spare[counts[digit]] = cells[i]
            counts[digit] += 1
        cells, spare = spare, cells
        sh += 11
    return cells


@numba.njit(cache=True, nogil=True, inline="always")
def _same(a, i, b, j, mask):
    """Cells ``a[i]`` and ``b[j]`` agree on the key bits of ``mask``."""
    for q in range(len(mask)):  # noqa: SIM110 (a loop numba compiles to an early exit)
        if ((_get(a, i, q) ^ _get(b, j, q)) & mask[q]) != 0:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _copy_part(src, p0, p1, dst, o, mask, cs, keep):
    """Copy the part ``src[p0:p1]`` to ``dst[o:]``, each candidate live only when it
    differs from both neighbours on ``mask`` (the keys the subtree can still add);
    returns the number of live candidates. ``dst`` may be ``src`` with ``o <= p0``."""
    last = _width(src) - 1
    csu = np.uint64(cs)
    live = 0
    same_prev = False
    for k in range(p0, p1):
        same_next = k + 1 < p1 and _same(src, k, src, k + 1, mask)
        x = _get(src, k, last)
        for q in range(last):
            _set(dst, o, q, _get(src, k, q))
        if (x >> csu) != 0:
            if same_prev or same_next:
                x &= keep
            else:
                live += 1
        _set(dst, o, last, x)
        o += 1
        same_prev = same_next
    return live


@numba.njit(cache=True, nogil=True)
def _last_live_key(cells, suffix, cs):
    """The last key ``a`` such that some candidate is unique on keys ``a..M-1`` (-1:
    none): below ``{b}`` for a later key ``b`` nothing can be noted, so the search skips
    those nodes (on the reference data at K8, the four coarsest keys: a pass each saved).
    In the cells' order, cells agreeing on keys ``a..M-1`` are neighbours."""
    n = len(cells)
    last = _width(cells) - 1
    csu = np.uint64(cs)
    for a in range(len(suffix) - 2, -1, -1):
        mask = suffix[a]
        for i in range(n):
            if (_get(cells, i, last) >> csu) == 0:
                continue
            if i > 0 and _same(cells, i - 1, cells, i, mask):
                continue
            if i + 1 < n and _same(cells, i, cells, i + 1, mask):
                continue
            return a
    return -1


@numba.njit(cache=True, nogil=True)
def _note(notes, n_noted, s, cand):
    """Append the note (subset ``s``, candidate ``cand``), growing the notes."""
    if n_noted == notes.shape[1]:
        grown = np.empty((2, 2 * n_noted), dtype=np.int32)
        grown[:, :n_noted] = notes
        notes = grown
    notes[0, n_noted] = s
    notes[1, n_noted] = cand
    return notes, n_noted + 1


@numba.njit(cache=True, nogil=True)
def _refine(d, w, s, note, lvl, bounds, n_groups, lay, counts, tmp, notes, n_noted):
    """Refine level ``d``'s groups by key ``w`` into level ``d + 1`` (subset ``s``): a
    part of one live candidate is unique on ``s`` (noted when ``note``); a part of two or
    more cells with a candidate live below it goes on; any other part is dropped.
    ``lay``: word, shift, width, cards, suffix, cand_shift and keep (the bits below the
    candidate number) of :class:`Layout`. Returns the notes and their number."""
    word, shift, width, cards, suffix, cs, keep = lay
    last = _width(lvl[0]) - 1
    csu = np.uint64(cs)
    kw = word[w]
    sh = np.uint64(shift[w])
    mask = np.uint64((1 << width[w]) - 1)
    later = suffix[w + 1]
    card = cards[w]
    small = max(16, card >> 1)
    src = lvl[d]
    dst = lvl[d + 1]
    n_cnt = counts[0]
    has = counts[1]
    place = counts[2]
    start = counts[3]
    out = 0
    groups = 0
    for g in range(n_groups[d]):
        a = bounds[d, g]
        b = bounds[d, g + 1]
        size = b - a
        if size > small:  # counting sort, then each part checked and packed down
            for c in range(card):
                n_cnt[c] = 0
                has[c] = 0
            for i in range(a, b):
                v = (_get(src, i, kw) >> sh) & mask
                n_cnt[v] += 1
                if (_get(src, i, last) >> csu) != 0:
                    has[v] = 1
            first = out
            for c in range(card):
                if n_cnt[c] >= 2 and has[c]:
                    place[c] = out
                    start[c] = out
                    out += n_cnt[c]
                else:
                    place[c] = -1
                    start[c] = -1
            for i in range(a, b):
                v = (_get(src, i, kw) >> sh) & mask
                if place[v] >= 0:
                    for q in range(last + 1):
                        _set(dst, place[v], q, _get(src, i, q))
                    place[v] += 1
                elif note and n_cnt[v] == 1 and (_get(src, i, last) >> csu) != 0:
                    notes, n_noted = _note(
                        notes, n_noted, s, np.int64(_get(src, i, last) >> csu) - 1
                    )
            out = first
            for c in range(card):
                if start[c] >= 0:
                    p0 = start[c]
                    if _copy_part(dst, p0, p0 + n_cnt[c], dst, out, later, cs, keep) > 0:
                        bounds[d + 1, groups] = out
                        groups += 1
                        out += n_cnt[c]
            continue
        for i in range(size):  # insertion sort of a small group's cells by key w
            val = (_get(src, a + i, kw) >> sh) & mask
            j = i
            while j > 0 and (_get(tmp, j - 1, kw) >> sh) & mask > val:
                for q in range(last + 1):
                    _set(tmp, j, q, _get(tmp, j - 1, q))
                j -= 1
            for q in range(last + 1):
                _set(tmp, j, q, _get(src, a + i, q))
        i = 0
        while i < size:
            val = (_get(tmp, i, kw) >> sh) & mask
            has_cand = (_get(tmp, i, last) >> csu) != 0
            j = i + 1
            while j < size and (_get(tmp, j, kw) >> sh) & mask == val:
                if (_get(tmp, j, last) >> csu) != 0:
                    has_cand = True
                j += 1
            if j == i + 1:
                if has_cand and note:  # one cell of one record
                    notes, n_noted = _note(
                        notes, n_noted, s, np.int64(_get(tmp, i, last) >> csu) - 1
                    )
            elif has_cand and _copy_part(tmp, i, j, dst, out, later, cs, keep) > 0:
                bounds[d + 1, groups] = out
                groups += 1
                out += j - i
            i = j
    bounds[d + 1, groups] = out
    n_groups[d + 1] = groups
    return notes, n_noted


@numba.njit(cache=True, nogil=True)
def _search(cells, lay, parts):
    """The ``(subset, candidate)`` notes of some parts of the search (see
    :func:`search`). A part (a row of ``parts``: key ``a``, whether to note ``{a}``
    itself, then a 0/1 flag per key) is the node ``{a}`` and the subtrees of its children
    ``{a, b}`` for the flagged keys ``b``. Each level of the depth-first walk has its own
    copy of the cells in play, so refining a group reads memory in order."""
    n_rows = len(cells)
    m = len(lay[0])
    levels = m + 1
    lvl = np.empty((levels, max(n_rows, 1)) + cells.shape[1:], np.uint64)  # noqa: RUF005 (numba)
    bounds = np.empty((levels, n_rows + 1), dtype=np.int32)
    n_groups = np.zeros(levels, dtype=np.int64)
    masks = np.zeros(levels, dtype=np.int64)
    next_key = np.zeros(levels, dtype=np.int64)
    lvl[0, :n_rows] = cells
    bounds[0, 0] = 0
    bounds[0, 1] = n_rows
    n_groups[0] = 1 if n_rows > 0 else 0
    counts = np.zeros((4, lay[3].max()), dtype=np.int64)
    tmp = np.empty((max(n_rows, 1),) + cells.shape[1:], np.uint64)  # noqa: RUF005 (numba)
    notes = np.empty((2, 1 << 16), dtype=np.int32)
    n_noted = 0
    for p in range(parts.shape[0]):
        a = parts[p, 0]
        notes, n_noted = _refine(
            0, a, 1 << a, parts[p, 1] == 1, lvl, bounds, n_groups, lay, counts, tmp, notes, n_noted
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
                d, w, s, True, lvl, bounds, n_groups, lay, counts, tmp, notes, n_noted
            )
            masks[d + 1] = s
            next_key[d + 1] = w + 1
            d += 1
    return notes, n_noted


def parts(m: int, threads: int, last: int | None = None) -> list[np.ndarray]:
    """The search cut into ``threads`` shares of about equal work (rows of
    :func:`_search`'s ``parts``): per key ``a`` up to ``last`` (default: every key; see
    :func:`_last_live_key`) the node ``{a}`` and its subtree, the first key's subtree
    split in two. A child ``{a, b}`` is weighed ``4**(M-1-b)``: it has ``2**(M-1-b)``
    subsets below it, and the earlier keys, with more values, keep more cells in play
    (measured on the reference data at K8: the subtree of ``{0, 1}`` about half of all).
    """
    rows = []
    for a in range(m if last is None else last + 1):
        children = list(range(a + 1, m))
        groups = [children[:1], children[1:]] if a == 0 and threads > 1 else [children]
        for i, group in enumerate(groups):
            row = np.zeros(m + 2, dtype=np.int64)
            row[0], row[1] = a, int(i == 0)
            row[[2 + b for b in group]] = 1
            rows.append((sum(4 ** (m - 1 - b) for b in group) + 1, row))
    rows.sort(key=lambda r: -r[0])
    load = [0] * threads
    shares: list[list[np.ndarray]] = [[] for _ in range(threads)]
    for work, row in rows:  # largest first to the least loaded share
        t = load.index(min(load))
        shares[t].append(row)
        load[t] += work
    return [np.stack(share) for share in shares if share]


def search(
    mat: np.ndarray, cand: np.ndarray, n_cand: int, cards: np.ndarray, *, one_word: bool = True
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The notes of the whole search: per share, the subsets noted and their candidates;
    the shares on up to two threads (the kernels release the GIL; which thread notes what
    does not change the scores). ``mat``: cells × keys codes; ``cand``: a cell's
    candidate number, -1 when it holds more than one record. Subsets are bit masks over
    the keys as given (the search permutes them inside)."""
    m = mat.shape[1]
    perm = np.argsort(-cards, kind="stable")  # most values first
    lay = layout(cards[perm], n_cand, one_word)
    cells = pack(np.ascontiguousarray(mat[:, perm]), cand, lay)
    keep = np.uint64((1 << lay.cand_shift) - 1)
    args = (lay.word, lay.shift, lay.width, lay.cards, lay.suffix, lay.cand_shift, keep)
    live = _last_live_key(cells, lay.suffix, lay.cand_shift)
    shares = parts(m, max(1, min(2, os.cpu_count() or 1)), live)
    found: list = [(np.empty((2, 0), np.int32), 0)] * max(len(shares), 1)

    def run(i: int) -> None:
        found[i] = _search(cells, args, shares[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(1, len(shares))]
    for t in threads:
        t.start()
    if shares:
        run(0)
    for t in threads:
        t.join()
    back = np.zeros(1 << m, np.int32)  # subset over permuted keys -> over the keys given
    for j, v in enumerate(perm):
        back[np.arange(1 << m) & (1 << j) != 0] |= 1 << int(v)
    return [(back[notes[0, :n]], notes[1, :n]) for notes, n in found]
