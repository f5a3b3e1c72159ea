"""What each authorisation allows, transcribed once from the decision (G1).

A spec names what a flow will do; this registry holds the ceiling the Information Security
Committee set, with the paragraph (randnummer) that sets it. ``sluis spec check`` compares
every spec with its decision here, so a spec cannot widen its own authorisation by editing
its own limits: the limits live in the code, reviewed like code, not in the spec file.

Sources: ``../shared/seeds/000_bc30549d2a8dcea1.txt`` (25/074) and
``../shared/seeds/001_e996058e1a458fc5.txt`` (26/050).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

FLEMISH_REGION = "02000"


@dataclass(frozen=True)
class PopulationLimit:
    """The widest population a decision allows under one name."""

    reference_date: dt.date
    paragraph: str
    #: allowed (min, max) age on the reference date, or at arrival
    age: tuple[int, int] | None = None
    age_at_arrival: tuple[int, int] | None = None
    #: first registration in the National Register must fall in this range
    first_registration: tuple[dt.date, dt.date] | None = None
    #: acquired Belgian nationality in this range
    naturalised: tuple[dt.date, dt.date] | None = None
    #: living in this region on the reference date
    region: str | None = None
    #: statuses the decision excludes (a spec must exclude at least these)
    not_in: frozenset[str] = frozenset()
    #: the population this one is a part of
    subset_of: str | None = None


@dataclass(frozen=True)
class DecisionLimits:
    """One decision: who, what for, and the ceilings a spec must stay under."""

    id: str
    title: str
    date: dt.date
    amended: tuple[dt.date, ...]
    in_force: dt.date
    recipient: str
    pseudonymiser: str
    providers: frozenset[str]
    populations: dict[str, PopulationLimit]
    #: largest sample fraction per population; a population absent here may not be sampled
    #: and is delivered whole only if ``whole_population`` says so
    sample_fraction: dict[str, float]
    whole_population: bool
    #: phase id -> largest number of sampled persons delivered in that phase (None: all)
    phases: dict[int, int | None]
    #: phase id -> (the only mode the decision allows in it, its paragraphs): ``delivery``
    #: (pseudonymised data leave to the researchers) or ``enclave`` (they stay with the
    #: provider; only checked results leave)
    phase_modes: dict[int, tuple[str, str]]
    window: tuple[str, str]
    #: earliest quarter of a look-back, per population (cohort)
    lookback: dict[str, str] = field(default_factory=dict)
    family: frozenset[str] = frozenset()
    #: the date by which the researchers destroy the data; a spec's deadline lies between
    #: the decision's date (and today) and this
    retention: dt.date = dt.date.min
    retention_paragraph: str = ""
    max_country_classes: int = 15
    min_amount_width: int = 150
    #: finest date precision allowed where a variable does not say otherwise
    date_precision: str = "year_quarter"


_D = dt.date

DECISIONS: dict[str, DecisionLimits] = {
    "25/074": DecisionLimits(
        id="25/074",
        title=(
            "Pseudonymised data from the KSZ data warehouse labour market and social "
            "protection to the University of Antwerp: the influence of Belgian nationality on "
            "migrants' labour-market chances"
        ),
        date=_D(2025, 4, 1),
        amended=(_D(2026, 3, 3),),
        in_force=_D(2025, 4, 16),
        recipient="Universiteit Antwerpen",
        pseudonymiser="ksz",
        providers=frozenset({"ksz"}),
        populations={
            # §2: residents on 31 Dec 2012, first registered 2000-2012, 20-64 at arrival
            "target": PopulationLimit(
                reference_date=_D(2012, 12, 31),
                paragraph="2",
                age_at_arrival=(20, 64),
                first_registration=(_D(2000, 1, 1), _D(2012, 12, 31)),
            ),
            # §2-3: the part of it that acquired Belgian nationality during observation
            "naturalised": PopulationLimit(
                reference_date=_D(2012, 12, 31),
                paragraph="3",
                age_at_arrival=(20, 64),
                first_registration=(_D(2000, 1, 1), _D(2012, 12, 31)),
                naturalised=(_D(2000, 1, 1), _D(2022, 12, 31)),
                subset_of="target",
            ),
        },
        sample_fraction={"target": 0.25, "naturalised": 0.25},  # §3, §29
        whole_population=False,
        phases={1: 3000, 2: None},  # §4, §28: about 3,000 persons; §29: full samples
        # §4, §28: phase 1 is delivered; §4, §29: in phase 2 the full samples are analysed
        # only on a secure computer at KSZ, and only anonymous results leave
        phase_modes={1: ("delivery", "4, 28"), 2: ("enclave", "4, 29")},
        window=("2000Q1", "2022Q4"),  # §3, §5
        family=frozenset({"partner", "children"}),  # §18-20
        retention=_D(2029, 10, 31),  # §30
        retention_paragraph="30",
    ),
    "26/050": DecisionLimits(
        id="26/050",
        title=(
            "Pseudonymised data of KSZ, VDAB and Statbel, linked by Statbel as trusted third "
            "party, to the research group RESPOND (KU Leuven): financial scarcity in "
            "transitions to quality and sustainable work"
        ),
        date=_D(2026, 4, 7),
        amended=(),
        in_force=_D(2026, 4, 22),
        recipient="KU Leuven, Onderzoeksgroep RESPOND",
        pseudonymiser="statbel",
        providers=frozenset({"ksz", "vdab", "statbel"}),
        populations={
            # §2, §19: living in the Flemish Region, 18-64, not working, retired or studying
            f"cohort_{year}": PopulationLimit(
                reference_date=_D(year, 1, 1),
                paragraph="2",
                age=(18, 64),
                region=FLEMISH_REGION,
                not_in=frozenset({"working", "retired", "studying"}),
            )
            for year in (2016, 2019, 2022)
        },
        sample_fraction={},  # §20-21: the whole population, no sample
        whole_population=True,
        phases={1: None},
        # §4, §26: one study, its pseudonymised data delivered to the researchers over SFTP
        phase_modes={1: ("delivery", "4, 26")},
        window=("2016Q1", "2024Q4"),  # §2
        lookback={"cohort_2016": "2013Q1", "cohort_2019": "2016Q1", "cohort_2022": "2019Q1"},
        family=frozenset({"cohabiting"}),  # §2 note 3, §19
        retention=_D(2033, 11, 30),  # §7, §25
        retention_paragraph="25",
    ),
}
