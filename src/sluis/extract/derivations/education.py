"""Enrolment and diplomas in either community's register (A8, A12, A13).

The Flemish and the FWB registers code diploma levels differently; :data:`LEVEL_RANK` puts
both on one scale (design choice, docs/source-contract.md) so that "the highest diploma"
means the same in both.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluis.extract.derivations.base import Build, Context, Derivation, attach, school_year
from sluis.spec.model import Variable

DIPLOMAS = ("education_vl_diploma", "education_fwb_diploma")
#: one scale for both communities' diploma levels (design choice, docs/source-contract.md)
LEVEL_RANK = {
    "KO": 0, "MAT": 0, "LO": 1, "PRIM": 1,
    "SO-ASO": 2, "SO-TSO": 2, "SO-KSO": 2, "SO-BSO": 2, "SEC-G": 2, "SEC-TQ": 2, "SEC-P": 2,
    "HBO5": 3, "PBA": 4, "ABA": 4, "SUP-HE": 4, "MA": 5, "SUP-U": 5, "DR": 6, "SUP-DR": 6,
}  # fmt: skip


def _enrolled(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """1 when the person has an enrolment (either community) in the day's school year."""
    vl, fwb = ctx.of("education_vl_enrolment"), ctx.of("education_fwb_enrolment")
    years = vl.select("insz", "school_year").union(fwb.select("insz", "school_year")).distinct()
    rows = years.select(subject=years.insz, _sy=years.school_year, _v=ibis.literal("1"))
    w = w.mutate(_sy=school_year(w.qend))
    return attach(ctx, w, rows, ("subject", "_sy"), v.name, ibis.literal("0")).drop("_sy")


def _diplomas(ctx: Context) -> ir.Table:
    parts = []
    for name in DIPLOMAS:
        d = ctx.of(name)
        parts.append(
            d.select("insz", "diploma_year", "level", "category", "country", "access_diploma")
        )
    u = parts[0].union(parts[1])
    return u.mutate(rank=u.level.substitute(LEVEL_RANK, else_=-1))


def _highest(column: str) -> Build:
    """A column of the highest diploma obtained by the day's year (A8, A12, A13)."""

    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        d = _diplomas(ctx)
        keys = ctx.base.select("subject", "qend").distinct()
        rows = keys.join(d, [keys.subject == d.insz, d.diploma_year <= keys.qend.year()])
        w_ = ibis.row_number().over(
            group_by=[rows.subject, rows.qend],
            order_by=[
                ibis.desc(rows.rank),
                ibis.desc(rows.diploma_year),
                rows.level,
                rows.category,
            ],
        )
        best = rows.mutate(_n=w_).filter(lambda x: x._n == 0)
        return attach(
            ctx, w, best.select("subject", "qend", _v=best[column]), ("subject", "qend"), v.name
        )

    return build


def _access(column: str) -> Build:
    """Category or year of the first diploma giving access to higher education."""

    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        d = _diplomas(ctx)
        d = d.filter(d.access_diploma == "1")
        keys = ctx.base.select("subject", "qend").distinct()
        rows = keys.join(d, [keys.subject == d.insz, d.diploma_year <= keys.qend.year()])
        w_ = ibis.row_number().over(
            group_by=[rows.subject, rows.qend], order_by=[rows.diploma_year, rows.category]
        )
        first = rows.mutate(_n=w_).filter(lambda x: x._n == 0)
        return attach(
            ctx, w, first.select("subject", "qend", _v=first[column]), ("subject", "qend"), v.name
        )

    return build


def _diploma_columns(*columns: str) -> tuple[str, ...]:
    return tuple(f"{t}.{c}" for t in DIPLOMAS for c in ("level", "diploma_year", *columns))


_HIGHEST = (
    "of the highest diploma obtained by the row's year in either community's register "
    "(one level scale for both; ties: the latest year, then the smallest level and category)"
)
_ACCESS = (
    "of the first diploma giving access to higher education (access_diploma = 1) obtained by "
    "the row's year in either community's register"
)
_A8 = "A8: type of the diploma giving access to higher education and the year obtained"
_A13 = "A13: access-diploma type and year"

DERIVATIONS = (
    Derivation(
        "education.enrolled",
        ("A8: enrolled as pupil or student", "A13: enrolled"),
        ("education_vl_enrolment.school_year", "education_fwb_enrolment.school_year"),
        "1 when the person has an enrolment in either community's register in the school "
        "year of the row's day (school year Y: 1 September Y to 31 August Y+1), else 0",
        _enrolled,
    ),
    Derivation(
        "education.level",
        ("A8: highest level attained", "A12: education level", "A13: education level"),
        _diploma_columns("category"),
        f"the level {_HIGHEST}",
        _highest("level"),
    ),
    Derivation(
        "education.diploma_year",
        ("A8: diploma year", "A13: diploma year"),
        _diploma_columns("category"),
        f"the year {_HIGHEST}",
        _highest("diploma_year"),
    ),
    Derivation(
        "education.diploma_country",
        (
            "A8: country of a higher-education diploma (classes)",
            "A13: country of a higher-education diploma (classes)",
        ),
        _diploma_columns("category", "country"),
        f"the country {_HIGHEST}",
        _highest("country"),
    ),
    Derivation(
        "education.diploma_category",
        ("A8: diploma code or category", "A13: diploma code or category"),
        _diploma_columns("category"),
        f"the category {_HIGHEST}",
        _highest("category"),
    ),
    Derivation(
        "education.access_type",
        (_A8, _A13),
        _diploma_columns("category", "access_diploma"),
        f"the category {_ACCESS}",
        _access("category"),
    ),
    Derivation(
        "education.access_year",
        (_A8, _A13),
        _diploma_columns("category", "access_diploma"),
        f"the year {_ACCESS}",
        _access("diploma_year"),
    ),
)
