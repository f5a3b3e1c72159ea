"""Build the raw datasets of a spec (G6, G7, A6-A13).

Most variables are *a column of a source table, taken at the row's reference day*; how a
table is taken at a day depends on the table (its *time rule*: a history period that covers
the day, the quarter's own row, the school year of the day, the person's fixed row). Those
variables need no code: the spec's first source column says which column, the table says
how. The others (a household's size, the highest diploma, the partner, the sample flag, a
member who left) are derivations named by the requirement variable they cover
(``docs/source-contract.md``), each a small function below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from sluis.engine import Engine
from sluis.errors import SluisError
from sluis.extract.frame import Frames, valid_on
from sluis.extract.population import PopulationFrames
from sluis.select.population import BELGIUM, Sources, completed_years, municipality_regions
from sluis.select.sample import FAMILY, Selection
from sluis.spec.model import Dataset, Spec, Variable

QUARTERLY = frozenset({"dwh_position", "dwh_unemployment", "vdab_jobseeker"})
HISTORY = frozenset({"residence", "household", "civil_status", "nationality"})
STATIC = frozenset({"person", "residence_reason"})
#: yearly tables and their year column: the row of the day's year (ADI income year)
YEARLY = {"adi": "income_year"}
#: the census: the latest census held before the day's year (2011 for 2016, 2021 for 2022)
CENSUS = {"census": "census_year"}
ENROLMENT = {"education_vl_enrolment": "education_fwb_enrolment"}
DIPLOMAS = ("education_vl_diploma", "education_fwb_diploma")
#: one scale for both communities' diploma levels (design choice, docs/source-contract.md)
LEVEL_RANK = {
    "KO": 0, "MAT": 0, "LO": 1, "PRIM": 1,
    "SO-ASO": 2, "SO-TSO": 2, "SO-KSO": 2, "SO-BSO": 2, "SEC-G": 2, "SEC-TQ": 2, "SEC-P": 2,
    "HBO5": 3, "PBA": 4, "ABA": 4, "SUP-HE": 4, "MA": 5, "SUP-U": 5, "DR": 6, "SUP-DR": 6,
}  # fmt: skip
EXEMPTIONS = {"exempt_training": "1", "exempt_family_social": "2", "exempt_integration_income": "3"}


@dataclass
class Context:
    """What the derivations of one dataset work on."""

    engine: Engine
    sources: Sources
    spec: Spec
    selection: Selection
    frames: Frames
    frame: ir.Table  # person, subject, qend (dated datasets) [, job]
    keys: tuple[str, ...]
    base: ir.Table | None = None

    def of(self, table: str) -> ir.Table:
        """A source table cut to the run's subjects (computed once per run)."""
        return self.frames.restricted(self.engine, self.sources, table)


def extract_dataset(
    engine: Engine,
    sources: Sources,
    spec: Spec,
    dataset: str,
    selection: Selection,
    frames: Frames,
    persons: ir.Table,
) -> ir.Table:
    """The raw dataset ``dataset`` of ``spec`` for the sampled ``persons`` (insz, sample)."""
    ds = spec.datasets[dataset]
    rows_of = None  # the source table whose rows are the dataset's rows (inner join)
    if ds.who == "population":
        assert isinstance(frames, PopulationFrames)
        frame, keys, rows_of = _population_frame(frames, ds)
        # only what the frame itself computes (cohort, year, leaver flag, move indicator)
        from_frame = [v for v in ds.variables if v.name in frame.columns and v.computed]
        helpers = [c for c in ("reference", "household_id") if c in frame.columns]
        frame = frame.select("person", "subject", "qend", *helpers, *[v.name for v in from_frame])
    else:
        frame, keys = _frame(engine, sources, ds.unit, ds.who, frames, persons)
        from_frame = [v for v in ds.variables if v.name in frame.columns and v.name != "person"]
    ctx = Context(engine, sources, spec, selection, frames, frame, keys)
    generic = _generic_by_table([v for v in ds.variables if v not in from_frame])
    if rows_of is not None and rows_of not in generic:
        frame = _having_rows(ctx, frame, rows_of)
        rows_of = None
    wide = engine.materialise(frame)
    for table, variables in generic.items():
        wide = engine.materialise(_join_table(ctx, wide, table, variables, inner=table == rows_of))
    ctx.base = wide
    for v in ds.variables:
        if v.name not in wide.columns:
            wide = _derivation(v)(ctx, wide, v)
    return wide.select([v.name for v in ds.variables])


# -- frames per unit -----------------------------------------------------------------------


def _population_frame(
    frames: PopulationFrames, ds: Dataset
) -> tuple[ir.Table, tuple[str, ...], str | None]:
    """The frame of a whole-population dataset (B2) and the source table, if any, whose
    rows are the dataset's rows: a person-year or person-quarter dataset timed by a yearly
    or quarterly table has a row where that table has one (an income year in ADI, a
    quarter in the KSZ or VDAB data) within the frame; DEMOBEL's years are the frame's
    own."""
    keys = ("subject", "qend")
    if ds.unit == "person":
        return frames.first, keys, None
    if ds.unit == "move":
        return frames.moves, keys, None
    time = next((v for v in ds.variables if v.name in ("year", "quarter")), None)
    table = time.source[0].split(".")[0] if time is not None and not time.computed else None
    if ds.unit == "person_year":
        return frames.years, keys, table if table in YEARLY else None
    if ds.unit == "person_quarter":
        return frames.quarters, keys, table if table in QUARTERLY else None
    raise SluisError(
        f"datasets of unit {ds.unit} about the whole population are not extracted yet",
        rule="not-implemented",
    )


def _having_rows(ctx: Context, frame: ir.Table, table: str) -> ir.Table:
    """The frame's rows for which ``table`` has a row of the day's year or quarter."""
    t = ctx.of(table)
    if table in YEARLY:
        return frame.semi_join(t, [frame.subject == t.insz, frame.qend.year() == t[YEARLY[table]]])
    return frame.semi_join(t, [frame.subject == t.insz, frame.qend == t.quarter_end])


def _frame(engine, sources, unit, who, frames: Frames, persons: ir.Table):
    if unit == "person":
        p = persons.select(person=persons.insz, subject=persons.insz)
        return p, ("person",)
    if unit == "job_quarter":
        j = sources["dwh_job"]
        f = frames.panel.select("person", "qend")
        jobs = j.join(f, [j.insz == f.person, j.quarter_end == f.qend]).select(
            person=f.person, subject=f.person, qend=f.qend, job=j.job
        )
        return jobs, ("person", "qend", "job")
    if unit == "person_quarter":
        if who == "sampled":
            p = frames.panel
            return p.mutate(subject=p.person), ("person", "qend")
        if who == "partner":
            return frames.partner, ("person", "qend", "subject")
        if who == "child":
            return frames.children, ("person", "qend", "subject")
    raise SluisError(
        f"datasets of unit {unit} about {who} are not extracted yet", rule="not-implemented"
    )


# -- generic variables: a column at the row's reference day ----------------------------------


def _generic_by_table(variables: list[Variable]) -> dict[str, list[Variable]]:
    out: dict[str, list[Variable]] = {}
    for v in variables:
        if (
            v.computed
            or v.name in BY_NAME
            or v.name == "person_seq"
            or any(c in SPECIAL for c in v.covers)
        ):
            continue
        table = v.source[0].split(".")[0]
        if (
            table
            in QUARTERLY | HISTORY | STATIC | {"municipal_context", "dwh_job", "legal_cohabitation"}
            or table in ENROLMENT
            or table in YEARLY
            or table in CENSUS
        ):
            out.setdefault(table, []).append(v)
    return out


def _join_table(
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
        return _latest(j.select(*wide.columns, "_y", *picked), ctx.keys, "_y").drop("_y")
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
        return _latest(j, ctx.keys, "_from").drop("_from")
    if table in ENROLMENT:
        # the row of the day's school year; the other community's register fills the gaps
        other_name = ENROLMENT[table]
        other = ctx.of(other_name)
        j = wide.mutate(_sy=_school_year(wide.qend))
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
    raise SluisError(f"no time rule for source table {table}", rule="not-implemented")


def _school_year(day: ir.DateValue) -> ir.IntegerValue:
    """School year Y runs from 1 September Y to 31 August Y+1."""
    return day.year() - (day.month() < 9).cast("int64")


def _latest(t: ir.Table, keys: tuple[str, ...], by: str) -> ir.Table:
    """One row per key: the one with the latest ``by`` (deterministic)."""
    w = ibis.row_number().over(group_by=[t[k] for k in keys], order_by=[ibis.desc(t[by])])
    return t.mutate(_n=w).filter(lambda x: x._n == 0).drop("_n")


def _first(t: ir.Table, keys: tuple[str, ...]) -> ir.Table:
    """One row per key when a source holds several (the smallest values first)."""
    others = [c for c in t.columns if c not in keys]
    w = ibis.row_number().over(group_by=[t[k] for k in keys], order_by=[t[c] for c in others])
    return t.mutate(_n=w).filter(lambda x: x._n == 0).drop("_n")


# -- derivations: each adds the variable's column to the wide table -------------------------

Derive = Callable[[Context, ir.Table, Variable], ir.Table]


def _derivation(v: Variable) -> Derive:
    if v.name == "person_seq":
        return lambda ctx, w, v: w.mutate(**{v.name: w.person})
    for item in v.covers:
        if item in SPECIAL:
            return SPECIAL[item]
    by_name = BY_NAME.get(v.name)
    if by_name is not None:
        return by_name
    if v.computed == "selection":
        return _sample_flag
    raise SluisError(
        f"variable {v.name} ({'; '.join(v.covers)}): no derivation implemented",
        rule="not-implemented",
    )


def _attach(
    ctx: Context, w: ir.Table, values: ir.Table, on: tuple[str, ...], name: str, default=None
) -> ir.Table:
    """Left-join one computed column ``_v`` of ``values`` (keyed by ``on``) as ``name``.

    ``values`` is computed once into a small table; the joins onto the dataset stay lazy
    and run as one query at the end."""
    values = ctx.engine.materialise(values.select(*on, "_v"))
    r = values.rename({f"_on_{k}": k for k in on})
    j = w.left_join(r, [w[k] == r[f"_on_{k}"] for k in on]).select(*w.columns, "_v")
    value = j._v if default is None else ibis.coalesce(j._v, default)
    return j.mutate(**{name: value}).drop("_v")


def _quarter(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    return w.mutate(**{v.name: w.qend})


def _subject(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    return w.mutate(**{v.name: w.subject})


def _sample_flag(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """1 general sample, 2 supplementary naturalisation sample, 3 family member (A2)."""
    s = ctx.selection.persons
    return _attach(ctx, w, s.select(subject=s.insz, _v=s["sample"]), ("subject",), v.name, FAMILY)


def _household_type(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """The reference person's LIPRO position names the household type (MAR+ -> married
    couple with children); without a reference person (a collective household) the
    person's own position (COLL)."""
    b = ctx.base
    ref = _lipro_on(ctx, b.select(who=b.reference, qend=b.qend).filter(b.reference.notnull()))
    w = _attach(ctx, w, ref.rename(reference="who"), ("reference", "qend"), "_ref_lipro")
    own = _lipro_on(ctx, b.select(who=b.subject, qend=b.qend))
    w = _attach(ctx, w, own.rename(subject="who"), ("subject", "qend"), "_own_lipro")
    return w.mutate(**{v.name: ibis.coalesce(w._ref_lipro, w._own_lipro)}).drop(
        "_ref_lipro", "_own_lipro"
    )


def _lipro_on(ctx: Context, days: ir.Table) -> ir.Table:
    """(who, qend, _v): the LIPRO position of ``who`` on ``qend``."""
    h = ctx.sources["household"]
    days = days.distinct()
    rows = h.join(days, [h.insz == days.who, valid_on(h, days.qend)]).select(
        who=days.who, qend=days.qend, _v=h.lipro, _from=h.valid_from
    )
    return _latest(rows, ("who", "qend"), "_from").drop("_from")


def _household_size(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    m = ctx.frames.members
    size = m.group_by(["household_id", "qend"]).aggregate(_v=m.count())
    return _attach(ctx, w, size, ("household_id", "qend"), v.name)


def _children_count(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    c = ctx.frames.children
    n = c.group_by(["person", "qend"]).aggregate(_v=c.count())
    return _attach(ctx, w, n, ("person", "qend"), v.name, 0)


def _partner(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    p = ctx.frames.partner
    return _attach(ctx, w, p.select("person", "qend", _v=p.subject), ("person", "qend"), v.name)


def _parent(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """A column of the father's or mother's own person row (A6)."""
    p = ctx.sources["person"]
    link = "father_insz" if v.name.startswith("father") else "mother_insz"
    column = v.source[0].split(".")[1]
    parents = p.select(_pk=p.insz, _pv=p[column])
    mine = ctx.of("person")
    kids = mine.select(subject=mine.insz, _parent=mine[link])
    rows = kids.join(parents, kids._parent == parents._pk).select("subject", _v=parents._pv)
    return _attach(ctx, w, rows, ("subject",), v.name)


def _enrolled(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """1 when the person has an enrolment (either community) in the day's school year."""
    vl, fwb = ctx.of("education_vl_enrolment"), ctx.of("education_fwb_enrolment")
    years = vl.select("insz", "school_year").union(fwb.select("insz", "school_year")).distinct()
    rows = years.select(subject=years.insz, _sy=years.school_year, _v=ibis.literal("1"))
    w = w.mutate(_sy=_school_year(w.qend))
    return _attach(ctx, w, rows, ("subject", "_sy"), v.name, ibis.literal("0")).drop("_sy")


def _diplomas(ctx: Context) -> ir.Table:
    parts = []
    for name in DIPLOMAS:
        d = ctx.of(name)
        parts.append(
            d.select("insz", "diploma_year", "level", "category", "country", "access_diploma")
        )
    u = parts[0].union(parts[1])
    return u.mutate(rank=u.level.substitute(LEVEL_RANK, else_=-1))


def _highest(column: str) -> Derive:
    """A column of the highest diploma obtained by the day's year (A8, A12, A13)."""

    def derive(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
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
        return _attach(
            ctx, w, best.select("subject", "qend", _v=best[column]), ("subject", "qend"), v.name
        )

    return derive


def _access(column: str) -> Derive:
    """Category or year of the first diploma giving access to higher education."""

    def derive(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        d = _diplomas(ctx)
        d = d.filter(d.access_diploma == "1")
        keys = ctx.base.select("subject", "qend").distinct()
        rows = keys.join(d, [keys.subject == d.insz, d.diploma_year <= keys.qend.year()])
        w_ = ibis.row_number().over(
            group_by=[rows.subject, rows.qend], order_by=[rows.diploma_year, rows.category]
        )
        first = rows.mutate(_n=w_).filter(lambda x: x._n == 0)
        return _attach(
            ctx, w, first.select("subject", "qend", _v=first[column]), ("subject", "qend"), v.name
        )

    return derive


def _exemption(code: str) -> Derive:
    def derive(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        u = ctx.of("dwh_unemployment")
        rows = u.select(
            subject=u.insz, qend=u.quarter_end, _v=(u.exemption == code).ifelse("1", "0")
        )
        return _attach(ctx, w, rows, ("subject", "qend"), v.name)

    return derive


def _jobs_of(ctx: Context, statutes: tuple[str, ...]) -> ir.Table:
    j = ctx.of("dwh_job")
    return j.filter(j.statute.isin(statutes))


def _main_nace(statutes: tuple[str, ...]) -> Derive:
    """NACE of the main job: the highest wage, then the lowest job number."""

    def derive(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        j = _jobs_of(ctx, statutes)
        order = [
            ibis.desc(j.gross_wage.fill_null(0)),
            ibis.desc(j.self_employed_income.fill_null(0)),
            j.job,
        ]
        n = ibis.row_number().over(group_by=[j.insz, j.quarter_end], order_by=order)
        main = j.mutate(_n=n).filter(lambda x: x._n == 0)
        rows = main.select(subject=main.insz, qend=main.quarter_end, _v=main.nace)
        return _attach(ctx, w, rows, ("subject", "qend"), v.name)

    return derive


def _sum_of(column: str, statutes: tuple[str, ...]) -> Derive:
    def derive(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        j = _jobs_of(ctx, statutes)
        rows = j.group_by([j.insz, j.quarter_end]).aggregate(_v=j[column].sum())
        rows = rows.rename(subject="insz", qend="quarter_end")
        return _attach(ctx, w, rows, ("subject", "qend"), v.name)

    return derive


def _jobseeker(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    u = ctx.of("dwh_unemployment")
    rows = u.filter(u.regional_service.notnull()).select(
        subject=u.insz, qend=u.quarter_end, _v=ibis.literal("1")
    )
    return _attach(ctx, w, rows.distinct(), ("subject", "qend"), v.name, ibis.literal("0"))


def _left_household(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """1 on a member's last quarter in the household when the sampled person is observed
    after it (G7: leavers get an indicator)."""
    b = ctx.base
    last_member = b.group_by(["person", "subject"]).aggregate(_lm=b.qend.max())
    p = ctx.frames.panel
    last_person = p.group_by("person").aggregate(_lp=p.qend.max())
    j = last_member.join(last_person, "person")
    rows = j.select("person", "subject", qend=j._lm, _v=(j._lm < j._lp).ifelse("1", "0"))
    return _attach(ctx, w, rows, ("person", "subject", "qend"), v.name, ibis.literal("0"))


def _age(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """Age in completed years on the row's day (B6), classed at coarsening."""
    p = ctx.of("person")
    r = p.select(_k=p.insz, _b=p.birth_date)
    j = w.left_join(r, w.subject == r._k).select(*w.columns, "_b")
    return j.mutate(**{v.name: completed_years(j._b, j.qend)}).drop("_b")


def _birth_place(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """The country of birth, and for persons born in Belgium the region of the birth
    municipality instead (the raw form of the ``birth5`` classes, B6)."""
    p = ctx.of("person")
    region = p.birth_nis_code.substitute(municipality_regions(), else_=BELGIUM)
    born = (p.country_of_birth == BELGIUM).ifelse(region, p.country_of_birth)
    r = p.select(_k=p.insz, _v=born)
    j = w.left_join(r, w.subject == r._k).select(*w.columns, "_v")
    return j.rename({v.name: "_v"})


def _origin(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """The origin country (B6; docs/source-contract.md): Belgium ('150', Belgian
    background) when the person's first and current nationality and both parents' first
    nationality are Belgian; otherwise the father's first nationality if foreign, else the
    mother's, else the person's own first, else the current one. Classed (Belgian, EU,
    non-EU, unknown) at coarsening, with the EU of the row's year."""
    p, everyone = ctx.of("person"), ctx.sources["person"]
    father = everyone.select(_f=everyone.insz, _fn=everyone.first_nationality)
    mother = everyone.select(_m=everyone.insz, _mn=everyone.first_nationality)
    own = p.left_join(father, p.father_insz == father._f).select(
        _k=p.insz, _own=p.first_nationality, _mother=p.mother_insz, _fn=father._fn
    )
    own = own.left_join(mother, own._mother == mother._m).select(
        "_k", "_own", "_fn", _mn=mother._mn
    )
    n = ctx.of("nationality")
    days = w.select("subject", "qend").distinct()
    cur = days.left_join(n, [days.subject == n.insz, valid_on(n, days.qend)]).select(
        "subject", "qend", _cur=n.nationality, _from=n.valid_from
    )
    cur = _latest(cur, ("subject", "qend"), "_from").drop("_from")
    j = cur.left_join(own, cur.subject == own._k).select(
        "subject", "qend", "_cur", "_own", "_fn", "_mn"
    )

    def foreign(c: ir.StringValue) -> ir.BooleanValue:
        return c.notnull() & (c != BELGIUM)

    origin = ibis.cases(
        (foreign(j._fn), j._fn),
        (foreign(j._mn), j._mn),
        (foreign(j._own), j._own),
        (foreign(j._cur), j._cur),
        ((j._own == BELGIUM) & (j._cur == BELGIUM), BELGIUM),
        else_=ibis.null("string"),
    )
    rows = j.select("subject", "qend", _v=origin)
    return _attach(ctx, w, rows, ("subject", "qend"), v.name)


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
    return _attach(ctx, w, j.select(subject=j.insz, _v=j.activation_start), ("subject",), v.name)


def _within_three_years(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """A date of the quarter's row when at most three years before the quarter's end,
    else empty ('longer ago', B9)."""
    table, column = v.source[0].split(".")
    t = ctx.of(table)
    r = t.select(_k=t.insz, _q=t.quarter_end, _d=t[column])
    j = w.left_join(r, [w.subject == r._k, w.qend == r._q]).select(*w.columns, "_d")
    recent = j._d >= j.qend - ibis.interval(years=3)
    return j.mutate(**{v.name: recent.ifelse(j._d, ibis.null("date"))}).drop("_d")


EMPLOYEE, SELF_EMPLOYED = ("1", "2"), ("3", "4")

SPECIAL: dict[str, Derive] = {
    "G6: quarter": _quarter,
    "A12: sequence number": _subject,
    "A13: sequence number": _subject,
    "A6: partner's sequence number": _partner,
    "A6: LIPRO household type": _household_type,
    "A6: household size": _household_size,
    "A6: first nationality of each parent (classes)": _parent,
    "A6: place of birth of each parent (classes)": _parent,
    "A8: enrolled as pupil or student": _enrolled,
    "A13: enrolled": _enrolled,
    "A8: highest level attained": _highest("level"),
    "A12: education level": _highest("level"),
    "A13: education level": _highest("level"),
    "A8: diploma year": _highest("diploma_year"),
    "A13: diploma year": _highest("diploma_year"),
    "A8: country of a higher-education diploma (classes)": _highest("country"),
    "A13: country of a higher-education diploma (classes)": _highest("country"),
    "A8: diploma code or category": _highest("category"),
    "A13: diploma code or category": _highest("category"),
    "A12: NACE of the employer": _main_nace(EMPLOYEE),
    "A12: gross wage (classes)": _sum_of("gross_wage", EMPLOYEE),
    "A12: NACE of self-employment": _main_nace(SELF_EMPLOYED),
    "A12: self-employed income (classes)": _sum_of("self_employed_income", SELF_EMPLOYED),
    "A12: job seeker indicator": _jobseeker,
    "G7: member left the household": _left_household,
    "B6: age class": _age,
    "B6: household type": _household_type,
    "B6: place of birth (Flemish, Walloon or Brussels region, other EU country, non-EU country)": (
        _birth_place
    ),
    "B6: migrant status / origin (4 classes)": _origin,
    "B8: start (y+m) of the activation participation at the cohort date": _activation_start,
    "B9: start of the current registration": _within_three_years,
}
BY_NAME: dict[str, Derive] = {
    "children": _children_count,
    "access_diploma_type": _access("category"),
    "access_diploma_year": _access("diploma_year"),
    **{name: _exemption(code) for name, code in EXEMPTIONS.items()},
}
