"""Numba kernels of the trajectory treatment's greedy (G5, :mod:`sluis.scra.trajectory_greedy`):
moving windows between patterns, the windows below k, the pick of each window at risk and
the give-back test, each one pass over the windows it concerns.

Why kernels: on the 26/050 panel (scale 0.1: 8.9 M windows, 111,849 at risk, 22 rounds) the
numpy greedy looked every pattern up by a search in sorted arrays and grouped them with
sorts, 49 s in all; here a lookup is one probe of a hash table of about 100,000 patterns.
Window layout and keys as in :mod:`sluis.scra.window_kernels`.
"""

from __future__ import annotations

import numba
import numpy as np

from sluis.scra.window_kernels import count_of, intern, key_of, row_of


@numba.njit(cache=True, nogil=True)
def move(
    windows, new_keys, wid, hkeys, hid, count, bits, n_ids, touched, log, n_log,
    changed_at, stamp,
):  # fmt: skip
    """``windows`` leave their pattern (``wid``) for ``new_keys``; the first time a window
    moves it is marked in ``touched`` and appended to ``log``; every pattern whose count
    changes gets ``changed_at = stamp``. Returns (n_ids, n_log)."""
    for i in range(len(windows)):
        w = windows[i]
        count[wid[w]] -= 1
        changed_at[wid[w]] = stamp
        c, n_ids = intern(hkeys, hid, count, bits, n_ids, new_keys[i])
        count[c] += 1
        changed_at[c] = stamp
        wid[w] = c
        if not touched[w]:
            touched[w] = 1
            log[n_log] = w
            n_log += 1
    return n_ids, n_log


@numba.njit(cache=True, nogil=True)
def below(k, count, n0, off, members, touched, log, n_log, wid):
    """Windows (ascending) whose pattern is held by 1..k-1 windows: the unmoved windows of
    the initial patterns below k, and the moved windows now in a pattern below k."""
    n = 0
    for i in range(n0):
        if 0 < count[i] < k:
            n += off[i + 1] - off[i]
    out = np.empty(n + n_log, dtype=np.int64)
    n = 0
    for i in range(n0):
        if 0 < count[i] < k:
            for p in range(off[i], off[i + 1]):
                w = members[p]
                if not touched[w]:
                    out[n] = w
                    n += 1
    for t in range(n_log):
        w = log[t]
        if 0 < count[wid[w]] < k:
            out[n] = w
            n += 1
    return np.sort(out[:n])


@numba.njit(cache=True, nogil=True)
def keys(windows, valid, cons, combos, wcal, s, place, spm, m):
    """The pattern keys of ``windows``."""
    out = np.empty(len(windows), dtype=np.int64)
    for i in range(len(windows)):
        out[i] = key_of(windows[i], cons, combos, wcal, s, place, spm, m)
    return out


@numba.njit(cache=True, nogil=True)
def pick(
    risk, valid, cons, combos, wcal, s, place, spm, m, k, hkeys, hid, count, bits, wid,
    radix, cards, nulls, freq, freq_off, qi,
):  # fmt: skip
    """Per window at risk, the value to null: the one whose nulling leaves its window the
    fewest windows short of k, then the rarest in its quarter, then the first variable, then
    the earliest quarter. Returns its row and variable, whether the window had a value left,
    and the window's share."""
    n_v = len(radix)
    big = len(s) + 1
    none = (k + 2) * big
    rows = np.zeros(len(risk), dtype=np.int64)
    var = np.zeros(len(risk), dtype=np.int64)
    ok = np.zeros(len(risk), dtype=np.bool_)
    share = np.empty(len(risk), dtype=np.int64)
    for i in range(len(risk)):
        w = risk[i]
        share[i] = count[wid[w]]
        key = key_of(w, cons, combos, wcal, s, place, spm, m)
        best = none
        for v in range(n_v):
            for j in range(m):
                r = row_of(w, j, cons, combos)
                code = (np.int64(s[r]) // radix[v]) % cards[v]
                if code == nulls[v]:
                    continue
                rare = freq[freq_off[v] + qi[r] * cards[v] + code]
                moved = key + (nulls[v] - code) * radix[v] * place[j]
                gap = k - min(count_of(hkeys, hid, count, bits, moved), k)
                score = gap * big + rare
                if score < best:
                    best, rows[i], var[i] = score, r, v
        ok[i] = best < none
    return rows, var, ok, share


@numba.njit(cache=True, nogil=True)
def _windows_of(row, cons, combos, valid, row_off, by_row, m, out_w, out_pos):
    """The windows covering ``row`` (ascending) and the row's position in each, into
    ``out_w`` and ``out_pos``; returns how many."""
    n = 0
    if cons:
        for j in range(m - 1, -1, -1):
            w = row - j
            if 0 <= w < len(valid) and valid[w]:
                out_w[n], out_pos[n] = w, j
                n += 1
    else:
        for p in range(row_off[row], row_off[row + 1]):
            w = by_row[p]
            for j in range(m):
                if combos[w, j] == row:
                    out_w[n], out_pos[n] = w, j
            n += 1
    return n


@numba.njit(cache=True, nogil=True)
def give_back(
    r, shift_v, cons, combos, valid, row_off, by_row, wcal, s, place, spm, m, k,
    hkeys, hid, count, bits, n_ids, wid, idx, fail, changed_at, stamp,
):  # fmt: skip
    """Which suppressed values (rows ``r``; ``shift_v``: input code minus null code, times
    the variable's radix) can be given back at once: every pattern their windows leave or
    join keeps 0 or at least k windows (alone, then together: a pattern losing too many
    keeps its first leavers), at most one value per window (the first). Returns the mask,
    the first value that could be given back alone (-1: none) and n_ids.

    ``fail[idx[i]]`` remembers where value i failed alone: the patterns (ids) its window
    left and would join, and when (``stamp``); while neither count has changed since
    (``changed_at``), the value still fails there and is not looked at again. A pattern the
    window would join is given an id (count 0) so that a window moving there later shows."""
    most = m if cons else 0
    for i in range(len(r)):
        most = max(most, row_off[r[i] + 1] - row_off[r[i]]) if not cons else most
    ws = np.empty(most, dtype=np.int64)
    ps = np.empty(most, dtype=np.int64)
    ok = np.ones(len(r), dtype=np.bool_)
    n = 0  # pairs (value, window) of the values that could be given back alone
    for i in range(len(r)):
        g, since = idx[i], fail[idx[i], 2]
        if since >= 0 and changed_at[fail[g, 0]] <= since and changed_at[fail[g, 1]] <= since:
            ok[i] = False
            continue
        n_w = _windows_of(r[i], cons, combos, valid, row_off, by_row, m, ws, ps)
        for t in range(n_w):
            key = key_of(ws[t], cons, combos, wcal, s, place, spm, m)
            old_n = count[wid[ws[t]]] - 1
            new_key = key + shift_v[i] * place[ps[t]]
            new_n = count_of(hkeys, hid, count, bits, new_key) + 1
            if not ((old_n == 0 or old_n >= k) and new_n >= k):
                ok[i] = False
                c, n_ids = intern(hkeys, hid, count, bits, n_ids, new_key)
                fail[g, 0], fail[g, 1], fail[g, 2] = wid[ws[t]], c, stamp
                break
        if ok[i]:
            n += n_w
    ci = np.empty(n, dtype=np.int64)
    win = np.empty(n, dtype=np.int64)
    old = np.empty(n, dtype=np.int64)
    new = np.empty(n, dtype=np.int64)
    n = 0
    for i in range(len(r)):
        if ok[i]:
            n_w = _windows_of(r[i], cons, combos, valid, row_off, by_row, m, ws, ps)
            for t in range(n_w):
                ci[n], win[n] = i, ws[t]
                old[n] = key_of(ws[t], cons, combos, wcal, s, place, spm, m)
                new[n] = old[n] + shift_v[i] * place[ps[t]]
                n += 1
    single = -1
    for i in range(len(r)):
        if ok[i]:
            single = i
            break
    # one value per window: the first
    first = np.full(len(r), True)
    seen = np.zeros(len(valid), dtype=np.uint8)
    for p in range(n):
        if ok[ci[p]]:
            if seen[win[p]]:
                first[ci[p]] = False
            seen[win[p]] = 1
    for i in range(len(r)):
        ok[i] &= first[i]
    # the pairs of the values still to give back, and local ids of their keys (old and
    # new) with the windows holding each now
    live = np.empty(n, dtype=np.int64)
    n_live = 0
    for p in range(n):
        if ok[ci[p]]:
            live[n_live] = p
            n_live += 1
    lbits = 4
    while (1 << lbits) < 4 * n_live + 4:
        lbits += 1
    lkeys = np.full(1 << lbits, -1, dtype=np.int64)
    lid = np.zeros(1 << lbits, dtype=np.int32)
    have = np.zeros(2 * n_live + 1, dtype=np.int64)
    i_old = np.empty(n, dtype=np.int64)
    i_new = np.empty(n, dtype=np.int64)
    n_l = 0
    for t in range(n_live):
        p = live[t]
        for side in range(2):
            key = old[p] if side == 0 else new[p]
            c, n_l2 = intern(lkeys, lid, have, lbits, n_l, key)
            if n_l2 != n_l:
                have[c] = count_of(hkeys, hid, count, bits, key)
                n_l = n_l2
            if side == 0:
                i_old[p] = c
            else:
                i_new[p] = c
    leave = np.zeros(n_l, dtype=np.int64)
    join = np.zeros(n_l, dtype=np.int64)
    rank = np.zeros(n, dtype=np.int64)
    taken = np.zeros(n_l, dtype=np.int64)
    while n_live:
        for t in range(n_live):
            p = live[t]
            leave[i_old[p]] += 1
            join[i_new[p]] += 1
            rank[p] = taken[i_old[p]]
            taken[i_old[p]] += 1
        bad = False
        for t in range(n_live):
            p = live[t]
            if not ok[ci[p]]:
                continue
            a, b = i_old[p], i_new[p]
            fa = have[a] - leave[a] + join[a]
            fb = have[b] - leave[b] + join[b]
            if (0 < fa < k and rank[p] >= have[a] + join[a] - k) or 0 < fb < k:
                ok[ci[p]] = False
                bad = True
        kept = 0
        for t in range(n_live):
            p = live[t]
            leave[i_old[p]] = 0
            join[i_new[p]] = 0
            taken[i_old[p]] = 0
            if ok[ci[p]]:
                live[kept] = p
                kept += 1
        n_live = kept
        if not bad:
            break
    return ok, single, n_ids


@numba.njit(cache=True, nogil=True)
def donors(valid, cons, combos, wcal, s, m, radix, cards, nulls, need):
    """For :meth:`Greedy.borrow`: the windows of the calendars with ``need[cal] > 0`` that
    are among the first need[cal] by (values left, window) and have a value left; returns
    them ascending with their values left."""
    n_v = len(radix)
    most = n_v * m
    hist = np.zeros((len(need), most + 1), dtype=np.int64)
    left = np.zeros(len(valid), dtype=np.int16)
    for w in range(len(valid)):
        if not valid[w] or need[wcal[w]] <= 0:
            continue
        n = 0
        for j in range(m):
            r = row_of(w, j, cons, combos)
            for v in range(n_v):
                n += (np.int64(s[r]) // radix[v]) % cards[v] != nulls[v]
        left[w] = n
        hist[wcal[w], n] += 1
    cut = np.full(len(need), -1, dtype=np.int64)  # the most values left taken, per calendar
    room = np.zeros(len(need), dtype=np.int64)  # windows taken with that many
    for c in range(len(need)):
        rest = need[c]
        for n in range(1, most + 1):
            if rest <= 0:
                break
            cut[c], room[c] = n, min(rest, hist[c, n])
            rest -= hist[c, n]
    total = 0
    for c in range(len(need)):
        for n in range(1, cut[c]):
            total += hist[c, n]
        total += room[c] if cut[c] > 0 else 0
    out = np.empty(total, dtype=np.int64)
    got = 0
    for w in range(len(valid)):
        if not valid[w] or left[w] == 0 or need[wcal[w]] <= 0:
            continue
        c = wcal[w]
        if left[w] < cut[c] or (left[w] == cut[c] and room[c] > 0):
            if left[w] == cut[c]:
                room[c] -= 1
            out[got] = w
            got += 1
    return out, left


@numba.njit(cache=True, nogil=True)
def containing(rows, valid, m):
    """The consecutive windows (ascending) covering any of ``rows`` (ascending, distinct)."""
    out = np.empty(len(rows) * m, dtype=np.int64)
    n = 0
    last = -1
    for r in rows:
        for w in range(max(r - m + 1, last + 1, 0), r + 1):
            if w < len(valid) and valid[w]:
                out[n] = w
                n += 1
        last = r
    return out[:n]


@numba.njit(cache=True, nogil=True)
def cal_sizes(valid, wcal, n_cal):
    """Windows per calendar."""
    out = np.zeros(n_cal, dtype=np.int64)
    for w in range(len(valid)):
        if valid[w]:
            out[wcal[w]] += 1
    return out
