"""Jobs, earnings, unemployment and activation from the KSZ data warehouse and VDAB (A11,
A12, B8, B9)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluis.extract.derivations.base import Build, Context, Derivation, attach
from sluis.spec.model import Variable

#: dwh_job.statute of an employee or civil servant, of a self-employed activity
EMPLOYEE, SELF_EMPLOYED = ("1", "2"), ("3", "4")


def _jobs_of(ctx: Context, statutes: tuple[str, ...]) -> ir.Table:
    j = ctx.of("dwh_job")
    return j.filter(j.statute.isin(statutes))


def _main_nace(statutes: tuple[str, ...]) -> Build:
    """NACE of the main job: the highest wage, then the lowest job number."""

    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        j = _jobs_of(ctx, statutes)
        order = [
            ibis.desc(j.gross_wage.fill_null(0)),
            ibis.desc(j.self_employed_income.fill_null(0)),
            j.job,
        ]
        n = ibis.row_number().over(group_by=[j.insz, j.quarter_end], order_by=order)
        main = j.mutate(_n=n).filter(lambda x: x._n == 0)
        rows = main.select(subject=main.insz, qend=main.quarter_end, _v=main.nace)
        return attach(ctx, w, rows, ("subject", "qend"), v.name)

    return build


def _sum_of(column: str, statutes: tuple[str, ...]) -> Build:
    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        j = _jobs_of(ctx, statutes)
        rows = j.group_by([j.insz, j.quarter_end]).aggregate(_v=j[column].sum())
        rows = rows.rename(subject="insz", qend="quarter_end")
        return attach(ctx, w, rows, ("subject", "qend"), v.name)

    return build


def _jobseeker(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    u = ctx.of("dwh_unemployment")
    rows = u.filter(u.regional_service.notnull()).select(
        subject=u.insz, qend=u.quarter_end, _v=ibis.literal("1")
    )
    return attach(ctx, w, rows.distinct(), ("subject", "qend"), v.name, ibis.literal("0"))


def _exemption(code: str) -> Build:
    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        u = ctx.of("dwh_unemployment")
        rows = u.select(
            subject=u.insz, qend=u.quarter_end, _v=(u.exemption == code).ifelse("1", "0")
        )
        return attach(ctx, w, rows, ("subject", "qend"), v.name)

    return build


def _activation_start(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """B8: for a person in an activation at their cohort date (an activation regime on the
    DWH row of the quarter ending the day before), its start when at most three years
    earlier; empty otherwise ('longer ago' included). One value per person, on each of the
    person's rows.

    Every delivered person, not only the cohort persons: the decision asks it "van
    personen die begin 2016, 2019 of 2022 al een activeringsactie volgden" (§5), and in the
    KSZ data warehouse an RVA activation measure is work (Activa and its successors: the
    position is 'working'), which the cohort persons are not on their cohort date by
    definition (§2). So the values come from household members observed on the date of
    their cohort (the earliest cohort of the cohort persons they live with); a cohort
    person gets one only if the register holds an activation of a person not working."""
    u = ctx.of("dwh_unemployment")
    y = ctx.frames.years  # type: ignore[attr-defined]
    at = y.filter(y.qend.year().cast("string") == y.cohort).select(insz=y.subject, since=y.qend)
    at = at.distinct()
    j = at.join(u, [at.insz == u.insz, u.quarter_end == at.since - ibis.interval(days=1)])
    j = j.filter(
        j.activation_regime.notnull() & (j.activation_start >= j.since - ibis.interval(years=3))
    )
    return attach(ctx, w, j.select(subject=j.insz, _v=j.activation_start), ("subject",), v.name)


def _within_three_years(table: str, column: str) -> Build:
    """A date of the quarter's row when at most three years before the quarter's end,
    else empty ('longer ago', B9)."""

    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        t = ctx.of(table)
        r = t.select(_k=t.insz, _q=t.quarter_end, _d=t[column])
        j = w.left_join(r, [w.subject == r._k, w.qend == r._q]).select(*w.columns, "_d")
        recent = j._d >= j.qend - ibis.interval(years=3)
        return j.mutate(**{v.name: recent.ifelse(j._d, ibis.null("date"))}).drop("_d")

    return build


_JOB = ("dwh_job.quarter_end", "dwh_job.statute")
_MAIN_JOB = (*_JOB, "dwh_job.job", "dwh_job.gross_wage", "dwh_job.self_employed_income")
_MAIN = (
    "of the main job of the quarter: the job with the highest gross wage, then the highest "
    "self-employed income, then the lowest job number"
)
_EXEMPT = "1 when the person's dwh_unemployment row of the quarter has exemption"


def _exempt(name: str, code: str, item: str, why: str) -> Derivation:
    return Derivation(
        f"labour.{name}",
        (item,),
        ("dwh_unemployment.quarter_end", "dwh_unemployment.exemption"),
        f"{_EXEMPT} {code} ({why}), else 0; empty without such a row",
        _exemption(code),
    )


DERIVATIONS = (
    Derivation(
        "labour.employer_nace",
        ("A12: NACE of the employer",),
        (
            *_JOB,
            "dwh_job.job",
            "dwh_job.gross_wage",
            "dwh_job.self_employed_income",
            "dwh_job.nace",
        ),
        f"the NACE code {_MAIN}, among the employee and civil-servant jobs (statute 1 or 2)",
        _main_nace(EMPLOYEE),
    ),
    Derivation(
        "labour.gross_wage",
        ("A12: gross wage (classes)",),
        (*_JOB, "dwh_job.gross_wage"),
        "the sum of the gross wages of the person's employee and civil-servant jobs "
        "(statute 1 or 2) of the quarter; classed at coarsening",
        _sum_of("gross_wage", EMPLOYEE),
    ),
    Derivation(
        "labour.self_employed_nace",
        ("A12: NACE of self-employment",),
        (
            *_JOB,
            "dwh_job.job",
            "dwh_job.gross_wage",
            "dwh_job.self_employed_income",
            "dwh_job.nace",
        ),
        f"the NACE code {_MAIN}, among the self-employed activities (statute 3 or 4)",
        _main_nace(SELF_EMPLOYED),
    ),
    Derivation(
        "labour.self_employed_income",
        ("A12: self-employed income (classes)",),
        (*_JOB, "dwh_job.self_employed_income"),
        "the sum of the self-employed income of the person's self-employed activities "
        "(statute 3 or 4) of the quarter; classed at coarsening",
        _sum_of("self_employed_income", SELF_EMPLOYED),
    ),
    Derivation(
        "labour.jobseeker",
        ("A12: job seeker indicator",),
        ("dwh_unemployment.quarter_end", "dwh_unemployment.regional_service"),
        "1 when the person's dwh_unemployment row of the quarter names a regional service "
        "(registered as a job seeker), else 0",
        _jobseeker,
    ),
    _exempt("exempt_training", "1", "A11: exempt from registration for training", "training"),
    _exempt(
        "exempt_family_social",
        "2",
        "A11: exempt from registration for family or social reasons",
        "family or social reasons",
    ),
    _exempt(
        "exempt_integration_income",
        "3",
        "A11: exempt from registration with integration income",
        "integration income",
    ),
    Derivation(
        "labour.activation_start",
        ("B8: start (y+m) of the activation participation at the cohort date",),
        (
            "dwh_unemployment.quarter_end",
            "dwh_unemployment.activation_regime",
            "dwh_unemployment.activation_start",
        ),
        "for a person in an activation at their cohort date (an activation regime on the "
        "row of the quarter ending the day before), its start when at most three years "
        "earlier, else empty; one value per person, on each of the person's rows",
        _activation_start,
    ),
    Derivation(
        "labour.registration_start",
        ("B9: start of the current registration",),
        ("vdab_jobseeker.quarter_end", "vdab_jobseeker.registration_start"),
        "registration_start of the person's vdab_jobseeker row of the quarter when at most "
        "three years before the quarter's end, else empty ('longer ago')",
        _within_three_years("vdab_jobseeker", "registration_start"),
    ),
)
