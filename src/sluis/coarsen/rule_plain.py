"""The rules that leave a value as it is, or nearly (G3, G4): ``keep``, ``pseudonym`` and
``top`` (a count with its high values shown as one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import Field

from sluis.coarsen.rule import Mapper, Rule, invalid


class Keep(Rule):
    """The value as the source has it: only for values that are already coarse (codes,
    flags, counts, years)."""

    kind: Literal["keep"]
    keeps_value: ClassVar[bool] = True

    def words(self) -> str:
        return "as coded in the source"

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        return x

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        return None


class Pseudonym(Rule):
    """A meaningless sequence number in place of a national number or household id (G3)."""

    kind: Literal["pseudonym"]
    domain: Literal["person", "household"] = "person"
    pseudonymises: ClassVar[bool] = True
    reads: ClassVar[str | None] = "identifier"

    def words(self) -> str:
        return f"{self.domain} sequence number (pseudonym)"

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        return x  # assigned at linking (G3); left untouched

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        return None if x.type().is_integer() else x.notnull()


class TopCode(Rule):
    """A count with every value at or above ``max`` shown as ``max``."""

    kind: Literal["top"]
    max: Annotated[int, Field(gt=0)]

    def words(self) -> str:
        return f"count, {self.max} or more shown as {self.max}"

    def phrase(self) -> str:
        return f"top-coded at {self.max}"

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        n = self.numeric(x, column)
        top = ibis.literal(self.max).cast(n.type())
        return ibis.cases((n >= top, top), else_=n)

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        return x > self.max if x.type().is_numeric() else x.notnull()

    def arrow_type(self, given: pa.DataType) -> pa.DataType:
        return given

    def nesting_problem(self, target: TopCode, years: Sequence[int] | None) -> str | None:
        if target.max > self.max:
            return f"top {target.max} is finer than top {self.max}"
        return None

    def recode_map(self, target: TopCode, column: str) -> Mapper:
        top = target.max

        def top_map(v: object, _: int | None) -> object:
            if not isinstance(v, int | np.integer) or v > self.max:
                raise invalid(column, v, self)
            return min(int(v), top)

        return top_map
