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


def _codes(staged: pa.ChunkedArray, treated: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Both columns on one code list, null as -1 (compared as text: a recode may retype)."""
    both = pa.chunked_array(
        [*pc.cast(staged, pa.string()).chunks, *pc.cast(treated, pa.string()).chunks],
        pa.string(),
    )
    codes, labels = encode_column(both)
    codes = codes.astype(np.int64)
    if labels and labels[-1] is None:
        codes[codes == len(labels) - 1] = -1
    n = len(staged)
    return codes[:n], codes[n:]


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
    n = treated.num_rows
    empty = {v: np.zeros(0, dtype=np.int64) for v in states}
    if n == 0 or m < 1:
        return GuessAttack(0, 0, 0, 0, empty)
    pid, _ = encode_column(treated.column(person))
    q = quarter_index(treated.column(quarter))
    composite = pid.astype(np.int64) * (int(q.max()) - int(q.min()) + 1) + (q - q.min())
    if len(composite) < 2 or bool(np.all(composite[1:] > composite[:-1])):
        order = np.arange(n, dtype=np.int64)  # a staged panel comes sorted: no sort
    else:
        order = np.argsort(composite, kind="stable")
    del composite
    ps, qs = pid[order], q[order]
    pos = np.arange(n, dtype=np.int64)
    first = np.ones(n, dtype=bool)
    first[1:] = ps[1:] != ps[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = first[1:]
    start = np.maximum.accumulate(np.where(first, pos, 0))
    end = np.minimum.accumulate(np.where(last, pos, n - 1)[::-1])[::-1]

    # a window starts at sorted row i when its m rows are the same person's consecutive quarters
    valid = np.zeros(n, dtype=bool)
    if n >= m:
        head = np.arange(n - m + 1)
        valid[head] = (end[head] >= head + m - 1) & (qs[head + m - 1] == qs[head] + m - 1)

    idx = np.flatnonzero(valid)
    lo, hi = idx, idx + m - 1
    # each window's pattern as the researcher sees it after guessing: its first quarter, then
    # per variable its m values; a value counts as guessed only where both neighbours it
    # rests on lie outside the window (see the module docstring)
    key = _splitmix(qs[idx].astype(np.uint64) * _MIX)
    plain = key.copy()  # the pattern as delivered, without guesses
    any_split = np.zeros(len(idx), dtype=bool)
    rebuilt = np.zeros(len(idx), dtype=bool)
    suppressed = guessed = right = 0
    outside: dict[str, list[np.ndarray]] = {}
    for v in states:
        s_codes, t_codes = _codes(staged.column(v), treated.column(v))
        ss, ts = s_codes[order], t_codes[order]
        del s_codes, t_codes
        known = ts >= 0
        prev = np.maximum.accumulate(np.where(known, pos, -1))
        nxt = np.minimum.accumulate(np.where(known, pos, n)[::-1])[::-1]
        guess = ~known & (prev >= start) & (nxt <= end)
        prev, nxt = np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1)
        guess &= ts[prev] == ts[nxt]
        lost = ~known & (ss >= 0)
        ok = guess & lost & (ts[prev] == ss)
        suppressed += int(lost.sum())
        guessed += int((guess & lost).sum())
        right += int(ok.sum())
        per_window = []
        for j in range(m):
            at = idx + j
            split = guess[at] & (prev[at] < lo) & (nxt[at] > hi)
            value = np.where(split, ts[prev[at]], ts[at])
            key = _splitmix((key ^ (value + 2).astype(np.uint64)) * _MIX)
            plain = _splitmix((plain ^ (ts[at] + 2).astype(np.uint64)) * _MIX)
            any_split |= split
            hit = split & ok[at]
            rebuilt |= hit
            per_window.append(np.where(hit, at, -1))
        outside[v] = per_window
        outside[v].append(prev)
        outside[v].append(nxt)
    if not right:
        return GuessAttack(suppressed, guessed, right, 0, empty)
    # who the researcher still cannot tell from a rebuilt window: the windows of its delivered
    # pattern whose guesses agree with its own, and those with no guess at all
    _, group = np.unique(plain, return_inverse=True)
    unguessed = np.bincount(group, weights=~any_split)
    pair = _splitmix((plain ^ _splitmix(key)) * _MIX)
    _, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
    risky = rebuilt & (counts[inverse] + unguessed[group] < k)

    support: dict[str, np.ndarray] = {}
    for v in states:
        *per_window, prev, nxt = outside[v]
        at = np.concatenate([w[risky] for w in per_window])
        at = at[at >= 0]
        chosen = np.unique(np.concatenate([prev[at], nxt[at]]))
        support[v] = np.sort(order[chosen]).astype(np.int64)
    return GuessAttack(suppressed, guessed, right, int(risky.sum()), support)


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
