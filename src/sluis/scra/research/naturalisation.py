"""Decision 25/074's own quantities: naturalisation and labour-market integration of migrants.

The decision studies which migrants acquire Belgian nationality and how acquiring it
changes their labour-market integration (decision §1). Two figures of that analysis, on
the general 25% sample (the supplementary sample draws naturalised persons on purpose, so
it would bias a share) and on the columns as delivered (coarsened classes, pseudonymised
sequence numbers):

- the share naturalised by arrival year and origin class: a person is naturalised when
  their nationality in their last panel quarter is Belgian (class ``01``); arrival is the
  year of the first registration in the National Register, origin the first nationality
  (15 classes; persons Belgian from birth are left out);
- the employment rate by years since arrival: the share of person-quarters in a working
  socio-economic position (KSZ nomenclature codes 1, 1x, 1xx), by the quarter's year minus
  the arrival year.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis.expr.types as ir

from sluis.scra.research.base import Quantity

#: Belgium's code in the 15 country classes (and in eu4)
BELGIUM = "01"
#: the general sample's flag in ``person.sample`` (1 general, 2 supplementary: A2)
GENERAL = "1"


def year_of(value: ir.Value) -> ir.IntegerValue:
    """The year of a staged date in any of its representations ('2013Q2', '2013-05', 2013):
    the first four characters, so a value recoded to a coarser date keeps its year."""
    return value.cast("string").substr(0, 4).cast("int16")


def working(sep: ir.Value) -> ir.BooleanValue:
    """A working socio-economic position: code 1 and every code under it (11, 111, ...)."""
    return sep.cast("string").startswith("1")


def _arrivals(tables: Mapping[str, ir.Table], *extra: str) -> ir.Table:
    """The general sample's persons whose arrival is known, with their arrival year (and
    the ``extra`` person columns)."""
    p = tables["person"]
    p = p.filter(p["sample"].cast("string") == GENERAL, p.first_registration_yq.notnull())
    return p.select("person_seq", *extra, arrival_year=year_of(p.first_registration_yq))


def _naturalised(tables: Mapping[str, ir.Table]) -> ir.Table:
    persons = _arrivals(tables, "first_nationality")
    persons = persons.mutate(origin_class=persons.first_nationality.cast("string"))
    persons = persons.filter(persons.origin_class.notnull(), persons.origin_class != BELGIUM)
    panel = tables["panel"]
    last = panel.group_by("person_seq").agg(last_quarter=panel.quarter.max())
    end = panel.join(
        last, [panel.person_seq == last.person_seq, panel.quarter == last.last_quarter]
    ).select(person_seq=panel.person_seq, nationality=panel.nationality.cast("string"))
    rows = persons.join(end, "person_seq").filter(lambda t: t.nationality.notnull())
    return rows.group_by(["arrival_year", "origin_class"]).agg(
        units=rows.count(),
        value=(rows.nationality == BELGIUM).cast("float64").mean(),
    )


def _employment(tables: Mapping[str, ir.Table]) -> ir.Table:
    persons = _arrivals(tables)
    panel = tables["panel"]
    rows = panel.join(persons, "person_seq").filter(lambda t: t.sep.notnull())
    rows = rows.mutate(years_since_arrival=year_of(rows.quarter) - rows.arrival_year)
    return rows.group_by("years_since_arrival").agg(
        units=rows.count(), value=working(rows.sep).cast("float64").mean()
    )


QUANTITIES = (
    Quantity(
        id="naturalisation.share_by_arrival_and_origin",
        decision="25/074",
        title="Share naturalised by arrival year and origin class",
        groups=("arrival_year", "origin_class"),
        value="share naturalised",
        needs=(
            "person.person_seq",
            "person.sample",
            "person.first_registration_yq",
            "person.first_nationality",
            "panel.person_seq",
            "panel.quarter",
            "panel.nationality",
        ),
        description=(
            "General sample, persons not Belgian from birth: the share whose nationality in "
            "their last panel quarter is Belgian, by the year of first registration and the "
            "first nationality (15 classes). A person whose arrival, origin or last "
            "nationality is missing or suppressed is left out of the denominator."
        ),
        compute=_naturalised,
    ),
    Quantity(
        id="naturalisation.employment_by_years_since_arrival",
        decision="25/074",
        title="Employment rate by years since arrival",
        groups=("years_since_arrival",),
        value="employment rate",
        needs=(
            "person.person_seq",
            "person.sample",
            "person.first_registration_yq",
            "panel.person_seq",
            "panel.quarter",
            "panel.sep",
        ),
        description=(
            "General sample: the share of person-quarters in a working socio-economic "
            "position (KSZ codes 1, 1x, 1xx), by the quarter's year minus the year of first "
            "registration. A quarter whose position is missing or suppressed, or a person "
            "whose arrival is, is left out of the denominator."
        ),
        compute=_employment,
    ),
)
