"""One Ibis expression per coarsening rule (G4).

Each function takes the raw column (and, for coded rules, the columns of a small lookup
table already joined to it) and returns the coarsened column. Nulls stay null. The codes
produced are those of :mod:`sluis.coarsen.classes`.

Lookups (countries, NACE divisions, municipalities) are small Arrow tables joined in the
engine (:func:`lookup`), never Python dictionaries applied row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from sluis.coarsen import classes as cl
from sluis.coarsen.errors import CoarseningError
from sluis.spec.model import (
    AgeRule,
    AmountRule,
    Coarsen,
    CountryRule,
    DateRule,
    Keep,
    NaceRule,
    NumericClasses,
    PlaceRule,
    Pseudonym,
    TopCode,
)

#: output type of each numeric class rule (Stata: int, long, double)
AGE_TYPE = "int16"
AMOUNT_TYPE = "int32"
YEAR_TYPE = "int16"


@dataclass(frozen=True)
class Lookup:
    """A small table to join on ``key(column)``: ``table`` has a ``key`` column and values."""

    key: Callable[[ir.Value], ir.Value]
    table: pa.Table


def _as_string(x: ir.Value) -> ir.StringValue:
    return x if x.type().is_string() else x.cast("string")  # type: ignore[return-value]


def lookup(rule: Coarsen) -> Lookup | None:
    """The lookup table a rule needs, or None."""
    if isinstance(rule, CountryRule) and rule.classes == "class15":
        rows = cl.countries()
        return Lookup(
            _as_string,
            pa.table({"key": list(rows), "class15": [r["class15"] for r in rows.values()]}),
        )
    if isinstance(rule, CountryRule) and rule.classes in ("eu4", "birth5"):
        codes = list(cl.countries())
        years = [cl.eu_years(c) for c in codes]
        return Lookup(
            _as_string,
            pa.table(
                {
                    "key": codes,
                    "accession": pa.array([a for a, _ in years], pa.int32()),
                    "exit": pa.array([e for _, e in years], pa.int32()),
                    "known": [True] * len(codes),
                }
            ),
        )
    if isinstance(rule, NaceRule) and rule.digits == 1:
        divisions = cl.nace_divisions()
        return Lookup(
            lambda x: _as_string(x).substr(0, 2),
            pa.table({"key": list(divisions), "section": [s for s, _ in divisions.values()]}),
        )
    if isinstance(rule, PlaceRule) and rule.level != "municipality":
        mapping = cl.place_levels()[rule.level]
        return Lookup(_as_string, pa.table({"key": list(mapping), "place": list(mapping.values())}))
    return None


def coarsen_value(
    rule: Coarsen,
    x: ir.Value,
    found: dict[str, ir.Value],
    year: ir.IntegerValue | None,
    *,
    column: str,
) -> ir.Value:
    """The coarsened column for raw column ``x``.

    ``found`` holds the joined lookup columns of :func:`lookup` by name; ``year`` is the
    reference year of EU membership (``eu4``, ``birth5``), or None for the membership of
    today's code list.
    """
    if isinstance(rule, Keep | Pseudonym):
        return x
    if isinstance(rule, DateRule):
        return date(rule, x, column=column)
    if isinstance(rule, AmountRule):
        return amount(rule, _numeric(x, column, rule))
    if isinstance(rule, AgeRule):
        return stepped(rule, _numeric(x, column, rule), AGE_TYPE)
    if isinstance(rule, NumericClasses):
        kind = "int32" if cl.integral(rule) else "float64"
        return stepped(rule, _numeric(x, column, rule), kind)
    if isinstance(rule, TopCode):
        x = _numeric(x, column, rule)
        top = ibis.literal(rule.max).cast(x.type())
        return ibis.cases((x >= top, top), else_=x)
    if isinstance(rule, CountryRule):
        return country(rule, _as_string(x), found, year)
    if isinstance(rule, NaceRule):
        return nace(rule, _as_string(x), found)
    if isinstance(rule, PlaceRule):
        x = _as_string(x)
        if rule.level == "municipality":
            return x
        own = list(cl.REGIONS) if rule.level == "region" else []
        return ibis.cases((x.isin(own), x), else_=found["place"]) if own else found["place"]
    raise TypeError(f"unknown coarsening rule {rule!r}")


def _numeric(x: ir.Value, column: str, rule: Coarsen) -> ir.NumericValue:
    if not x.type().is_numeric():
        raise CoarseningError(
            f"column {column!r} is {x.type()}, but its rule {cl.describe(rule)} needs a number",
            rule="input-type",
            column=column,
        )
    return x  # type: ignore[return-value]


def date(rule: DateRule, x: ir.Value, *, column: str) -> ir.Value:
    """A date as 'YYYYQn', 'YYYY-MM', an int16 year, or (``day``) the date itself.

    A timestamp is cut to its date; for ``year`` an integer column is taken as the year.
    """
    t = x.type()
    if rule.precision == "year" and t.is_integer():
        return x.cast(YEAR_TYPE)
    if t.is_timestamp():
        x = x.cast("date")
    elif not t.is_date():
        raise CoarseningError(
            f"column {column!r} is {t}, but its rule {cl.describe(rule)} needs a DATE",
            rule="input-type",
            column=column,
        )
    d: ir.DateValue = x  # type: ignore[assignment]
    yyyy = d.year().cast("string").lpad(4, "0")
    if rule.precision == "year_quarter":
        return yyyy + "Q" + d.quarter().cast("string")
    if rule.precision == "year_month":
        return yyyy + "-" + d.month().cast("string").lpad(2, "0")
    if rule.precision == "year":
        return d.year().cast(YEAR_TYPE)
    return d


def _missing(x: ir.NumericValue) -> ir.BooleanValue:
    """Null, or NaN for floating columns (DuckDB sorts NaN above every number)."""
    return x.isnull() | x.isnan() if x.type().is_floating() else x.isnull()


def amount(rule: AmountRule, x: ir.NumericValue) -> ir.Value:
    """The lower bound of the amount's class; below 0 (below the first break) the open class
    ``first bound - 1``; from ``top`` (the last break) on, ``top``."""
    if rule.breaks is not None:
        return stepped(rule, x, AMOUNT_TYPE)
    assert rule.width is not None and rule.top is not None
    lower = (x / rule.width).floor() * rule.width
    return ibis.cases(
        (_missing(x), ibis.null(AMOUNT_TYPE)),
        (x < 0, ibis.literal(cl.below(rule), AMOUNT_TYPE)),
        (x >= rule.top, ibis.literal(rule.top, AMOUNT_TYPE)),
        else_=lower.cast(AMOUNT_TYPE),
    )


def stepped(rule: Coarsen, x: ir.NumericValue, kind: str) -> ir.Value:
    """The largest bound not above ``x``; below the first bound, ``first bound - 1``."""
    b = cl.bounds(rule)
    assert b is not None
    steps = [(x >= lo, ibis.literal(lo).cast(kind)) for lo in reversed(b)]
    return ibis.cases(
        (_missing(x), ibis.null(kind)), *steps, else_=ibis.literal(cl.below(rule)).cast(kind)
    )


def _member(found: dict[str, ir.Value], year: ir.IntegerValue | None) -> ir.BooleanValue:
    accession, exit_ = found["accession"], found["exit"]
    if year is None:
        return accession.notnull() & exit_.isnull()
    return accession.notnull() & (accession <= year) & (exit_.isnull() | (year < exit_))


def country(
    rule: CountryRule,
    x: ir.StringValue,
    found: dict[str, ir.Value],
    year: ir.IntegerValue | None,
) -> ir.Value:
    """A NIS country code in the rule's class scheme; codes outside the country list (998
    stateless, 999 unknown, anything else) are the unknown class '99'."""
    null = ibis.null("string")
    if rule.classes == "country_code":
        return x
    if rule.classes == "class15":
        return ibis.cases((x.isnull(), null), else_=found["class15"].fill_null(cl.UNKNOWN))
    known = found["known"].notnull()
    member = _member(found, year)
    if rule.classes == "eu4":
        return ibis.cases(
            (x.isnull(), null),
            (x == cl.BELGIUM, "01"),
            (member, "02"),
            (known, "03"),
            else_=cl.UNKNOWN,
        )
    regions = [(x == nis, code) for nis, code in cl.BIRTH_REGIONS.items()]
    return ibis.cases(
        (x.isnull(), null),
        *regions,
        (x == cl.BELGIUM, "01"),
        (member, "05"),
        (known, "06"),
        else_=cl.UNKNOWN,
    )


def nace(rule: NaceRule, x: ir.StringValue, found: dict[str, ir.Value]) -> ir.Value:
    """NACE-BEL cut to ``digits``; one digit is the section letter (a section letter in the
    input stays; a division or longer code gets its division's section, unknown -> null)."""
    if rule.digits > 1:
        return x.substr(0, rule.digits)
    letter = x.upper()
    return ibis.cases(
        ((x.length() == 1) & letter.isin(list(cl.NACE_SECTIONS)), letter),
        else_=found["section"],
    )
