"""Each source table as read on a day, from the time the contract declares for it (G2, G6).

``sluis.sources.on`` and ``valid_on`` turn a table's declared time into Ibis expressions;
these tests hold them against a plain Python reading of the same rows, on random
histories, quarters, years and censuses, with a date and with a column of days (a join).
"""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from sluis.sources import CONTRACT, members_on, on, valid_on
from sluis.sources.contract import table
from sluis.sources.time import (
    Census,
    History,
    Obtained,
    Quarterly,
    SchoolYear,
    Static,
    Yearly,
    last_quarter_end,
)

FIRST, LAST = dt.date(1998, 1, 1), dt.date(2026, 12, 31)
dates = st.dates(FIRST, LAST)
people = st.sampled_from(["p1", "p2", "p3", "p4"])
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def _table(con: ibis.BaseBackend, columns: dict[str, pa.Array]) -> ibis.Table:
    return con.create_table(f"t_{next(_names)}", pa.table(columns), temp=True)


_names = iter(range(10**9))


def _rows(result: ibis.Table, *columns: str) -> list[tuple]:
    found = result.select(*columns).to_pyarrow().to_pylist()
    return sorted((tuple(r[c] for c in columns) for r in found), key=_none_first)


def _none_first(row: tuple) -> tuple:
    """Sorts rows with missing values (an open end date) first, as Python cannot compare
    None with a date."""
    return tuple((v is not None, v) for v in row)


def _python_quarter_end(day: dt.date) -> dt.date:
    """The reference: step back day by day to a quarter's last day."""
    d = day
    while (d + dt.timedelta(days=1)).day != 1 or d.month not in (3, 6, 9, 12):
        d -= dt.timedelta(days=1)
    return d


def test_g2_every_table_declares_its_time_and_the_columns_exist() -> None:
    """Each contract table says how it is read on a day, over columns it has (G2)."""
    kinds = {t.name: type(t.time) for t in CONTRACT}
    assert kinds["residence"] is History and kinds["person"] is Static
    assert kinds["dwh_position"] is Quarterly and kinds["adi"] is Yearly
    assert kinds["census"] is Census and kinds["education_vl_enrolment"] is SchoolYear
    assert kinds["education_vl_diploma"] is Obtained
    for t in CONTRACT:
        names = {c.name for c in t.columns}
        assert set(t.time.columns) <= names, t.name
        assert t.time.text()
        assert t.quarter_end == (t.time.day if isinstance(t.time, Quarterly) else None)


def test_g2_each_column_type_has_its_arrow_and_ibis_type() -> None:
    for t in CONTRACT:
        assert t.arrow_schema.names == [c.name for c in t.columns]
        assert list(t.ibis_schema.names) == [c.name for c in t.columns]
        for c in t.columns:
            assert ibis.dtype(c.types.arrow) == c.types.ibis, (t.name, c.name)
            assert c.types.accepts(c.types.ibis)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, dt.date, dt.date | None]]:
    rows = []
    for who in draw(st.lists(people, min_size=1, max_size=12)):
        start = draw(dates)
        end = draw(st.none() | st.dates(start, LAST))
        rows.append((who, start, end))
    return rows


@SETTINGS
@given(rows=histories(), day=dates)
def test_g6_history_on_a_day_agrees_with_python(con, rows, day) -> None:
    """A history row is read on a day when its period covers the day; an empty end is an
    ongoing period (G6)."""
    t = _table(
        con,
        {
            "insz": pa.array([r[0] for r in rows]),
            "valid_from": pa.array([r[1] for r in rows], pa.date32()),
            "valid_to": pa.array([r[2] for r in rows], pa.date32()),
        },
    )
    expected = sorted(
        (r for r in rows if r[1] <= day and (r[2] is None or r[2] >= day)), key=_none_first
    )
    assert _rows(on("residence", day, t), "insz", "valid_from", "valid_to") == expected
    # the same condition in a join, each row of a frame on its own day
    days = _table(con, {"day": pa.array([day], pa.date32())})
    joined = t.join(days, valid_on("residence", t, days.day))
    assert _rows(joined, "insz", "valid_from", "valid_to") == expected


@SETTINGS
@given(rows=histories(), day=dates)
def test_g6_cohabitation_reads_its_own_period_columns(con, rows, day) -> None:
    t = _table(
        con,
        {
            "insz": pa.array([r[0] for r in rows]),
            "start_date": pa.array([r[1] for r in rows], pa.date32()),
            "end_date": pa.array([r[2] for r in rows], pa.date32()),
        },
    )
    expected = sorted(
        (r for r in rows if r[1] <= day and (r[2] is None or r[2] >= day)), key=_none_first
    )
    assert _rows(on("legal_cohabitation", day, t), "insz", "start_date", "end_date") == expected


@SETTINGS
@given(
    quarters=st.lists(st.tuples(people, st.integers(1998, 2026), st.integers(1, 4)), max_size=12),
    day=dates,
)
def test_g6_quarterly_on_a_day_is_the_last_quarter_end_before_it(con, quarters, day) -> None:
    """The quarterly registers on a day: the row of the last quarter end on or before it
    (1 January 2016 reads 31 December 2015), with a date and with a column of days."""
    ends = [
        _python_quarter_end(dt.date(y, 3 * q, 28) + dt.timedelta(days=4)) for _, y, q in quarters
    ]
    assert last_quarter_end(day) == _python_quarter_end(day)
    t = _table(
        con,
        {
            "insz": pa.array([q[0] for q in quarters], pa.string()),
            "quarter_end": pa.array(ends, pa.date32()),
        },
    )
    ref = _python_quarter_end(day)
    expected = sorted((w, e) for (w, _, _), e in zip(quarters, ends, strict=True) if e == ref)
    assert _rows(on("dwh_position", day, t), "insz", "quarter_end") == expected
    days = _table(con, {"day": pa.array([day], pa.date32())})
    joined = t.join(days, valid_on("dwh_position", t, days.day))
    assert _rows(joined, "insz", "quarter_end") == expected


@SETTINGS
@given(rows=st.lists(st.tuples(people, st.integers(1998, 2026)), max_size=12), day=dates)
def test_g6_yearly_school_year_and_obtained(con, rows, day) -> None:
    """An income year is its calendar year's; a school year runs from 1 September; a
    diploma counts from the year it was obtained."""
    insz = pa.array([r[0] for r in rows], pa.string())
    years = pa.array([r[1] for r in rows], pa.int64())
    school = day.year - (day.month < 9)
    for name, column, keep in (
        ("adi", "income_year", lambda y: y == day.year),
        ("education_vl_enrolment", "school_year", lambda y: y == school),
        ("education_fwb_diploma", "diploma_year", lambda y: y <= day.year),
    ):
        t = _table(con, {"insz": insz, column: years})
        expected = sorted(r for r in rows if keep(r[1]))
        assert _rows(on(name, day, t), "insz", column) == expected, name


@SETTINGS
@given(
    rows=st.lists(st.tuples(people, st.sampled_from([2001, 2011, 2021])), max_size=8, unique=True),
    day=dates,
)
def test_g6_census_on_a_day_is_the_latest_before_its_year(con, rows, day) -> None:
    """The census on a day: the person's latest census held before the day's year."""
    t = _table(
        con,
        {
            "insz": pa.array([r[0] for r in rows], pa.string()),
            "census_year": pa.array([r[1] for r in rows], pa.int64()),
        },
    )
    latest: dict[str, int] = {}
    for who, year in rows:
        if year < day.year:
            latest[who] = max(latest.get(who, 0), year)
    assert _rows(on("census", day, t), "insz", "census_year") == sorted(latest.items())


def test_g7_members_on_a_day_and_on_each_households_own_day(con) -> None:
    """The members of households on a day (G7): joiners from their first day, leavers
    until their last."""
    d = dt.date
    h = _table(
        con,
        {
            "insz": pa.array(["a", "b", "c", "d"]),
            "valid_from": pa.array([d(2000, 1, 1), d(2000, 1, 1), d(2010, 5, 1), d(2000, 1, 1)]),
            "valid_to": pa.array([None, d(2010, 3, 31), None, None], pa.date32()),
            "household_id": pa.array(["1", "1", "1", "2"]),
            "relation": pa.array(["01", "02", "02", "01"]),
            "lipro": pa.array(["x", "y", "y", "z"]),
        },
    )
    wanted = _table(con, {"household_id": pa.array(["1"]), "qend": pa.array([d(2010, 3, 31)])})
    assert _rows(members_on(wanted, d(2010, 6, 30), h), "household_id", "insz") == [
        ("1", "a"),
        ("1", "c"),
    ]
    assert _rows(members_on(wanted, "qend", h), "household_id", "qend", "insz") == [
        ("1", d(2010, 3, 31), "a"),
        ("1", d(2010, 3, 31), "b"),
    ]


def test_g2_static_tables_read_every_row(con) -> None:
    t = _table(con, {"insz": pa.array(["a", "b"])})
    assert _rows(on("person", dt.date(2020, 1, 1), t), "insz") == [("a",), ("b",)]
    assert isinstance(table("person").time, Static)
