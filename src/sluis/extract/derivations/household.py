"""The household on the row's day: its type and size, the children, the partner, a member
who left (A6, B6, G7)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluis.extract.derivations.base import Context, Derivation, attach, frame_column, latest
from sluis.extract.derivations.items import PARTNER_COLUMNS
from sluis.sources import valid_on
from sluis.spec.model import Variable

_HOUSEHOLD_ROW = ("household.valid_from", "household.valid_to")


def _household_type(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """The reference person's LIPRO position names the household type (MAR+ -> married
    couple with children); without a reference person (a collective household) the
    person's own position (COLL)."""
    b = ctx.base
    ref = _lipro_on(ctx, b.select(who=b.reference, qend=b.qend).filter(b.reference.notnull()))
    w = attach(ctx, w, ref.rename(reference="who"), ("reference", "qend"), "_ref_lipro")
    own = _lipro_on(ctx, b.select(who=b.subject, qend=b.qend))
    w = attach(ctx, w, own.rename(subject="who"), ("subject", "qend"), "_own_lipro")
    return w.mutate(**{v.name: ibis.coalesce(w._ref_lipro, w._own_lipro)}).drop(
        "_ref_lipro", "_own_lipro"
    )


def _lipro_on(ctx: Context, days: ir.Table) -> ir.Table:
    """(who, qend, _v): the LIPRO position of ``who`` on ``qend``."""
    h = ctx.sources["household"]
    days = days.distinct()
    rows = h.join(days, [h.insz == days.who, valid_on("household", h, days.qend)]).select(
        who=days.who, qend=days.qend, _v=h.lipro, _from=h.valid_from
    )
    return latest(rows, ("who", "qend"), "_from").drop("_from")


def _household_size(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    m = ctx.frames.members
    size = m.group_by(["household_id", "qend"]).aggregate(_v=m.count())
    return attach(ctx, w, size, ("household_id", "qend"), v.name)


def _children_count(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    c = ctx.frames.children
    n = c.group_by(["person", "qend"]).aggregate(_v=c.count())
    return attach(ctx, w, n, ("person", "qend"), v.name, 0)


def _partner(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    p = ctx.frames.partner
    return attach(ctx, w, p.select("person", "qend", _v=p.subject), ("person", "qend"), v.name)


def _left_household(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """1 on a member's last quarter in the household when the sampled person is observed
    after it (G7: leavers get an indicator)."""
    b = ctx.base
    last_member = b.group_by(["person", "subject"]).aggregate(_lm=b.qend.max())
    p = ctx.frames.panel
    last_person = p.group_by("person").aggregate(_lp=p.qend.max())
    j = last_member.join(last_person, "person")
    rows = j.select("person", "subject", qend=j._lm, _v=(j._lm < j._lp).ifelse("1", "0"))
    return attach(ctx, w, rows, ("person", "subject", "qend"), v.name, ibis.literal("0"))


DERIVATIONS = (
    Derivation(
        "household.type",
        ("A6: LIPRO household type", "B6: household type"),
        ("household.lipro", "household.reference_insz", *_HOUSEHOLD_ROW),
        "the LIPRO position of the household's reference person on the row's day names the "
        "household type (MAR+: married couple with children); without a reference person "
        "(a collective household) the person's own position (COLL)",
        _household_type,
    ),
    Derivation(
        "household.relation",
        ("A6: relation to the reference person",),
        ("household.relation", *_HOUSEHOLD_ROW),
        "the relation to the household's reference person on the row's day, as the panel "
        "frame reads it with the person's household (one household row valid on the day)",
        frame_column("relation"),
        frame="relation",
    ),
    Derivation(
        "household.size",
        ("A6: household size",),
        ("household.household_id", *_HOUSEHOLD_ROW),
        "the number of persons whose household row valid on the row's day names the "
        "person's household_id",
        _household_size,
    ),
    Derivation(
        "household.children",
        ("A6: number of children, each child's sequence number and birth year",),
        ("person.father_insz", "person.mother_insz", "household.household_id", *_HOUSEHOLD_ROW),
        "the number of the sampled person's children in the household on the row's day (0 "
        "when none): the members whose father_insz or mother_insz is the sampled person",
        _children_count,
    ),
    Derivation(
        "household.partner",
        ("A6: partner's sequence number",),
        PARTNER_COLUMNS,
        "the partner on the row's day while in the household: the spouse, else the legal "
        "cohabitant, else the member the household relations make the partner (02/21); "
        "leaves only as a pseudonym (G3)",
        _partner,
    ),
    Derivation(
        "household.left",
        ("G7: member left the household",),
        ("household.household_id", *_HOUSEHOLD_ROW),
        "1 on a partner's or child's last quarter in the sampled person's household when the "
        "sampled person is observed after it, else 0 (G7: leavers get an indicator)",
        _left_household,
    ),
)
