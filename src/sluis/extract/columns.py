"""Plain columns: a contract column taken at the row's reference day (G6, A6-A13, B3-B9).

Most variables need no code: the spec's first source column says which column, the table's
*time rule* says how it is taken at a day (a history period that covers the day, the
quarter's own row, the year's row, the latest census before the day's year, the school year
of the day, the person's fixed row). A variable that needs more names a derivation
(:mod:`sluis.extract.derivations`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluis.errors import SluisError
from sluis.extract.derivations.base import Context, latest
from sluis.sources import CONTRACT, valid_on
from sluis.sources.time import (
    History,
    Obtained,
    Quarterly,
    SchoolYear,
    Static,
    Time,
    Yearly,
    school_year,
)
from sluis.spec.model import Variable

_TABLES = {t.name: t for t in CONTRACT}
#: an enrolment register and the other community's, which fills its gaps
ENROLMENT = {"education_vl_enrolment": "education_fwb_enrolment"}
#: every table a plain column may come from, each read at the day by the time the contract
#: declares for it; a diploma register needs a derivation (the highest diploma by the day)
PLAIN_TABLES = frozenset(
    t.name
    for t in CONTRACT
    if not isinstance(t.time, Obtained)
    and (not isinstance(t.time, SchoolYear) or t.name in ENROLMENT)
)
#: the frame's column that a table's key column matches (the others: the same name)
_FRAME_COLUMN = {"insz": "subject"}


def timed_by(table: str | None, kind: type[Time]) -> bool:
    """Whether ``table`` is a person's table read by ``kind`` with one row per person and
    day (an income year in ADI, a quarter in the KSZ or VDAB data): such a table's rows can
    be a whole-population dataset's rows."""
    if table not in _TABLES:
        return False
    t = _TABLES[table]
    return isinstance(t.time, kind) and t.key == ("insz", *t.time.columns)


def table_of(v: Variable) -> str:
    """The source table of a plain column (its first ``source``, ``table.column``)."""
    return v.source[0].split(".")[0]


def by_table(variables: list[Variable]) -> dict[str, list[Variable]]:
    """The plain columns grouped by their source table, each table joined once."""
    out: dict[str, list[Variable]] = {}
    for v in variables:
        table = table_of(v)
        if table not in PLAIN_TABLES:
            raise SluisError(
                f"variable {v.name}: no time rule reads table {table} as a plain column; "
                "name a derivation (derive:)",
                rule="not-a-contract-column",
            )
        out.setdefault(table, []).append(v)
    return out


def having_rows(ctx: Context, frame: ir.Table, table: str) -> ir.Table:
    """The frame's rows for which ``table`` has a row of the day's year or quarter."""
    t = ctx.of(table)
    return frame.semi_join(t, [frame.subject == t.insz, valid_on(table, t, frame.qend)])


def join_table(
    ctx: Context, wide: ir.Table, table: str, variables: list[Variable], *, inner: bool = False
) -> ir.Table:
    """``wide`` with the variables of one source table taken at each row's day, as the
    table's declared time reads it; with ``inner``, only the rows the (quarterly or yearly)
    table has."""
    spec = _TABLES[table]
    time = spec.time
    t = ctx.of(table) if "insz" in spec.key else ctx.sources[table]
    picked = {v.name: t[v.source[0].split(".")[1]] for v in variables}
    if isinstance(time, SchoolYear):
        return _enrolment(ctx, wide, t, ENROLMENT.get(table), variables, picked)
    who = [k for k in spec.key if k not in time.columns]
    r = t.select(
        **{f"_k_{k}": t[k] for k in who}, **{f"_t_{c}": t[c] for c in time.columns}, **picked
    )
    on = [wide[_FRAME_COLUMN.get(k, k)] == r[f"_k_{k}"] for k in who]
    if table == "legal_cohabitation":  # a declaration: the latest started by the day, ended
        on.append(r._t_start_date <= wide.qend)  # or not (its end code is read once ended)
    elif not isinstance(time, Static):
        on.append(valid_on(table, r, wide.qend, prefix="_t_"))
    if isinstance(time, Quarterly | Yearly):
        join = wide.join if inner else wide.left_join
        return join(r, on).select(*wide.columns, *picked)
    j = wide.left_join(r, on)
    by = time.latest or (time.start if isinstance(time, History) else None)
    if by is None:
        return j.select(*wide.columns, *picked)
    # several rows on a day (overlapping periods, censuses): the latest
    return latest(j.select(*wide.columns, f"_t_{by}", *picked), ctx.keys, f"_t_{by}").drop(
        f"_t_{by}"
    )


def _enrolment(
    ctx: Context,
    wide: ir.Table,
    t: ir.Table,
    other_name: str | None,
    variables: list[Variable],
    picked: dict[str, ir.Column],
) -> ir.Table:
    """The row of the day's school year in ``t``; the other community's register
    ``other_name`` fills the gaps (a variable's second source names its column)."""
    j = wide.mutate(_sy=school_year(wide.qend))
    vl = t.select(_k=t.insz, _y=t.school_year, **picked)
    j = j.left_join(vl, [j.subject == vl._k, j._sy == vl._y]).select(*j.columns, *picked)
    if other_name is None:
        return j.drop("_sy")
    other = ctx.of(other_name)
    alt = {
        v.name: other[ref.split(".")[1]]
        for v in variables
        for ref in v.source[1:2]
        if ref.startswith(other_name + ".")
    }
    if alt:
        fwb = other.select(
            _k=other.insz, _y=other.school_year, **{f"_alt_{k}": c for k, c in alt.items()}
        )
        j = j.left_join(fwb, [j.subject == fwb._k, j._sy == fwb._y]).select(
            *j.columns, *fwb.columns[2:]
        )
        j = j.mutate(**{k: ibis.coalesce(j[k], j[f"_alt_{k}"]) for k in alt})
        j = j.drop(*[f"_alt_{k}" for k in alt])
    return j.drop("_sy")
