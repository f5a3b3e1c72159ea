"""G5: SUDA2's recursive search (issue 19 item 6): exactly the minimal sample uniques on
tables whose groups take every path of the search (one-word and general layouts, small
and large groups), the search cut into shares that cover every key subset once, and
sdcMicro's 16-bit hash counted as its C++ does."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
from hypothesis import given, settings

from sluis.scra import encode_keys, frequencies, suda2
from sluis.scra.suda import _hash_unique_buckets
from sluis.scra.suda_search import parts


def _brute_force_scores(rows: list[tuple[int, ...]], m: int) -> list[float]:
    """SUDA scores by definition: every subset's counts, then each record's minimal
    subsets on which it is unique."""
    subsets = [s for z in range(1, m + 1) for s in itertools.combinations(range(m), z)]
    counts = {s: Counter(tuple(r[j] for j in s) for r in rows) for s in subsets}
    m_score = max(m, 3)
    scores = []
    for r in rows:
        unique = {s for s in subsets if counts[s][tuple(r[j] for j in s)] == 1}
        score = sum(
            math.factorial(m_score - len(s))
            for s in unique
            if not any(t in unique for t in itertools.combinations(s, len(s) - 1))
        )
        scores.append(float(score))
    return scores


@st.composite
def crowded_tables(draw: st.DrawFn) -> pa.Table:
    """Up to 6 keys of 1-4 values (some missing) over up to 150 records: groups larger
    than the search's insertion-sort limit, and the first key's subtree split in two."""
    n_keys = draw(st.integers(1, 6))
    n = draw(st.integers(1, 150))
    columns = {}
    for j in range(n_keys):
        card = draw(st.integers(1, 4))
        values = st.one_of(st.none(), st.integers(0, card - 1))
        columns[f"k{j}"] = pa.array(draw(st.lists(values, min_size=n, max_size=n)), pa.int64())
    return pa.table(columns)


@settings(max_examples=60, deadline=None)
@given(crowded_tables(), st.booleans())
def test_g5_property_suda2_crowded_matches_brute_force(table: pa.Table, packed: bool) -> None:
    """G5: SUDA2 scores equal the definition's on crowded tables, in both layouts."""
    keys = encode_keys(table, table.column_names)
    result = suda2(keys, _packed=packed)
    rows = list(zip(*[c.tolist() for c in keys.codes], strict=True))
    assert result.score.tolist() == _brute_force_scores(rows, len(keys.names))
    again = suda2(keys, _packed=not packed)
    assert np.array_equal(again.score, result.score)
    assert np.array_equal(again.msu_per_size, result.msu_per_size)


@st.composite
def sparse_tables(draw: st.DrawFn) -> pa.Table:
    """Up to 8 keys of 1-70 values (some missing) over up to 250 records: codes wider
    than one radix digit, keys skipped because no candidate is live below them, and
    candidates dead below a node while their cell stays as company."""
    n_keys = draw(st.integers(1, 8))
    n = draw(st.integers(1, 250))
    columns = {}
    for j in range(n_keys):
        card = draw(st.sampled_from([1, 2, 3, 5, 12, 70]))
        values = st.one_of(st.none(), st.integers(0, card - 1))
        columns[f"k{j}"] = pa.array(draw(st.lists(values, min_size=n, max_size=n)), pa.int64())
    return pa.table(columns)


@settings(max_examples=40, deadline=None)
@given(sparse_tables(), st.booleans())
def test_g5_property_suda2_sparse_matches_brute_force(table: pa.Table, packed: bool) -> None:
    """G5: SUDA2 scores and MSU counts per size equal the definition's on tables of many
    sparse keys (issue 19 item 6: the pruning of dead candidates and skipped keys)."""
    keys = encode_keys(table, table.column_names)
    result = suda2(keys, _packed=packed)
    rows = list(zip(*[c.tolist() for c in keys.codes], strict=True))
    expected = _brute_force_scores(rows, len(keys.names))
    assert result.score.tolist() == expected
    m_score = max(len(keys.names), 3)
    weighted = sum(n * math.factorial(m_score - z - 1) for z, n in enumerate(result.msu_per_size))
    assert weighted == sum(expected)


def test_g5_suda2_shares_cover_every_subset_once() -> None:
    """G5: the shares of the search (one or two threads) reach every non-empty key subset
    exactly once: a share's row is key a, whether {a} is noted, and a flag per child b
    whose subtree (a, b, later keys) it searches."""
    for m in range(1, 10):
        for threads in (1, 2):
            reached: Counter[frozenset[int]] = Counter()
            for share in parts(m, threads):
                for row in share.tolist():
                    a = row[0]
                    if row[1]:
                        reached[frozenset([a])] += 1
                    for b in (b for b in range(m) if row[2 + b]):
                        later = range(b + 1, m)
                        for z in range(len(later) + 1):
                            for rest in itertools.combinations(later, z):
                                reached[frozenset((a, b, *rest))] += 1
            every = {
                frozenset(s) for z in range(1, m + 1) for s in itertools.combinations(range(m), z)
            }
            assert set(reached) == every and set(reached.values()) == {1}, (m, threads)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(-1000, 70_000), min_size=3, max_size=3), min_size=1, max_size=200)
)
def test_g5_property_dis_hash_as_sdcmicro(rows: list[list[int]]) -> None:
    """G5: the number of sample uniques in DIS is sdcMicro's: buckets of its 16-bit hash
    (rotate left one bit, add the value, per key) holding exactly one record."""
    buckets: Counter[int] = Counter()
    for row in rows:
        h = 0
        for value in row:
            carry = h & 0x8000
            h = (((h << 1) & 0xFFFF) + value) & 0xFFFF
            if carry:
                h = (h + 1) & 0xFFFF
        buckets[h] += 1
    expected = sum(1 for count in buckets.values() if count == 1)
    assert _hash_unique_buckets(np.array(rows, dtype=np.int64)) == expected


@settings(max_examples=20, deadline=None)
@given(crowded_tables())
def test_g5_property_suda2_with_the_callers_cells(table: pa.Table) -> None:
    """G5: SUDA2 given the cells fk was counted on (ids in first-appearance order, as the
    measure step hands them) scores exactly as when it finds the cells itself."""
    keys = encode_keys(table, table.column_names)
    freq = frequencies(keys)
    given_cells = suda2(keys, cells=(freq.cell, freq.n_cells))
    own = suda2(keys)
    assert np.array_equal(given_cells.score, own.score)
    # DIS is NaN where sdcMicro's is (no hash bucket of one record: 0/0), on both paths
    assert np.array_equal(given_cells.dis_score, own.dis_score, equal_nan=True)
    assert np.array_equal(given_cells.msu_per_size, own.msu_per_size)


def test_g5_suda2_warm_loads_the_kernels_a_run_uses() -> None:
    """G5: the warm-up a ``--suda`` run starts on a second thread loads the kernels with
    the types the run passes (so the run does not load them again)."""
    from sluis.scra import suda, suda_search

    suda.warm()
    before = {
        k: len(f.signatures)
        for k, f in (("search", suda_search._search), ("scores", suda._msu_scores))
    }
    table = pa.table({"a": [1, 1, 2, 2, 3], "b": [1, 2, 1, 1, 1], "c": [0, 0, 0, 1, 1]})
    suda2(encode_keys(table, ["a", "b", "c"]))
    after = {
        k: len(f.signatures)
        for k, f in (("search", suda_search._search), ("scores", suda._msu_scores))
    }
    assert before == after and min(before.values()) >= 1
