"""Longitudinal risk measure (G5): consecutive windows and, for a spec's ``windows: any``,
windows over any m of a person's quarters.

Every figure is checked against a recount in plain Python over ``table.to_pylist()`` (a
window = a person's states over m quarters, its share the persons with the same states in
the same quarters, null a category of its own), never with the measuring code.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluis.errors import SluisError
from sluis.scra.longitudinal import longitudinal_risk
from sluis.scra.measure import measure_trajectories
from sluis.scra.plan import DatasetPlan, TrajectoryPlan
from sluis.scra.windows import MAX_WINDOWS

QUARTERS = ["2014Q1", "2014Q2", "2014Q3", "2014Q4", "2015Q1", "2015Q2"]


def recount(table: pa.Table, states: list[str], m: int, k: int, consecutive: bool) -> dict:
    """The measure's figures, in plain Python."""
    by_person: dict[object, list[tuple[int, int, tuple]]] = {}
    for i, row in enumerate(table.to_pylist()):
        q = int(row["quarter"][:4]) * 4 + int(row["quarter"][5]) - 1
        by_person.setdefault(row["person_seq"], []).append((q, i, tuple(row[s] for s in states)))
    windows = []  # (person, first quarter label, rows, pattern)
    for person, rows in by_person.items():
        rows.sort()
        if consecutive:
            picks = [
                rows[i : i + m]
                for i in range(len(rows) - m + 1)
                if rows[i + m - 1][0] - rows[i][0] == m - 1
            ]
        else:
            picks = [list(c) for c in itertools.combinations(rows, m)]
        for w in picks:
            pattern = (tuple(q for q, _, _ in w), tuple(s for _, _, s in w))
            windows.append((person, w[0][0], [i for _, i, _ in w], pattern))
    shares = Counter(w[3] for w in windows)
    risky = [w for w in windows if shares[w[3]] < k]
    per_q: Counter = Counter(w[1] for w in windows)
    per_q_risk: Counter = Counter(w[1] for w in risky)
    return {
        "persons": len(by_person),
        "persons_with_window": len({w[0] for w in windows}),
        "persons_at_risk": len({w[0] for w in risky}),
        "windows": len(windows),
        "windows_at_risk": len(risky),
        "records_at_risk": len({i for w in risky for i in w[2]}),
        "per_quarter": [(f"{q // 4}Q{q % 4 + 1}", per_q[q], per_q_risk[q]) for q in sorted(per_q)],
        "histogram": Counter(f">={k}" if shares[w[3]] >= k else str(shares[w[3]]) for w in windows),
    }


@st.composite
def panels(draw: st.DrawFn) -> pa.Table:
    """Small panels with gaps, nulls and rows in any order."""
    rows = []
    for p in range(draw(st.integers(1, 16))):
        start = draw(st.integers(0, 3))
        for i in range(start, start + draw(st.integers(1, len(QUARTERS) - start))):
            if draw(st.integers(0, 5)) == 0:
                continue  # a quarter not observed
            sep = draw(st.sampled_from(["A", "A", "B", None]))
            rva = draw(st.sampled_from(["x", "y", None]))
            rows.append((100 + 3 * p, QUARTERS[i], sep, rva))
    rows = [rows[i] for i in draw(st.permutations(range(len(rows))))]
    return pa.table(
        {
            "person_seq": pa.array([r[0] for r in rows], pa.int64()),
            "quarter": pa.array([r[1] for r in rows], pa.string()),
            "sep": pa.array([r[2] for r in rows], pa.string()),
            "rva_status": pa.array([r[3] for r in rows], pa.string()),
        }
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels(), st.integers(1, 4), st.integers(1, 4), st.booleans())
def test_g5_longitudinal_measure_equals_a_plain_recount(
    table: pa.Table, m: int, k: int, consecutive: bool
) -> None:
    """G5: windows, windows and persons at risk, records at risk, per first quarter and by
    share equal a plain Python recount, for consecutive windows and any m quarters."""
    states = ["sep", "rva_status"]
    got = longitudinal_risk(
        table,
        person="person_seq",
        quarter="quarter",
        states=states,
        m=m,
        k=k,
        consecutive=consecutive,
    )
    want = recount(table, states, m, k, consecutive)
    assert got.records == table.num_rows
    for name in (
        "persons",
        "persons_with_window",
        "persons_at_risk",
        "windows",
        "windows_at_risk",
        "records_at_risk",
    ):
        assert getattr(got, name) == want[name], name
    assert [(q.quarter, q.windows, q.windows_at_risk) for q in got.per_quarter] == want[
        "per_quarter"
    ]
    assert got.share_histogram == dict(want["histogram"])


def test_g5_longitudinal_any_m_quarters_finds_what_consecutive_windows_miss() -> None:
    """G5: two persons share every run of 2 consecutive quarters but not their first and
    last quarter together: only ``windows: any`` sees them isolated."""
    rows = []
    for p, states in enumerate([["A", "B", "C"], ["A", "B", "C"], ["A", "D", "C"]]):
        rows += [(p, q, s) for q, s in zip(QUARTERS[:3], states, strict=True)]
    rows += [(3, q, s) for q, s in zip(QUARTERS[:3], ["E", "B", "C"], strict=True)]
    table = pa.table(
        {
            "person_seq": [r[0] for r in rows],
            "quarter": [r[1] for r in rows],
            "sep": [r[2] for r in rows],
        }
    )
    consecutive = longitudinal_risk(
        table, person="person_seq", quarter="quarter", states=["sep"], m=2, k=2
    )
    anywhere = longitudinal_risk(
        table, person="person_seq", quarter="quarter", states=["sep"], m=2, k=2, consecutive=False
    )
    assert consecutive.persons_at_risk == 2  # persons 2 (A D, D C) and 3 (E B)
    assert anywhere.persons_at_risk == 2
    assert anywhere.windows == 4 * 3 and consecutive.windows == 4 * 2
    # person 3's (B, C) in 2014Q2-Q3 is shared, but (E, C) in 2014Q1 and Q3 is not
    assert anywhere.windows_at_risk == recount(table, ["sep"], 2, 2, False)["windows_at_risk"]
    assert anywhere.windows_at_risk > consecutive.windows_at_risk


def test_g5_longitudinal_measure_follows_the_spec_windows_any(tmp_path: Path) -> None:
    """G5: the spec's ``windows: any`` (``consecutive=False`` in the plan) reaches the
    measure, so the threshold counts persons over any m quarters; more windows than the
    bound are refused with the rule, as by the treatment."""
    rows = [(p, q, "A" if p < 3 else "B") for p in range(4) for q in QUARTERS[:3]]
    table = pa.table(
        {
            "person_seq": [r[0] for r in rows],
            "quarter": [r[1] for r in rows],
            "sep": [r[2] for r in rows],
        }
    )

    def plan(consecutive: bool) -> DatasetPlan:
        check = TrajectoryPlan("person_seq", "quarter", ("sep",), 2, 2, consecutive=consecutive)
        return DatasetPlan(
            "ksz", "person", tmp_path / "ksz.parquet", "ksz.parquet", longitudinal=(check,)
        )

    (cons,) = measure_trajectories(plan(True), table)
    (anyq,) = measure_trajectories(plan(False), table)
    assert (cons.windows, anyq.windows) == (8, 12)
    assert cons.persons_at_risk == anyq.persons_at_risk == 1
    quarters = [f"{2010 + i // 4}Q{i % 4 + 1}" for i in range(40)]
    n = MAX_WINDOWS // 91_390 + 1  # C(40, 4) = 91,390 windows per person
    big = pa.table(
        {
            "person_seq": [p for p in range(n) for _ in quarters],
            "quarter": quarters * n,
            "sep": ["A"] * (40 * n),
        }
    )
    with pytest.raises(SluisError) as err:
        longitudinal_risk(
            big, person="person_seq", quarter="quarter", states=["sep"], m=4, k=5, consecutive=False
        )
    assert err.value.rule == "scra-trajectory-too-many"
    assert "windows" in err.value.message


@pytest.mark.parametrize("kind", ["short", "long", "integer", "dictionary"])
def test_g5_longitudinal_reads_every_kind_of_state_column(kind: str) -> None:
    """G5: states read from their bytes (strings of up to 7 bytes, here 300 distinct codes,
    more than the first table holds), through Arrow (longer strings, integers, dictionary
    columns) give the figures of the plain recount, chunk boundaries included."""
    rows = [(p, q, f"{(p * 7 + i) % 300:03d}") for p in range(120) for i, q in enumerate(QUARTERS)]
    values = [r[2] for r in rows]
    if kind == "long":
        values = [f"state-code-{v}" if v != "007" else None for v in values]
    if kind == "integer":
        column = pa.array([int(v) for v in values], pa.int64())
    elif kind == "dictionary":
        column = pa.array(values, pa.string()).dictionary_encode()
    else:
        column = pa.array(values, pa.string())
    table = pa.table(
        {
            "person_seq": pa.array([r[0] for r in rows], pa.int64()),
            "quarter": pa.array([r[1] for r in rows], pa.string()),
            "sep": column,
        }
    )
    table = pa.concat_tables([table.slice(0, 250), table.slice(250)])  # two chunks
    got = longitudinal_risk(table, person="person_seq", quarter="quarter", states=["sep"], m=2, k=2)
    plain = table.set_column(2, "sep", pa.array([str(v) for v in column.to_pylist()]))
    want = recount(plain, ["sep"], 2, 2, True)
    assert (got.windows, got.windows_at_risk, got.persons_at_risk) == (
        want["windows"],
        want["windows_at_risk"],
        want["persons_at_risk"],
    )
    assert got.records_at_risk == want["records_at_risk"]
