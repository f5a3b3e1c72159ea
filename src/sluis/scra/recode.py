"""Global recoding along the hierarchies the coarsening rules declare (G5).

The spec's ``scra.recode`` lists steps ``{dataset, variable, to}``: the staged values of a
variable, already coarsened by its own rule (see docs/coarsening.md for their
representation), are recoded to the coarser rule ``to``. Each class of the variable's rule
lies inside exactly one class of ``to`` (the spec checker refuses anything else,
:meth:`sluis.coarsen.rule.Rule.recode_problem`), so recoding merges classes and never makes a
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
country country_code ->    a country -> its class15 class, or its eu4 class by its own EU
class15 or eu4             membership in the row's year; a code not in the list -> ``'99'``
country birth5 -> eu4      ``'01'``-``'04'`` -> ``'01'``, ``'05'`` -> ``'02'``, ``'06'`` ->
                           ``'03'``, ``'99'`` -> ``'99'``
place level -> level       NIS code -> the code of the coarser level
=========================  ==================================================================

Each rule class carries its own map (:meth:`sluis.coarsen.rule.Rule.recode_map`). A staged
value that is not a class of the variable's rule is an error (``scra-recode-value``), never
passed through. The mapping is computed on the distinct
values (with the year where membership matters) and applied to the column with Arrow, no
Python loop over records.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.coarsen.rule import RecodeError, Rule

__all__ = ["RecodeError", "period_years", "recode_column", "rule_text"]


def rule_text(rule: Rule) -> str:
    """A rule as a short text for reports, every break listed: ``date year_quarter``,
    ``amount width 500 top 20000``, ``age breaks 0, 5, 10`` (:meth:`Rule.text`)."""
    return rule.text(full=True)


def period_years(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Reference years of a period column: ``'YYYYQn'`` strings or integer years."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        arr = pc.cast(pc.utf8_slice_codeunits(arr, 0, 4), pa.int32())
    return np.asarray(pc.fill_null(pc.cast(arr, pa.int32()), 0).to_numpy(zero_copy_only=False))


def recode_column(
    values: pa.ChunkedArray | pa.Array,
    column: str,
    current: Rule,
    target: Rule,
    years: np.ndarray | None = None,
) -> pa.Array:
    """The values of ``column`` (coarsened by ``current``) recoded to ``target``; nulls stay
    null. ``years`` (one per row) are needed when the mapping depends on the year."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if current == target:
        return arr
    why = current.recode_problem(target, None if years is None else sorted(set(years.tolist())))
    if why is not None and not current.needs_year(target):
        raise RecodeError(f"{column}: {why}", rule="scra-recode-not-coarser", column=column)
    mapper = current.recode_map(target, column)
    out_type = target.arrow_type(arr.type)
    encoded = pc.dictionary_encode(arr)
    dictionary = encoded.dictionary.to_pylist()
    if not dictionary:
        return pa.nulls(len(arr), out_type)
    index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    null = index < 0
    if current.needs_year(target):
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
