"""Who is observed in which quarter (G6, G7, A3, A15).

The *panel frame* has one row per sampled person and quarter in which the person is
registered as resident on the quarter's last day, from first registration (at the earliest
the window's first quarter) to the window's end; a person who leaves Belgium (emigration or
death) stops, and comes back if they return. The *family frames* have one row per sampled
person, quarter and partner or child who lives in the sampled person's household on that
day (G7: joiners from their arrival, leavers until they leave).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from sluis.engine import Engine
from sluis.select.population import Sources
from sluis.sources import members_on, valid_on

#: relation codes (household.relation) of a spouse and of a cohabiting partner
PARTNER_RELATIONS = ("02", "21")
#: son/daughter and stepchild of the reference person
CHILD_RELATIONS = ("03", "13")


def quarter_ends(start: str, end: str) -> pa.Table:
    """The last day of every quarter from ``start`` to ``end`` ('2000Q1'), with its label."""
    y, q = int(start[:4]), int(start[-1])
    last_y, last_q = int(end[:4]), int(end[-1])
    days, labels = [], []
    while (y, q) <= (last_y, last_q):
        month = 3 * q
        first_next = dt.date(y + (month == 12), month % 12 + 1, 1)
        days.append(first_next - dt.timedelta(days=1))
        labels.append(f"{y}Q{q}")
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return pa.table({"qend": pa.array(days, pa.date32()), "quarter": labels})


@dataclass(frozen=True)
class Subjects:
    """Every person whose data any dataset of a run extracts, and the source tables cut to
    them (computed once per run, see ``restricted``)."""

    subjects: ir.Table  # insz
    cache: dict[str, ir.Table]

    def restricted(self, engine: Engine, sources: Sources, table: str) -> ir.Table:
        """``table`` cut to the run's subjects: the registers are scanned once per run,
        whatever the number of datasets and derivations that read them."""
        if table in sources.received:  # already cut to the run's subjects by its sender
            return sources[table]
        if table not in self.cache:
            cut = sources[table].semi_join(self.subjects, "insz")
            self.cache[table] = engine.materialise(cut, lasting=True)
        return self.cache[table]


@dataclass(frozen=True)
class Frames(Subjects):
    """The frames of one sampled extraction; each a materialised engine table."""

    quarters: ir.Table  # qend, quarter
    panel: ir.Table  # person, qend, nis_code, household_id, relation, reference
    partner: ir.Table  # person, qend, subject
    children: ir.Table  # person, qend, subject
    members: ir.Table  # member, qend, household_id, member_relation


def build_frames(engine: Engine, sources: Sources, persons: ir.Table, start: str, end: str):
    """The panel frame of ``persons`` (column ``insz``) and their family frames."""
    quarters = engine.arrow(quarter_ends(start, end))
    r = sources["residence"].semi_join(persons, "insz")
    panel = r.join(quarters, valid_on("residence", r, quarters.qend)).select(
        person=r.insz, qend=quarters.qend, nis_code=r.nis_code
    )
    panel = panel.distinct(on=["person", "qend"], keep="first")
    h = sources["household"]
    own = h.semi_join(persons, "insz")
    covers = valid_on("household", own, panel.qend)
    hh = panel.left_join(own, [panel.person == own.insz, covers]).select(
        "person",
        "qend",
        "nis_code",
        household_id=own.household_id,
        relation=own.relation,
        reference=own.reference_insz,
    )
    panel = engine.materialise(hh.distinct(on=["person", "qend"], keep="first"))
    members = _members(engine, sources, panel)
    partner = engine.materialise(_partners(sources, panel, members))
    children = engine.materialise(_children(sources, panel, members))
    subjects = ibis.union(
        persons.select("insz"),
        partner.select(insz=partner.subject),
        children.select(insz=children.subject),
        distinct=True,
    )
    return Frames(
        quarters=quarters,
        panel=panel,
        partner=partner,
        children=children,
        members=members,
        subjects=engine.materialise(subjects),
        cache={},
    )


def _members(engine: Engine, sources: Sources, panel: ir.Table) -> ir.Table:
    """Everyone in the households of the frame on each quarter's last day."""
    households = panel.select("household_id", "qend").filter(panel.household_id.notnull())
    m = members_on(households.distinct(), "qend", sources["household"])
    m = m.select(
        member=m.insz, qend=m.qend, household_id=m.household_id, member_relation=m.relation
    )
    return engine.materialise(m)


def _partners(sources: Sources, panel: ir.Table, members: ir.Table) -> ir.Table:
    """The partner in the household: the spouse or legal cohabitant of the civil registers
    when they live in the household, else the member the household relations make the
    partner (reference person <-> relation 02/21)."""
    cs = sources["civil_status"]
    lc = sources["legal_cohabitation"]
    m = members
    spouse = (
        panel.left_join(cs, [panel.person == cs.insz, valid_on("civil_status", cs, panel.qend)])
        .select("person", "qend", "household_id", "relation", "reference", spouse=cs.spouse_insz)
        .distinct(on=["person", "qend"], keep="first")
    )
    coh = (
        spouse.left_join(
            lc,
            [
                spouse.person == lc.insz,
                valid_on("legal_cohabitation", lc, spouse.qend),
            ],
        )
        .select(
            "person",
            "qend",
            "household_id",
            "relation",
            "reference",
            "spouse",
            cohabitant=lc.partner_insz,
        )
        .distinct(on=["person", "qend"], keep="first")
    )
    # the household's own partner: the reference person's member with relation 02/21, or the
    # reference person of a member with relation 02/21
    by_relation = (
        m.filter(m.member_relation.isin(PARTNER_RELATIONS))
        .select(hh=m.household_id, q=m.qend, rel_partner=m.member)
        .distinct(on=["hh", "q"], keep="first")
    )
    c = coh.left_join(by_relation, [coh.household_id == by_relation.hh, coh.qend == by_relation.q])
    household_partner = ibis.cases(
        (c.relation == "01", c.rel_partner),
        (c.relation.isin(PARTNER_RELATIONS), c.reference),
        else_=ibis.null("string"),
    )
    candidate = c.select(
        "person",
        "qend",
        "household_id",
        subject=ibis.coalesce(c.spouse, c.cohabitant, household_partner),
    )
    # only while the partner lives in the sampled person's household (G7)
    m = members.view()
    candidate = candidate.view()
    return candidate.join(
        m,
        [
            candidate.subject == m.member,
            candidate.qend == m.qend,
            candidate.household_id == m.household_id,
        ],
    ).select(person=candidate.person, qend=candidate.qend, subject=candidate.subject)


def _children(sources: Sources, panel: ir.Table, members: ir.Table) -> ir.Table:
    """Children in the household: persons whose father or mother is the sampled person."""
    p = sources["person"]
    kids = p.filter(p.father_insz.notnull() | p.mother_insz.notnull())
    m = members
    rows = panel.join(m, [panel.household_id == m.household_id, panel.qend == m.qend]).select(
        person=panel.person, qend=panel.qend, subject=m.member
    )
    rows = rows.filter(rows.subject != rows.person)
    return rows.join(
        kids,
        [
            rows.subject == kids.insz,
            (kids.father_insz == rows.person) | (kids.mother_insz == rows.person),
        ],
    ).select(person=rows.person, qend=rows.qend, subject=rows.subject)
