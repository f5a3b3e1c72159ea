"""Populations on a reference date (A1, B2), as the spec declares them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir

from sluis.domain.codelists import municipalities
from sluis.engine import Engine
from sluis.errors import SourceError
from sluis.sources.read import on
from sluis.sources.time import last_quarter_end
from sluis.spec.model import Population, Spec

BELGIUM = "150"
#: nationality.acquisition code of Belgian nationality held from birth (not acquired)
FROM_BIRTH = "01"


@dataclass
class Sources:
    """The source tables one party may read, read once and shared by the stages.

    ``allowed`` (None: every table) is what the party holds; reading any other table is
    refused, so a stage cannot quietly use another party's registers (B1). ``received``
    names tables that came from another party and are read from where they were received
    (the trusted third party's copy of the KSZ and VDAB extracts) instead of ``directory``.
    """

    engine: Engine
    directory: Path
    allowed: frozenset[str] | None = None
    received: dict[str, Path] = field(default_factory=dict)
    _tables: dict[str, ir.Table] = field(default_factory=dict)
    _kept: set[str] = field(default_factory=set)  # tables replaced by a computed cut

    def __getitem__(self, name: str) -> ir.Table:
        if name not in self._tables:
            if name in self.received:
                # a provider's extract holds only the columns asked of it (B1)
                self._tables[name] = self.engine.source(self.received[name], name, complete=False)
            elif self.allowed is not None and name not in self.allowed:
                raise SourceError(
                    f"table {name!r} is not held by this party (it holds "
                    f"{', '.join(sorted(self.allowed))})",
                    rule="table-not-held",
                    file=str(self.directory),
                )
            else:
                self._tables[name] = self.engine.source(self.directory, name)
        return self._tables[name]

    def empty(self) -> list[str]:
        """The source tables read so far that hold no rows (a cheap count on Parquet:
        the row counts are in the files' footers); a cut kept in a table's place is not
        the register and may well be empty."""
        return [
            name
            for name, t in self._tables.items()
            if name not in self._kept and self.engine.count(t) == 0
        ]

    def where(self, name: str) -> str:
        """Where table ``name`` is read from, for an error message."""
        directory = self.received.get(name, self.directory)
        folder = directory / name
        return str(folder if folder.is_dir() else directory / f"{name}.parquet")

    def keep(self, name: str, table: ir.Table) -> None:
        """Read ``table`` (a cut of the source computed once) wherever a stage asks for
        ``name``."""
        self._tables[name] = table
        self._kept.add(name)


def completed_years(birth: ir.DateValue, on: ir.DateValue) -> ir.IntegerValue:
    """Age in completed years on a date (a birthday on the date counts)."""
    years = on.year() - birth.year()
    before_birthday = (on.month() < birth.month()) | (
        (on.month() == birth.month()) & (on.day() < birth.day())
    )
    return years - before_birthday.cast("int64")


def resident_on(sources: Sources, date: dt.date) -> ir.Table:
    """Persons with a residence period in Belgium that covers ``date`` (one row each)."""
    return (
        on("residence", date, sources["residence"])
        .select("insz", "nis_code")
        .distinct(on="insz", keep="first")
    )


def population(sources: Sources, spec: Spec, name: str) -> ir.Table:
    """The persons (column ``insz``) of population ``name`` of ``spec``."""
    pop = spec.populations[name]
    persons = sources["person"]
    on = ibis.literal(pop.reference_date)
    resident = resident_on(sources, pop.reference_date)
    t = persons.join(resident, "insz")
    conditions = []
    if pop.first_registration is not None:
        r = pop.first_registration
        conditions.append(t.first_registration_date.between(r.start, r.end))
    if pop.age_at_arrival is not None:
        age = completed_years(t.birth_date, t.first_registration_date)
        conditions.append(age.between(pop.age_at_arrival.min, pop.age_at_arrival.max))
    if pop.age is not None:
        conditions.append(completed_years(t.birth_date, on).between(pop.age.min, pop.age.max))
    if pop.region is not None:
        conditions.append(region_of(sources, t.nis_code) == pop.region)
    selected = (t.filter(conditions) if conditions else t).select("insz")
    for status in pop.not_in:
        selected = selected.anti_join(_having_status(sources, status, pop.reference_date), "insz")
    if pop.naturalised is not None:
        selected = selected.semi_join(_naturalised(sources, pop), "insz")
    if pop.subset_of is not None:
        selected = selected.semi_join(population(sources, spec, pop.subset_of), "insz")
    return selected


#: socio-economic positions (KSZ nomenclature) of each status a population may exclude (B2):
#: working = every position under 1; retired = 34 pensioner without work; studying = 36
#: child entitled to family allowance (nearly all students), besides an enrolment
STATUS_POSITIONS = {"working": ("1",), "retired": ("34",), "studying": ("36",)}


def _having_status(sources: Sources, status: str, day: dt.date) -> ir.Table:
    """Persons in ``status`` on ``day``: their socio-economic position on the last quarter
    end on or before ``day`` (1 January -> 31 December, the DWH's reference day), and for
    ``studying`` also an enrolment in either community's register in the school year of
    that day."""
    position = on("dwh_position", day, sources["dwh_position"])
    prefixes = STATUS_POSITIONS[status]
    having = position.filter(ibis.or_(*[position.sep.startswith(p) for p in prefixes]))
    having = having.select("insz")
    if status == "studying":
        for name in ("education_vl_enrolment", "education_fwb_enrolment"):
            having = having.union(on(name, day, sources[name]).select("insz"))
    return having.distinct()


def status_snapshot(sources: Sources, spec: Spec) -> ir.Table:
    """The ``dwh_position`` rows (insz, quarter_end, sep) of the quarter ends on which the
    spec's populations' statuses are read: one scan of the table serves every population
    (``Sources.keep``), instead of one per cohort."""
    days = sorted(
        {last_quarter_end(p.reference_date) for p in spec.populations.values() if p.not_in}
    )
    t = sources["dwh_position"]
    return t.filter(t.quarter_end.isin(days)).select("insz", "quarter_end", "sep")


def _naturalised(sources: Sources, pop: Population) -> ir.Table:
    """Persons who acquired Belgian nationality (not from birth) in the population's range."""
    n = sources["nationality"]
    assert pop.naturalised is not None
    return (
        n.filter(
            (n.nationality == BELGIUM)
            & (n.acquisition != FROM_BIRTH)
            & n.valid_from.between(pop.naturalised.start, pop.naturalised.end)
        )
        .select("insz")
        .distinct()
    )


def region_of(sources: Sources, nis: ir.StringValue) -> ir.StringValue:
    """The region code of a municipality code (any vintage)."""
    return nis.substitute(municipality_regions(), else_=ibis.null("string"))


def municipality_regions() -> dict[str, str]:
    """NIS municipality code -> NIS region code, over both vintages (589 and 581)."""
    return {m.nis: m.region for m in municipalities()}
