"""The ``date`` rule (G4): a date cut to year and quarter, year and month, or year."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import ClassVar, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from sluis.coarsen.errors import CoarseningError
from sluis.coarsen.rule import LimitProblem, Limits, Mapper, Rule, invalid

#: output type of a date cut to its year (Stata: int)
YEAR_TYPE = "int16"
#: a year column holds a calendar year, not e.g. a date written as yyyymmdd
YEARS = (1000, 9999)
#: the precisions from fine to coarse: a precision nests in every later one
ORDER = ("day", "year_month", "year_quarter", "year")
_WORDS = {
    "day": "exact day",
    "year_month": "year and month",
    "year_quarter": "year and quarter",
    "year": "year",
}
_PATTERN = {"year_quarter": r"^\d{4}Q[1-4]$", "year_month": r"^\d{4}-(0[1-9]|1[0-2])$"}
_YEAR_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class DateRule(Rule):
    """A date cut to year and quarter, year and month, or year."""

    kind: Literal["date"]
    precision: Literal["day", "year_month", "year_quarter", "year"]
    reads: ClassVar[str | None] = "date"

    def words(self) -> str:
        return _WORDS[self.precision]

    def phrase(self) -> str:
        return self.precision.replace("_", " and ")

    def date_precision(self) -> str | None:
        return self.precision

    def arrow_type(self, given: pa.DataType) -> pa.DataType:
        return pa.int16() if self.precision == "year" else pa.string()

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        """'YYYYQn', 'YYYY-MM', an int16 year, or (``day``) the date itself. A timestamp
        is cut to its date; for ``year`` an integer column is taken as the year."""
        t = x.type()
        if self.precision == "year" and t.is_integer():
            return x.cast(YEAR_TYPE)
        if t.is_timestamp():
            x = x.cast("date")
        elif not t.is_date():
            raise CoarseningError(
                f"column {column!r} is {t}, but its rule {self.text()} needs a DATE",
                rule="input-type",
                column=column,
            )
        d: ir.DateValue = x  # type: ignore[assignment]
        yyyy = d.year().cast("string").lpad(4, "0")
        if self.precision == "year_quarter":
            return yyyy + "Q" + d.quarter().cast("string")
        if self.precision == "year_month":
            return yyyy + "-" + d.month().cast("string").lpad(2, "0")
        if self.precision == "year":
            return d.year().cast(YEAR_TYPE)
        return d

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        t = x.type()
        if self.precision == "year":
            return (x < YEARS[0]) | (x > YEARS[1]) if t.is_integer() else x.notnull()
        if self.precision == "day" or not t.is_string():
            return x.notnull()
        return ~x.re_search(_PATTERN[self.precision])

    def censor(self, x: ir.Value, until: dt.date) -> ir.Value:
        """Columns that are not dates (an integer year) are compared by year."""
        t = x.type()
        if t.is_date() or t.is_timestamp():
            limit = ibis.literal(until) if t.is_date() else ibis.literal(until).cast(t)
            return ibis.ifelse(x > limit, ibis.null(t), x)
        if self.precision == "year" and t.is_integer():
            return ibis.ifelse(x > until.year, ibis.null(t), x)
        return x

    def outside(
        self, x: ir.Value, *, end: dt.date, start: tuple[int, int], period: bool
    ) -> ir.BooleanValue | None:
        """None when the representation is not one the rule produces (the coarsening check
        refuses those already)."""
        start_year, start_q = start
        t = x.type()
        if self.precision == "year" and t.is_integer():
            test = x > end.year
            return test | (x < start_year) if period else test
        if not t.is_string():
            return None
        if self.precision == "year_quarter":
            test = x > f"{end.year}Q{(end.month + 2) // 3}"
            return test | (x < f"{start_year}Q{start_q}") if period else test
        if self.precision == "year_month":
            test = x > f"{end.year}-{end.month:02d}"
            return test | (x < f"{start_year}-{3 * start_q - 2:02d}") if period else test
        return None

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        if ORDER.index(self.precision) < ORDER.index(limits.finest_date):
            return [
                LimitProblem(
                    ("precision",),
                    "date-precision",
                    f"{self.precision} is finer than {limits.finest_date}, the finest the "
                    "decision allows here",
                )
            ]
        return []

    def nesting_problem(self, target: DateRule, years: Sequence[int] | None) -> str | None:
        if ORDER.index(target.precision) < ORDER.index(self.precision):
            return f"{target.precision} is finer than {self.precision}"
        return None

    def recode_map(self, target: DateRule, column: str) -> Mapper:
        src, dst = self.precision, target.precision

        def date_map(v: object, _: int | None) -> object:
            if src == "day":
                if not isinstance(v, dt.date):
                    raise invalid(column, v, self)
                year, month = v.year, v.month
            elif src == "year_month":
                m = _YEAR_MONTH.match(str(v))
                if not m:
                    raise invalid(column, v, self)
                year, month = int(m[1]), int(m[2])
            elif src == "year_quarter":
                m = _YEAR_QUARTER.match(str(v))
                if not m:
                    raise invalid(column, v, self)
                year, month = int(m[1]), 3 * int(m[2]) - 2
            else:
                if not isinstance(v, int | np.integer) or not 1000 <= int(v) <= 9999:
                    raise invalid(column, v, self)
                year, month = int(v), 1
            if dst == "day":
                return v  # only a day nests a day
            if dst == "year":
                return year
            if dst == "year_quarter":
                return f"{year}Q{(month - 1) // 3 + 1}"
            return f"{year}-{month:02d}"  # year_month

        return date_map
