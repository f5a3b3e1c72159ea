"""What a research quantity is (G5): one figure of the decision's own analysis, declared once.

The SCRA's measures say how far treatment lowered the risk; a research quantity says what
it cost the analysis the decision authorises: the researchers' own figure (a share, a
rate, per group) computed on the staged extract before treatment and on the treated one,
so the difference per group shows whether treatment damaged the analysis
(:mod:`sluis.scra.infoloss`). A spec names the quantities of its decision in
``scra.research``; ``sluis spec check`` refuses an id that is not in
:data:`sluis.scra.research.REGISTRY` or that reads a variable the spec does not deliver
(``unknown-research-quantity``).

A quantity is an Ibis computation over the extract's datasets, so it runs in the engine
(DuckDB) on whole columns, never a Python loop over persons. It returns one row per group:
the group columns, ``units`` (how many persons or person-quarters the value is taken
over, its denominator) and ``value``. A null (missing before treatment, missing or
suppressed after) in a group column or in the outcome leaves the unit out of the
denominator: the quantity is what a researcher gets from the data as delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the spec check reads the declarations without loading Ibis
    import ibis.expr.types as ir

#: the staged datasets by name -> one row per group: group columns, units, value
Compute = Callable[[Mapping[str, "ir.Table"]], "ir.Table"]


@dataclass(frozen=True)
class Quantity:
    """One research quantity: its id, what it means and how it is computed."""

    #: ``domain.name``: what a spec's ``scra.research`` lists
    id: str
    #: the decision it serves (``25/074``): a reader's pointer, not a restriction
    decision: str
    #: the figure's title in the report
    title: str
    #: the group columns of the result, in order (the first is a figure's x axis)
    groups: tuple[str, ...]
    #: what ``value`` is (``share naturalised``), for tables and axes
    value: str
    #: the ``dataset.variable`` columns it reads (the spec must deliver them)
    needs: tuple[str, ...]
    #: how it is computed, in the report's words (population, outcome, groups)
    description: str
    compute: Compute

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets it reads, in the order of ``needs``."""
        return tuple(dict.fromkeys(need.split(".", 1)[0] for need in self.needs))
