"""History periods from change logs (S1): the rule every history table of the generator uses."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sluis.synth.state import NODATE
from sluis.synth.tables import _periods

changes = st.lists(
    st.tuples(st.integers(0, 4), st.integers(-5000, 5000), st.booleans()), max_size=60
)


@given(changes)
def test_s1_periods_never_overlap_and_end_before_the_next_change(log) -> None:
    person = np.array([p for p, _, _ in log], dtype=np.int64)
    date = np.array([d for _, d, _ in log], dtype=np.int64)
    is_exit = np.array([e for _, _, e in log], dtype=bool)
    order, valid_to = _periods(person, date, is_exit)
    p, d, e = person[order], date[order], is_exit[order]
    # one row per person and day, in date order
    assert len(set(zip(p.tolist(), d.tolist(), strict=True))) == len(order)
    for i in range(len(order)):
        same_next = i + 1 < len(order) and p[i + 1] == p[i]
        if not same_next:
            assert valid_to[i] == NODATE, "the last change of a person is open-ended"
            continue
        assert d[i + 1] > d[i]
        # a period ends the day before the next change, or on the day of an exit
        assert valid_to[i] == (d[i + 1] if e[i + 1] else d[i + 1] - 1)
        assert valid_to[i] >= d[i]
    # the last change of a day wins: the kept row is the last one logged that day
    for i, row in enumerate(order):
        later = [
            j
            for j in range(len(log))
            if j > row and person[j] == person[row] and date[j] == date[row]
        ]
        assert later == [], (i, row)
