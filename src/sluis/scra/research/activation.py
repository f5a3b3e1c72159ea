"""Decision 26/050's own quantity: where the cohorts of people without work are a year on.

The decision follows three stock cohorts of people without work in the Flemish Region
(18-64, not working, retired or studying on 1 January 2016, 2019 and 2022) through the
activation actions they take (decision §1, §2). Its first figure is how many of a cohort
work one year later: the share of cohort members (``demobel.cohort_member = 1``) whose
socio-economic position (KSZ data warehouse, ``ksz.sep``, on the last day of the quarter)
is working (codes 1, 1x, 1xx) in the fourth quarter of the cohort's year, whose last day
(31 December) is the reference day closest to one year after the cohort date.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis.expr.types as ir

from sluis.scra.research.base import Quantity
from sluis.scra.research.naturalisation import working


def _working_a_year_on(tables: Mapping[str, ir.Table]) -> ir.Table:
    demobel = tables["demobel"]
    members = (
        demobel.filter(demobel.cohort_member.cast("int8") == 1, demobel.cohort.notnull())
        .select("person_seq", cohort=demobel.cohort.cast("string"))
        .distinct()
    )
    ksz = tables["ksz"]
    rows = members.join(
        ksz, [members.person_seq == ksz.person_seq, ksz.quarter == members.cohort.concat("Q4")]
    ).filter(lambda t: t.sep.notnull())
    return rows.group_by("cohort").agg(
        units=rows.count(), value=working(rows.sep).cast("float64").mean()
    )


QUANTITIES = (
    Quantity(
        id="activation.working_one_year_later",
        decision="26/050",
        title="Share of cohort members working one year later, by cohort",
        groups=("cohort",),
        value="share working",
        needs=(
            "demobel.person_seq",
            "demobel.cohort",
            "demobel.cohort_member",
            "ksz.person_seq",
            "ksz.quarter",
            "ksz.sep",
        ),
        description=(
            "Cohort members (demobel.cohort_member = 1): the share in a working "
            "socio-economic position (KSZ codes 1, 1x, 1xx) on 31 December of the cohort's "
            "year (ksz quarter YYYYQ4), the reference day closest to one year after the "
            "cohort date of 1 January. A member without a ksz row that quarter (moved out of "
            "the region) or whose position is missing or suppressed is left out of the "
            "denominator."
        ),
        compute=_working_a_year_on,
    ),
)
