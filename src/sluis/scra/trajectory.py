"""Trajectory treatment (G5): suppress or recode state values until no window isolates anyone.

:mod:`sluis.scra.longitudinal` measures it: a person's *window* is their states over ``m``
consecutive observed quarters, its *share* the persons with the same sequence in the same
calendar quarters, and a window with share ``< k`` is at risk. No standard tool treats
this; here the treated table has no window at risk, or says how many could not be helped.

**Semantics** (strict, as the rest of the SCRA): a suppressed value is written as null and a
null is a category of its own, so a recount is a plain GROUP BY over the treated table.

**Suppression** is a deterministic greedy in rounds (:func:`_suppress`), all in numpy:

1. every window at risk picks one non-null state value of its own to null: the one whose
   nulling moves the window to the pattern that lacks the fewest windows to reach ``k``
   (``k - min(share, k)`` of the pattern it would join; 0 when it joins a safe group),
   then the rarest, the fewest persons with that (quarter, variable, value) in the input;
   then the variable order of ``states``, then the earliest quarter. Taking the rarest
   value makes persons isolated by the same rare value null the same cell and so pool
   into one pattern (figures in docs/scra.md);
2. all picks of the round are applied at once (a value picked by several windows once);
3. only the windows containing a changed value get a new pattern key, and the counts of
   the keys they left and joined are updated; the next round's windows at risk are the
   members of keys now below ``k``;
4. a window at risk whose states are all null cannot pick: its all-null pattern is
   completed to ``k`` with the windows of the same quarters that have the fewest values
   left, suppressed whole.

Since a value only ever becomes null, rounds end: when no window is at risk, or when every
window still at risk lies in calendar quarters that fewer than ``k`` persons share
(suppression cannot help there; they are never touched). Those are ``unreachable``; the
driver's enforced threshold fails on them. Then a **give-back pass** restores suppressed
values that later rounds made unnecessary (a value whose windows' patterns all keep 0 or
at least ``k`` windows without it), in passes until none can be given back alone: the
result is minimal in that sense, not globally.

**Recoding** (``recode``): candidates ``(name, variable, function)`` are tried alone in the
given order, cumulatively; one is kept when the values changed with it (values it recodes,
or that are then suppressed; a value both recoded and suppressed counts once) are fewer than
without it. A recode must merge values (a function of the value): one that splits a value
is refused (``scra-recode-not-coarser``).

**Any m quarters** (``consecutive=False``): a window is any ``m`` of a person's observed
quarters, its calendar the set of those quarters. Exact, and refused
(``scra-trajectory-too-many``) when the windows would exceed :data:`MAX_WINDOWS`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra.frequencies import cell_ids, encode_column
from sluis.scra.longitudinal import quarter_index

#: Most windows ``consecutive=False`` enumerates (sum over persons of C(quarters, m)).
MAX_WINDOWS = 20_000_000

Recode = tuple[str, str, Callable[[pa.ChunkedArray], pa.Array]]


@dataclass(frozen=True)
class TrajectoryTreatment:
    """What :func:`treat_trajectories` did (see the module docstring)."""

    table: pa.Table  # the input, state values suppressed (null) and/or recoded
    suppressed: int  # state values suppressed
    per_variable: dict[str, int]  # suppressed values per state variable
    recoded: tuple[str, ...]  # names of the recode candidates kept, in order
    explanations: pa.Table  # person_seq, quarter, variable, window, rule (no state value)
    windows_at_risk_before: int
    windows_at_risk_after: int  # 0 unless unreachable
    unreachable: int  # windows still below k when nothing more can be suppressed
    rounds: int


@dataclass(frozen=True)
class _Outcome:
    """One suppression run: masks over the input's rows, explanation arrays, counts."""

    masks: dict[str, np.ndarray]  # variable -> bool over rows (original order)
    rows: np.ndarray  # explanations: original row of each suppressed value
    variables: np.ndarray  # index into states
    starts: np.ndarray  # window calendar (first quarter index) that picked it
    lasts: np.ndarray  # last quarter index of that window
    shares: np.ndarray  # the window's share when it was picked
    borrowed: np.ndarray  # bool: nulled to complete a calendar's all-null pattern to k
    windows_at_risk_before: int
    unreachable: int
    rounds: int

    @property
    def suppressed(self) -> int:
        return len(self.rows)


def _expand(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """All integers of the ranges [lo, hi), concatenated."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.cumsum(lengths) - lengths
    return np.repeat(lo - first, lengths) + np.arange(total, dtype=np.int64)


class _Windows:
    """The windows of a person-quarter table sorted by (person, quarter): the rows each
    covers (consecutive: from its first row; any m: a matrix, with the windows of each row)
    and its calendar (which quarters, as a dense id)."""

    def __init__(self, pid: np.ndarray, q: np.ndarray, m: int, consecutive: bool) -> None:
        n = len(pid)
        self.m = m
        self.consecutive = consecutive
        self.q = q
        if consecutive:
            end = np.arange(n, dtype=np.int64) + (m - 1)
            ok = end < n
            endc = np.minimum(end, n - 1)
            ok &= (pid[endc] == pid) & (q[endc] == q + (m - 1))
            self.starts = np.flatnonzero(ok).astype(np.int64)
            self.cal = q[self.starts] - (q.min() if n else 0)
            self._rows = None
        else:
            self._rows = _combinations(pid, m)
            flat = self._rows.ravel()
            at = np.argsort(flat, kind="stable")
            self._row_off = np.searchsorted(flat[at], np.arange(n + 1))
            self._by_row = at // m  # the window of each (row, window) pair, by row
            qs = [q[self._rows[:, j]] - q.min() for j in range(m)]
            span = int(q.max() - q.min() + 1) if n else 1
            self.cal, _ = cell_ids(qs, [span] * m, len(self._rows))
        self.n = len(self.cal)
        self.cal_size = np.bincount(self.cal, minlength=int(self.cal.max()) + 1 if self.n else 0)

    def span(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last quarter of windows ``w``."""
        rows = self.rows_of(w)
        return self.q[rows[:, 0]], self.q[rows[:, -1]]

    def rows_of(self, w: np.ndarray) -> np.ndarray:
        """Rows (sorted order) covered by windows ``w``: (len(w), m)."""
        if self._rows is None:
            return self.starts[w][:, None] + np.arange(self.m, dtype=np.int64)
        return self._rows[w].astype(np.int64)

    def containing(self, rows: np.ndarray) -> np.ndarray:
        """Distinct windows that cover any of ``rows``."""
        return np.unique(self.pairs(rows)[1])

    def pairs(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(i, window) for every window covering ``rows[i]``."""
        if self._rows is None:
            lo = np.searchsorted(self.starts, rows - (self.m - 1))
            hi = np.searchsorted(self.starts, rows, side="right")
        else:
            lo, hi = self._row_off[rows], self._row_off[rows + 1]
        which = np.repeat(np.arange(len(rows), dtype=np.int64), hi - lo)
        w = _expand(lo, hi)
        return which, (w if self._rows is None else self._by_row[w])


def _combinations(pid: np.ndarray, m: int) -> np.ndarray:
    """Row indices of every m-subset of each person's rows (rows sorted by person, quarter),
    refused beyond MAX_WINDOWS; the loop runs over the distinct numbers of quarters."""
    bounds = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1], True]) if len(pid) else np.r_[0]
    first, size = bounds[:-1], np.diff(bounds)
    sizes, n_persons = np.unique(size, return_counts=True)
    total = sum(math.comb(int(t), m) * int(c) for t, c in zip(sizes, n_persons, strict=True))
    if total > MAX_WINDOWS:
        raise SluisError(
            f"any {m} quarters give {total:,} windows, more than {MAX_WINDOWS:,}",
            rule="scra-trajectory-too-many",
            hint="use consecutive windows, a larger m, or fewer quarters per person",
        )
    parts = []
    for t in np.unique(size):
        combos = np.array(list(itertools.combinations(range(int(t)), m)), dtype=np.int64)
        if not len(combos):
            continue
        who = first[size == t]
        parts.append((who[:, None, None] + combos[None, :, :]).reshape(-1, m))
    if not parts:
        return np.zeros((0, m), dtype=np.int64)
    rows = np.concatenate(parts)
    return rows[np.lexsort(rows.T[::-1])]


class _Counts:
    """Windows per pattern key: the initial keys sorted with their members (CSR), and the
    keys created by suppression in a small sorted side table."""

    def __init__(self, key: np.ndarray) -> None:
        self.order = np.argsort(key, kind="stable")
        ks = key[self.order]
        edge = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if len(ks) else np.zeros(0, int)
        self.keys = ks[edge]
        self.off = np.r_[edge, len(ks)].astype(np.int64)
        self.count = np.diff(self.off)
        self.new_keys = np.zeros(0, dtype=np.int64)
        self.new_count = np.zeros(0, dtype=np.int64)
        self.touched = np.zeros(0, dtype=np.int64)  # windows whose key changed
        self.touched_mask = np.zeros(len(key), dtype=bool)

    def _find(self, table: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position of each key in the sorted ``table`` and whether it is there."""
        i = np.minimum(np.searchsorted(table, keys), max(len(table) - 1, 0))
        found = table[i] == keys if len(table) else np.zeros(len(keys), dtype=bool)
        return i, found

    def of(self, keys: np.ndarray) -> np.ndarray:
        """Windows now holding each key."""
        out = np.zeros(keys.shape, dtype=np.int64)
        i, f = self._find(self.keys, keys)
        out[f] = self.count[i[f]]
        j, g = self._find(self.new_keys, keys)
        out[g] = self.new_count[j[g]]
        return out

    def move(self, windows: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """``windows`` left keys ``old`` for keys ``new``."""
        i, f = self._find(self.keys, old)
        np.subtract.at(self.count, i[f], 1)
        j, g = self._find(self.new_keys, old)
        np.subtract.at(self.new_count, j[g], 1)
        i, f = self._find(self.keys, new)
        np.add.at(self.count, i[f], 1)
        fresh = np.setdiff1d(new[~f], self.new_keys)
        if len(fresh):
            merged = np.concatenate([self.new_keys, fresh])
            at = np.argsort(merged, kind="stable")
            self.new_keys = merged[at]
            self.new_count = np.concatenate([self.new_count, np.zeros(len(fresh), np.int64)])[at]
        j, g = self._find(self.new_keys, new[~f])
        np.add.at(self.new_count, j, 1)
        fresh_w = windows[~self.touched_mask[windows]]
        self.touched_mask[fresh_w] = True
        self.touched = np.concatenate([self.touched, fresh_w])

    def below(self, k: int, key: np.ndarray) -> np.ndarray:
        """Windows (sorted) whose key is held by fewer than ``k`` windows."""
        risky = self.keys[(self.count > 0) & (self.count < k)]
        pos = np.searchsorted(self.keys, risky)
        members = self.order[_expand(self.off[pos], self.off[pos + 1])]
        if len(self.touched):
            members = members[~self.touched_mask[members]]
            new_risky = self.new_keys[(self.new_count > 0) & (self.new_count < k)]
            cur = key[self.touched]
            moved = self.touched[np.isin(cur, np.concatenate([risky, new_risky]))]
            members = np.concatenate([members, moved])
        return np.sort(members)


class _Greedy:
    """The state of the greedy: state codes per variable (rows sorted by person and
    quarter), windows, their pattern keys and counts, value frequencies per quarter."""

    def __init__(
        self,
        table: pa.Table,
        order: np.ndarray,
        pid: np.ndarray,
        q: np.ndarray,
        *,
        states: Sequence[str],
        m: int,
        k: int,
        consecutive: bool,
    ) -> None:
        self.m, self.k, self.n_v = m, k, len(states)
        self.codes, self.nulls = [], []
        for name in states:
            raw, labels = encode_column(table.column(name))
            self.codes.append(raw[order].astype(np.int64))
            self.nulls.append(len(labels) - (1 if labels and labels[-1] is None else 0))
        self.cards = [c + 1 for c in self.nulls]
        self.radix = [math.prod(self.cards[j + 1 :]) for j in range(self.n_v)]
        self.space = math.prod(self.cards)
        self.win = _Windows(pid, q, m, consecutive)
        if max(len(self.win.cal_size), 1) * self.space**m >= 2**63:
            raise SluisError(
                f"{self.space:,} combinations of {', '.join(states)} over {m} quarters are "
                "too many to count exactly",
                rule="scra-trajectory-states",
                hint="recode the state variables coarser or name fewer of them",
            )
        self.s = np.zeros(len(pid), dtype=np.int64)
        for c, r in zip(self.codes, self.radix, strict=True):
            self.s += c * r
        self.place = np.array([self.space ** (m - 1 - j) for j in range(m)], dtype=np.int64)
        self.key = self.keys_of(np.arange(self.win.n))
        self.counts = _Counts(self.key)
        self.qi = q - (int(q.min()) if len(q) else 0)
        n_q = int(self.qi.max()) + 1 if len(q) else 1
        self.freq = [
            np.bincount(self.qi * self.cards[v] + self.codes[v], minlength=n_q * self.cards[v])
            for v in range(self.n_v)
        ]
        self.by_cal: np.ndarray | None = None  # windows by calendar, when borrow needs it

    def keys_of(self, w: np.ndarray) -> np.ndarray:
        """Pattern key of windows ``w``: calendar, then the state of each quarter."""
        rows = self.win.rows_of(w)
        return self.win.cal[w] * self.space**self.m + (self.s[rows] * self.place).sum(axis=1)

    def at_risk(self) -> np.ndarray:
        """Windows below k, sorted."""
        return self.counts.below(self.k, self.key)

    def pick(self, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One value per window at risk (rows, variables, and which windows could pick)."""
        rows = self.win.rows_of(risk)
        big = len(self.s) + 1
        none = (self.k + 2) * big
        score = np.empty((len(risk), self.n_v, self.m), dtype=np.int64)
        for v in range(self.n_v):
            code = self.codes[v][rows]
            rare = self.freq[v][self.qi[rows] * self.cards[v] + code]
            moved = self.key[risk][:, None] + (self.nulls[v] - code) * self.radix[v] * self.place
            gap = self.k - np.minimum(self.counts.of(moved), self.k)  # still missing
            score[:, v, :] = np.where(code == self.nulls[v], none, gap * big + rare)
        flat = score.reshape(len(risk), -1)
        best = flat.argmin(axis=1)  # ties: variable order, then the earliest quarter
        ok = flat[np.arange(len(risk)), best] < none
        return rows[ok, best[ok] % self.m], best[ok] // self.m, ok

    def borrow(self, stuck: np.ndarray) -> tuple[np.ndarray, ...]:
        """Windows at risk with every value null cannot pick: in their calendar, complete
        the all-null pattern to k with the windows that have the fewest values left (ties:
        the first), every value of them nulled. Returns rows, variables and the donor
        window of each value and the all-null windows it completes."""
        cals, stuck_n = np.unique(self.win.cal[stuck], return_counts=True)
        need = np.zeros(len(self.win.cal_size), dtype=np.int64)
        need[cals] = self.k - stuck_n
        if self.by_cal is None:
            self.by_cal = np.argsort(self.win.cal, kind="stable")
        cal_off = np.r_[0, np.cumsum(self.win.cal_size)].astype(np.int64)
        donors = self.by_cal[_expand(cal_off[cals], cal_off[cals + 1])]
        rows = self.win.rows_of(donors)
        values = np.zeros(rows.shape, dtype=np.int64)
        for v in range(self.n_v):
            values += self.codes[v][rows] != self.nulls[v]
        left = values.sum(axis=1)
        donors, rows, left = donors[left > 0], rows[left > 0], left[left > 0]
        cal = self.win.cal[donors]
        at = np.lexsort((donors, left, cal))
        rank = np.arange(len(at)) - np.searchsorted(cal[at], cal[at])
        take = at[rank < need[cal[at]]]
        have = np.zeros(len(self.win.cal_size), dtype=np.int64)
        have[cals] = stuck_n
        r_out, v_out, w_out = [], [], []
        for v in range(self.n_v):
            live = self.codes[v][rows[take]] != self.nulls[v]
            r_out.append(rows[take][live])
            v_out.append(np.full(int(live.sum()), v, dtype=np.int64))
            w_out.append(np.broadcast_to(donors[take][:, None], live.shape)[live])
        w_all = np.concatenate(w_out)
        return np.concatenate(r_out), np.concatenate(v_out), w_all, have[self.win.cal[w_all]]

    def null(self, r: np.ndarray, v_of: np.ndarray) -> None:
        """Null the values (rows ``r``, variables ``v_of``; distinct pairs) and update the
        keys and counts of the windows that hold them. The rarity of a value stays that of
        the input: updating it after every round made the picks drift apart (119,135 values
        on the 26/050 demo against 115,996)."""
        self._set(r, v_of, np.asarray(self.nulls, dtype=np.int64)[v_of])

    def _set(self, r: np.ndarray, v_of: np.ndarray, value: np.ndarray) -> None:
        for v in range(self.n_v):
            at = v_of == v
            rv = r[at]
            self.s[rv] += (value[at] - self.codes[v][rv]) * self.radix[v]
            self.codes[v][rv] = value[at]
        changed = self.win.containing(np.unique(r))
        new = self.keys_of(changed)
        self.counts.move(changed, self.key[changed], new)
        self.key[changed] = new

    def restore(self, r: np.ndarray, v_of: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Give back suppressed values (rows ``r``, variables ``v_of``, input codes
        ``value``) that no window needs any more: a value is restored when every pattern its
        windows leave or join still holds 0 or at least k windows afterwards, with at most
        one value restored per window in this pass (the first alone when the others only
        block each other, so the passes end with no value that could be given back alone).
        Returns which were restored."""
        ci, w = self.win.pairs(r)
        pos = np.argmax(self.win.rows_of(w) == r[ci][:, None], axis=1)
        nulls = np.asarray(self.nulls, dtype=np.int64)[v_of]
        radix = np.asarray(self.radix, dtype=np.int64)[v_of]
        shift = (value - nulls)[ci] * radix[ci] * self.place[pos]
        old_n, new_n = self.counts.of(self.key[w]) - 1, self.counts.of(self.key[w] + shift) + 1
        alone = ((old_n == 0) | (old_n >= self.k)) & (new_n >= self.k)
        ok = np.ones(len(r), dtype=bool)
        ok[ci[~alone]] = False  # not even alone
        single = np.flatnonzero(ok)
        cl, wl = ci[ok[ci]], w[ok[ci]]
        at = np.lexsort((cl, wl))  # one value per window: the first
        ok[cl[at][1:][wl[at][1:] == wl[at][:-1]]] = False
        while ok.any():
            live = np.flatnonzero(ok[ci])  # pairs of the values still to restore
            old, new = self.key[w[live]], self.key[w[live]] + shift[live]
            keys, inverse = np.unique(np.r_[old, new], return_inverse=True)
            i_old, i_new = inverse[: len(live)], inverse[len(live) :]
            leave = np.bincount(i_old, minlength=len(keys))
            join = np.bincount(i_new, minlength=len(keys))
            have = self.counts.of(keys)
            final = have - leave + join
            # a pattern losing too many keeps its first leavers (all may leave: 0 is safe)
            at = np.lexsort((ci[live], i_old))
            rank = np.empty(len(live), dtype=np.int64)
            rank[at] = np.arange(len(live)) - np.searchsorted(i_old[at], i_old[at])
            bad = (
                (final[i_old] > 0)
                & (final[i_old] < self.k)
                & (rank >= have[i_old] + join[i_old] - self.k)
            )
            bad |= (final[i_new] > 0) & (final[i_new] < self.k)
            if not bad.any():
                break
            ok[ci[live][bad]] = False
        if not ok.any() and len(single):
            ok[single[0]] = True  # values that only block each other: the first alone
        if ok.any():
            self._set(r[ok], v_of[ok], value[ok])
        return ok


def _suppress(
    table: pa.Table,
    pid_raw: np.ndarray,
    q_raw: np.ndarray,
    *,
    states: Sequence[str],
    m: int,
    k: int,
    consecutive: bool,
) -> _Outcome:
    """The greedy of the module docstring on the states of ``table`` as they are, persons
    ``pid_raw`` and quarters ``q_raw`` (one per row, as integers)."""
    order = np.lexsort((q_raw, pid_raw))
    pid, q = pid_raw[order].astype(np.int64), q_raw[order]
    n = len(order)
    dup = int(np.count_nonzero((pid[1:] == pid[:-1]) & (q[1:] == q[:-1]))) if n else 0
    if dup:
        raise SluisError(
            f"{dup:,} person-quarters appear more than once",
            rule="scra-person-quarter-unique",
            hint="one row per person and quarter",
        )
    g = _Greedy(table, order, pid, q, states=states, m=m, k=k, consecutive=consecutive)
    codes_in = [c.copy() for c in g.codes]
    risk = g.at_risk()
    before = len(risk)
    picked: list[tuple[np.ndarray, ...]] = []
    rounds = 0
    while True:
        risk = risk[g.win.cal_size[g.win.cal[risk]] >= k]  # elsewhere nothing can help
        if not len(risk) or not states:
            break
        r, v_of, ok = g.pick(risk)
        w, kind = risk[ok], np.zeros(int(ok.sum()), dtype=np.int8)
        share = g.counts.of(g.key[w])
        if not ok.all():
            rb, vb, wb, sb = g.borrow(risk[~ok])
            r, v_of, w, share = np.r_[r, rb], np.r_[v_of, vb], np.r_[w, wb], np.r_[share, sb]
            kind = np.r_[kind, np.ones(len(rb), dtype=np.int8)]
        if not len(r):
            break
        first = np.unique(r * len(states) + v_of, return_index=True)[1]  # once per value
        r, v_of, w, kind, share = r[first], v_of[first], w[first], kind[first], share[first]
        picked.append((r, v_of, w, share, kind))
        g.null(r, v_of)
        rounds += 1
        risk = g.at_risk()
    if picked:
        r_all, v_all, w_all, share_all, kind_all = (
            np.concatenate(p) for p in zip(*picked, strict=True)
        )
    else:
        r_all = v_all = w_all = share_all = np.zeros(0, dtype=np.int64)
        kind_all = np.zeros(0, dtype=np.int8)
    # give back what later rounds made unnecessary, until nothing more can be given back
    value = np.zeros(len(r_all), dtype=np.int64)
    for v in range(len(states)):
        value[v_all == v] = codes_in[v][r_all[v_all == v]]
    held = np.ones(len(r_all), dtype=bool)
    while held.any():
        idx = np.flatnonzero(held)
        back = g.restore(r_all[idx], v_all[idx], value[idx])
        if not back.any():
            break
        held[idx[back]] = False
    r_all, v_all, w_all, share_all, kind_all = (
        a[held] for a in (r_all, v_all, w_all, share_all, kind_all)
    )
    unreachable = len(g.at_risk())
    masks = {}
    for v, name in enumerate(states):
        mask = np.zeros(n, dtype=bool)
        mask[order[r_all[v_all == v]]] = True
        masks[name] = mask
    rows_orig = order[r_all]
    sort = np.lexsort((v_all, rows_orig))
    first_q, last_q = g.win.span(w_all)
    return _Outcome(
        masks=masks,
        rows=rows_orig[sort],
        variables=v_all[sort],
        starts=first_q[sort],
        lasts=last_q[sort],
        shares=share_all[sort],
        borrowed=kind_all[sort] == 1,
        windows_at_risk_before=before,
        unreachable=unreachable,
        rounds=rounds,
    )


def _changed(before: pa.ChunkedArray, after: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Rows whose value differs (null-aware; values of another type compared as text)."""
    if before.equals(after):
        return np.zeros(len(before), dtype=bool)
    if before.type != after.type or pa.types.is_null(before.type):
        before, after = pc.cast(before, pa.string()), pc.cast(after, pa.string())
    same = pc.fill_null(pc.equal(before, after), False)
    both_null = pc.and_(pc.is_null(before), pc.is_null(after))
    return ~np.asarray(pc.or_(same, both_null))


def _apply_recode(table: pa.Table, name: str, variable: str, fn: Callable) -> pa.Table:
    old = table.column(variable)
    new = fn(old)
    if isinstance(new, pa.ChunkedArray):
        new = new.combine_chunks()
    if len(new) != len(old):
        raise SluisError(
            f"recode {name} gives {len(new):,} values for {len(old):,} rows",
            rule="scra-recode-length",
            column=variable,
        )
    pairs = pa.table({"a": old, "b": new}).group_by(["a", "b"]).aggregate([])
    if pairs.num_rows != len(pc.unique(old)):
        raise SluisError(
            f"recode {name} splits a value of {variable} into several",
            rule="scra-recode-not-coarser",
            column=variable,
            hint="a recode must map every value to one coarser value",
        )
    return table.set_column(table.schema.get_field_index(variable), variable, new)


def _quarter_labels(index: np.ndarray, textual: bool) -> pa.Array:
    distinct, inverse = np.unique(index, return_inverse=True)
    labels = [f"{i // 4}Q{i % 4 + 1}" if textual else str(i) for i in distinct.tolist()]
    return pa.array(labels, pa.string()).take(pa.array(inverse.astype(np.int64)))


def _explanations(
    persons: pa.ChunkedArray,
    q: np.ndarray,
    textual: bool,
    out: _Outcome,
    states: Sequence[str],
    m: int,
    k: int,
    consecutive: bool,
) -> pa.Table:
    """One row per suppressed value: person, quarter, variable, window and rule."""
    rows = pa.array(out.rows.astype(np.int64))
    first = _quarter_labels(out.starts, textual)
    last = _quarter_labels(out.lasts, textual)
    head = f"trajectory m={m} k={k}" + ("" if consecutive else f" (any {m} quarters)")
    share = pc.cast(pa.array(out.shares.astype(np.int64)), pa.string())
    window = pc.binary_join_element_wise(f"{head}: window ", first, "-", last, "")
    isolated = pc.binary_join_element_wise(window, " shared by ", share, f" < {k}", "")
    completes = pc.binary_join_element_wise(
        window,
        " suppressed whole to join its ",
        share,
        f" windows with every state suppressed ({k} needed)",
        "",
    )
    rule = pc.if_else(pa.array(out.borrowed, pa.bool_()), completes, isolated)
    return pa.table(
        {
            "person_seq": persons.take(rows),
            "quarter": _quarter_labels(q[out.rows], textual),
            "variable": pa.array(np.asarray(states, dtype=object)[out.variables], pa.string())
            if len(out.rows)
            else pa.array([], pa.string()),
            "window": first,
            "rule": rule,
        }
    )


def treat_trajectories(
    table: pa.Table,
    *,
    person: str,
    quarter: str,
    states: Sequence[str],
    m: int,
    k: int,
    consecutive: bool = True,
    recode: Sequence[Recode] = (),
) -> TrajectoryTreatment:
    """Treat ``table`` (one row per person and quarter) until every window of ``m``
    quarters of ``states`` is shared by at least ``k`` persons, or nothing more can be done
    (see the module docstring). Rows, their order, columns and the types of the state
    columns stay (a kept recode gives its column the type it returns)."""
    if m < 1:
        raise SluisError(f"the window must be at least 1 quarter, got m={m}", rule="scra-m")
    if k < 1:
        raise SluisError(f"k must be at least 1, got k={k}", rule="scra-k")
    for name in (person, quarter, *states):
        if name not in table.column_names:
            raise SluisError(f"no column {name}", rule="scra-column", column=name)
    for _, variable, _ in recode:
        if variable not in states:
            raise SluisError(
                f"a recode candidate names {variable}, not a state variable",
                rule="scra-recode-variable",
                column=variable,
            )
    states = list(states)
    persons = table.column(person)
    if table.num_rows == 0:
        empty = pa.table(
            {"person_seq": persons}
            | {
                name: pa.array([], pa.string())
                for name in ("quarter", "variable", "window", "rule")
            }
        )
        return TrajectoryTreatment(table, 0, dict.fromkeys(states, 0), (), empty, 0, 0, 0, 0)
    if persons.null_count:
        raise SluisError("a person is missing", rule="scra-person-missing", column=person)
    pid, _ = encode_column(persons)
    q = quarter_index(table.column(quarter))
    textual = not pa.types.is_integer(table.schema.field(quarter).type)

    def run(t: pa.Table) -> _Outcome:
        return _suppress(t, pid, q, states=states, m=m, k=k, consecutive=consecutive)

    def cost(t: pa.Table, out: _Outcome) -> int:
        return sum(
            int(np.count_nonzero(_changed(table.column(v), t.column(v)) | out.masks[v]))
            for v in states
        )

    current, outcome = table, run(table)
    before, best = outcome.windows_at_risk_before, cost(table, outcome)
    kept: list[str] = []
    for name, variable, fn in recode:
        trial = _apply_recode(current, name, variable, fn)
        trial_out = run(trial)
        trial_cost = cost(trial, trial_out)
        if trial_cost < best:
            current, outcome, best = trial, trial_out, trial_cost
            kept.append(name)
    treated = current
    for v in states:
        col = treated.column(v)
        nulled = pc.if_else(pa.array(outcome.masks[v]), pa.scalar(None, col.type), col)
        treated = treated.set_column(treated.schema.get_field_index(v), v, nulled)
    per_variable = {v: int(outcome.masks[v].sum()) for v in states}
    return TrajectoryTreatment(
        table=treated,
        suppressed=outcome.suppressed,
        per_variable=per_variable,
        recoded=tuple(kept),
        explanations=_explanations(persons, q, textual, outcome, states, m, k, consecutive),
        windows_at_risk_before=before,
        windows_at_risk_after=outcome.unreachable,
        unreachable=outcome.unreachable,
        rounds=outcome.rounds,
    )
