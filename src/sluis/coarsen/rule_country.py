"""The ``country`` rule (G4): countries in a named class scheme.

The EU classes depend on the year: a country is "other EU" in a year when it is a member on
31 December of that year. ``class15`` nests in ``eu4`` only in the years in which no class
holds EU members and other countries together (:func:`class15_eu_status`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import ClassVar, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from sluis.coarsen.classes import (
    BELGIUM,
    BIRTH5,
    BIRTH_REGIONS,
    EU4,
    UNKNOWN,
    class15_labels,
    countries,
    country_labels,
    eu_years,
)
from sluis.coarsen.rule import (
    Classes,
    LimitProblem,
    Limits,
    Lookup,
    Mapper,
    RecodeError,
    Rule,
    as_string,
    invalid,
)
from sluis.domain.codelists import read_csv

#: the schemes in a data steward's words (spec summary) and in a variable label's words
_WORDS = {
    "class15": "about fifteen country classes",
    "eu4": "Belgian / EU / non-EU / other",
    "birth5": "Flemish / Walloon / Brussels region / other EU / non-EU",
    "country_code": "every country",
}
_PHRASE = {
    "class15": "15 country classes",
    "eu4": "Belgium, other EU, non-EU",
    "birth5": "Belgian region, other EU, non-EU",
    "country_code": "country",
}
#: schemes a scheme nests in exactly (class15 -> eu4 only in some years, below)
_NESTS = {
    "country_code": {"country_code", "class15", "eu4"},
    "class15": {"class15", "eu4"},
    "birth5": {"birth5", "eu4"},
    "eu4": {"eu4"},
}
_BIRTH5_TO_EU4 = {"01": "01", "02": "01", "03": "01", "04": "01", "05": "02", "06": "03"}
_BIRTH5_TO_EU4[UNKNOWN] = UNKNOWN


@cache
def class15_eu_status(year: int) -> dict[str, str]:
    """Per class15 class its eu4 class in ``year``: ``'02'`` when every country of the class
    is an EU member on 31 December of ``year``, ``'03'`` when none is, ``'mixed'`` otherwise
    (the United Kingdom in class 04 from 2020, Poland before 2004, Croatia before 2013...)."""
    members: dict[str, set[bool]] = {}
    for r in read_csv("country_classes.csv"):
        accession = int(r["eu_accession_year"]) if r["eu_accession_year"] else None
        exit_year = int(r["eu_exit"][:4]) if r["eu_exit"] else None
        member = (
            accession is not None and accession <= year and (exit_year is None or year < exit_year)
        )
        members.setdefault(r["class15"], set()).add(member)
    status = {c: "mixed" if len(m) > 1 else "02" if True in m else "03" for c, m in members.items()}
    status["01"] = "01"  # Belgium
    status[UNKNOWN] = UNKNOWN  # unknown, stateless, not stated
    return status


def _year_ranges(years: list[int]) -> str:
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


class CountryRule(Rule):
    """Countries in a named class scheme: ``class15`` (about fifteen classes), ``eu4``
    (Belgian, EU, non-EU, other), ``birth5`` (Flemish, Walloon, Brussels region, other EU,
    non-EU) or ``country_code`` (every country: finer than any decision allows)."""

    kind: Literal["country"]
    classes: Literal["class15", "eu4", "birth5", "country_code"]
    reads: ClassVar[str | None] = "country"

    def class_count(self) -> int:
        """Substantive classes of the scheme (the unknown class not counted)."""
        if self.classes == "class15":
            return len(set(class15_labels()) - {UNKNOWN})
        if self.classes == "country_code":
            return len(countries())
        return {"eu4": 3, "birth5": 5}[self.classes]

    def words(self) -> str:
        return f"{_WORDS[self.classes]} ({self.class_count()} classes)"

    def phrase(self) -> str:
        return _PHRASE[self.classes]

    def labelled(self) -> Classes | None:
        scheme = {
            "class15": class15_labels,
            "eu4": lambda: EU4,
            "birth5": lambda: BIRTH5,
            "country_code": country_labels,
        }[self.classes]()
        return sorted(scheme.items())

    def lookup(self) -> Lookup | None:
        if self.classes == "class15":
            rows = countries()
            return Lookup(
                as_string,
                pa.table({"key": list(rows), "class15": [r["class15"] for r in rows.values()]}),
            )
        if self.classes in ("eu4", "birth5"):
            codes = list(countries())
            years = [eu_years(c) for c in codes]
            return Lookup(
                as_string,
                pa.table(
                    {
                        "key": codes,
                        "accession": pa.array([a for a, _ in years], pa.int32()),
                        "exit": pa.array([e for _, e in years], pa.int32()),
                        "known": [True] * len(codes),
                    }
                ),
            )
        return None

    def expression(
        self, x: ir.Value, found: dict[str, ir.Value], year: ir.IntegerValue | None, *, column: str
    ) -> ir.Value:
        """A NIS country code in the scheme; codes outside the country list (998
        stateless, 999 unknown, anything else) are the unknown class '99'."""
        x = as_string(x)
        null = ibis.null("string")
        if self.classes == "country_code":  # a code outside the list is unknown (999)
            known = ibis.literal(sorted(country_labels()))
            return ibis.cases((x.isnull(), null), (known.contains(x), x), else_="999")
        if self.classes == "class15":
            return ibis.cases((x.isnull(), null), else_=found["class15"].fill_null(UNKNOWN))
        known = found["known"].notnull()
        accession, exit_ = found["accession"], found["exit"]
        if year is None:
            member = accession.notnull() & exit_.isnull()
        else:
            member = accession.notnull() & (accession <= year) & (exit_.isnull() | (year < exit_))
        if self.classes == "eu4":
            return ibis.cases(
                (x.isnull(), null),
                (x == BELGIUM, "01"),
                (member, "02"),
                (known, "03"),
                else_=UNKNOWN,
            )
        regions = [(x == nis, code) for nis, code in BIRTH_REGIONS.items()]
        return ibis.cases(
            (x.isnull(), null),
            *regions,
            (x == BELGIUM, "01"),
            (member, "05"),
            (known, "06"),
            else_=UNKNOWN,
        )

    def finer(self, x: ir.Value) -> ir.BooleanValue | None:
        return ~x.isin(self.codes()) if x.type().is_string() else x.notnull()

    def limit_problems(self, limits: Limits) -> list[LimitProblem]:
        count = self.class_count()
        if count > limits.max_country_classes:
            return [
                LimitProblem(
                    ("classes",),
                    "country-classes",
                    f"{self.classes} has {count} classes; at most {limits.max_country_classes}",
                )
            ]
        return []

    def needs_year(self, target: Rule) -> bool:
        return (
            isinstance(target, CountryRule)
            and self.classes in ("class15", "country_code")
            and target.classes == "eu4"
        )

    def nesting_problem(self, target: CountryRule, years: Sequence[int] | None) -> str | None:
        if target.classes not in _NESTS[self.classes]:
            return f"the {self.classes} classes do not nest in {target.classes}"
        if not self.needs_year(target):
            return None
        if years is None:
            return (
                f"{self.classes} nests in eu4 only for a known reference year, and "
                "this dataset has no period (quarter or year)"
            )
        if self.classes == "class15":
            mixed = sorted(y for y in years if "mixed" in class15_eu_status(y).values())
            if mixed:
                return (
                    f"class15 does not nest in eu4 in {_year_ranges(mixed)} (a class "
                    "holds EU members and other countries then, e.g. the United Kingdom "
                    "from 2020)"
                )
        return None

    def recode_map(self, target: CountryRule, column: str) -> Mapper:
        src, dst = self.classes, target.classes
        if src == dst:
            return lambda v, _: v
        if src == "birth5":  # -> eu4

            def birth5_map(v: object, _: int | None) -> object:
                if str(v) not in _BIRTH5_TO_EU4:
                    raise invalid(column, v, self)
                return _BIRTH5_TO_EU4[str(v)]

            return birth5_map
        if src == "country_code" and dst == "eu4":
            return self._eu4_by_country(column)
        classes15 = set(class15_labels()) | {UNKNOWN}
        by_country = {code: row["class15"] for code, row in countries().items()}

        def country_map(v: object, year: int | None) -> object:
            text = str(v)
            if src == "country_code":
                text = by_country.get(text, UNKNOWN)
            elif text not in classes15:
                raise invalid(column, v, self)
            if dst == "class15":
                return text
            if year is None:
                raise RecodeError(
                    f"{column}: recoding to eu4 needs the row's reference year",
                    rule="scra-recode-not-coarser",
                )
            status = class15_eu_status(year).get(text, UNKNOWN)
            if status == "mixed":
                raise RecodeError(
                    f"{column}: class15 class {text} holds EU members and other countries in "
                    f"{year}, so it does not nest in eu4",
                    rule="scra-recode-not-coarser",
                    column=column,
                )
            return status

        return country_map

    def _eu4_by_country(self, column: str) -> Mapper:
        """country_code -> eu4 by the country's own membership in the row's year, as the
        engine coarsens a raw country (not through its class15 class, which may be mixed)."""
        known = countries()

        def eu4_map(v: object, year: int | None) -> object:
            if year is None:
                raise RecodeError(
                    f"{column}: recoding to eu4 needs the row's reference year",
                    rule="scra-recode-not-coarser",
                )
            text = str(v)
            if text == BELGIUM:
                return "01"
            if text not in known:
                return UNKNOWN
            accession, exit_ = eu_years(text)
            member = accession is not None and accession <= year and (exit_ is None or year < exit_)
            return "02" if member else "03"

        return eu4_map
