"""Reading a delivered column at a key's precision, the basis of the rebuild check (G5)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.scra.rebuild import MIN_REBUILT, Rebuild, at_precision
from sluis.spec.model import CountryRule, DateRule, Keep

MONTH = DateRule(kind="date", precision="year_month")
QUARTER = DateRule(kind="date", precision="year_quarter")
YEAR = DateRule(kind="date", precision="year")
DAYS = st.lists(
    st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))), max_size=30
)


def _month(d: dt.date | None) -> str | None:
    return None if d is None else f"{d.year}-{d.month:02d}"


def _quarter(d: dt.date | None) -> str | None:
    return None if d is None else f"{d.year}Q{(d.month - 1) // 3 + 1}"


@settings(deadline=None)  # the first call loads Arrow's compute kernels
@given(DAYS)
def test_g5_a_month_is_read_as_its_quarter_and_year(days: list[dt.date | None]) -> None:
    months = pa.array([_month(d) for d in days], pa.string())
    assert at_precision(months, MONTH, QUARTER).to_pylist() == [_quarter(d) for d in days]
    assert at_precision(months, MONTH, YEAR).to_pylist() == [
        None if d is None else str(d.year) for d in days
    ]
    assert at_precision(months, MONTH, MONTH).to_pylist() == [_month(d) for d in days]


@settings(deadline=None)  # the first call loads Arrow's compute kernels
@given(DAYS)
def test_g5_a_coarser_date_says_nothing_about_a_finer_key(days: list[dt.date | None]) -> None:
    quarters = pa.array([_quarter(d) for d in days], pa.string())
    assert at_precision(quarters, QUARTER, MONTH) is None
    years = pa.array([None if d is None else d.year for d in days], pa.int16())
    assert at_precision(years, YEAR, QUARTER) is None
    assert at_precision(years, YEAR, YEAR).to_pylist() == [
        None if d is None else str(d.year) for d in days
    ]


def test_g5_only_the_same_classes_are_compared() -> None:
    codes = pa.array(["01", "02", None])
    class15 = CountryRule(kind="country", classes="class15")
    eu4 = CountryRule(kind="country", classes="eu4")
    assert at_precision(codes, class15, class15).to_pylist() == ["01", "02", None]
    assert at_precision(codes, eu4, class15) is None
    assert at_precision(codes, Keep(kind="keep"), class15) is None


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_g5_a_channel_gives_back_more_than_a_fifth_and_at_least_three(
    treated: int, rebuilt: int
) -> None:
    rebuilt = min(rebuilt, treated)
    attack = Rebuild("person.birth_yq", "panel.nationality_ym", "same row", treated, rebuilt)
    assert attack.rebuilds == (rebuilt >= MIN_REBUILT and rebuilt * 5 > treated)
