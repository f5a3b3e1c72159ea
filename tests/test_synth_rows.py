"""The row buffer of the quarterly registers (S2, S4): rows come out sorted by person and,
within a person, in the order their parts were added, whatever order each part holds its
persons in; a column keeps the first part's type, as an assignment into it would cast."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.synth.rows import RowBuffer


@st.composite
def _parts(draw: st.DrawFn) -> list[np.ndarray]:
    """Parts of distinct persons each (a quarter holds a person at most once)."""
    persons = draw(st.integers(1, 40))
    n_parts = draw(st.integers(1, 8))
    seeds = draw(st.lists(st.integers(0, 2**32 - 1), min_size=n_parts, max_size=n_parts))
    parts = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        size = int(rng.integers(0, persons + 1))
        parts.append(rng.permutation(persons)[:size].astype(np.int32))
    return parts


@settings(max_examples=60, deadline=None)
@given(_parts())
def test_s2_s4_rows_sorted_by_person_then_part(parts: list[np.ndarray]) -> None:
    buffer = RowBuffer()
    for number, persons in enumerate(parts):
        buffer.add(
            person=persons,
            part=np.full(len(persons), number, dtype=np.int8),
            value=(persons.astype(np.int64) * 31 + number * 7) % 101,
        )
    out = buffer.columns()
    keys = np.concatenate(parts)
    order = np.argsort(keys, kind="stable")
    assert np.array_equal(out["person"], keys[order])
    assert np.array_equal(
        out["part"], np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])[order]
    )
    assert np.array_equal(
        out["value"],
        np.concatenate([(p.astype(np.int64) * 31 + i * 7) % 101 for i, p in enumerate(parts)])[
            order
        ],
    )
    assert out["person"].dtype == np.int32 and out["part"].dtype == np.int8


def test_s2_a_column_keeps_the_type_of_its_first_part() -> None:
    buffer = RowBuffer()
    buffer.add(person=np.array([1, 0]), amount=np.array([5, 6], dtype=np.int16))
    buffer.add(person=np.array([0]), amount=np.array([7], dtype=np.int64))
    out = buffer.columns()
    assert out["amount"].dtype == np.int16
    assert out["amount"].tolist() == [6, 7, 5]
    assert out["person"].tolist() == [0, 0, 1]
