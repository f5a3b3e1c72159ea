"""Numba kernels of the trajectory windows (G5): pattern keys, their counts in an
open-addressing hash table, and the measure's figures, in one pass over the windows each.

Why kernels: the 26/050 panel at full scale has about 88 million windows; counting them
with a sort (or DuckDB's window lists, as before) cost seconds and bytes per window that
the whole SCRA stage cannot afford. Here a window is never materialised: its key is
computed from the state codes of its rows when needed (see :mod:`sluis.scra.windows`).

A window ``w`` is, for consecutive windows, the row it starts on (``valid[w]`` says whether
a window starts there) and its rows are ``w .. w+m-1``; for any m quarters, an index into
``combos`` (its m rows). Its calendar is ``wcal[w]`` and its pattern key
``wcal[w] * spm + sum_j s[row_j] * place[j]``. Keys are >= 0; the table marks an empty
slot with -1.
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, nogil=True, inline="always")
def row_of(w, j, cons, combos):
    """Row ``j`` of window ``w``."""
    return w + j if cons else np.int64(combos[w, j])


@numba.njit(cache=True, nogil=True, inline="always")
def key_of(w, cons, combos, wcal, s, place, spm, m):
    """The pattern key of window ``w``: its calendar, then the state of each row."""
    key = np.int64(wcal[w]) * spm
    for j in range(m):
        key += np.int64(s[row_of(w, j, cons, combos)]) * place[j]
    return key


@numba.njit(cache=True, nogil=True, inline="always")
def find(hkeys, key, bits):
    """Slot of ``key`` in ``hkeys``, or the empty slot where it would go."""
    mask = (np.int64(1) << bits) - 1
    i = np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(64 - bits))
    while True:
        h = hkeys[i]
        if h == key or h == -1:
            return i
        i = (i + 1) & mask


@numba.njit(cache=True, nogil=True)
def count_of(hkeys, hid, count, bits, key):
    """Windows now holding ``key`` (0 when none ever did)."""
    i = find(hkeys, key, bits)
    return 0 if hkeys[i] == -1 else count[hid[i]]


@numba.njit(cache=True, nogil=True)
def intern(hkeys, hid, count, bits, n_ids, key):
    """Id of ``key``, a new one (count 0) when absent; returns (id, n_ids)."""
    i = find(hkeys, key, bits)
    if hkeys[i] == -1:
        hkeys[i] = key
        hid[i] = n_ids
        count[n_ids] = 0
        return n_ids, n_ids + 1
    return hid[i], n_ids


@numba.njit(cache=True, nogil=True)
def rehash(hkeys, hid, bits):
    """The table's keys and ids in a table of ``2**bits`` slots."""
    new_keys = np.full(np.int64(1) << bits, -1, dtype=np.int64)
    new_ids = np.empty(np.int64(1) << bits, dtype=np.int32)
    for i in range(len(hkeys)):
        if hkeys[i] != -1:
            j = find(new_keys, hkeys[i], bits)
            new_keys[j] = hkeys[i]
            new_ids[j] = hid[i]
    return new_keys, new_ids


@numba.njit(cache=True, nogil=True)
def count_windows(
    valid, cons, combos, wcal, s, place, spm, m, hkeys, hid, count, bits, n_ids, wid, start
):
    """Count the windows from ``start`` on into the table (``wid[w]``: the id of each, when
    ``wid`` is not empty). Stops early, returning where, when the table is half full or
    ``count`` full: the caller grows them and calls again. Returns (next window, n_ids)."""
    limit = min(len(count), len(hkeys) // 2)
    store = len(wid) > 0
    for w in range(start, len(valid)):
        if not valid[w]:
            continue
        if n_ids >= limit:
            return w, n_ids
        key = key_of(w, cons, combos, wcal, s, place, spm, m)
        c, n_ids = intern(hkeys, hid, count, bits, n_ids, key)
        count[c] += 1
        if store:
            wid[w] = c
    return len(valid), n_ids


@numba.njit(cache=True, nogil=True)
def members_by_id(valid, wid, n_ids):
    """The windows of each id, ascending (CSR: offsets, windows)."""
    off = np.zeros(n_ids + 1, dtype=np.int64)
    for w in range(len(valid)):
        if valid[w]:
            off[wid[w] + 1] += 1
    for i in range(n_ids):
        off[i + 1] += off[i]
    pos = off[:-1].copy()
    members = np.empty(off[-1], dtype=np.int32)
    for w in range(len(valid)):
        if valid[w]:
            members[pos[wid[w]]] = w
            pos[wid[w]] += 1
    return off, members


@numba.njit(cache=True, nogil=True)
def measure(valid, cons, combos, wcal, s, place, spm, m, k, hkeys, hid, count, bits, newp, qi):
    """The measure's figures: windows and windows at risk per first quarter, windows by
    min(share, k), persons with a window and at risk, rows in a window at risk. Windows
    come in the order of their first rows; ``newp`` marks the first row of each person."""
    n_q = qi.max() + 1 if len(qi) else 1
    per_q = np.zeros(n_q, dtype=np.int64)
    per_q_risk = np.zeros(n_q, dtype=np.int64)
    hist = np.zeros(k + 1, dtype=np.int64)
    marked = np.zeros(len(s), dtype=np.uint8)
    with_window = at_risk = 0
    person = ptr = 0  # the person of row ptr (counted from 1)
    seen = risky = -1  # the last person with a window, at risk
    for w in range(len(valid)):
        if not valid[w]:
            continue
        first = row_of(w, 0, cons, combos)
        while ptr <= first:
            person += newp[ptr]
            ptr += 1
        share = count_of(hkeys, hid, count, bits, key_of(w, cons, combos, wcal, s, place, spm, m))
        hist[min(share, k)] += 1
        per_q[qi[first]] += 1
        if seen != person:
            with_window += 1
            seen = person
        if share < k:
            per_q_risk[qi[first]] += 1
            for j in range(m):
                marked[row_of(w, j, cons, combos)] = 1
            if risky != person:
                at_risk += 1
                risky = person
    return per_q, per_q_risk, hist, with_window, at_risk, int(marked.sum())


@numba.njit(cache=True, nogil=True)
def parse_quarters(offsets, data, out):
    """'YYYYQn' strings (their Arrow offsets and bytes) as year * 4 + n - 1 into ``out``;
    False at the first other string (the caller then reads them the slow way)."""
    for i in range(len(out)):
        a = offsets[i]
        if offsets[i + 1] - a != 6:
            return False
        year = 0
        for d in range(4):
            c = data[a + d]
            if c < 48 or c > 57:
                return False
            year = year * 10 + c - 48
        n = data[a + 5] - 48
        if (data[a + 4] != 81 and data[a + 4] != 113) or n < 1 or n > 4:
            return False
        out[i] = year * 4 + n - 1
    return True


@numba.njit(cache=True, nogil=True)
def person_order(pid, q, newp, first, last_p, last_q):
    """Whether the rows (a chunk; the one before ended with ``last_p``, ``last_q`` unless
    ``first``) are in (person, quarter) order, marking each person's first row in
    ``newp``; and how many repeat the person-quarter before them."""
    dup = 0
    for i in range(len(pid)):
        if i == 0 and first:
            newp[i] = 1
            continue
        p0 = pid[i - 1] if i else last_p
        q0 = q[i - 1] if i else last_q
        if pid[i] < p0 or (pid[i] == p0 and q[i] < q0):
            return False, 0
        newp[i] = pid[i] != p0
        dup += pid[i] == p0 and q[i] == q0
    return True, dup


@numba.njit(cache=True, nogil=True)
def add_chunk(s, local, remap, radix, validity, offset):
    """``s += remap[local] * radix``, code 0 where the validity bit (from ``offset``) is
    clear (no bitmap: none missing)."""
    check = len(validity) > 0
    for i in range(len(s)):
        b = i + offset
        if check and not (validity[b >> 3] >> (b & 7)) & 1:
            continue
        s[i] += remap[local[i]] * radix


@numba.njit(cache=True, nogil=True)
def consecutive_starts(newp, qi, m):
    """1 where a window of m consecutive quarters of one person starts."""
    n = len(qi)
    valid = np.zeros(n, dtype=np.uint8)
    for r in range(n - m + 1):
        if qi[r + m - 1] - qi[r] != m - 1:
            continue
        ok = True
        for j in range(1, m):
            if newp[r + j]:
                ok = False
                break
        if ok:
            valid[r] = 1
    return valid


@numba.njit(cache=True, nogil=True)
def add_short_strings(s, offsets, data, validity, offset, radix, tkeys, tcode, bits, n_codes):
    """``s += code * radix`` for strings of at most 7 bytes (an Arrow chunk's offsets, bytes
    and validity bitmap from ``offset``): a string packed with its length into one 64-bit
    key is its own exact key, looked up in the table ``tkeys``/``tcode`` (codes 1.. in
    order of first appearance, a missing value 0). Stops when the table is half full.
    Returns (n_codes, rows done)."""
    check = len(validity) > 0
    for i in range(len(s)):
        b = i + offset
        if check and not (validity[b >> 3] >> (b & 7)) & 1:
            continue
        a, e = offsets[i], offsets[i + 1]
        key = np.int64(e - a) << 56
        for j in range(a, e):
            key |= np.int64(data[j]) << (8 * (j - a))
        slot = find(tkeys, key, bits)
        if tkeys[slot] == -1:
            if 2 * (n_codes + 1) > len(tkeys):
                return n_codes, i
            n_codes += 1
            tkeys[slot] = key
            tcode[slot] = n_codes
        s[i] += tcode[slot] * radix
    return n_codes, len(s)


@numba.njit(cache=True, nogil=True)
def count_states(s, qi, radix, cards, freq, freq_off):
    """Rows per (quarter, code) of every variable into ``freq`` (one pass over the rows)."""
    for i in range(len(s)):
        x = np.int64(s[i])
        for v in range(len(radix)):
            c = (x // radix[v]) % cards[v]
            freq[freq_off[v] + qi[i] * cards[v] + c] += 1
