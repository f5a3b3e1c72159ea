"""Global recoding along the hierarchies the coarsening rules declare (G5).

The spec's ``scra.recode`` lists steps ``{dataset, variable, to}``: the staged values of a
variable, already coarsened by its own rule (see docs/coarsening.md for their
representation), are recoded to the coarser rule ``to``. Each class of the variable's rule
lies inside exactly one class of ``to`` (the spec checker refuses anything else,
:func:`sluis.spec.rules.recode_problem`), so recoding merges classes and never makes a
column finer, and never drops a row. This is sdcMicro's ``globalRecode`` with the
hierarchy taken from the rules instead of given as breaks:

=========================  ==================================================================
rule -> to                 staged value -> recoded value
=========================  ==================================================================
date year_month -> ...     ``'2013-05'`` -> ``'2013Q2'`` (year_quarter) or ``2013`` (year)
date year_quarter -> year  ``'2013Q2'`` -> ``2013`` (int16)
amount / age / classes     lower bound -> the lower bound of the coarser class containing
                           it; the open class below the first bound -> ``first bound - 1``
top                        ``min(value, max)``
nace digits d -> 1         division ``'45'`` -> section ``'G'``; d -> d' >= 2: first d' digits
country class15 -> eu4     ``'01'`` -> ``'01'``, ``'99'`` -> ``'99'``, a class -> ``'02'`` or
                           ``'03'`` by the EU membership of its countries in the row's year
country birth5 -> eu4      ``'01'``-``'04'`` -> ``'01'``, ``'05'`` -> ``'02'``, ``'06'`` ->
                           ``'03'``, ``'99'`` -> ``'99'``
place level -> level       NIS code -> the code of the coarser level
=========================  ==================================================================

A staged value that is not a class of the variable's rule is an error
(``scra-recode-value``), never passed through. The mapping is computed on the distinct
values (with the year where membership matters) and applied to the column with Arrow, no
Python loop over records.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.spec.model import (
    AgeRule,
    AmountRule,
    Coarsen,
    CountryRule,
    DateRule,
    NaceRule,
    NumericClasses,
    PlaceRule,
    TopCode,
)
from sluis.spec.rules import class15_eu_status, numeric_bounds, recode_problem

_YEAR_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_BIRTH5_TO_EU4 = {"01": "01", "02": "01", "03": "01", "04": "01", "05": "02", "06": "03"}
_BIRTH5_TO_EU4["99"] = "99"


class RecodeError(SluisError):
    """A staged value outside its rule's classes, or a step that is not a coarsening."""


def rule_text(rule: Coarsen) -> str:
    """A rule as a short text for reports: ``date year_quarter``, ``amount width 500 top
    20000``, ``age breaks 0..85``."""
    fields = rule.model_dump(exclude={"kind"}, exclude_none=True)
    parts = [
        str(v) if k in ("precision", "classes", "level") else f"{k} {v}" for k, v in fields.items()
    ]
    if isinstance(rule, NumericClasses | AgeRule | AmountRule) and rule.breaks is not None:
        parts = ["breaks " + ", ".join(f"{b:g}" for b in rule.breaks)]
    return " ".join([rule.kind, *parts])


def target_type(current: Coarsen, target: Coarsen, given: pa.DataType) -> pa.DataType:
    """The Arrow type of a column coarsened by ``target`` (docs/coarsening.md)."""
    if isinstance(target, DateRule):
        return pa.int16() if target.precision == "year" else pa.string()
    if isinstance(target, AmountRule):
        return pa.int32()
    if isinstance(target, AgeRule):
        return pa.int16()
    if isinstance(target, NumericClasses):
        whole = all(float(b).is_integer() for b in target.breaks)
        return pa.int32() if whole else pa.float64()
    if isinstance(target, TopCode):
        return given
    return pa.string()


def _invalid(column: str, value: object, current: Coarsen) -> RecodeError:
    return RecodeError(
        f"staged value {value!r} is not a class of {column}'s rule ({rule_text(current)})",
        rule="scra-recode-value",
        column=column,
        hint="the staged extract must be coarsened by the spec's rules before the SCRA",
    )


@cache
def _place_parents(source: str, target: str) -> dict[str, str]:
    from sluis.coarsen.classes import place_levels

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


def value_mapper(
    column: str, current: Coarsen, target: Coarsen
) -> Callable[[object, int | None], object]:
    """The function ``(staged value, reference year) -> recoded value`` of one step (on
    distinct values only); raises :class:`RecodeError` for a value outside the rule."""
    if isinstance(current, DateRule) and isinstance(target, DateRule):
        src, dst = current.precision, target.precision

        def date_map(v: object, _: int | None) -> object:
            if src == "day":
                if not isinstance(v, dt.date):
                    raise _invalid(column, v, current)
                year, month = v.year, v.month
            elif src == "year_month":
                m = _YEAR_MONTH.match(str(v))
                if not m:
                    raise _invalid(column, v, current)
                year, month = int(m[1]), int(m[2])
            elif src == "year_quarter":
                m = _YEAR_QUARTER.match(str(v))
                if not m:
                    raise _invalid(column, v, current)
                year, month = int(m[1]), 3 * int(m[2]) - 2
            else:
                if not isinstance(v, int | np.integer) or not 1000 <= int(v) <= 9999:
                    raise _invalid(column, v, current)
                year, month = int(v), 1
            if dst == "year":
                return year
            if dst == "year_quarter":
                return f"{year}Q{(month - 1) // 3 + 1}"
            if dst == "year_month":
                return f"{year}-{month:02d}"
            raise _invalid(column, v, current)  # pragma: no cover (refused as finer)

        return date_map
    old, new = numeric_bounds(current), numeric_bounds(target)
    if old is not None and new is not None:
        valid = {*old, old[0] - 1}
        edges = np.array(new)
        whole = target_type(current, target, pa.float64()) != pa.float64()

        def numeric_map(v: object, _: int | None) -> object:
            if not isinstance(v, int | float | np.number) or float(v) not in valid:
                raise _invalid(column, v, current)
            i = int(np.searchsorted(edges, float(v), side="right")) - 1
            code = edges[0] - 1 if i < 0 else edges[i]
            return int(code) if whole else float(code)

        return numeric_map
    if isinstance(current, TopCode) and isinstance(target, TopCode):
        top = target.max

        def top_map(v: object, _: int | None) -> object:
            if not isinstance(v, int | np.integer) or v > current.max:
                raise _invalid(column, v, current)
            return min(int(v), top)

        return top_map
    if isinstance(current, NaceRule) and isinstance(target, NaceRule):
        from sluis.coarsen.classes import nace_divisions

        divisions = nace_divisions()
        digits = target.digits

        def nace_map(v: object, _: int | None) -> object:
            text = str(v)
            if current.digits == 1 or (digits == 1 and text.isalpha()):
                if len(text) != 1 or not text.isalpha():
                    raise _invalid(column, v, current)
                return text
            if not text.isdigit() or len(text) > current.digits:
                raise _invalid(column, v, current)
            if digits == 1:
                if text[:2] not in divisions:
                    raise _invalid(column, v, current)
                return divisions[text[:2]][0]
            return text[:digits]

        return nace_map
    if isinstance(current, CountryRule) and isinstance(target, CountryRule):
        return _country_mapper(column, current, target)
    if isinstance(current, PlaceRule) and isinstance(target, PlaceRule):
        parents = _place_parents(current.level, target.level)

        def place_map(v: object, _: int | None) -> object:
            if str(v) not in parents:
                raise _invalid(column, v, current)
            return parents[str(v)]

        return place_map
    raise RecodeError(  # pragma: no cover (the spec checker refuses these)
        f"{column}: no hierarchy from {rule_text(current)} to {rule_text(target)}",
        rule="scra-recode-not-coarser",
    )


def _country_mapper(
    column: str, current: CountryRule, target: CountryRule
) -> Callable[[object, int | None], object]:
    from sluis.coarsen.classes import class15_labels, countries

    src, dst = current.classes, target.classes
    if src == dst:
        return lambda v, _: v
    if src == "birth5":  # -> eu4

        def birth5_map(v: object, _: int | None) -> object:
            if str(v) not in _BIRTH5_TO_EU4:
                raise _invalid(column, v, current)
            return _BIRTH5_TO_EU4[str(v)]

        return birth5_map
    classes15 = set(class15_labels()) | {"99"}
    by_country = {code: row["class15"] for code, row in countries().items()}

    def country_map(v: object, year: int | None) -> object:
        text = str(v)
        if src == "country_code":
            text = by_country.get(text, "99")
        elif text not in classes15:
            raise _invalid(column, v, current)
        if dst == "class15":
            return text
        if year is None:
            raise RecodeError(
                f"{column}: recoding to eu4 needs the row's reference year",
                rule="scra-recode-not-coarser",
            )
        status = class15_eu_status(year).get(text, "99")
        if status == "mixed":
            raise RecodeError(
                f"{column}: class15 class {text} holds EU members and other countries in "
                f"{year}, so it does not nest in eu4",
                rule="scra-recode-not-coarser",
                column=column,
            )
        return status

    return country_map


def needs_year(current: Coarsen, target: Coarsen) -> bool:
    """Whether a step's mapping depends on the row's reference year (EU membership)."""
    return (
        isinstance(current, CountryRule)
        and isinstance(target, CountryRule)
        and current.classes in ("class15", "country_code")
        and target.classes == "eu4"
    )


def period_years(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Reference years of a period column: ``'YYYYQn'`` strings or integer years."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = pc.cast(pc.utf8_slice_codeunits(arr, 0, 4), pa.int32())
    return np.asarray(pc.fill_null(pc.cast(arr, pa.int32()), 0).to_numpy(zero_copy_only=False))


def recode_column(
    values: pa.ChunkedArray | pa.Array,
    column: str,
    current: Coarsen,
    target: Coarsen,
    years: np.ndarray | None = None,
) -> pa.Array:
    """The values of ``column`` (coarsened by ``current``) recoded to ``target``; nulls stay
    null. ``years`` (one per row) are needed when the mapping depends on the year."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if current == target:
        return arr
    why = recode_problem(current, target, None if years is None else sorted(set(years.tolist())))
    if why is not None and not needs_year(current, target):
        raise RecodeError(f"{column}: {why}", rule="scra-recode-not-coarser", column=column)
    mapper = value_mapper(column, current, target)
    out_type = target_type(current, target, arr.type)
    encoded = pc.dictionary_encode(arr)
    dictionary = encoded.dictionary.to_pylist()
    if not dictionary:
        return pa.nulls(len(arr), out_type)
    index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    null = index < 0
    if needs_year(current, target):
        if years is None:
            mapper(dictionary[0], None)  # raises: no reference year
        assert years is not None
        first = int(years.min())
        span = int(years.max()) - first + 1
        pair = np.where(null, -1, index * span + (years - first))
        distinct, inverse = np.unique(pair, return_inverse=True)
        mapped = [
            None if p < 0 else mapper(dictionary[p // span], first + p % span)
            for p in distinct.tolist()
        ]
        return pa.array(mapped, out_type).take(pa.array(inverse.astype(np.int64)))
    mapped = [mapper(v, None) for v in dictionary]
    return pa.array(mapped, out_type).take(encoded.indices)
