"""INSZ day counters of the generator (S3): unique numbers even when a day runs out."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.synth.run import N_DAYS, SLOTS, day_counters, overflow_offsets

#: counter keys of men born on three days of the same year, and one day of another year
KEYS = np.array([2 * 100, 2 * 101, 2 * 102, 2 * 3000])


def numbers(counts: np.ndarray) -> list[tuple[int, int, int]]:
    """(key or year pool, day code, slot) of everyone, chunk by chunk."""
    full = np.zeros((counts.shape[0], 4 * N_DAYS), dtype=np.int64)
    full[:, KEYS] = counts
    offsets = np.cumsum(full, axis=0) - full
    year_offsets = overflow_offsets(full)
    out = []
    for c in range(counts.shape[0]):
        key = np.repeat(KEYS, counts[c])
        slot, overflow = day_counters(key, offsets[c], year_offsets[c])
        assert ((slot >= 0) & (slot < SLOTS)).all()
        for k, s, o in zip(key, slot, overflow, strict=True):
            pool = int(k) if o < 0 else ("year", int(k) // 2 >= 3000)
            out.append((pool, int(o), int(s)))
    return out


def test_s3_a_full_day_spills_into_the_day_00_numbers() -> None:
    result = numbers(np.array([[300, 0, 0, 0], [300, 0, 0, 0], [300, 0, 0, 0]]))
    assert len(set(result)) == 900, "every person gets an own number"
    assert sum(o >= 0 for _, o, _ in result) == 900 - SLOTS


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 700), min_size=4, max_size=4), min_size=1, max_size=4))
def test_s3_day_counters_are_unique_across_chunks(counts: list[list[int]]) -> None:
    result = numbers(np.array(counts))
    assert len(set(result)) == len(result) == sum(map(sum, counts))
