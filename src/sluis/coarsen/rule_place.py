"""The rules of an administrative or economic hierarchy (G4): ``place`` (municipality,
arrondissement, province, region) and ``nace`` (NACE-BEL digits, one digit being the
section letter). A coarser level nests in every finer one."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Annotated, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import Field

from sluis.coarsen.classes import NACE_SECTIONS, REGIONS, nace_divisions, place_labels, place_levels
from sluis.coarsen.rule import (
    Classes,
    Code,
    LimitProblem,
    Limits,
    Lookup,
    Mapper,
    Rule,
    as_string,
    invalid,
)

#: the levels from fine to coarse
LEVELS = ("municipality", "arrondissement", "province", "region")


@cache
def _place_parents(source: str, target: str) -> dict[str, str]:
    """Code at level ``source`` -> code at the coarser level ``target``."""
    levels = place_levels()
    out: dict[str, str] = {}
    for municipality, region in levels["region"].items():
        codes = {
            "municipality": municipality,
            "arrondissement": levels["arrondissement"][municipality],
            "province": levels["province"][municipality],
            "region": region,
        }
        out[codes[source]] = codes[target]
    return out


class PlaceRule(Rule):
    """A place of residence or work at an administrative level."""

    kind: Literal["place"]
    level: Literal["region", "province", "arrondissement", "municipality"]
    reads: ClassVar[str | None] = "municipality"

    def words(self) -> str:
        return self.level

    def phrase(self) -> str:
        return self.level

    def labelled(self) -> Classes | None:
        return list(place_labels(self.level).items())

    def lookup(self) -> Lookup | None:
        if self.level == "municipality":
            return None
        mapping = place_levels()[self.level]
        return Lookup(as_string, pa.table({"key": list(mapping), "place": list(mapping.values())}))

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        """A region code given as the input stays itself (a place known only by region)."""
        x = as_string(x)
        if self.level == "municipality":
            return x
        own = list(REGIONS) if self.level == "region" else []
        return ibis.cases((x.isin(own), x), else_=found["place"]) if own else found["place"]

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        if self.level == "municipality":
            return x.notnull()  # never coarse enough to leave
        return ~x.isin(self.codes()) if x.type().is_string() else x.notnull()

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        if self.level == "region":
            return []
        which = "municipality-in-delivery" if self.level == "municipality" else "place-precision"
        return [
            LimitProblem(
                ("level",),
                which,
                "places at most as the region (plus classed municipal context, G4)",
            )
        ]

    def nesting_problem(self, target: PlaceRule, years: Sequence[int] | None) -> str | None:
        if LEVELS.index(target.level) < LEVELS.index(self.level):
            return f"{target.level} is finer than {self.level}"
        return None

    def recode_map(self, target: PlaceRule, column: str) -> Mapper:
        parents = _place_parents(self.level, target.level)

        def place_map(v: object, _: int | None) -> object:
            if str(v) not in parents:
                raise invalid(column, v, self)
            return parents[str(v)]

        return place_map


class NaceRule(Rule):
    """Economic activity cut to ``digits`` digits of NACE-BEL (1 = section)."""

    kind: Literal["nace"]
    digits: Annotated[int, Field(ge=1, le=5)]
    reads: ClassVar[str | None] = "nace"

    def words(self) -> str:
        return "NACE section" if self.digits == 1 else f"NACE {self.digits} digits"

    def phrase(self) -> str:
        return f"NACE {self.digits} digit{'s' if self.digits > 1 else ''}"

    def labelled(self) -> Classes | None:
        if self.digits == 1:
            return list(NACE_SECTIONS.items())
        if self.digits == 2:
            return [(d, label) for d, (_, label) in nace_divisions().items()]
        return None  # finer than the lists sluis ships

    def codes(self) -> list[Code] | None:
        if self.digits == 2:
            return None  # checked by length: a valid division is the source check's job (G2)
        return super().codes()

    def lookup(self) -> Lookup | None:
        if self.digits != 1:
            return None
        divisions = nace_divisions()
        return Lookup(
            lambda x: as_string(x).substr(0, 2),
            pa.table({"key": list(divisions), "section": [s for s, _ in divisions.values()]}),
        )

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        """NACE-BEL cut to ``digits``; one digit is the section letter (a section letter in
        the input stays; a division or longer code gets its division's section, unknown ->
        null)."""
        x = as_string(x)
        if self.digits > 1:
            return x.substr(0, self.digits)
        letter = x.upper()
        return ibis.cases(
            ((x.length() == 1) & letter.isin(list(NACE_SECTIONS)), letter),
            else_=found["section"],
        )

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        if not x.type().is_string():
            return x.notnull()
        if self.digits > 1:
            return x.length() > self.digits
        return ~x.isin(self.codes())

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        if self.digits > 2:
            return [LimitProblem(("digits",), "nace-digits", "NACE at most two digits (G4)")]
        return []

    def nesting_problem(self, target: NaceRule, years: Sequence[int] | None) -> str | None:
        if target.digits > self.digits:
            return f"NACE {target.digits} digits is finer than {self.digits}"
        return None

    def recode_map(self, target: NaceRule, column: str) -> Mapper:
        divisions = nace_divisions()
        digits = target.digits

        def nace_map(v: object, _: int | None) -> object:
            text = str(v)
            if self.digits == 1 or (digits == 1 and text.isalpha()):
                if len(text) != 1 or not text.isalpha():
                    raise invalid(column, v, self)
                return text
            if not text.isdigit() or len(text) > self.digits:
                raise invalid(column, v, self)
            if digits == 1:
                if text[:2] not in divisions:
                    raise invalid(column, v, self)
                return divisions[text[:2]][0]
            return text[:digits]

        return nace_map
