"""The socio-economic position cut to a level of its nomenclature (G4, G5): ``kind: sep``.

KSZ's post-2003 tree of socio-economic positions (``domain/sep_nomenclature.csv``) is a
hierarchy whose codes grow one digit per level: ``1`` working, ``11`` employee, ``111`` one
job as employee. A code's parent is the code less its last digit, so cutting a code to its
first ``level`` digits is its class at that level (a leaf above the level, ``4`` or ``36``,
stays as it is; a coarser code in the source stays too). ``level: 3`` keeps every code; a
trajectory check's recode step to a lower level lets the SCRA recode trajectories along the
tree instead of suppressing states
(:mod:`sluis.scra.trajectory`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Annotated, ClassVar, Literal

import ibis.expr.types as ir
from pydantic import Field

from sluis.coarsen.rule import Classes, LimitProblem, Limits, Mapper, Rule, as_string, invalid

_LEVELS = {1: "main class", 2: "group", 3: "detailed position"}


@cache
def _tree() -> dict[str, str]:
    """Code -> English label of every position of the nomenclature."""
    from sluis.domain.codelists import codelists

    return dict(codelists()["sep"].labels)


class SepRule(Rule):
    """Socio-economic position (KSZ nomenclature) cut to ``level`` digits: 1 = main class,
    2 = group, 3 = the position itself."""

    kind: Literal["sep"]
    level: Annotated[int, Field(ge=1, le=3)]
    reads: ClassVar[str | None] = None

    def words(self) -> str:
        return f"socio-economic position, {_LEVELS[self.level]} (KSZ nomenclature)"

    def phrase(self) -> str:
        return f"socio-economic {_LEVELS[self.level]}"

    def labelled(self) -> Classes | None:
        """Every position of the tree down to ``level``: a coarser code (``1`` in a source
        that knows only the main class) is a class of its own, as the code list has it."""
        return [(code, label) for code, label in sorted(_tree().items()) if len(code) <= self.level]

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        return as_string(x).substr(0, self.level)

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        if not x.type().is_string():
            return x.notnull()
        return x.length() > self.level

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        return []

    def nesting_problem(self, target: SepRule, years: Sequence[int] | None) -> str | None:
        if target.level > self.level:
            return f"sep level {target.level} is finer than level {self.level}"
        return None

    def recode_map(self, target: SepRule, column: str) -> Mapper:
        """Cut to ``target.level`` digits. A code already coarser than this rule (a position's
        group, after an earlier recode step) is a class of the same tree and is cut too."""
        codes = {code for code in _tree() if len(code) <= self.level}
        level = target.level

        def sep_map(v: object, _: int | None) -> object:
            text = str(v)
            if text not in codes:
                raise invalid(column, v, self)
            return text[:level]

        return sep_map
