"""Applying a spec's coarsening rules to one raw dataset (G4)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluis.coarsen.errors import CoarseningError
from sluis.coarsen.window import window_end
from sluis.engine import Engine
from sluis.spec.model import Spec


def coarsen_dataset(
    engine: Engine,
    raw: ir.Table,
    spec: Spec,
    dataset: str,
    *,
    reference_year: int | str | None = None,
) -> ir.Table:
    """The coarsened ``dataset``: every column of ``raw`` through its variable's rule.

    ``raw`` is a *raw dataset*: an Ibis table whose columns are named exactly as the spec's
    variables of ``dataset`` (a subset is allowed: a flow may coarsen a dataset in parts),
    holding raw values: dates as DATE (or TIMESTAMP), countries as Belgian NIS country codes
    ('150' Belgium; for ``birth5`` the NIS region code '02000', '03000' or '04000' of the
    birth municipality instead of '150' for persons born in Belgium), municipalities as NIS
    codes, amounts as integer euros, ages as completed years, NACE as a division ('01'..'99'),
    a longer code or (for one digit) a section letter, counts as integers, other codes as
    strings, pseudonym columns as sequence numbers (left as they are).

    ``reference_year`` fixes the year of EU membership for ``eu4`` and ``birth5``: an int
    (one year for every row), the name of a column of ``raw`` holding a year or a date (per
    row, e.g. the ``year`` of a person-year dataset, read before it is coarsened; a column
    the spec does not name is used and dropped), or None for the membership of the code
    list's latest state (today's EU). A member in year Y is a member on 31 December of Y.

    A date after the spec's window is delivered empty (:mod:`sluis.coarsen.window`); the
    dataset's period column is left to the check, which refuses a period outside the window.

    The result has the spec's columns in spec order, in the representation of
    ``docs/coarsening.md``. Nothing is computed here: the result is an expression.
    """
    if dataset not in spec.datasets:
        raise CoarseningError(
            f"spec {spec.decision.id} has no dataset {dataset!r} "
            f"(it has {', '.join(spec.datasets)})",
            rule="not-in-spec",
        )
    variables = [v for v in spec.datasets[dataset].variables if v.name in raw.columns]
    helper = reference_year if isinstance(reference_year, str) else None
    if helper is not None and helper not in raw.columns:
        raise CoarseningError(
            f"reference year column {helper!r} is not a column of the raw {dataset!r} table",
            rule="input-type",
            column=helper,
        )
    named = {v.name for v in variables} | ({helper} if helper else set())
    extra = [c for c in raw.columns if c not in named]
    if extra:
        raise CoarseningError(
            f"raw {dataset!r} table has column(s) {', '.join(map(repr, extra))} that spec "
            f"{spec.decision.id} does not name",
            rule="not-in-spec",
            column=extra[0],
            hint="a raw dataset holds exactly the spec's variables (G1)",
        )

    table: ir.Table = raw
    found: dict[str, dict[str, ir.Value]] = {}
    for i, var in enumerate(variables):
        need = var.coarsen.lookup()
        if need is None:
            continue
        prefix = f"__sluis_lookup_{i}_"
        small = engine.arrow(
            need.table.rename_columns([prefix + c for c in need.table.column_names])
        )
        table = table.left_join(small, need.key(raw[var.name]) == small[prefix + "key"])
        found[var.name] = {c: small[prefix + c] for c in need.table.column_names}

    year = _year(table, reference_year)
    until, period = window_end(spec), spec.period(dataset)
    out = {
        v.name: v.coarsen.expression(
            raw[v.name] if v.name == period else v.coarsen.censor(raw[v.name], until),
            found.get(v.name, {}),
            year,
            column=v.name,
        ).name(v.name)
        for v in variables
    }
    return table.select(**out)


def _year(table: ir.Table, reference_year: int | str | None) -> ir.IntegerValue | None:
    if reference_year is None:
        return None
    if isinstance(reference_year, int):
        return ibis.literal(reference_year, "int32")
    col = table[reference_year]
    t = col.type()
    if t.is_date() or t.is_timestamp():
        return col.year()
    if t.is_integer():
        return col
    raise CoarseningError(
        f"reference year column {reference_year!r} is {t}, not a year or a date",
        rule="input-type",
        column=reference_year,
    )
