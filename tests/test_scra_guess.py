"""The neighbour attack on treated trajectories (G5, issue 19): a suppressed state between
two equal ones is guessed back, and a window the guess isolates again is found.

The property test recounts everything in plain Python over the rows (not the module's
arrays): the guesses, the windows as the researcher sees them, their shares."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.scra.guess import neighbour_attack, null_support


def _panel(rows: list[tuple[int, int, str | None]]) -> pa.Table:
    return pa.table(
        {
            "person": pa.array([r[0] for r in rows], pa.int64()),
            "quarter": pa.array([r[1] for r in rows], pa.int64()),
            "state": pa.array([r[2] for r in rows], pa.string()),
        }
    )


def _attack(staged: pa.Table, treated: pa.Table, m: int, k: int):
    return neighbour_attack(
        staged, treated, person="person", quarter="quarter", states=["state"], m=m, k=k
    )


def test_g5_a_state_between_two_equal_ones_is_guessed_right() -> None:
    staged = _panel([(1, 0, "A"), (1, 1, "A"), (1, 2, "A"), (1, 3, "B")])
    treated = _panel([(1, 0, "A"), (1, 1, None), (1, 2, "A"), (1, 3, "B")])
    got = _attack(staged, treated, m=2, k=1)
    assert (got.suppressed, got.guessed, got.right) == (1, 1, 1)


def test_g5_a_guess_inside_the_window_never_isolates_anyone() -> None:
    """Five persons share the treated window (A, *, A): the guess is the same for all, so the
    guessed window is shared by five, whatever their true middle value was."""
    staged, treated = [], []
    for p in range(5):
        true = "A" if p == 0 else "C"
        staged += [(p, 0, "A"), (p, 1, true), (p, 2, "A")]
        treated += [(p, 0, "A"), (p, 1, None), (p, 2, "A")]
    got = _attack(_panel(staged), _panel(treated), m=3, k=5)
    assert got.right == 1
    assert got.windows_at_risk == 0
    assert all(len(rows) == 0 for rows in got.support.values())


def test_g5_a_window_null_throughout_is_split_by_guesses_from_outside() -> None:
    """Window quarters 1-2 are null for all five persons; person 0's neighbours (quarters 0
    and 3) are both A, the others' both B: the guess tells person 0 from the others and
    gets their suppressed values right. The attack names the two values that carried it."""
    staged, treated = [], []
    for p in range(5):
        edge = ("A", "A") if p == 0 else ("B", "B")
        staged += [(p, 0, edge[0]), (p, 1, "A"), (p, 2, "A"), (p, 3, edge[1])]
        treated += [(p, 0, edge[0]), (p, 1, None), (p, 2, None), (p, 3, edge[1])]
    got = _attack(_panel(staged), _panel(treated), m=2, k=5)
    assert got.right == 2
    assert got.windows_at_risk == 1  # quarters 1-2 of person 0
    assert got.support["state"].tolist() == [0, 3]  # person 0's quarters 0 and 3
    fixed = null_support(_panel(treated), got.support)
    again = _attack(_panel(staged), fixed, m=2, k=5)
    assert again.windows_at_risk == 0


def test_g5_a_window_whose_fellows_have_no_guess_stays_safe() -> None:
    """As above, but the other four persons' neighbours differ (A, B): they get no guess,
    their nulls fit person 0's values, so person 0 is still one of five."""
    staged, treated = [], []
    for p in range(5):
        edge = ("A", "A") if p == 0 else ("A", "B")
        staged += [(p, 0, edge[0]), (p, 1, "A"), (p, 2, "A"), (p, 3, edge[1])]
        treated += [(p, 0, edge[0]), (p, 1, None), (p, 2, None), (p, 3, edge[1])]
    got = _attack(_panel(staged), _panel(treated), m=2, k=5)
    assert got.right == 2 and got.windows_at_risk == 0


def _recount(staged, treated, m, k):
    """Plain-Python recount of the attack's figures, straight from the definitions."""
    by_person: dict[int, list[tuple[int, str | None, str | None]]] = {}
    for (p, q, s), (_, _, t) in zip(staged, treated, strict=True):
        by_person.setdefault(p, []).append((q, s, t))
    suppressed = guessed = right = 0
    windows = []  # (first quarter, delivered pattern, guessed pattern, rebuilt)
    for rows in by_person.values():
        rows.sort()
        n = len(rows)
        known = [i for i in range(n) if rows[i][2] is not None]
        guess: dict[int, tuple[str, int, int]] = {}
        for i in range(n):
            if rows[i][2] is not None:
                continue
            before = [j for j in known if j < i]
            after = [j for j in known if j > i]
            if before and after and rows[before[-1]][2] == rows[after[0]][2]:
                guess[i] = (rows[before[-1]][2], before[-1], after[0])
            if rows[i][1] is not None:
                suppressed += 1
                if i in guess:
                    guessed += 1
                    right += guess[i][0] == rows[i][1]
        for i in range(n - m + 1):
            if rows[i + m - 1][0] != rows[i][0] + m - 1:
                continue
            pattern, delivered, rebuilt = [], [], False
            for j in range(i, i + m):
                g = guess.get(j)
                split = g is not None and g[1] < i and g[2] > i + m - 1
                pattern.append(g[0] if split else rows[j][2])
                delivered.append(rows[j][2])
                if split and rows[j][1] is not None and g[0] == rows[j][1]:
                    rebuilt = True
            windows.append((rows[i][0], tuple(delivered), tuple(pattern), rebuilt))
    agree = Counter((q, d, pat) for q, d, pat, _ in windows)
    unguessed = Counter((q, d) for q, d, pat, _ in windows if pat == d)
    at_risk = sum(
        1
        for q, d, pat, rebuilt in windows
        if rebuilt and agree[(q, d, pat)] + unguessed[(q, d)] < k
    )
    return suppressed, guessed, right, at_risk


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(
        st.lists(st.tuples(st.sampled_from("AB"), st.booleans()), min_size=1, max_size=7),
        min_size=1,
        max_size=8,
    ),
    gaps=st.lists(st.integers(0, 1), min_size=8, max_size=8),
    m=st.integers(1, 3),
    k=st.integers(1, 4),
)
def test_g5_neighbour_attack_agrees_with_a_plain_recount(data, gaps, m, k) -> None:
    staged, treated = [], []
    for p, quarters in enumerate(data):
        q = 0
        for value, hidden in quarters:
            staged.append((p, q, value))
            treated.append((p, q, None if hidden else value))
            q += 1 + gaps[p] * (q % 3 == 2)  # some persons miss a quarter now and then
    order = np.random.default_rng(len(staged)).permutation(len(staged))
    staged = [staged[i] for i in order]  # the attack must not rely on the rows' order
    treated = [treated[i] for i in order]
    got = _attack(_panel(staged), _panel(treated), m=m, k=k)
    assert (got.suppressed, got.guessed, got.right, got.windows_at_risk) == _recount(
        staged, treated, m, k
    )
