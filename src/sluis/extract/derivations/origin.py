"""Where a person and their parents come from: the parents' nationality and country of
birth, the place of birth and the origin (A6, B6)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluis.extract.derivations.base import Build, Context, Derivation, attach, latest
from sluis.select.population import BELGIUM, municipality_regions
from sluis.sources import valid_on
from sluis.spec.model import Variable


def _parent(link: str, column: str) -> Build:
    """A column of the father's or mother's own person row (A6); ``link`` is the person's
    column naming that parent."""

    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        p = ctx.sources["person"]
        parents = p.select(_pk=p.insz, _pv=p[column])
        mine = ctx.of("person")
        kids = mine.select(subject=mine.insz, _parent=mine[link])
        rows = kids.join(parents, kids._parent == parents._pk).select("subject", _v=parents._pv)
        return attach(ctx, w, rows, ("subject",), v.name)

    return build


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
    cur = days.left_join(n, [days.subject == n.insz, valid_on("nationality", n, days.qend)]).select(
        "subject", "qend", _cur=n.nationality, _from=n.valid_from
    )
    cur = latest(cur, ("subject", "qend"), "_from").drop("_from")
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
    return attach(ctx, w, rows, ("subject", "qend"), v.name)


def _of_parent(parent: str, column: str, item: str, what: str) -> Derivation:
    link = f"{parent}_insz"
    return Derivation(
        f"origin.{parent}_{column}",
        (item,),
        (f"person.{column}", f"person.{link}"),
        f"the {what} on the {parent}'s own person row (person.{link} names the {parent}); "
        "empty when the parent is unknown",
        _parent(link, column),
    )


_NATIONALITY = "A6: first nationality of each parent (classes)"
_BIRTH = "A6: place of birth of each parent (classes)"

DERIVATIONS = (
    _of_parent("father", "first_nationality", _NATIONALITY, "first nationality"),
    _of_parent("mother", "first_nationality", _NATIONALITY, "first nationality"),
    _of_parent("father", "country_of_birth", _BIRTH, "country of birth"),
    _of_parent("mother", "country_of_birth", _BIRTH, "country of birth"),
    Derivation(
        "origin.birth_place",
        (
            "B6: place of birth (Flemish, Walloon or Brussels region, other EU country, "
            "non-EU country)",
        ),
        ("person.country_of_birth", "person.birth_nis_code"),
        "the country of birth, and for a person born in Belgium the region of the birth "
        "municipality instead (the raw form of the birth5 classes)",
        _birth_place,
    ),
    Derivation(
        "origin.origin",
        ("B6: migrant status / origin (4 classes)",),
        (
            "person.first_nationality",
            "person.father_insz",
            "person.mother_insz",
            "nationality.nationality",
            "nationality.valid_from",
            "nationality.valid_to",
        ),
        "Belgium (150, Belgian background) when the person's first and current nationality "
        "and both parents' first nationality are Belgian; otherwise the father's first "
        "nationality if foreign, else the mother's, else the person's own first, else the "
        "current one; classed Belgian, EU, non-EU or unknown at coarsening",
        _origin,
    ),
)
