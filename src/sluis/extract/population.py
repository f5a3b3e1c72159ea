"""Who is observed when in a whole-population flow (B2, B3, G6, G7; 26/050).

A *cohort person* belongs to one of the spec's populations (the 26/050 stock cohorts); a
person in several cohorts counts in the earliest. *Household members* are everyone (a
person of a later cohort too) who shares a cohort person's household (same
``household.household_id``) on a reference day from the cohort date on: they are followed
only while they live there, joiners from their arrival (G7). The frames:

- ``spells``: one row per cohort person and population they belong to: from the cohort
  date (and, for quarters, the look-back start) to ``until``, the last day they live in the
  population's region when the spec delivers moves (B3: decision 26/050 §2 note 2, after a
  move out only the move itself is delivered; docs/flow-26-050.md), else open.
- ``years``: one row per subject and 1 January (DEMOBEL's reference day) from the cohort
  date to the window's end: a cohort person while resident in Belgium and within a spell, a
  member while in the household of a cohort person within a spell; with the subject's
  household, reference person and the leaver indicator (1 on a member's last year when a
  cohort person they lived with is observed later).
- ``quarters``: one row per subject and quarter end: a cohort person from the look-back
  start of their cohort (B8: 2013Q1, 2016Q1, 2019Q1) within a spell, a member while in the
  household of a cohort person within a spell and in ``years`` on 1 January of the
  quarter's year or the next: a stay that holds no 1 January (between two of them, a
  joiner after 1 January 2024) has no DEMOBEL row, hence no household or cohort to be tied
  to, and is not observed.
- ``first``: one row per subject of ``years``, on their first day (the cohort date for a
  cohort person, the arrival for a member): the day of once-per-person variables (census).
- ``moves``: one row per move out of the Flemish Region in the window (B3): a Flemish
  residence period that ends (not by death) and is not followed the next day by another
  Flemish period, of a subject who is in ``years`` on 1 January of that year.

Every frame names the subject twice (``person`` and ``subject``, as the sampled flow does)
and its reference day ``qend``, so the generic time rules of `sluis.extract.columns` apply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from sluis.engine import Engine
from sluis.extract.frame import Subjects, quarter_ends
from sluis.select.population import Sources, municipality_regions
from sluis.select.sample import no_one_selected
from sluis.sources import valid_on
from sluis.spec.model import Spec

FLEMISH_REGION = "02000"
DEATH = "D"


@dataclass(frozen=True)
class PopulationFrames(Subjects):
    """The frames of one whole-population extraction; each a materialised engine table."""

    cohorts: ir.Table  # insz, cohort, since, lookback
    spells: ir.Table  # insz, cohort, since, lookback, until
    years: ir.Table  # person, subject, qend, year, cohort, cohort_member, household_id,
    #                  reference, left_household
    quarters: ir.Table  # person, subject, qend, cohort
    first: ir.Table  # person, subject, qend, cohort, cohort_member
    moves: ir.Table  # person, subject, qend, moved_out


def last_day_of(label: str) -> dt.date:
    """The last day of quarter ``label`` ('2013Q1' -> 2013-03-31)."""
    return quarter_ends(label, label)["qend"][0].as_py()


def cohort_persons(engine: Engine, spec: Spec, populations: dict[str, ir.Table]) -> ir.Table:
    """(insz, cohort, since, lookback): each cohort person once, in their earliest cohort;
    ``since`` is the cohort date, ``lookback`` the first quarter end of the look-back."""
    parts = []
    for name, pop in spec.populations.items():
        start = spec.window.lookback.get(name, spec.window.start)
        parts.append(
            populations[name].select(
                "insz",
                cohort=ibis.literal(pop.reference_date.year, "int32"),
                since=ibis.literal(pop.reference_date),
                lookback=ibis.literal(last_day_of(start)),
            )
        )
    u = ibis.union(*parts)
    return engine.materialise(
        u.group_by("insz").aggregate(
            cohort=u.cohort.min(), since=u.since.min(), lookback=u.lookback.min()
        )
    )


def departures(residence: ir.Table, region: str) -> ir.Table:
    """(insz, left): every move out of ``region`` (a NIS region code): a residence period in
    the region that ends, not by death, without a period in the region starting the next
    day (to another region, abroad or unknown); ``left`` is the last day in the region."""
    regions = municipality_regions()
    r = residence
    inside = r.nis_code.substitute(regions, else_=ibis.null("string")) == region
    ended = r.filter(
        inside & r.valid_to.notnull() & (r.end_reason.isnull() | (r.end_reason != DEATH))
    )
    nxt = residence.view()
    nxt_inside = nxt.nis_code.substitute(regions, else_=ibis.null("string")) == region
    following = nxt.filter(nxt_inside).select(_k=nxt.insz, _from=nxt.valid_from)
    out = ended.anti_join(
        following,
        [ended.insz == following._k, following._from == ended.valid_to + ibis.interval(days=1)],
    )
    return out.select("insz", left=out.valid_to).distinct()


def follows_moves(spec: Spec) -> bool:
    """Whether the spec ends a cohort person's observation at a move out of the
    population's region: it does when it delivers moves (a dataset of unit ``move``), the
    form decision 26/050 §2 note 2 gives a move: "per betrokkene wordt enkel het eigen
    volgnummer, het volgnummer van het gezin en een aanduiding van het jaar van de
    verhuis" (the spec's reading, stated on ``moves.moved_out``)."""
    return any(ds.unit == "move" for ds in spec.datasets.values())


def cohort_spells(
    engine: Engine, sources: Sources, spec: Spec, populations: dict[str, ir.Table]
) -> ir.Table:
    """(insz, cohort, since, lookback, until): each cohort person once per population,
    observed from ``since`` (``lookback`` for quarters) to ``until``, the last day in the
    population's region before the first move out of it on or after the cohort date (null:
    no move, or the spec does not end observation at a move). A spell that starts inside
    an earlier one of the same person adds nothing and is dropped; a person who moves out
    and is selected again in a later cohort is observed again from that cohort's look-back."""
    cut = follows_moves(spec)
    parts = []
    for name, pop in spec.populations.items():
        start = spec.window.lookback.get(name, spec.window.start)
        p = populations[name].select(
            "insz",
            cohort=ibis.literal(pop.reference_date.year, "int32"),
            since=ibis.literal(pop.reference_date),
            lookback=ibis.literal(last_day_of(start)),
        )
        if cut and pop.region is not None:
            gone = departures(sources["residence"].semi_join(p, "insz"), pop.region)
            gone = gone.filter(gone.left >= pop.reference_date)
            first = gone.group_by("insz").aggregate(until=gone.left.min())
            p = p.left_join(first, "insz").select(*p.columns, until=first.until)
        else:
            p = p.mutate(until=ibis.null("date"))
        parts.append(p)
    u = engine.materialise(ibis.union(*parts))
    e = u.view()
    inside = u.semi_join(
        e,
        [u.insz == e.insz, e.since < u.since, e.until.isnull() | (e.until >= u.since)],
    )
    return engine.materialise(u.anti_join(inside, ["insz", "since"]))


def population_frames(
    engine: Engine, sources: Sources, spec: Spec, populations: dict[str, ir.Table]
) -> PopulationFrames:
    """The frames of the cohorts in ``populations`` (name -> table of ``insz``); cohorts
    without anyone are an error that names the empty register, if one is (X2)."""
    if all(engine.count(t) == 0 for t in populations.values()):
        raise no_one_selected(engine, sources, spec, populations)
    cohorts = cohort_persons(engine, spec, populations)
    spells = cohort_spells(engine, sources, spec, populations)
    first_year = min(p.reference_date.year for p in spec.populations.values())
    last_year = int(spec.window.end[:4])
    days = engine.arrow(
        pa.table({"day": pa.array([dt.date(y, 1, 1) for y in range(first_year, last_year + 1)])})
    )
    earliest = min(spec.window.lookback.values(), default=spec.window.start)
    qdays = engine.arrow(quarter_ends(earliest, spec.window.end).rename_columns(["day", "q"]))

    years = _years(engine, sources, cohorts, spells, days)
    quarters = _quarters(engine, sources, spells, qdays, years)
    y = years
    first = y.group_by("subject").aggregate(qend=y.qend.min(), cohort=y.cohort.min())
    member = y.group_by("subject").aggregate(cohort_member=y.cohort_member.max())
    first = first.join(member, "subject").select(
        person=first.subject, subject=first.subject, qend=first.qend, cohort=first.cohort,
        cohort_member=member.cohort_member,
    )  # fmt: skip
    subjects = engine.materialise(years.select(insz=years.subject).distinct())
    residence = engine.materialise(sources["residence"].semi_join(subjects, "insz"))
    return PopulationFrames(
        subjects=subjects,
        cache={"residence": residence},
        cohorts=cohorts,
        spells=spells,
        years=years,
        quarters=quarters,
        first=engine.materialise(first),
        moves=engine.materialise(_moves(residence, years, spec)),
    )


def _attached(sources: Sources, spells: ir.Table, days: ir.Table) -> ir.Table:
    """(subject, qend, cohort, via): everyone in a cohort person's household on each day
    of the cohort person's spells, the cohort person included (via = cohort person).

    Computed on periods, not days: each household period of a cohort person (from the
    cohort date) meets each period of a person in the same household; the overlap is then
    spread over the days it covers. The register is read once, whatever the days."""
    h = sources["household"]
    own = h.join(spells, h.insz == spells.insz).select(
        via=h.insz,
        cohort=spells.cohort,
        household_id=h.household_id,
        start=ibis.greatest(h.valid_from, spells.since),
        end=ibis.least(h.valid_to, spells.until),  # the engine's least skips a missing end
    )
    own = own.filter(own.end.isnull() | (own.end >= own.start))
    rows = h.semi_join(own.select("household_id").distinct(), "household_id")
    both = own.join(rows, own.household_id == rows.household_id).select(
        subject=rows.insz,
        via=own.via,
        cohort=own.cohort,
        start=ibis.greatest(own.start, rows.valid_from),
        end=ibis.least(own.end, rows.valid_to),  # the engine's least skips a missing end
    )
    both = both.filter(both.end.isnull() | (both.end >= both.start))
    spread = both.join(days, [days.day >= both.start, both.end.isnull() | (days.day <= both.end)])
    return spread.select(
        "subject", qend=spread.day, cohort=spread.cohort, via=spread.via
    ).distinct()


def _years(
    engine: Engine, sources: Sources, cohorts: ir.Table, spells: ir.Table, days: ir.Table
) -> ir.Table:
    r = sources["residence"].semi_join(cohorts, "insz")
    s = spells
    cp = s.join(days, [days.day >= s.since, s.until.isnull() | (days.day <= s.until)])
    cp = cp.select(subject=cp.insz, qend=cp.day).distinct()
    resident = cp.semi_join(r, [cp.subject == r.insz, valid_on("residence", r, cp.qend)])
    attached = engine.materialise(_attached(sources, spells, days))
    # everyone in a cohort person's household, a person of a later cohort too (before
    # their own cohort date they are a member like any other)
    rows = ibis.union(
        resident.select("subject", "qend"), attached.select("subject", "qend"), distinct=True
    )
    members = attached.anti_join(cohorts, attached.subject == cohorts.insz)
    # the person's cohort: their own, else the earliest of the cohort persons they live with
    own = cohorts.select(subject=cohorts.insz, own=cohorts.cohort)
    via = attached.group_by("subject").aggregate(any_cohort=attached.cohort.min())
    rows = rows.left_join(own, "subject").select(*rows.columns, "own")
    rows = rows.left_join(via, "subject").select(*rows.columns, "any_cohort")
    rows = rows.select(
        "subject",
        "qend",
        cohort=ibis.coalesce(rows.own, rows.any_cohort),
        cohort_member=rows.own.notnull().ifelse("1", "0"),
    )
    # the subject's own household row of the day (the same for members, own for cohort
    # persons who live alone or collectively)
    h = sources["household"]
    mine = h.semi_join(rows.select(insz=rows.subject), "insz")
    covers = valid_on("household", mine, rows.qend)
    hh = rows.left_join(mine, [rows.subject == mine.insz, covers]).select(
        *rows.columns, household_id=mine.household_id, reference=mine.reference_insz,
        _from=mine.valid_from,
    )  # fmt: skip
    w = ibis.row_number().over(group_by=[hh.subject, hh.qend], order_by=[ibis.desc(hh._from)])
    hh = hh.mutate(_n=w).filter(lambda t: t._n == 0).drop("_n", "_from")
    left = _leavers(attached, members)
    hh = hh.left_join(left, [hh.subject == left.subject, hh.qend == left.qend]).select(
        *hh.columns, _left=left._v
    )
    out = hh.select(
        person=hh.subject,
        subject=hh.subject,
        qend=hh.qend,
        year=hh.qend,
        cohort=hh.cohort.cast("string"),
        cohort_member=hh.cohort_member,
        household_id=hh.household_id,
        reference=hh.reference,
        left_household=hh._left.fill_null("0"),
    )
    return engine.materialise(out)


def _leavers(attached: ir.Table, members: ir.Table) -> ir.Table:
    """(subject, qend, _v='1'): a member's last day with a cohort person when that cohort
    person is still observed after it (G7)."""
    m = members.group_by(["subject", "via"]).aggregate(last=members.qend.max())
    c = attached.filter(attached.subject == attached.via)
    c = c.group_by("via").aggregate(cp_last=c.qend.max())
    j = m.join(c, "via").filter(lambda t: t["last"] < t.cp_last)
    return j.select("subject", qend=j["last"], _v=ibis.literal("1")).distinct()


def _quarters(
    engine: Engine, sources: Sources, spells: ir.Table, qdays: ir.Table, years: ir.Table
) -> ir.Table:
    s = spells
    cp = s.join(qdays, [qdays.day >= s.lookback, s.until.isnull() | (qdays.day <= s.until)])
    cp = cp.select(subject=cp.insz, qend=cp.day, cohort=cp.cohort)
    days = qdays.select("day")
    attached = _attached(sources, spells, days)
    members = attached.group_by(["subject", "qend"]).aggregate(cohort=attached.cohort.min())
    members = _tied(members, years)
    rows = ibis.union(cp, members.select("subject", "qend", "cohort"), distinct=True)
    out = rows.select(
        person=rows.subject, subject=rows.subject, qend=rows.qend,
        cohort=rows.cohort.cast("string"),
    )  # fmt: skip
    return engine.materialise(out.distinct(on=["subject", "qend"], keep="first"))


def _tied(members: ir.Table, years: ir.Table) -> ir.Table:
    """The quarters of household members that a DEMOBEL row ties to a household and
    cohort (B2): the member is in ``years`` on 1 January of the quarter's year (there at
    the start of the year) or of the next one (a joiner who stays into the next year). A
    stay that holds no 1 January (between two of them, or a joiner after 1 January of the
    last year) is not observed: it could be tied to nothing."""
    y = years
    # the years a 1 January ties: its own and the one before (equality joins only)
    tied = ibis.union(
        y.select(_s=y.subject, _y=y.qend.year().cast("int32")),
        y.select(_s=y.subject, _y=(y.qend.year() - 1).cast("int32")),
        distinct=True,
    )
    m = members
    return m.semi_join(tied, [m.subject == tied._s, m.qend.year() == tied._y])


def _moves(residence: ir.Table, years: ir.Table, spec: Spec) -> ir.Table:
    start = dt.date(int(spec.window.start[:4]), 1, 1)
    end = last_day_of(spec.window.end)
    out = departures(residence, FLEMISH_REGION)
    out = out.filter(out.left.between(start, end))
    out = out.select(subject=out.insz, qend=out.left)
    y = years
    out = out.semi_join(y, [out.subject == y.subject, out.qend.year() == y.qend.year()])
    return out.select(
        person=out.subject, subject=out.subject, qend=out.qend, moved_out=ibis.literal("1")
    )
