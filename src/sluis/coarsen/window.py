"""The spec's window as a rule of the coarsening stage (G4, G6, A3, B8).

An authorisation grants the quarters of its window and nothing later. Two rules follow,
applied to every dataset like the coarsening rules are:

- **Censoring** (:meth:`sluis.coarsen.rule.Rule.censor`): a date variable whose raw date
  falls after the last day of the window is delivered empty, read as "not (yet) observed by
  the end of the window". A death in 2024 of a person observed to 2022Q4 is such a value,
  as is the end of a legal cohabitation that was still running at the window's end.
- **The check** (:func:`outside`): after coarsening, no date or period may lie after the
  window's end, and the dataset's period (``quarter``, ``year``) may not lie before the
  window's start (its earliest look-back, where the spec declares one). A value outside is
  a refusal (``outside-window``), never dropped silently.

Dates before the window's start are history the decisions ask for (a birth date, the date a
nationality was acquired) and are not cut; a period column before the start is.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis.expr.types as ir

from sluis.extract.frame import quarter_ends

if TYPE_CHECKING:
    from sluis.coarsen.rule import Rule
    from sluis.spec.model import Spec


def window_end(spec: Spec) -> dt.date:
    """The last day of the spec's window (the last day of its end quarter)."""
    return quarter_ends(spec.window.end, spec.window.end)["qend"][0].as_py()


def window_start(spec: Spec) -> tuple[int, int]:
    """The first quarter of the spec's window, or of its earliest look-back: (year, quarter)."""
    first = spec.window.first()
    return int(first[:4]), int(first[5])


def outside(rule: Rule, x: ir.Value, spec: Spec, *, period: bool) -> ir.BooleanValue | None:
    """True for the coarsened values of ``x`` outside the window: after its end, or (for the
    dataset's ``period`` column) before its start (:meth:`sluis.coarsen.rule.Rule.outside`).
    None when no value of the rule can be."""
    return rule.outside(x, end=window_end(spec), start=window_start(spec), period=period)
