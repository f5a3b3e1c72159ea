"""The suppression greedy of the trajectory treatment (G5; the rules are in
:mod:`sluis.scra.trajectory`'s docstring), on a panel read by :mod:`sluis.scra.windows`.

The state is the panel's states ``s`` (one integer per row), the pattern id of every window
and the windows per pattern (:class:`sluis.scra.windows.PatternCounts`); a round updates
only the windows that hold a changed value. The loops over windows are numba kernels
(:mod:`sluis.scra.trajectory_kernels`); what stays in numpy works on the windows at risk
and the values picked, never on every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sluis.scra import trajectory_kernels as tk
from sluis.scra.windows import Panel, PatternCounts, Windows, panel


@dataclass(frozen=True)
class Outcome:
    """One suppression run: suppressed values (table rows, variables), explanation arrays,
    counts."""

    rows: np.ndarray  # table row of each suppressed value, ascending (then variable)
    variables: np.ndarray  # index into states
    starts: np.ndarray  # first quarter index of the window that picked it
    lasts: np.ndarray  # last quarter index of that window
    shares: np.ndarray  # the window's share when it was picked
    borrowed: np.ndarray  # bool: nulled to complete a calendar's all-null pattern to k
    windows_at_risk_before: int
    unreachable: int
    rounds: int

    @property
    def suppressed(self) -> int:
        return len(self.rows)


class Greedy:
    """The greedy's state: the panel, its windows and the windows per pattern."""

    def __init__(self, p: Panel, m: int, k: int, consecutive: bool) -> None:
        self.p, self.m, self.k, self.n_v = p, m, k, len(p.cards)
        self.win = Windows(p, m, consecutive)
        self.c = PatternCounts(p, self.win, m, track=True)
        self.touched = np.zeros(len(self.win.valid), dtype=np.uint8)
        self.log = np.zeros(1 << 16, dtype=np.int64)
        self.n_log = 0
        self.stamp = 0  # moves so far
        self.fail = np.zeros((0, 3), dtype=np.int64)  # see restore
        self.radix = np.asarray(p.radix, dtype=np.int64)
        self.cards = np.asarray(p.cards, dtype=np.int64)
        self.nulls = np.asarray(p.nulls, dtype=np.int64)
        self.freq = np.concatenate(p.freq) if p.freq else np.zeros(0, dtype=np.int64)
        self.freq_off = np.r_[0, np.cumsum([len(f) for f in p.freq])].astype(np.int64)
        w = self.win
        self.row_off = w.row_off if not w.cons else np.zeros(1, dtype=np.int64)
        self.by_row = w.by_row if not w.cons else np.zeros(0, dtype=np.int32)

    def at_risk(self) -> np.ndarray:
        """Windows below k, ascending."""
        c = self.c
        return tk.below(
            self.k, c.count, c.n0, c.off, c.members, self.touched, self.log, self.n_log, c.wid
        )

    def share(self, w: np.ndarray) -> np.ndarray:
        return self.c.count[self.c.wid[w]].astype(np.int64)

    def pick(self, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One value per window at risk (rows, variables), which windows could pick, and
        the share of every window at risk."""
        c = self.c
        return tk.pick(
            risk, *c._w(), self.k, *c._h(), c.wid, self.radix, self.cards, self.nulls,
            self.freq, self.freq_off, self.p.qi,
        )  # fmt: skip

    def borrow(self, stuck: np.ndarray) -> tuple[np.ndarray, ...]:
        """Windows at risk with every value null cannot pick: in their calendar, complete
        the all-null pattern to k with the windows that have the fewest values left (ties:
        the first), every value of them nulled. Returns rows, variables and the donor
        window of each value and the all-null windows it completes."""
        win, p = self.win, self.p
        cals, stuck_n = np.unique(win.wcal[stuck], return_counts=True)
        need = np.zeros(win.n_cal, dtype=np.int64)
        need[cals] = self.k - stuck_n
        donors, left_of = tk.donors(
            win.valid, win.cons, win.combos, win.wcal, p.s, self.m, self.radix, self.cards,
            self.nulls, need,
        )  # fmt: skip
        left, cal = left_of[donors], win.wcal[donors]
        take = donors[np.lexsort((donors, left, cal))]
        rows = win.rows_of(take)
        have = np.zeros(win.n_cal, dtype=np.int64)
        have[cals] = stuck_n
        r_out, v_out, w_out = [], [], []
        for v in range(self.n_v):
            live = p.code(v, rows) != p.nulls[v]
            r_out.append(rows[live])
            v_out.append(np.full(int(live.sum()), v, dtype=np.int64))
            w_out.append(np.broadcast_to(take[:, None], live.shape)[live])
        w_all = np.concatenate(w_out)
        return np.concatenate(r_out), np.concatenate(v_out), w_all, have[win.wcal[w_all]]

    def set(self, r: np.ndarray, v_of: np.ndarray, value: np.ndarray) -> None:
        """Set the values (rows ``r``, variables ``v_of``; distinct pairs) to the codes
        ``value`` and move the windows that hold them to their new patterns."""
        changed = self.win.containing(np.unique(r))
        for v in range(self.n_v):
            at = v_of == v
            rv = r[at]
            self.p.s[rv] += ((value[at] - self.p.code(v, rv)) * self.radix[v]).astype(
                self.p.s.dtype
            )
        c = self.c
        new = tk.keys(changed, *c._w())
        c.reserve(len(changed))
        if self.n_log + len(changed) > len(self.log):
            grown = np.zeros(max(2 * len(self.log), self.n_log + len(changed)), np.int64)
            grown[: self.n_log] = self.log[: self.n_log]
            self.log = grown
        self.stamp += 1
        c.n_ids, self.n_log = tk.move(
            changed, new, c.wid, *c._h(), c.n_ids, self.touched, self.log, self.n_log,
            c.changed_at, self.stamp,
        )  # fmt: skip

    def null(self, r: np.ndarray, v_of: np.ndarray) -> None:
        """Null the values. The rarity of a value stays that of the input: updating it
        after every round made the picks drift apart (119,135 values on the 26/050 demo
        against 115,996)."""
        self.set(r, v_of, self.nulls[v_of])

    def restore(
        self, r: np.ndarray, v_of: np.ndarray, value: np.ndarray, idx: np.ndarray, n: int
    ) -> np.ndarray:
        """Give back suppressed values (rows ``r``, variables ``v_of``, input codes
        ``value``; ``idx``: their numbers among the ``n`` suppressed) that no window needs
        any more (:func:`trajectory_kernels.give_back`); when none can be given back
        together, the first that could alone. Returns which were restored."""
        c, w = self.c, self.win
        if len(self.fail) != n:
            self.fail = np.full((n, 3), -1, dtype=np.int64)
        shift = (value - self.nulls[v_of]) * self.radix[v_of]
        c.reserve(len(r))
        ok, single, c.n_ids = tk.give_back(
            r, shift, w.cons, w.combos, w.valid, self.row_off, self.by_row, w.wcal,
            self.p.s, c.place, c.spm, self.m, self.k, *c._h(), c.n_ids, c.wid,
            idx, self.fail, c.changed_at, self.stamp,
        )  # fmt: skip
        if not ok.any() and single >= 0:
            ok[single] = True
        if ok.any():
            self.set(r[ok], v_of[ok], value[ok])
        return ok


def suppress(
    table: pa.Table,
    *,
    person: str,
    quarter: str,
    states: Sequence[str],
    m: int,
    k: int,
    consecutive: bool,
) -> tuple[Outcome, Panel]:
    """The greedy of :mod:`sluis.scra.trajectory` on the states of ``table`` as they are."""
    p = panel(table, person, quarter, states)
    g = Greedy(p, m, k, consecutive)
    risk = g.at_risk()
    before = len(risk)
    picked: list[tuple[np.ndarray, ...]] = []
    rounds = 0
    while True:
        risk = risk[g.win.cal_size[g.win.wcal[risk]] >= k]  # elsewhere nothing can help
        if not len(risk) or not states:
            break
        r, v_of, ok, share_all = g.pick(risk)
        r, v_of = r[ok], v_of[ok]
        w, kind, share = risk[ok], np.zeros(int(ok.sum()), dtype=np.int8), share_all[ok]
        if not ok.all():
            rb, vb, wb, sb = g.borrow(risk[~ok])
            r, v_of, w, share = np.r_[r, rb], np.r_[v_of, vb], np.r_[w, wb], np.r_[share, sb]
            kind = np.r_[kind, np.ones(len(rb), dtype=np.int8)]
        if not len(r):
            break
        first = np.unique(r * len(states) + v_of, return_index=True)[1]  # once per value
        r, v_of, w, kind, share = r[first], v_of[first], w[first], kind[first], share[first]
        value = (p.s[r] // g.radix[v_of]) % g.cards[v_of]  # the input's: never nulled yet
        picked.append((r, v_of, w, share, kind, value))
        g.null(r, v_of)
        rounds += 1
        risk = g.at_risk()
    if picked:
        r_all, v_all, w_all, share_all, kind_all, value = (
            np.concatenate(x) for x in zip(*picked, strict=True)
        )
    else:
        r_all = v_all = w_all = share_all = value = np.zeros(0, dtype=np.int64)
        kind_all = np.zeros(0, dtype=np.int8)
    # give back what later rounds made unnecessary, until nothing more can be given back
    held = np.ones(len(r_all), dtype=bool)
    while held.any():
        idx = np.flatnonzero(held)
        back = g.restore(r_all[idx], v_all[idx], value[idx], idx, len(r_all))
        if not back.any():
            break
        held[idx[back]] = False
    r_all, v_all, w_all, share_all, kind_all = (
        a[held] for a in (r_all, v_all, w_all, share_all, kind_all)
    )
    unreachable = len(g.at_risk())
    rows_orig = r_all if p.order is None else p.order[r_all]
    sort = np.lexsort((v_all, rows_orig))
    first_q, last_q = g.win.span(w_all)
    outcome = Outcome(
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
    return outcome, p
