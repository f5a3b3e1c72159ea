"""The spec's window as a rule of the coarsening stage (G4, G6, A3, B8).

An authorisation grants the quarters of its window and nothing later. Two rules follow,
applied to every dataset like the coarsening rules are:

- **Censoring** (:func:`censor`): a date variable whose raw date falls after the last day of
  the window is delivered empty, read as "not (yet) observed by the end of the window". A
  death in 2024 of a person observed to 2022Q4 is such a value, as is the end of a legal
  cohabitation that was still running at the window's end.
- **The check** (:func:`outside`): after coarsening, no date or period may lie after the
  window's end, and the dataset's period (``quarter``, ``year``) may not lie before the
  window's start (its earliest look-back, where the spec declares one). A value outside is
  a refusal (``outside-window``), never dropped silently.

Dates before the window's start are history the decisions ask for (a birth date, the date a
nationality was acquired) and are not cut; a period column before the start is.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from sluis.extract.frame import quarter_ends
from sluis.spec.model import DateRule, Spec


def _quarter(text: str) -> tuple[int, int]:
    return int(text[:4]), int(text[5])


def window_end(spec: Spec) -> dt.date:
    """The last day of the spec's window (the last day of its end quarter)."""
    return quarter_ends(spec.window.end, spec.window.end)["qend"][0].as_py()


def censor(rule: DateRule, x: ir.Value, until: dt.date) -> ir.Value:
    """``x`` with every date after ``until`` made null (an event after the window is not
    delivered); columns that are not dates (an integer year) are compared by year."""
    t = x.type()
    if t.is_date() or t.is_timestamp():
        limit = ibis.literal(until) if t.is_date() else ibis.literal(until).cast(t)
        return ibis.ifelse(x > limit, ibis.null(t), x)
    if rule.precision == "year" and t.is_integer():
        return ibis.ifelse(x > until.year, ibis.null(t), x)
    return x


def outside(rule: DateRule, x: ir.Value, spec: Spec, *, period: bool) -> ir.BooleanValue | None:
    """True for the coarsened values of ``x`` outside the window: after its end, or (for the
    dataset's ``period`` column) before its start. None when the representation is not one
    the rule produces (the coarsening check refuses those already)."""
    end = window_end(spec)
    start_year, start_q = _quarter(spec.window.first())
    t = x.type()
    if rule.precision == "year" and t.is_integer():
        test = x > end.year
        return test | (x < start_year) if period else test
    if not t.is_string():
        return None
    if rule.precision == "year_quarter":
        test = x > f"{end.year}Q{(end.month + 2) // 3}"
        return test | (x < f"{start_year}Q{start_q}") if period else test
    if rule.precision == "year_month":
        test = x > f"{end.year}-{end.month:02d}"
        return test | (x < f"{start_year}-{3 * start_q - 2:02d}") if period else test
    return None
