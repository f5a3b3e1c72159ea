"""How the person variables of the authorisations come from the source contract (G2, A6, A12,
A13, B6).

Declared as data, like the contract itself: each row names a variable as the requirement
words it, the requirement, the contract columns (``table.column``) it is derived from and the
rule. ``docs/source-contract.md`` renders this table, and a test checks that every column named
here exists in the contract, so the mapping cannot drift from the declaration.

Variables from the education and labour-market registers (KSZ data warehouse, education,
VDAB) belong to part 2 of the contract (issue 4); they are listed with ``part=2`` and no
columns, so the mapping shows the whole of each requirement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Derivation:
    """One delivered variable: where it comes from and how."""

    variable: str
    requirement: str
    columns: tuple[str, ...]
    rule: str
    #: 1 = National Register / DEMOBEL (this contract); 2 = education / labour registers
    part: int = 1


PART2_EDUCATION = "education registers (Flemish Community, Federation Wallonia-Brussels)"
PART2_LABOUR = "KSZ data warehouse labour market and social protection"

_ON_DATE = "the row valid on the reference date (valid_from <= date <= valid_to or open)"
_HOUSEHOLD_ROW = ("household.valid_from", "household.valid_to")
_PARTNER_COLUMNS = (
    "civil_status.spouse_insz",
    "civil_status.valid_from",
    "civil_status.valid_to",
    "legal_cohabitation.partner_insz",
    "legal_cohabitation.start_date",
    "legal_cohabitation.end_date",
    "household.reference_insz",
    "household.relation",
)
_PARTNER_RULE = (
    "the spouse (civil_status.spouse_insz of the row valid on the reference date), else the "
    "legal cohabitant (ongoing declaration), else in the same household the reference person "
    "when the person's relation is 02 spouse or 21 partner, or the member with relation 02/21 "
    "when the person is the reference person"
)
_WHILE_IN_HOUSEHOLD = (
    "; followed only while household.household_id on the reference date equals the sampled "
    "person's (G7)"
)
_CHILD_RULE = (
    "persons whose person.father_insz or person.mother_insz is the sampled person's INSZ, "
    "and household members with relation 03 (son/daughter) or 13 (stepchild) when the sampled "
    "person is the reference person"
)
_COUNTRY_CLASS = "Belgian country code -> country class of country_classes.csv (about fifteen)"
_COUNTRY_4 = (
    "150 -> Belgian; a country that is an EU member on the reference date "
    "(country_classes.csv eu_group, eu_accession_year) -> EU; another known country -> non-EU; "
    "998/999 stateless/unknown -> other"
)
_ORIGIN_RULE = (
    "Statbel origin rule (REFERENCE.md §5.1): Belgian background when current and first "
    "nationality and both parents' first nationality (parents via person.father_insz / "
    "mother_insz) are Belgian; otherwise the origin country is the father's first nationality "
    "if foreign, else the mother's, else the person's own first, else current nationality; "
    "classed Belgian background / EU / non-EU / unknown (4 classes, design choice)"
)


def _same_for(requirement: str, who: str) -> tuple[Derivation, ...]:
    """The nationality and birth-country variables that A12 and A13 share, for ``who``."""
    of = f"the {who}'s own person row"
    return (
        Derivation(
            "sample flag",
            requirement,
            ("person.insz",),
            "set by the selection stage (A2): general sample, naturalisation sample or family "
            "member; not a source column",
        ),
        Derivation(
            "first nationality (classes)",
            requirement,
            ("person.first_nationality",),
            f"{of}; {_COUNTRY_CLASS}",
        ),
        Derivation(
            "current nationality (classes)",
            requirement,
            ("nationality.nationality", "nationality.valid_from", "nationality.valid_to"),
            f"{_ON_DATE}; {_COUNTRY_CLASS}",
        ),
        Derivation(
            "date of current nationality (y+m)",
            requirement,
            ("nationality.valid_from",),
            "valid_from of the nationality row valid on the reference date, as year and month",
        ),
        Derivation(
            "country of birth (classes)",
            requirement,
            ("person.country_of_birth",),
            f"{of}; {_COUNTRY_CLASS}",
        ),
    )


A6 = (
    Derivation(
        "sequence number",
        "A6",
        ("person.insz",),
        "replaced by the project's meaningless sequence number at pseudonymisation (G3); the "
        "INSZ itself is never delivered",
    ),
    Derivation(
        "region of domicile",
        "A6",
        ("residence.nis_code", "residence.valid_from", "residence.valid_to"),
        f"{_ON_DATE}; NIS code -> region of municipalities.csv in the code's vintage; no row "
        "on the date = not resident (abroad)",
    ),
    Derivation(
        "sample flag",
        "A6",
        ("person.insz",),
        "set by the selection stage (A2): general sample, naturalisation sample or family "
        "member; not a source column",
    ),
    Derivation(
        "LIPRO household type",
        "A6",
        ("household.lipro", "household.household_id", *_HOUSEHOLD_ROW),
        "the LIPRO positions of all persons with the same household_id on the reference date, "
        "condensed to the household type (e.g. a MAR+ member -> married couple with children, "
        "COLL -> collective household)",
    ),
    Derivation(
        "relation to the reference person",
        "A6",
        ("household.relation", *_HOUSEHOLD_ROW),
        _ON_DATE,
    ),
    Derivation(
        "household size",
        "A6",
        ("household.household_id", *_HOUSEHOLD_ROW),
        "count of persons with the same household_id valid on the reference date",
    ),
    Derivation("birth date (y+q)", "A6", ("person.birth_date",), "year and quarter of the date"),
    Derivation(
        "death date (y+q)",
        "A6",
        ("person.death_date",),
        "year and quarter of the date; empty while alive (a person who leaves without a death "
        "date emigrated, see residence.end_reason)",
    ),
    Derivation(
        "number of children, each child's sequence number and birth year",
        "A6",
        ("person.father_insz", "person.mother_insz", "person.birth_date"),
        "children = persons whose father_insz or mother_insz is the person's INSZ; their "
        "count, their sequence numbers and the year of their birth_date",
    ),
    Derivation("partner's sequence number", "A6", _PARTNER_COLUMNS, _PARTNER_RULE),
    Derivation(
        "reference person's sequence number",
        "A6",
        ("household.reference_insz", *_HOUSEHOLD_ROW),
        f"{_ON_DATE}; empty for a collective household",
    ),
    Derivation("sex", "A6", ("person.sex",), "as registered (1 male, 2 female)"),
    Derivation(
        "civil status and the date of its last change (y+q)",
        "A6",
        ("civil_status.civil_status", "civil_status.valid_from", "civil_status.valid_to"),
        f"{_ON_DATE}; valid_from as year and quarter",
    ),
    Derivation(
        "legal cohabitation start and end (y+q) and its start/end code",
        "A6",
        (
            "legal_cohabitation.start_date",
            "legal_cohabitation.end_date",
            "legal_cohabitation.start_code",
            "legal_cohabitation.end_code",
        ),
        "the latest declaration started on or before the reference date; dates as year and "
        "quarter, codes as registered",
    ),
    Derivation(
        "first nationality of the person (classes)",
        "A6",
        ("person.first_nationality",),
        _COUNTRY_CLASS,
    ),
    Derivation(
        "first nationality of each parent (classes)",
        "A6",
        ("person.father_insz", "person.mother_insz", "person.first_nationality"),
        f"the parent's own person row via father_insz / mother_insz; {_COUNTRY_CLASS}; "
        "unknown when the parent is not in the register",
    ),
    Derivation(
        "place of birth of the person (classes)",
        "A6",
        ("person.country_of_birth",),
        _COUNTRY_CLASS,
    ),
    Derivation(
        "place of birth of each parent (classes)",
        "A6",
        ("person.father_insz", "person.mother_insz", "person.country_of_birth"),
        f"the parent's own person row via father_insz / mother_insz; {_COUNTRY_CLASS}; "
        "unknown when the parent is not in the register",
    ),
    Derivation(
        "residence reason and the date it was registered (y+q)",
        "A6",
        ("residence_reason.reason", "residence_reason.registered_date"),
        "as registered; registered_date as year and quarter",
    ),
    Derivation(
        "date of recognition as asylum seeker",
        "A6",
        ("residence_reason.asylum_recognition_date",),
        "coarsened as the spec says (year and quarter); empty when not recognised",
    ),
    Derivation(
        "current nationality (classes) and the date it was acquired (y+m)",
        "A6",
        ("nationality.nationality", "nationality.valid_from", "nationality.valid_to"),
        f"{_ON_DATE}; {_COUNTRY_CLASS}; valid_from as year and month",
    ),
    Derivation(
        "date of first registration in the National Register (y+q)",
        "A6",
        ("person.first_registration_date",),
        "year and quarter of the date",
    ),
)

A12 = (
    Derivation(
        "sequence number",
        "A12",
        (*_PARTNER_COLUMNS, "household.household_id"),
        f"the partner as for A6 partner's sequence number{_WHILE_IN_HOUSEHOLD}",
    ),
    *_same_for("A12", "partner"),
    Derivation("sex", "A12", ("person.sex",), "the partner's own person row"),
    Derivation("education level", "A12", (), PART2_EDUCATION, part=2),
    Derivation("socio-economic position", "A12", (), PART2_LABOUR, part=2),
    Derivation("NACE of the employer", "A12", (), PART2_LABOUR, part=2),
    Derivation("gross wage (classes)", "A12", (), PART2_LABOUR, part=2),
    Derivation("NACE of self-employment", "A12", (), PART2_LABOUR, part=2),
    Derivation("self-employed income (classes)", "A12", (), PART2_LABOUR, part=2),
    Derivation("job seeker indicator", "A12", (), PART2_LABOUR, part=2),
    Derivation("OCMW intervention type (one level)", "A12", (), PART2_LABOUR, part=2),
)

A13 = (
    Derivation(
        "sequence number",
        "A13",
        (
            "person.father_insz",
            "person.mother_insz",
            "household.household_id",
            "household.relation",
            "household.reference_insz",
        ),
        f"{_CHILD_RULE}{_WHILE_IN_HOUSEHOLD}",
    ),
    *_same_for("A13", "child"),
    Derivation("socio-economic position", "A13", (), PART2_LABOUR, part=2),
    Derivation("enrolled", "A13", (), PART2_EDUCATION, part=2),
    Derivation("education level", "A13", (), PART2_EDUCATION, part=2),
    Derivation("diploma year", "A13", (), PART2_EDUCATION, part=2),
    Derivation(
        "country of a higher-education diploma (classes)", "A13", (), PART2_EDUCATION, part=2
    ),
    Derivation("diploma code or category", "A13", (), PART2_EDUCATION, part=2),
    Derivation("training category", "A13", (), PART2_EDUCATION, part=2),
    Derivation("scholarship status", "A13", (), PART2_EDUCATION, part=2),
    Derivation("access-diploma type and year", "A13", (), PART2_EDUCATION, part=2),
    Derivation("study level", "A13", (), PART2_EDUCATION, part=2),
    Derivation("study area", "A13", (), PART2_EDUCATION, part=2),
)

B6 = (
    Derivation(
        "reference person's sequence number",
        "B6",
        ("household.reference_insz", *_HOUSEHOLD_ROW),
        f"{_ON_DATE}; empty for a collective household",
    ),
    Derivation(
        "relation to the reference person", "B6", ("household.relation", *_HOUSEHOLD_ROW), _ON_DATE
    ),
    Derivation("sex", "B6", ("person.sex",), "as registered (1 male, 2 female)"),
    Derivation(
        "age class",
        "B6",
        ("person.birth_date",),
        "age in completed years on the reference (cohort) date, in the spec's classes",
    ),
    Derivation(
        "place of residence",
        "B6",
        ("residence.nis_code", "residence.valid_from", "residence.valid_to"),
        f"{_ON_DATE}; municipality -> region and classed municipal context as the spec says",
    ),
    Derivation(
        "household type",
        "B6",
        ("household.lipro", "household.household_id", *_HOUSEHOLD_ROW),
        "the LIPRO positions of all persons with the same household_id on the reference date, "
        "condensed to the household type",
    ),
    Derivation("position in the household", "B6", ("household.lipro", *_HOUSEHOLD_ROW), _ON_DATE),
    Derivation(
        "place of birth (Flemish, Walloon or Brussels region, other EU country, non-EU country)",
        "B6",
        ("person.country_of_birth", "person.birth_nis_code"),
        "country_of_birth 150 (Belgium): region of the municipality birth_nis_code (first "
        "two digits: 21 Brussels; the province decides Flanders or Wallonia); other "
        "countries: EU member on the reference date -> other EU, else non-EU",
    ),
    Derivation(
        "first nationality (Belgian, EU, non-EU, other)",
        "B6",
        ("person.first_nationality",),
        _COUNTRY_4,
    ),
    Derivation(
        "current nationality (Belgian, EU, non-EU, other)",
        "B6",
        ("nationality.nationality", "nationality.valid_from", "nationality.valid_to"),
        f"{_ON_DATE}; {_COUNTRY_4}",
    ),
    Derivation(
        "migrant status / origin (4 classes)",
        "B6",
        (
            "person.first_nationality",
            "nationality.nationality",
            "person.father_insz",
            "person.mother_insz",
        ),
        _ORIGIN_RULE,
    ),
)

#: every person variable of A6, A12, A13 and B6, in the order of REQUIREMENTS.md
DERIVATIONS: tuple[Derivation, ...] = (*A6, *A12, *A13, *B6)
