"""Trajectory treatment (G5): after treatment no window of m quarters isolates anyone.

Every check recounts the treated table independently, in plain Python over
``table.to_pylist()`` (a window = a person's states over m consecutive quarters, its share
the persons with the same states in the same quarters, null a category of its own), never
with the treating code or :func:`sluis.scra.longitudinal.longitudinal_risk`.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluis.errors import SluisError
from sluis.scra.trajectory import MAX_WINDOWS, treat_trajectories


def _quarter_number(text: str) -> int:
    return int(text[:4]) * 4 + int(text[5]) - 1


def recount(
    table: pa.Table, states: list[str], m: int, consecutive: bool = True
) -> tuple[Counter, dict]:
    """Windows per (quarters, states) pattern and each person's windows, in plain Python."""
    by_person: dict[object, list[tuple[int, tuple]]] = {}
    for row in table.to_pylist():
        q = _quarter_number(row["quarter"])
        by_person.setdefault(row["person_seq"], []).append((q, tuple(row[s] for s in states)))
    shares: Counter = Counter()
    windows: dict[object, list[tuple]] = {}
    for person, rows in by_person.items():
        rows.sort(key=lambda r: r[0])
        if consecutive:
            picks = [
                rows[i : i + m]
                for i in range(len(rows) - m + 1)
                if rows[i + m - 1][0] - rows[i][0] == m - 1
            ]
        else:
            picks = [list(c) for c in itertools.combinations(rows, m)]
        for window in picks:
            pattern = (tuple(q for q, _ in window), tuple(s for _, s in window))
            shares[pattern] += 1
            windows.setdefault(person, []).append(pattern)
    return shares, windows


def below_k(table: pa.Table, states: list[str], m: int, k: int, consecutive: bool = True) -> int:
    """Windows shared by fewer than k persons, in calendars that k persons share at all."""
    shares, _ = recount(table, states, m, consecutive)
    calendars: Counter = Counter()
    for (quarters, _), n in shares.items():
        calendars[quarters] += n
    return sum(n for (quarters, _), n in shares.items() if n < k and calendars[quarters] >= k)


def panel(rows: list[tuple]) -> pa.Table:
    """(person, 'YYYYQn', state, ...) tuples as a table with columns person_seq, quarter,
    sep (and rva_status when the tuples have two states)."""
    names = ["person_seq", "quarter", "sep", "rva_status"][: len(rows[0])]
    types = [pa.int64(), pa.string(), pa.string(), pa.string()]
    return pa.table(
        {name: pa.array([r[i] for r in rows], types[i]) for i, name in enumerate(names)}
    )


QUARTERS = ["2014Q1", "2014Q2", "2014Q3", "2014Q4", "2015Q1", "2015Q2"]


@st.composite
def panels(draw: st.DrawFn, full: bool = False) -> tuple[pa.Table, int, int]:
    """Small panels, rows in any order; ``full``: 8-30 persons all observed over 2014 with
    mostly common states (every quarter has k persons, so every window can reach k)."""
    n_persons = draw(st.integers(8, 30) if full else st.integers(1, 24))
    seps = ["A"] * 6 + ["B", "C", None] if draw(st.booleans()) else ["A", "B", "C", None]
    rows = []
    for p in range(n_persons):
        start = 0 if full else draw(st.integers(0, 3))
        length = 4 if full else draw(st.integers(1, len(QUARTERS) - start))
        gap = -1 if full else draw(st.integers(0, length))  # a missing quarter in the span
        for i in range(start, start + length):
            if i - start == gap and length > 2:
                continue
            sep = draw(st.sampled_from(seps))
            rva = draw(st.sampled_from(["x", "x", "x", "y", None]))
            rows.append((1000 + 7 * p, QUARTERS[i], sep, rva))
    order = draw(st.permutations(range(len(rows))))
    table = panel([rows[i] for i in order])
    return table, draw(st.integers(1, 4)), draw(st.integers(1, 4 if full else 5))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels())
def test_g5_trajectory_treatment_leaves_no_window_below_k_by_recount(
    case: tuple[pa.Table, int, int],
) -> None:
    """G5: an independent recount finds no window below k (except in quarters fewer than k
    persons share, reported as unreachable); rows stay in order, every changed value became
    null, and two runs give the same result."""
    table, m, k = case
    states = ["sep", "rva_status"]
    result = treat_trajectories(
        table, person="person_seq", quarter="quarter", states=states, m=m, k=k
    )
    treated = result.table
    assert below_k(treated, states, m, k) == 0
    shares, _ = recount(treated, states, m)
    assert result.unreachable == sum(n for n in shares.values() if n < k)
    assert result.windows_at_risk_after == result.unreachable
    before, _ = recount(table, states, m)
    assert result.windows_at_risk_before == sum(n for n in before.values() if n < k)
    assert treated.schema == table.schema
    assert treated.column("person_seq").equals(table.column("person_seq"))
    assert treated.column("quarter").equals(table.column("quarter"))
    changed = 0
    for name in states:
        old, new = table.column(name).to_pylist(), treated.column(name).to_pylist()
        diff = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        assert all(new[i] is None for i in diff)
        assert len(diff) == result.per_variable[name]
        changed += len(diff)
    assert changed == result.suppressed == result.explanations.num_rows
    again = treat_trajectories(
        table, person="person_seq", quarter="quarter", states=states, m=m, k=k
    )
    assert again.table.equals(treated)
    assert again.explanations.equals(result.explanations)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels(full=True), st.booleans())
def test_g5_trajectory_no_suppressed_value_could_be_given_back(
    case: tuple[pa.Table, int, int], consecutive: bool
) -> None:
    """G5: no more than needed: when every window reaches k, giving back any one suppressed
    value (its input value) puts some window below k again, by recount."""
    table, m, k = case
    states = ["sep", "rva_status"]
    result = treat_trajectories(
        table,
        person="person_seq",
        quarter="quarter",
        states=states,
        m=m,
        k=k,
        consecutive=consecutive,
    )
    assert result.unreachable == 0  # every quarter has at least k persons
    treated = result.table
    for name in states:
        old, new = table.column(name).to_pylist(), treated.column(name).to_pylist()
        for i in [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]:
            back = list(new)
            back[i] = old[i]
            column = treated.schema.get_field_index(name)
            trial = treated.set_column(column, name, pa.array(back, pa.string()))
            shares, _ = recount(trial, states, m, consecutive)
            assert any(n < k for n in shares.values()), (name, i)


def _ten_and_five() -> pa.Table:
    """10 persons AAAA over 2014, 5 persons AA?A with a rare value each in 2014Q3."""
    rows = [(p, q, "A") for p in range(10) for q in QUARTERS[:4]]
    for i, rare in enumerate("BCDEF"):
        rows += [(100 + i, q, rare if q == "2014Q3" else "A") for q in QUARTERS[:4]]
    return panel(rows)


def test_g5_trajectory_minimal_treatment_suppresses_exactly_the_rare_values() -> None:
    """G5: 5 persons isolated by one rare value each in the same quarter: exactly those 5
    values are suppressed, and they pool into one pattern of 5."""
    table = _ten_and_five()
    result = treat_trajectories(
        table, person="person_seq", quarter="quarter", states=["sep"], m=4, k=5
    )
    rows = result.table.to_pylist()
    nulled = {(r["person_seq"], r["quarter"]) for r in rows if r["sep"] is None}
    assert nulled == {(100 + i, "2014Q3") for i in range(5)}
    assert result.suppressed == 5 and result.per_variable == {"sep": 5}
    assert result.windows_at_risk_before == 5 and result.windows_at_risk_after == 0
    assert result.unreachable == 0 and result.rounds == 1
    assert below_k(result.table, ["sep"], 4, 5) == 0


def test_g5_trajectory_minimal_treatment_two_variables_two_quarters() -> None:
    """G5: two state variables, rare values in two quarters: one value per isolated person,
    in the variable and quarter that isolate it."""
    rows = [(p, q, "A", "x") for p in range(10) for q in QUARTERS[:4]]
    for i, rare in enumerate("BCDEF"):  # rare sep in 2014Q2
        rows += [(200 + i, q, rare if q == "2014Q2" else "A", "x") for q in QUARTERS[:4]]
    for i, rare in enumerate("pqrst"):  # rare rva_status in 2014Q4
        rows += [(300 + i, q, "A", rare if q == "2014Q4" else "x") for q in QUARTERS[:4]]
    table = panel(rows)
    states = ["sep", "rva_status"]
    result = treat_trajectories(
        table, person="person_seq", quarter="quarter", states=states, m=4, k=5
    )
    got = {
        (r["person_seq"], r["quarter"], name)
        for r in result.table.to_pylist()
        for name in states
        if r[name] is None
    }
    want = {(200 + i, "2014Q2", "sep") for i in range(5)}
    want |= {(300 + i, "2014Q4", "rva_status") for i in range(5)}
    assert got == want
    assert result.per_variable == {"sep": 5, "rva_status": 5}
    assert below_k(result.table, states, 4, 5) == 0


def test_g5_trajectory_explanations_name_person_quarter_variable_window_rule() -> None:
    """G5: one explanation per suppressed value, naming the person's sequence number, the
    quarter, the variable, the window and the rule, and no state value."""
    result = treat_trajectories(
        _ten_and_five(), person="person_seq", quarter="quarter", states=["sep"], m=4, k=5
    )
    ex = result.explanations
    assert ex.column_names == ["person_seq", "quarter", "variable", "window", "rule"]
    assert ex.column("person_seq").to_pylist() == [100, 101, 102, 103, 104]
    assert set(ex.column("quarter").to_pylist()) == {"2014Q3"}
    assert set(ex.column("variable").to_pylist()) == {"sep"}
    assert set(ex.column("window").to_pylist()) == {"2014Q1"}
    assert set(ex.column("rule").to_pylist()) == {
        "trajectory m=4 k=5: window 2014Q1-2014Q4 shared by 1 < 5"
    }
    text = " ".join(str(v) for row in ex.to_pylist() for v in row.values())
    assert not any(f" {rare} " in f" {text} " for rare in "BCDEF")


def test_g5_trajectory_unreachable_when_fewer_than_k_persons() -> None:
    """G5: with fewer than k persons observed nothing can help: reported as unreachable,
    nothing suppressed, no endless rounds."""
    table = panel([(p, q, c) for p, c in enumerate("ABC") for q in QUARTERS[:4]])
    result = treat_trajectories(
        table, person="person_seq", quarter="quarter", states=["sep"], m=4, k=5
    )
    assert result.unreachable == 3 and result.windows_at_risk_after == 3
    assert result.suppressed == 0 and result.rounds == 0
    assert result.table.equals(table)


def test_g5_trajectory_completes_an_all_null_pattern_from_its_quarters() -> None:
    """G5: windows left with every state suppressed, fewer than k, are completed to k with
    the windows of the same quarters that have the fewest values left; the rule says so."""
    rows = [(p, q, "A") for p in range(6) for q in QUARTERS[:2]]
    rows += [(10, "2014Q1", "B"), (10, "2014Q2", "C"), (11, "2014Q1", "D")]
    rows += [(11, "2014Q2", "E")]
    result = treat_trajectories(
        panel(rows), person="person_seq", quarter="quarter", states=["sep"], m=2, k=3
    )
    assert below_k(result.table, ["sep"], 2, 3) == 0 and result.unreachable == 0
    rules = result.explanations.column("rule").to_pylist()
    assert any("suppressed whole" in rule for rule in rules)


def _bits_lost(before: list, after: list) -> float:
    """Plain-Python recount of the information a column lost (bits, docs/scra.md): each
    known value tells -log2 of its share of the known values; a null tells nothing."""
    from collections import Counter
    from math import log2

    def bits(values: list) -> list[float]:
        known = [v for v in values if v is not None]
        share = Counter(known)
        return [0.0 if v is None else -log2(share[v] / len(known)) for v in values]

    return sum(b - a for b, a in zip(bits(before), bits(after), strict=True))


def test_g5_trajectory_recode_kept_only_when_it_loses_less_information() -> None:
    """G5: a recode is kept when the states lose fewer bits with it than with suppression
    alone (recounted here in plain Python); one that merges nothing (a renaming) saves no
    bit and is not kept."""
    rows = [(p, q, "A1") for p in range(3) for q in QUARTERS[:4]]
    rows += [(10 + p, q, "A2") for p in range(3) for q in QUARTERS[:4]]
    rows += [(20 + p, q, "B") for p in range(10) for q in QUARTERS[:4]]
    table = panel(rows)
    merge = (
        "sep A1/A2 to A1",
        "sep",
        lambda col: pc.if_else(pc.equal(col, "A2"), "A1", col),
    )
    rename = ("sep B to b", "sep", lambda col: pc.if_else(pc.equal(col, "B"), "b", col))
    base = treat_trajectories(
        table, person="person_seq", quarter="quarter", states=["sep"], m=4, k=5
    )
    assert base.suppressed > 12  # six persons in groups of 3 need more than 12 values
    result = treat_trajectories(
        table,
        person="person_seq",
        quarter="quarter",
        states=["sep"],
        m=4,
        k=5,
        recode=[merge, rename],
    )
    assert result.recoded == ("sep A1/A2 to A1",)
    assert result.suppressed == 0
    original = table.column("sep").to_pylist()
    with_recode = _bits_lost(original, result.table.column("sep").to_pylist())
    without = _bits_lost(original, base.table.column("sep").to_pylist())
    assert 0 < with_recode < without
    assert set(result.table.column("sep").to_pylist()) == {"A1", "B"}
    assert below_k(result.table, ["sep"], 4, 5) == 0


def test_g5_trajectory_recode_that_splits_values_is_refused() -> None:
    """G5: a recode must merge values; one that gives one value two codes is an error."""
    table = _ten_and_five()
    split = ("split", "sep", lambda col: pa.array([str(i) for i in range(len(col))]))
    with pytest.raises(SluisError) as err:
        treat_trajectories(
            table,
            person="person_seq",
            quarter="quarter",
            states=["sep"],
            m=4,
            k=5,
            recode=[split],
        )
    assert err.value.rule == "scra-recode-not-coarser"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels())
def test_g5_trajectory_any_m_quarters_leaves_no_combination_below_k(
    case: tuple[pa.Table, int, int],
) -> None:
    """G5: with consecutive=False every m of a person's observed quarters form a window;
    the recount over all combinations finds none below k."""
    table, m, k = case
    states = ["sep", "rva_status"]
    result = treat_trajectories(
        table, person="person_seq", quarter="quarter", states=states, m=m, k=k, consecutive=False
    )
    assert below_k(result.table, states, m, k, consecutive=False) == 0
    shares, _ = recount(result.table, states, m, consecutive=False)
    assert result.unreachable == sum(n for n in shares.values() if n < k)


def test_g5_trajectory_any_m_quarters_refuses_too_many_windows() -> None:
    """G5: any m of 40 quarters for many persons is refused with the count, not run."""
    quarters = [f"{2010 + i // 4}Q{i % 4 + 1}" for i in range(40)]
    n = MAX_WINDOWS // 91_390 + 1  # C(40, 4) = 91,390 windows per person
    table = pa.table(
        {
            "person_seq": [p for p in range(n) for _ in quarters],
            "quarter": quarters * n,
            "sep": ["A"] * (40 * n),
        }
    )
    with pytest.raises(SluisError) as err:
        treat_trajectories(
            table,
            person="person_seq",
            quarter="quarter",
            states=["sep"],
            m=4,
            k=5,
            consecutive=False,
        )
    assert err.value.rule == "scra-trajectory-too-many"
    assert "windows" in err.value.message


def test_g5_trajectory_refuses_a_person_quarter_twice() -> None:
    """G5: two rows for one person and quarter is an error naming the rule."""
    table = panel([(1, "2014Q1", "A"), (1, "2014Q1", "B")])
    with pytest.raises(SluisError) as err:
        treat_trajectories(table, person="person_seq", quarter="quarter", states=["sep"], m=1, k=1)
    assert err.value.rule == "scra-person-quarter-unique"


def test_g5_trajectory_empty_table_and_dated_quarters() -> None:
    """G5: an empty table comes back as it is; quarters given as dates are explained as
    'YYYYQn'."""
    empty = panel([(1, "2014Q1", "A")]).slice(0, 0)
    result = treat_trajectories(
        empty, person="person_seq", quarter="quarter", states=["sep"], m=2, k=2
    )
    assert result.table.equals(empty) and result.suppressed == 0
    assert result.explanations.num_rows == 0
    table = _ten_and_five()
    months = {"2014Q1": 1, "2014Q2": 4, "2014Q3": 7, "2014Q4": 10}
    dated = table.set_column(
        1,
        "quarter",
        pa.array([datetime.date(2014, months[q], 1) for q in table.column("quarter").to_pylist()]),
    )
    result = treat_trajectories(
        dated, person="person_seq", quarter="quarter", states=["sep"], m=4, k=5
    )
    assert set(result.explanations.column("quarter").to_pylist()) == {"2014Q3"}
    assert result.suppressed == 5
