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
from sluis.extract.derivations.base import Context, latest, school_year
from sluis.extract.frame import valid_on
from sluis.spec.model import Variable

QUARTERLY = frozenset({"dwh_position", "dwh_unemployment", "vdab_jobseeker"})
HISTORY = frozenset({"residence", "household", "civil_status", "nationality"})
STATIC = frozenset({"person", "residence_reason"})
#: yearly tables and their year column: the row of the day's year (ADI income year)
YEARLY = {"adi": "income_year"}
#: the census: the latest census held before the day's year (2011 for 2016, 2021 for 2022)
CENSUS = {"census": "census_year"}
#: an enrolment register and the other community's, which fills its gaps
ENROLMENT = {"education_vl_enrolment": "education_fwb_enrolment"}
#: the tables with their own time rule below
OTHER = frozenset({"municipal_context", "dwh_job", "legal_cohabitation"})
#: every table a plain column may come from
PLAIN_TABLES = QUARTERLY | HISTORY | STATIC | OTHER | set(YEARLY) | set(CENSUS) | set(ENROLMENT)


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
    if table in YEARLY:
        return frame.semi_join(t, [frame.subject == t.insz, frame.qend.year() == t[YEARLY[table]]])
    return frame.semi_join(t, [frame.subject == t.insz, frame.qend == t.quarter_end])


def join_table(
    ctx: Context, wide: ir.Table, table: str, variables: list[Variable], *, inner: bool = False
) -> ir.Table:
    """``wide`` with the variables of one source table taken at each row's day; with
    ``inner``, only the rows the (quarterly or yearly) table has."""
    t = ctx.sources[table] if table == "municipal_context" else ctx.of(table)
    join = wide.join if inner else wide.left_join
    picked = {v.name: t[v.source[0].split(".")[1]] for v in variables}
    if table == "municipal_context":
        r = t.select(_nis=t.nis_code, _q=t.quarter_end, **picked)
        j = wide.left_join(r, [wide.nis_code == r._nis, wide.qend == r._q])
        return j.select(*wide.columns, *picked)
    if table == "dwh_job":
        r = t.select(_k=t.insz, _q=t.quarter_end, _job=t.job, **picked)
        j = wide.left_join(r, [wide.subject == r._k, wide.qend == r._q, wide.job == r._job])
        return j.select(*wide.columns, *picked)
    if table in QUARTERLY:
        r = t.select(_k=t.insz, _q=t.quarter_end, **picked)
        j = join(r, [wide.subject == r._k, wide.qend == r._q])
        return j.select(*wide.columns, *picked)
    if table in YEARLY:
        r = t.select(_k=t.insz, _y=t[YEARLY[table]], **picked)
        j = join(r, [wide.subject == r._k, wide.qend.year() == r._y])
        return j.select(*wide.columns, *picked)
    if table in CENSUS:
        r = t.select(_k=t.insz, _y=t[CENSUS[table]], **picked)
        j = wide.left_join(r, [wide.subject == r._k, r._y < wide.qend.year()])
        return latest(j.select(*wide.columns, "_y", *picked), ctx.keys, "_y").drop("_y")
    if table in STATIC:
        r = t.select(_k=t.insz, **picked)
        return wide.left_join(r, wide.subject == r._k).select(*wide.columns, *picked)
    if table in HISTORY or table == "legal_cohabitation":
        start, end = (
            ("start_date", "end_date")
            if table == "legal_cohabitation"
            else ("valid_from", "valid_to")
        )
        r = t.select(_k=t.insz, _from=t[start], _to=t[end], **picked)
        if table == "legal_cohabitation":  # the latest declaration started by the day
            cond = r._from <= wide.qend
        else:
            cond = valid_on(r, wide.qend, "_from", "_to")
        j = wide.left_join(r, [wide.subject == r._k, cond]).select(*wide.columns, "_from", *picked)
        return latest(j, ctx.keys, "_from").drop("_from")
    if table in ENROLMENT:
        return _enrolment(ctx, wide, t, ENROLMENT[table], variables, picked)
    raise SluisError(f"no time rule for source table {table}", rule="not-implemented")


def _enrolment(
    ctx: Context,
    wide: ir.Table,
    t: ir.Table,
    other_name: str,
    variables: list[Variable],
    picked: dict[str, ir.Column],
) -> ir.Table:
    """The row of the day's school year in ``t``; the other community's register
    ``other_name`` fills the gaps (a variable's second source names its column)."""
    other = ctx.of(other_name)
    j = wide.mutate(_sy=school_year(wide.qend))
    vl = t.select(_k=t.insz, _y=t.school_year, **picked)
    j = j.left_join(vl, [j.subject == vl._k, j._sy == vl._y]).select(*j.columns, *picked)
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
