"""The neighbour attack on treated trajectories (G5, issue 19): a suppressed state between
two equal ones is easy to guess back.

A researcher who sees ``A, null, A`` in a person's quarters guesses ``A``. This module makes
that guess for every null state value of the treated panel: where the person's nearest known
values of the same variable before and after it are equal, the null becomes that value (a
run of nulls between two equal values too). It then asks whether the guess undid the
trajectory treatment: a window of ``m`` consecutive quarters whose guessed pattern contains a
value the treatment suppressed *and guessed right*, and that fewer than ``k`` persons share
in the guessed panel, is at risk again.

**Who a rebuilt window is confused with.** A researcher who knows a person's states over
the window's quarters cannot exclude a delivered window whose pattern is the same and whose
guesses agree with the person's, nor one with no guess at all (its nulls fit anything); only
one whose guesses differ. A rebuilt window is at risk when those two together are fewer
than ``k``.

**Why few windows can be.** Where a guess rests on values inside the window, it is the same
for every person whose treated window has that pattern, so the guessed panel only merges
treated patterns, each of them shared by at least ``k`` persons. Only a guess that rests on
a value *outside* the window (a variable null through the whole window, or at its edge with
the support beyond it) can split a pattern. Those are what this attack finds; the treatment
(:func:`support_cells`) suppresses the known values that carried such a guess, and the
trajectory treatment then runs again on what changed (:mod:`sluis.scra.further`).

The null of the treated file is a category of its own (strict semantics), so a guess is made
for every null, also for values that were missing before treatment: the researcher cannot
tell them apart. Only a suppressed value guessed right counts as rebuilt.

Everything is vectorised over the sorted panel (numpy): a forward and a backward fill within
each person, and the window patterns as 64-bit hashes of their cells (a collision would
merge two patterns; at 10^8 windows its chance is about 10^-3, and it can only hide a
window, never invent one: documented in docs/scra.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra.frequencies import encode_column
from sluis.scra.longitudinal import quarter_index

_MIX = np.uint64(0x9E3779B97F4A7C15)
#: hash buckets that pick the windows whose shares are counted (a power of two)
_BUCKETS = 1 << 22


@dataclass(frozen=True)
class GuessAttack:
    """What the neighbour attack got back from a treated panel."""

    suppressed: int  # state values the treatment suppressed (known before, null after)
    guessed: int  # of those, filled in from two equal neighbours
    right: int  # of those, guessed right
    windows_at_risk: int  # rebuilt windows shared by fewer than k persons after the guess
    #: per state variable, the rows (of the table) of the known values that carried the
    #: guesses of the windows at risk from outside them: suppressing them stops the guess
    support: dict[str, np.ndarray]


def _splitmix(x: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser, so that nearby cell codes give unrelated hashes."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, dict[str, int]]:
    """Codes (int32, null -1) of one state column and its values by text."""
    codes, labels = encode_column(column)
    mapping = np.array([-1 if v is None else i for i, v in enumerate(labels)], dtype=np.int32)
    return mapping[codes], {str(v): i for i, v in enumerate(labels) if v is not None}


def _fold(key: np.ndarray, value: np.ndarray) -> np.ndarray:
    """One more cell folded into window hashes: mixed at every step, so that two different
    patterns collide only by chance (a plain polynomial hash of small codes has patterned
    collisions, and a collision hides a window)."""
    return _splitmix((key ^ (value.astype(np.uint64) + np.uint64(2))) * _MIX)


class NeighbourAttack:
    """The attack against one staged panel, set up once (the persons' order, the windows,
    the staged values) and run on successive treatments of it (:meth:`run`)."""

    def __init__(
        self, staged: pa.Table, *, person: str, quarter: str, states: Sequence[str], m: int
    ) -> None:
        self.states, self.m, self.n = list(states), m, staged.num_rows
        n = self.n
        pid, _ = encode_column(staged.column(person))
        q = quarter_index(staged.column(quarter)) if n else np.zeros(0, dtype=np.int64)
        order = None  # a staged panel comes sorted: no sort
        if n > 1:
            composite = pid.astype(np.int64) * (int(q.max()) - int(q.min()) + 1) + (q - q.min())
            if not bool(np.all(composite[1:] > composite[:-1])):
                order = np.argsort(composite, kind="stable").astype(np.int32)
            del composite
        self.order = order
        ps, qs = self.sorted(pid), self.sorted(q).astype(np.int32)
        self.pos = pos = np.arange(n, dtype=np.int32)
        first = np.ones(n, dtype=bool)
        first[1:] = ps[1:] != ps[:-1]
        last = np.ones(n, dtype=bool)
        last[:-1] = first[1:]
        self.start = np.maximum.accumulate(np.where(first, pos, 0))
        self.end = np.minimum.accumulate(np.where(last, pos, n - 1)[::-1])[::-1]
        # a window starts at sorted row i when its m rows are one person's consecutive quarters
        valid = np.zeros(n, dtype=bool)
        if n >= m >= 1:
            head = pos[: n - m + 1]
            valid[head] = (self.end[head] >= head + m - 1) & (qs[head + m - 1] == qs[head] + m - 1)
        self.idx = np.flatnonzero(valid).astype(np.int32)
        self.first_quarter = _splitmix(qs[self.idx].astype(np.uint64) * _MIX + np.uint64(1))
        self.staged = {}
        for v in self.states:
            codes, labels = _encode(staged.column(v))
            self.staged[v] = (self.sorted(codes), labels)

    def sorted(self, x: np.ndarray) -> np.ndarray:
        """``x`` (one value per row) in the persons' and quarters' order."""
        return x if self.order is None else x[self.order]

    def _treated_codes(self, v: str, column: pa.ChunkedArray) -> np.ndarray:
        """The treated column on the staged column's code list (a recode may add values)."""
        codes, labels = encode_column(column)
        known = dict(self.staged[v][1])
        mapped = np.empty(len(labels), dtype=np.int32)
        for i, value in enumerate(labels):
            mapped[i] = -1 if value is None else known.setdefault(str(value), len(known) + 1 << 20)
        return self.sorted(mapped[codes])

    def run(self, treated: pa.Table, k: int) -> GuessAttack:
        """Guess every null state value of ``treated`` from its equal neighbours and find the
        windows the guess gives back below ``k`` (see the module docstring)."""
        if treated.num_rows != self.n:
            raise SluisError(
                f"the treated panel has {treated.num_rows:,} rows, the staged one {self.n:,}",
                rule="scra-guess-rows",
            )
        n, m, idx, pos = self.n, self.m, self.idx, self.pos
        empty = {v: np.zeros(0, dtype=np.int64) for v in self.states}
        if n == 0 or m < 1:
            return GuessAttack(0, 0, 0, 0, empty)
        lo, hi = idx, idx + (m - 1)
        # each window's pattern as the researcher sees it after guessing: its first quarter,
        # then per variable its m values; a value counts as guessed only where both
        # neighbours it rests on lie outside the window (see the module docstring)
        key = self.first_quarter.copy()
        plain = key.copy()  # the pattern as delivered, without guesses
        any_split = np.zeros(len(idx), dtype=bool)
        rebuilt = np.zeros(len(idx), dtype=bool)
        suppressed = guessed = right = 0
        kept: dict[str, tuple[np.ndarray, ...]] = {}
        for v in self.states:
            ss = self.staged[v][0]
            ts = self._treated_codes(v, treated.column(v))
            known = ts >= 0
            prev = np.maximum.accumulate(np.where(known, pos, -1))
            nxt = np.minimum.accumulate(np.where(known, pos, n)[::-1])[::-1]
            guess = ~known & (prev >= self.start) & (nxt <= self.end)
            np.clip(prev, 0, n - 1, out=prev)
            np.clip(nxt, 0, n - 1, out=nxt)
            guess &= ts[prev] == ts[nxt]
            lost = ~known & (ss >= 0)
            ok = guess & lost & (ts[prev] == ss)
            suppressed += int(lost.sum())
            guessed += int((guess & lost).sum())
            right += int(ok.sum())
            del lost, known
            for j in range(m):
                at = idx + j
                split = guess[at] & (prev[at] < lo) & (nxt[at] > hi)
                key = _fold(key, np.where(split, ts[prev[at]], ts[at]))
                plain = _fold(plain, ts[at])
                any_split |= split
                rebuilt |= split & ok[at]
            kept[v] = (guess, ok, prev, nxt)
        if not right:
            return GuessAttack(suppressed, guessed, right, 0, empty)
        # who the researcher still cannot tell from a rebuilt window: the windows of its
        # delivered pattern whose guesses agree with its own, and those with no guess at all
        # (counted only among the windows whose delivered pattern falls in a hash bucket of a
        # rebuilt window's: every window of such a pattern is there, and they are few)
        plain = _splitmix(plain)
        buckets = np.zeros(_BUCKETS, dtype=bool)
        buckets[(plain[rebuilt] & np.uint64(_BUCKETS - 1)).astype(np.int64)] = True
        sub = np.flatnonzero(buckets[(plain & np.uint64(_BUCKETS - 1)).astype(np.int64)])
        plain, key = plain[sub], key[sub]
        _, group = np.unique(plain, return_inverse=True)
        unguessed = np.bincount(group, weights=~any_split[sub])
        pair = _splitmix((plain ^ _splitmix(key)) * _MIX)
        _, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
        risky_sub = rebuilt[sub] & (counts[inverse] + unguessed[group] < k)

        support: dict[str, np.ndarray] = {}
        first_of = idx[sub[risky_sub]]
        for v in self.states:
            guess, ok, prev, nxt = kept[v]
            chosen = []
            for j in range(m):
                at = first_of + j
                hit = guess[at] & ok[at] & (prev[at] < first_of) & (nxt[at] > first_of + (m - 1))
                chosen += [prev[at[hit]], nxt[at[hit]]]
            rows = np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int32)
            rows = rows if self.order is None else self.order[rows]
            support[v] = np.sort(rows).astype(np.int64)
        return GuessAttack(suppressed, guessed, right, len(first_of), support)


def neighbour_attack(
    staged: pa.Table,
    treated: pa.Table,
    *,
    person: str,
    quarter: str,
    states: Sequence[str],
    m: int,
    k: int,
) -> GuessAttack:
    """Guess every null state value of ``treated`` from its equal neighbours and find the
    windows the guess gives back below ``k`` (see the module docstring). ``staged`` is the
    panel before treatment, row for row."""
    if staged.num_rows != treated.num_rows:
        raise SluisError(
            f"the treated panel has {treated.num_rows:,} rows, the staged one {staged.num_rows:,}",
            rule="scra-guess-rows",
        )
    attack = NeighbourAttack(staged, person=person, quarter=quarter, states=states, m=m)
    return attack.run(treated, k)


def null_support(table: pa.Table, support: dict[str, np.ndarray]) -> pa.Table:
    """``table`` with the known values that carried the guesses suppressed (null)."""
    for v, rows in support.items():
        if not len(rows):
            continue
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[rows] = True
        col = table.column(v)
        nulled = pc.if_else(pa.array(mask), pa.scalar(None, col.type), col)
        table = table.set_column(table.schema.get_field_index(v), v, nulled)
    return table
