"""The source contract (G2): part 1, National Register / DEMOBEL, here; part 2 per register.

Declared once, here, in the manner of ehrQL's tables: every table, column, type, key and
code list that a real extract must have. ``sluis sources check`` validates against it, the
synthetic generator writes exactly it (S1), and ``docs/source-contract.md`` is rendered from
it (a test fails when the document is stale).

Dates are real calendar dates in the sources; coarsening happens in later stages (G4).
All person keys are INSZ numbers (national register or BIS number).
"""

from __future__ import annotations

from sluis.sources.contract_education import EDUCATION_TABLES
from sluis.sources.contract_ksz import KSZ_TABLES
from sluis.sources.contract_statbel import STATBEL_TABLES
from sluis.sources.contract_vdab import VDAB_TABLES
from sluis.sources.schema import DATE_MAX, DATE_MIN, Column, Table
from sluis.sources.time import History, Static

__all__ = ["CONTRACT", "DATE_MAX", "DATE_MIN", "Column", "Table", "table"]

NR = "National Register / KSZ register (DEMOBEL)"

PERSON = Table(
    name="person",
    register=NR,
    description=(
        "One row per person ever known to the registers over 2000-2024: residents, people who "
        "were born, arrived, left or died, and people with a BIS number only."
    ),
    key=("insz",),
    time=Static(),
    columns=(
        Column("insz", "insz", "National register number or BIS number (INSZ/NISS)."),
        Column("register", "code", "Which register issued the INSZ.", codelist="register"),
        Column("sex", "code", "Sex.", codelist="sex"),
        Column("birth_date", "date", "Date of birth."),
        Column("death_date", "date", "Date of death, when it occurred in Belgium.", True),
        Column("country_of_birth", "code", "Country of birth (Belgian code).", codelist="country"),
        Column(
            "birth_nis_code",
            "code",
            "Municipality of birth (NIS code in the vintage of the birth date), when born "
            "in Belgium.",
            nullable=True,
            codelist="municipality",
            vintage_date="birth_date",
        ),
        Column(
            "first_nationality",
            "code",
            "First nationality registered for the person (Belgian country code).",
            codelist="country",
        ),
        Column("father_insz", "insz", "INSZ of the father, where known.", True),
        Column("mother_insz", "insz", "INSZ of the mother, where known.", True),
        Column(
            "first_registration_date",
            "date",
            "Date of first registration in the National Register (birth or first arrival).",
            True,
        ),
    ),
    periods=(("birth_date", "death_date"), ("birth_date", "first_registration_date")),
    insz_sex=("insz", "sex"),
)

NATIONALITY = Table(
    name="nationality",
    register=NR,
    description="Nationality history: one row per nationality held, from the date it was acquired.",
    key=("insz", "valid_from"),
    time=History(),
    columns=(
        Column("insz", "insz", "Person."),
        Column("valid_from", "date", "Date the nationality was acquired (or birth / arrival)."),
        Column(
            "valid_to", "date", "Date it ended (next nationality acquired); empty if current.", True
        ),
        Column("nationality", "code", "Nationality (Belgian country code).", codelist="country"),
        Column(
            "acquisition",
            "code",
            "How the nationality was acquired.",
            codelist="nationality_acquisition",
        ),
    ),
    periods=(("valid_from", "valid_to"),),
)

RESIDENCE = Table(
    name="residence",
    register=NR,
    description=(
        "Residence history: one row per period of main residence in a Belgian municipality. "
        "A gap between periods is a stay abroad (emigration, then return)."
    ),
    key=("insz", "valid_from"),
    time=History(),
    columns=(
        Column("insz", "insz", "Person."),
        Column("valid_from", "date", "First day of residence in the municipality."),
        Column("valid_to", "date", "Last day of the period; empty if still resident.", True),
        Column(
            "nis_code",
            "code",
            "Municipality NIS code in the vintage of valid_from (589 list to 2018, 581 from 2019).",
            codelist="municipality",
            vintage_date="valid_from",
        ),
        Column("start_reason", "code", "Why the period starts.", codelist="residence_start"),
        Column(
            "end_reason", "code", "Why the period ends; empty if ongoing.", True, "residence_end"
        ),
        Column(
            "origin_country",
            "code",
            "Country of previous residence, for a first registration or a return.",
            True,
            "country",
        ),
        Column(
            "destination_country",
            "code",
            "Declared country of destination, for an emigration.",
            True,
            "country",
        ),
    ),
    periods=(("valid_from", "valid_to"),),
)

HOUSEHOLD = Table(
    name="household",
    register=NR,
    description=(
        "Household history: one row per period in which a person's household, reference "
        "person, relation to the reference person and LIPRO position stay the same."
    ),
    key=("insz", "valid_from"),
    time=History(),
    columns=(
        Column("insz", "insz", "Person."),
        Column("valid_from", "date", "First day of the period."),
        Column("valid_to", "date", "Last day of the period; empty if ongoing.", True),
        Column(
            "household_id", "string", "Household identifier (stable while the household lasts)."
        ),
        Column(
            "reference_insz",
            "insz",
            "INSZ of the reference person; empty for a collective household.",
            True,
        ),
        Column("relation", "code", "Relation to the reference person.", codelist="relation"),
        Column("lipro", "code", "LIPRO household position.", codelist="lipro"),
    ),
    periods=(("valid_from", "valid_to"),),
)

CIVIL_STATUS = Table(
    name="civil_status",
    register=NR,
    description="Civil-status history: one row per civil status held.",
    key=("insz", "valid_from"),
    time=History(),
    columns=(
        Column("insz", "insz", "Person."),
        Column("valid_from", "date", "Date of the change (birth for 'never married')."),
        Column("valid_to", "date", "Last day in this status; empty if current.", True),
        Column("civil_status", "code", "Civil status.", codelist="civil_status"),
        Column("spouse_insz", "insz", "INSZ of the spouse while married, where known.", True),
    ),
    periods=(("valid_from", "valid_to"),),
)

COHABITATION = Table(
    name="legal_cohabitation",
    register=NR,
    description=(
        "Declarations of legal cohabitation (since 1 January 2000): one row per person per "
        "declaration, with its end and the reason it ended."
    ),
    key=("insz", "start_date"),
    time=History("start_date", "end_date"),
    columns=(
        Column("insz", "insz", "Person."),
        Column("partner_insz", "insz", "INSZ of the legal cohabitant."),
        Column("start_date", "date", "Date of the declaration."),
        Column("start_code", "code", "Kind of start.", codelist="cohabitation_start"),
        Column("end_date", "date", "Date it ended; empty if ongoing.", True),
        Column("end_code", "code", "Why it ended; empty if ongoing.", True, "cohabitation_end"),
    ),
    periods=(("start_date", "end_date"),),
)

RESIDENCE_REASON = Table(
    name="residence_reason",
    register=NR,
    description=(
        "Residence reason of foreigners at first registration, and recognition as refugee "
        "(asylum) where it happened."
    ),
    key=("insz",),
    time=Static(),
    columns=(
        Column("insz", "insz", "Person."),
        Column("reason", "code", "Reason of residence.", codelist="residence_reason"),
        Column("registered_date", "date", "Date the residence reason was registered."),
        Column(
            "asylum_recognition_date",
            "date",
            "Date of recognition as a refugee; empty if not recognised.",
            True,
        ),
    ),
    periods=(("registered_date", "asylum_recognition_date"),),
)

CONTRACT: tuple[Table, ...] = (
    PERSON,
    NATIONALITY,
    RESIDENCE,
    HOUSEHOLD,
    CIVIL_STATUS,
    COHABITATION,
    RESIDENCE_REASON,
    *KSZ_TABLES,
    *EDUCATION_TABLES,
    *VDAB_TABLES,
    *STATBEL_TABLES,
)


def table(name: str) -> Table:
    """The contract table called ``name``."""
    for t in CONTRACT:
        if t.name == name:
            return t
    raise KeyError(name)
