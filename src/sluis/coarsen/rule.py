"""What every coarsening rule is and does (G4, G5): the base class of the rule kinds.

A spec's ``coarsen:`` entry is loaded straight into one subclass of :class:`Rule` (the
``kind`` picks it, :data:`sluis.coarsen.kinds.Coarsen`), and that object carries everything
the stages ask of a rule: the engine expression that coarsens a raw column, the test for a
value finer than the rule, its codes and labels, its text in three registers, the decision
limits it must keep, whether another rule nests in it and the recoding map to that rule. A
consumer (coarsening, its check, the spec check, the SCRA's recoding, the spec summary, the
codebook) calls these methods and never asks which kind it holds; a new kind is one new
subclass (see ``docs/coarsening.md``, "How to add a coarsening rule").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import ibis.expr.types as ir
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from sluis.coarsen.errors import CoarseningError
from sluis.errors import SluisError

Code = int | float | str
Classes = list[tuple[Code, str]]
#: ``(staged value, reference year) -> recoded value`` of one global recoding step
Mapper = Callable[[object, int | None], object]
#: fields shown as a bare word in a rule's text (``date year_quarter``, ``place region``)
_BARE = ("precision", "classes", "level")


class RecodeError(SluisError):
    """A staged value outside its rule's classes, or a step that is not a coarsening."""


@dataclass(frozen=True)
class Lookup:
    """A small table to join on ``key(column)``: ``table`` has a ``key`` column and values."""

    key: Callable[[ir.Value], ir.Value]
    table: pa.Table


@dataclass(frozen=True)
class Limits:
    """What the decision (or the project's floor) allows a rule, for :meth:`Rule.limit_problems`."""

    #: the finest date precision allowed for this variable
    finest_date: str
    max_country_classes: int
    min_amount_width: int
    min_age_width: int


@dataclass(frozen=True)
class LimitProblem:
    """A rule asking for more than the decision allows: the spec field under ``coarsen``
    (``("digits",)``, ``("breaks", 2)``), the spec-check rule id and the message."""

    field: tuple[str | int, ...]
    rule: str
    message: str


def as_string(x: ir.Value) -> ir.StringValue:
    """``x`` as text (codes arrive as text or as integers)."""
    return x if x.type().is_string() else x.cast("string")  # type: ignore[return-value]


def invalid(column: str, value: object, rule: Rule) -> RecodeError:
    """The error for a staged value that is not a class of ``rule``."""
    return RecodeError(
        f"staged value {value!r} is not a class of {column}'s rule ({rule.text(full=True)})",
        rule="scra-recode-value",
        column=column,
        hint="the staged extract must be coarsened by the spec's rules before the SCRA",
    )


class Rule(BaseModel):
    """One coarsening rule of a spec variable. Subclasses set ``kind`` (a ``Literal``, the
    spec's ``kind:``), their fields, and override the methods whose default does not fit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    #: the value leaves as the source (or the computing stage) has it: labels come from the
    #: source column's code list, and the spec check asks that it is not an identifier
    keeps_value: ClassVar[bool] = False
    #: the value stands for a person or household (G3): never shown in a message
    pseudonymises: ClassVar[bool] = False
    #: what the rule reads from the source column (spec check, ``coarsen-mismatch``):
    #: ``identifier``, ``date``, ``country``, ``municipality``, ``EUR``, ``nace`` or None
    reads: ClassVar[str | None] = None

    # -- text --------------------------------------------------------------------------

    def text(self, *, full: bool = False) -> str:
        """The rule as a short technical text for messages, reports and the codebook:
        ``amount width 500 top 20000``, ``age breaks 0..85``; ``full`` lists every break
        (``age breaks 0, 5, 10``), as the SCRA's reports do."""
        fields = self.model_dump(exclude={"kind"}, exclude_none=True)
        parts = [str(v) if k in _BARE else f"{k} {v}" for k, v in fields.items()]
        return " ".join([self.kind, *parts])

    def words(self) -> str:
        """What the rule does to a value, in a data steward's words (``sluis spec show``)."""
        raise NotImplementedError(type(self).__name__)

    def phrase(self) -> str:
        """The rule in the words a variable's label uses (``20-year classes``), for the label
        of a column the SCRA recoded; the technical :meth:`text` where there are none."""
        return self.text()

    # -- the engine ---------------------------------------------------------------------

    def lookup(self) -> Lookup | None:
        """The small table :meth:`expression` needs joined to the raw column, or None."""
        return None

    def expression(
        self,
        x: ir.Value,
        found: dict[str, ir.Value],
        year: ir.IntegerValue | None,
        *,
        column: str,
    ) -> ir.Value:
        """The coarsened column for raw column ``x`` (nulls stay null). ``found`` holds the
        joined columns of :meth:`lookup` by name; ``year`` is the reference year of EU
        membership, or None for today's; ``column`` names ``x`` in errors."""
        raise NotImplementedError(type(self).__name__)

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        """True for the rows whose coarsened value of ``x`` is finer than the rule allows
        (null: never); None when no value of the column can be. Exact dates are refused for
        every rule by the check itself (:func:`sluis.coarsen.check.finer`)."""
        raise NotImplementedError(type(self).__name__)

    def censor(self, x: ir.Value, until: dt.date) -> ir.Value:
        """``x`` with values after the window's last day ``until`` made empty; only dates
        have such values (:mod:`sluis.coarsen.window`)."""
        return x

    def outside(
        self, x: ir.Value, *, end: dt.date, start: tuple[int, int], period: bool
    ) -> ir.BooleanValue | None:
        """True for coarsened values after the window's last day ``end`` or, for the
        dataset's ``period``, before its first quarter ``start`` (year, quarter); None for
        rules whose values are not dates."""
        return None

    def arrow_type(self, given: pa.DataType) -> pa.DataType:
        """The Arrow type of a column coarsened by this rule (``given``: the type it had)."""
        return pa.string()

    # -- classes ------------------------------------------------------------------------

    def labelled(self) -> Classes | None:
        """The classes the rule delivers as (code, label) in code order, for the codebook;
        None for rules without a class list (the value is a quarter, a count, a code)."""
        return None

    def codes(self) -> list[Code] | None:
        """The values a coarsened column may hold, or None when the check is not a list."""
        found = self.labelled()
        return None if found is None else [code for code, _ in found]

    def open_below(self) -> Code | None:
        """The code of the open class below the first bound of a numeric class rule (listed
        in a codebook only when the data hold it); None for other rules."""
        return None

    def date_precision(self) -> str | None:
        """The precision of a date rule (the Stata file holds quarters and months as Stata
        dates); None for other rules."""
        return None

    # -- the decision's limits ----------------------------------------------------------

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        """Where the rule asks for more than ``limits`` allow (G4); none by default."""
        return []

    # -- global recoding (G5) ------------------------------------------------------------

    def recode_problem(self, target: Rule, years: Sequence[int] | None = None) -> str | None:
        """Why recoding values coarsened by this rule to ``target`` would not be a
        coarsening along a hierarchy (every class of this rule inside one class of
        ``target``); None when ``target`` nests it. ``years`` are the reference years of
        the rows (where membership changes over time), None when the dataset has no period."""
        if self.kind != target.kind:
            return f"a {self.kind} variable cannot be recoded to kind {target.kind}"
        return self.nesting_problem(target, years)

    def nesting_problem(self, target: Any, years: Sequence[int] | None) -> str | None:
        """:meth:`recode_problem` for a ``target`` of this rule's own kind."""
        return f"kind {self.kind} declares no hierarchy to recode along"

    def needs_year(self, target: Rule) -> bool:
        """Whether recoding to ``target`` depends on the row's reference year."""
        return False

    def recode_map(self, target: Any, column: str) -> Mapper:
        """The function ``(staged value, reference year) -> value coarsened by target`` of
        one recoding step, applied to distinct values only; it raises :class:`RecodeError`
        for a value that is not a class of this rule. Only for a ``target`` that nests this
        rule (:meth:`recode_problem` is None)."""
        raise RecodeError(  # pragma: no cover (the spec checker refuses these)
            f"{column}: no hierarchy from {self.text(full=True)} to {target.text(full=True)}",
            rule="scra-recode-not-coarser",
        )

    # -- helpers of the subclasses -------------------------------------------------------

    def numeric(self, x: ir.Value, column: str) -> ir.NumericValue:
        """``x``, refused unless it is a number (``input-type``)."""
        if not x.type().is_numeric():
            raise CoarseningError(
                f"column {column!r} is {x.type()}, but its rule {self.text()} needs a number",
                rule="input-type",
                column=column,
            )
        return x  # type: ignore[return-value]


def missing(x: ir.NumericValue) -> ir.BooleanValue:
    """Null, or NaN for floating columns (DuckDB sorts NaN above every number)."""
    return x.isnull() | x.isnan() if x.type().is_floating() else x.isnull()
