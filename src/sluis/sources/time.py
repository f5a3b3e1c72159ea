"""How each source table is read on a day (G2, G6): its *time*, declared with the table.

A register extract says what held when in one of a few ways, and every stage that asks
"what did this table say on day D" must answer the same way. The contract declares the
way once per table (``Table.time``); :mod:`sluis.sources.read` turns it into Ibis
expressions that select, extract and the documents share:

- :class:`Static`: one row per person, true on every day (birth, first registration);
- :class:`History`: periods with a first and a last day (empty: ongoing); read on a day,
  the rows whose period covers it;
- :class:`Quarterly`: one row per quarter, dated by the quarter's last day (the data
  warehouse's reference day); read on a day, the row of the last quarter end on or before
  it;
- :class:`Yearly`: one row per calendar year (an income year); read on a day, its year's;
- :class:`SchoolYear`: one row per school year, 1 September to 31 August, named by the
  year it starts; read on a day, the school year the day falls in;
- :class:`Census`: one row per census held; read on a day, the person's latest census
  held before the day's year (2011 for 2016, 2021 for 2022);
- :class:`Obtained`: rows dated by the year something was obtained (a diploma); read on a
  day, every row of the day's year or before.

A day is a Python date or an Ibis date expression (a column of a frame, for a join).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # Ibis loads when a table is read, not when the contract is declared
    import ibis.expr.types as ir

    #: a day to read a table on: a date, or a date column of another table (for a join)
    Day = dt.date | ir.DateValue


def _day(day: Day) -> ir.DateValue:
    import ibis

    return ibis.literal(day) if isinstance(day, dt.date) else day


def quarter_end_on_or_before(day: Day) -> ir.DateValue:
    """The last quarter end on or before ``day`` (31 December 2015 for 1 January 2016,
    31 March 2016 for itself): the reference day of the quarterly registers on ``day``."""
    import ibis

    if isinstance(day, dt.date):
        return ibis.literal(last_quarter_end(day))
    first = ibis.date(day.year(), (day.month() - 1) // 3 * 3 + 1, 1)  # of day's quarter
    end = first + ibis.interval(months=3) - ibis.interval(days=1)
    return ibis.ifelse(end == day, end, first - ibis.interval(days=1))


def last_quarter_end(day: dt.date) -> dt.date:
    """:func:`quarter_end_on_or_before` of a date, as a date."""
    month = (day.month - 1) // 3 * 3 + 3  # last month of day's quarter
    end = dt.date(day.year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    if end <= day:
        return end
    return dt.date(day.year, month - 2, 1) - dt.timedelta(days=1)


def school_year(day: Day) -> ir.IntegerValue:
    """The school year ``day`` falls in, named by its first year (1 September Y to 31
    August Y+1 is Y)."""
    d = _day(day)
    return d.year() - (d.month() < 9).cast("int64")


@dataclass(frozen=True)
class Time:
    """How a table is read on a day; one subclass per way."""

    kind: ClassVar[str]

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's columns that carry its time."""
        return ()

    @property
    def latest(self) -> str | None:
        """When several of a person's rows may be read on a day: the column whose highest
        value wins; None when each is read."""
        return None

    def condition(self, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
        """Whether each row of ``rows`` may be read on ``day``; ``prefix`` is put before
        the names of the time columns (a table whose columns were renamed for a join)."""
        import ibis

        return ibis.literal(True)

    def text(self) -> str:
        """The way in words, for the contract document."""
        raise NotImplementedError


@dataclass(frozen=True)
class Static(Time):
    kind: ClassVar[str] = "static"

    def text(self) -> str:
        return "static: one row per person, the same on every day"


@dataclass(frozen=True)
class History(Time):
    start: str = "valid_from"
    end: str = "valid_to"
    kind: ClassVar[str] = "history"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.start, self.end)

    def condition(self, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
        d, start, end = _day(day), rows[prefix + self.start], rows[prefix + self.end]
        return (start <= d) & (end.isnull() | (end >= d))

    def text(self) -> str:
        return (
            f"history: on a day, the rows whose period `{self.start}`..`{self.end}` covers it "
            f"(an empty `{self.end}`: ongoing)"
        )


@dataclass(frozen=True)
class Quarterly(Time):
    day: str = "quarter_end"
    kind: ClassVar[str] = "quarterly"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.day,)

    def condition(self, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
        return rows[prefix + self.day] == quarter_end_on_or_before(day)

    def text(self) -> str:
        return (
            f"quarterly: on a day, the row of the last quarter end on or before it "
            f"(`{self.day}`, the reference day)"
        )


@dataclass(frozen=True)
class ByYear(Time):
    """A table whose rows are dated by a year column."""

    year: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.year,)


@dataclass(frozen=True)
class Yearly(ByYear):
    year: str
    kind: ClassVar[str] = "yearly"

    def condition(self, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
        return rows[prefix + self.year] == _day(day).year()

    def text(self) -> str:
        return f"yearly: on a day, the row of its calendar year (`{self.year}`)"


@dataclass(frozen=True)
class SchoolYear(ByYear):
    year: str = "school_year"
    kind: ClassVar[str] = "school year"

    def condition(self, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
        return rows[prefix + self.year] == school_year(day)

    def text(self) -> str:
        return (
            f"school year: on a day, the row of the school year it falls in (`{self.year}`, "
            "1 September to 31 August)"
        )


@dataclass(frozen=True)
class Census(ByYear):
    year: str
    kind: ClassVar[str] = "census"

    @property
    def latest(self) -> str:
        return self.year

    def condition(self, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
        return rows[prefix + self.year] < _day(day).year()

    def text(self) -> str:
        return (
            f"census: on a day, the person's latest census held before the day's year "
            f"(`{self.year}`)"
        )


@dataclass(frozen=True)
class Obtained(ByYear):
    year: str
    kind: ClassVar[str] = "obtained"

    def condition(self, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
        return rows[prefix + self.year] <= _day(day).year()

    def text(self) -> str:
        return f"obtained: on a day, every row obtained in its year or before (`{self.year}`)"
