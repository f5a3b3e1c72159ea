"""The numeric class rules (G4): ``amount``, ``age`` and ``classes``.

A value is coded by the lower bound of its class; values below the first bound form one
open class coded ``first bound - 1`` (``-1`` for amounts, whose first bound is 0); the last
bound opens a class without end. A coarser rule of the same kind nests in a finer one when
each of its bounds is a bound of the finer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Annotated, Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from sluis.coarsen.rule import Classes, LimitProblem, Limits, Mapper, Rule, invalid, missing

#: output type of the amount and age classes (Stata: long, int)
AMOUNT_TYPE = "int32"
AGE_TYPE = "int16"
#: breaks all in this range are calendar years, written without a thousands separator
YEARS = (1800, 2200)


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_increasing(value: list[Any]) -> list[Any]:
    if len(value) < 2 or sorted(set(value)) != value:
        raise ValueError("at least two increasing breaks")
    return value


class ClassedRule(Rule):
    """What the three numeric class rules share; a subclass gives :meth:`bounds`, its
    labels (:meth:`label`) and its engine type (:meth:`engine_type`)."""

    def engine_type(self) -> str:
        """The engine type of the coarsened column (Stata: int, long or double)."""
        return "int32"

    def bounds(self) -> list[int] | list[float]:
        """The lower bounds of the classes; the last opens a class without end."""
        raise NotImplementedError(type(self).__name__)

    def open_below(self) -> int | float:
        return self.bounds()[0] - 1

    def breaks_given(self) -> list[int] | list[float] | None:
        """The breaks as the spec gives them, None for a rule given otherwise."""
        return getattr(self, "breaks", None)

    def text(self, *, full: bool = False) -> str:
        breaks = self.breaks_given()
        if breaks is None:
            return super().text(full=full)
        if full:
            return f"{self.kind} breaks " + ", ".join(f"{b:g}" for b in breaks)
        return f"{self.kind} breaks {_num(breaks[0])}..{_num(breaks[-1])}"

    def phrase(self) -> str:
        breaks = self.breaks_given() or []
        widths = {b - a for a, b in pairwise(breaks)}
        width = _number(widths.pop()) if len(widths) == 1 else None
        shown = ", ".join(_number(b) for b in breaks)
        if len(shown) <= 40:
            return f"classes starting {shown}"
        return f"classes of {width} from {_number(breaks[0])}" if width is not None else "classes"

    def label(self, low: int | float, b: Sequence[int | float]) -> Classes:
        """The (code, label) of every class: ``low`` is the open class below ``b[0]``."""
        years = all(float(x).is_integer() and YEARS[0] <= x <= YEARS[1] for x in b)
        num = (lambda x: str(int(x))) if years else _num  # calendar years read as years
        first = (low, f"under {num(b[0])}")
        inner = [(lo, f"{num(lo)} to under {num(hi)}") for lo, hi in pairwise(b)]
        return [first, *inner, (b[-1], f"{num(b[-1])} or more")]

    def labelled(self) -> Classes | None:
        return self.label(self.open_below(), self.bounds())

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        return self.stepped(self.numeric(x, column))

    def stepped(self, x: ir.NumericValue) -> ir.Value:
        """The largest bound not above ``x``; below the first bound, ``first bound - 1``."""
        kind = self.engine_type()
        steps = [(x >= lo, ibis.literal(lo).cast(kind)) for lo in reversed(self.bounds())]
        return ibis.cases(
            (missing(x), ibis.null(kind)),
            *steps,
            else_=ibis.literal(self.open_below()).cast(kind),
        )

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        return ~x.isin(self.codes()) if x.type().is_numeric() else x.notnull()

    def arrow_type(self, given: pa.DataType) -> pa.DataType:
        return pa.from_numpy_dtype(np.dtype(self.engine_type()))

    def nesting_problem(self, target: ClassedRule, years: Sequence[int] | None) -> str | None:
        old = {float(b) for b in self.bounds()}
        finer = [b for b in target.bounds() if float(b) not in old]
        if finer:
            return (
                f"bound {finer[0]:g} is not a bound of the variable's rule (every new class "
                "must be a union of its classes)"
            )
        return None

    def recode_map(self, target: ClassedRule, column: str) -> Mapper:
        old = [float(b) for b in self.bounds()]
        valid = {*old, old[0] - 1}
        edges = np.array([float(b) for b in target.bounds()])
        whole = target.arrow_type(pa.float64()) != pa.float64()

        def numeric_map(v: object, _: int | None) -> object:
            if not isinstance(v, int | float | np.number) or float(v) not in valid:
                raise invalid(column, v, self)
            i = int(np.searchsorted(edges, float(v), side="right")) - 1
            code = edges[0] - 1 if i < 0 else edges[i]
            return int(code) if whole else float(code)

        return numeric_map


class AmountRule(ClassedRule):
    """Amounts in euro classes: equal ``width`` from 0 up to ``top`` (then one open class),
    or explicit lower bounds ``breaks``; negative amounts get their own open class."""

    kind: Literal["amount"]
    width: Annotated[int, Field(gt=0)] | None = None
    top: Annotated[int, Field(gt=0)] | None = None
    breaks: list[int] | None = None
    reads: ClassVar[str | None] = "EUR"

    def engine_type(self) -> str:
        return AMOUNT_TYPE

    @model_validator(mode="after")
    def _one_form(self) -> AmountRule:
        if (self.width is None) == (self.breaks is None):
            raise ValueError("give either width (with top) or breaks")
        if self.width is not None and self.top is None:
            raise ValueError("an amount width needs a top (the start of the open class)")
        if self.breaks is not None and sorted(set(self.breaks)) != self.breaks:
            raise ValueError("breaks must increase")
        return self

    def bounds(self) -> list[int]:
        if self.breaks is not None:
            return list(self.breaks)
        assert self.width is not None and self.top is not None
        return [*range(0, self.top, self.width), self.top]

    def words(self) -> str:
        if self.width is not None:
            return f"EUR classes of {self.width:,} up to {self.top:,}, then open"
        return "EUR classes from " + ", ".join(f"{b:,}" for b in self.breaks or [])

    def phrase(self) -> str:
        if not self.breaks:
            return f"EUR {self.width:,} classes up to {self.top:,}"
        widths = {b - a for a, b in pairwise(self.breaks)}
        return f"EUR {_number(widths.pop())} classes" if len(widths) == 1 else "EUR classes"

    def label(self, low: int | float, b: Sequence[int | float]) -> Classes:
        first = (low, f"less than EUR {_num(b[0])}")
        inner = [(lo, f"EUR {_num(lo)}-{_num(hi - 1)}") for lo, hi in pairwise(b)]
        return [first, *inner, (b[-1], f"EUR {_num(b[-1])} or more")]

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        """The lower bound of the amount's class; below 0 (below the first break) the open
        class ``first bound - 1``; from ``top`` (the last break) on, ``top``."""
        n = self.numeric(x, column)
        if self.breaks is not None:
            return self.stepped(n)
        assert self.width is not None and self.top is not None
        lower = (n / self.width).floor() * self.width
        return ibis.cases(
            (missing(n), ibis.null(AMOUNT_TYPE)),
            (n < 0, ibis.literal(self.open_below(), AMOUNT_TYPE)),
            (n >= self.top, ibis.literal(self.top, AMOUNT_TYPE)),
            else_=lower.cast(AMOUNT_TYPE),
        )

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        minimum = limits.min_amount_width
        if self.width is not None:
            if self.width < minimum:
                return [
                    LimitProblem(
                        ("width",),
                        "amount-class-width",
                        f"classes of EUR {self.width}; at least EUR {minimum}",
                    )
                ]
            return []
        return [
            LimitProblem(
                ("breaks", i + 1),
                "amount-class-width",
                f"class {a}-{b} is EUR {b - a} wide; at least EUR {minimum}",
            )
            for i, (a, b) in enumerate(pairwise(self.breaks or []))
            if b - a < minimum
        ]


class AgeRule(ClassedRule):
    """Ages in completed years on the reference date, in classes."""

    kind: Literal["age"]
    breaks: list[int]
    reads: ClassVar[str | None] = "date"

    def engine_type(self) -> str:
        return AGE_TYPE

    @field_validator("breaks")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        return _check_increasing(value)

    def bounds(self) -> list[int]:
        return [int(b) for b in self.breaks]

    def words(self) -> str:
        return "age classes from " + ", ".join(str(b) for b in self.breaks)

    def phrase(self) -> str:
        widths = {b - a for a, b in pairwise(self.breaks)}
        if len(widths) == 1:
            start = _number(self.breaks[0])
            return f"{_number(widths.pop())}-year classes" + (
                f" from {start}" if start != "0" else ""
            )
        return super().phrase()

    def label(self, low: int | float, b: Sequence[int | float]) -> Classes:
        first = (low, f"under {b[0]} years")
        inner = [(lo, f"{lo}-{hi - 1} years") for lo, hi in pairwise(b)]
        return [first, *inner, (b[-1], f"{b[-1]} years or older")]

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        narrowest = min(b - a for a, b in pairwise(self.breaks))
        if narrowest < limits.min_age_width:
            return [
                LimitProblem(
                    ("breaks",),
                    "age-class-width",
                    f"an age class of {narrowest} years; at least {limits.min_age_width}",
                )
            ]
        return []


class NumericClasses(ClassedRule):
    """A number (percentage, rate, months) in classes with increasing lower bounds."""

    kind: Literal["classes"]
    breaks: list[float]

    @field_validator("breaks")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        return _check_increasing(value)

    def integral(self) -> bool:
        """True when every break is a whole number: the classes are then coded as integers."""
        return all(float(b).is_integer() for b in self.breaks)

    def engine_type(self) -> str:
        return "int32" if self.integral() else "float64"

    def bounds(self) -> list[int] | list[float]:
        return [int(b) for b in self.breaks] if self.integral() else list(self.breaks)

    def words(self) -> str:
        return "classes from " + ", ".join(f"{b:g}" for b in self.breaks)
