"""Who the row is about: sequence numbers, the sample flag, the age (G3, A2, A6, A12, A13,
B4, B6)."""

from __future__ import annotations

import ibis.expr.types as ir

from sluis.extract.derivations.base import Context, Derivation, attach
from sluis.select.population import completed_years
from sluis.select.sample import FAMILY
from sluis.spec.model import Variable


def _person(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    return w.mutate(**{v.name: w.person})


def _subject(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    return w.mutate(**{v.name: w.subject})


def _sample_flag(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """1 general sample, 2 supplementary naturalisation sample, 3 family member (A2)."""
    s = ctx.selection.persons
    return attach(ctx, w, s.select(subject=s.insz, _v=s["sample"]), ("subject",), v.name, FAMILY)


def _age(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    """Age in completed years on the row's day (B6), classed at coarsening."""
    p = ctx.of("person")
    r = p.select(_k=p.insz, _b=p.birth_date)
    j = w.left_join(r, w.subject == r._k).select(*w.columns, "_b")
    return j.mutate(**{v.name: completed_years(j._b, j.qend)}).drop("_b")


DERIVATIONS = (
    Derivation(
        "person.seq",
        (
            "A6: sequence number",
            "A6: partner's sequence number",
            "A6: number of children, each child's sequence number and birth year",
            "B4: person sequence number",
        ),
        ("person.insz",),
        "the national number of the person the row belongs to (the sampled person in a "
        "family dataset); leaves only as a pseudonym (G3)",
        _person,
    ),
    Derivation(
        "person.member_seq",
        ("A12: sequence number", "A13: sequence number"),
        ("person.insz",),
        "the national number of the family member the row describes (the partner or the "
        "child); leaves only as a pseudonym (G3)",
        _subject,
    ),
    Derivation(
        "person.sample",
        ("A6: sample flag", "A12: sample flag", "A13: sample flag"),
        ("person.insz",),
        "set by the selection (A2): 1 general sample, 2 supplementary naturalisation sample, "
        "3 family member",
        _sample_flag,
    ),
    Derivation(
        "person.age",
        ("B6: age class",),
        ("person.birth_date",),
        "age in completed years on the row's day, classed at coarsening",
        _age,
    ),
)
