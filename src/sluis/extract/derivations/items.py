"""The requirement items of the two authorisations (G2): what each requirement asks for, as
the requirement words it, the contract columns (``table.column``) it is read from and how.

Declared as data, like the contract itself. A6-A13 of 25/074 live in :mod:`.items_a6_a9` and
:mod:`.items_a10_a13`, B3-B9 of 26/050 in :mod:`.items_b3_b9`; this module holds what they
share. A spec's ``covers`` names these items (``"A12: NACE of the employer"``); the
derivations of the registry name the items they serve. ``docs/source-contract.md`` renders
the table, and tests check that every column named here exists in the contract, that every
requirement has its items and that every column tagged with ``serves`` feeds an item of a
requirement it serves, so the mapping cannot drift from the declaration.

A rule that says *computed* or *at coarsening* names a value that a later stage (selection,
G4 coarsening) sets from the named columns; it is not stored in a source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """One variable a requirement asks for: where it comes from and how."""

    variable: str
    requirement: str
    columns: tuple[str, ...]
    rule: str

    @property
    def key(self) -> str:
        """The item as a spec's ``covers`` names it: ``"A12: NACE of the employer"``."""
        return f"{self.requirement}: {self.variable}"


def cols(table: str, *columns: str) -> tuple[str, ...]:
    """``table.column`` references for the columns of one table."""
    return tuple(f"{table}.{c}" for c in columns)


ON_DATE = "the row valid on the reference date (valid_from <= date <= valid_to or open)"
HOUSEHOLD_ROW = ("household.valid_from", "household.valid_to")
PARTNER_COLUMNS = (
    "civil_status.spouse_insz",
    "civil_status.valid_from",
    "civil_status.valid_to",
    "legal_cohabitation.partner_insz",
    "legal_cohabitation.start_date",
    "legal_cohabitation.end_date",
    "household.reference_insz",
    "household.relation",
)
PARTNER_RULE = (
    "the spouse (civil_status.spouse_insz of the row valid on the reference date), else the "
    "legal cohabitant (ongoing declaration), else in the same household the reference person "
    "when the person's relation is 02 spouse or 21 partner, or the member with relation 02/21 "
    "when the person is the reference person"
)
WHILE_IN_HOUSEHOLD = (
    "; followed only while household.household_id on the reference date equals the sampled "
    "person's (G7)"
)
CHILD_RULE = (
    "persons whose person.father_insz or person.mother_insz is the sampled person's INSZ, "
    "and household members with relation 03 (son/daughter) or 13 (stepchild) when the sampled "
    "person is the reference person"
)
COUNTRY_CLASS = "Belgian country code -> country class of country_classes.csv (about fifteen)"
COUNTRY_4 = (
    "150 -> Belgian; a country that is an EU member on the reference date "
    "(country_classes.csv eu_group, eu_accession_year) -> EU; another known country -> non-EU; "
    "998/999 stateless/unknown -> other"
)
ORIGIN_RULE = (
    "Statbel origin rule (REFERENCE.md §5.1): Belgian background when current and first "
    "nationality and both parents' first nationality (parents via person.father_insz / "
    "mother_insz) are Belgian; otherwise the origin country is the father's first nationality "
    "if foreign, else the mother's, else the person's own first, else current nationality; "
    "classed Belgian background / EU / non-EU / unknown (4 classes, design choice)"
)


def same_for(requirement: str, who: str) -> tuple[Item, ...]:
    """The nationality and birth-country variables that A12 and A13 share, for ``who``."""
    of = f"the {who}'s own person row"
    return (
        Item(
            "sample flag",
            requirement,
            ("person.insz",),
            "set by the selection stage (A2): general sample, naturalisation sample or family "
            "member; not a source column",
        ),
        Item(
            "first nationality (classes)",
            requirement,
            ("person.first_nationality",),
            f"{of}; {COUNTRY_CLASS}",
        ),
        Item(
            "current nationality (classes)",
            requirement,
            ("nationality.nationality", "nationality.valid_from", "nationality.valid_to"),
            f"{ON_DATE}; {COUNTRY_CLASS}",
        ),
        Item(
            "date of current nationality (y+m)",
            requirement,
            ("nationality.valid_from",),
            "valid_from of the nationality row valid on the reference date, as year and month",
        ),
        Item(
            "country of birth (classes)",
            requirement,
            ("person.country_of_birth",),
            f"{of}; {COUNTRY_CLASS}",
        ),
    )


# -- part 2: shared row choices and coarsening rules ---------------------------------------

AMOUNT = "in classes at least EUR 150 wide, set at coarsening (G4)"
OF_QUARTER = "row of the quarter (quarter_end = the quarter's last day, G6)"
YQ = "as year and quarter (G4)"
YM = "as year and month"
FLAG_OF_QUARTER = f"the flag of the person's dwh_position {OF_QUARTER}, as the DWH derives it"
MAIN_JOB_COLUMNS = cols("dwh_job", "quarter_end", "job", "statute", "gross_wage")
MAIN_JOB = (
    "main job = the employee or civil-servant job (statute 1 or 2) of the quarter with the "
    "highest gross_wage, then the lowest job number; the self-employed activity when there "
    "is none (design choice)"
)

VL_E, FWB_E = "education_vl_enrolment", "education_fwb_enrolment"
VL_D, FWB_D = "education_vl_diploma", "education_fwb_diploma"
SCHOOL_YEAR = (
    "of the school year that contains the quarter's last day (school_year Y = 1 September Y "
    "to 31 August Y+1)"
)
ENROLMENT = f"the enrolment row (Flemish or FWB register) {SCHOOL_YEAR}"
DIPLOMA_LEVELS = (*cols(VL_D, "level", "diploma_year"), *cols(FWB_D, "level", "diploma_year"))
HIGHEST = (
    "the highest diploma obtained up to the quarter in either community's diploma table "
    "(diploma_year not after the quarter's year; both level lists ranked on one scale: "
    "primary < secondary < higher vocational < bachelor < master < doctorate, design choice; "
    "recognised foreign diplomas count)"
)
HIGHER_EDUCATION = "Flemish HBO5, PBA, ABA, MA, DR; FWB SUP-HE, SUP-U, SUP-DR"
ACCESS = "the first diploma with access_diploma = 1 (either community)"


def sep(requirement: str, who: str, extra: tuple[str, ...] = (), note: str = "") -> Item:
    """The socio-economic position (KSZ nomenclature) of ``who`` in the quarter."""
    return Item(
        "socio-economic position",
        requirement,
        (*cols("dwh_position", "quarter_end", "sep"), *extra),
        f"sep of the {who}'s dwh_position {OF_QUARTER}{note}",
    )


def highest_level(requirement: str, who: str, variable: str) -> Item:
    return Item(
        variable,
        requirement,
        DIPLOMA_LEVELS,
        f"level of {HIGHEST}, for the {who}; classed at coarsening; empty without a "
        "registered diploma",
    )


#: how A13 words the education variables it shares with A8 (A8's wording in A8_NAMES)
A13_NAMES = {
    "enrolled": "enrolled",
    "level": "education level",
    "year": "diploma year",
    "country": "country of a higher-education diploma (classes)",
    "category": "diploma code or category",
    "scholarship": "scholarship status",
    "access": "access-diploma type and year",
    "study level": "study level",
    "study area": "study area",
}
A8_NAMES = {
    **A13_NAMES,
    "enrolled": "enrolled as pupil or student",
    "level": "highest level attained",
    "access": "type of the diploma giving access to higher education and the year obtained",
    "study level": "level of study",
    "study area": "area of study",
}


def education_items(requirement: str, who: str, names: dict[str, str]) -> dict[str, Item]:
    """The education variables that A8 and A13 share, for ``who``, named as ``names``; keyed
    like ``names`` so that each requirement lists them in its own order."""
    return {
        "enrolled": Item(
            names["enrolled"],
            requirement,
            (f"{VL_E}.school_year", f"{FWB_E}.school_year"),
            f"computed: 1 when the {who} has {ENROLMENT}, else 0",
        ),
        "level": highest_level(requirement, who, names["level"]),
        "year": Item(
            names["year"],
            requirement,
            DIPLOMA_LEVELS,
            f"diploma_year of {HIGHEST}, for the {who}",
        ),
        "country": Item(
            names["country"],
            requirement,
            (*cols(VL_D, "level", "country"), *cols(FWB_D, "level", "country")),
            f"country of the {who}'s highest higher-education diploma (level {HIGHER_EDUCATION}; "
            f"recognised foreign diplomas included); {COUNTRY_CLASS}",
        ),
        "category": Item(
            names["category"],
            requirement,
            (*DIPLOMA_LEVELS, f"{VL_D}.category", f"{FWB_D}.category"),
            f"category of {HIGHEST}, for the {who}; the registers' detailed diploma codes are "
            "not in the contract, the category stands in for them",
        ),
        "scholarship": Item(
            names["scholarship"],
            requirement,
            (f"{VL_E}.scholarship", f"{FWB_E}.scholarship"),
            f"scholarship of {ENROLMENT}; the FWB register has it for higher education only "
            "(empty for pupils)",
        ),
        "access": Item(
            names["access"],
            requirement,
            (
                *cols(VL_D, "access_diploma", "category", "level", "diploma_year"),
                *cols(FWB_D, "access_diploma", "category", "level", "diploma_year"),
            ),
            f"type (category and level) and year (diploma_year) of {ACCESS}, for the {who}",
        ),
        "study level": Item(
            names["study level"],
            requirement,
            (f"{VL_E}.level", f"{FWB_E}.level"),
            f"level of {ENROLMENT}, in the community's own list (edu_vl_level, edu_fwb_level)",
        ),
        "study area": Item(
            names["study area"],
            requirement,
            (f"{VL_E}.study_area",),
            f"study_area of the Flemish enrolment row {SCHOOL_YEAR}; the FWB register has no "
            "study area (empty)",
        ),
    }


def partner_jobs(requirement: str) -> tuple[Item, ...]:
    """Employer, wage and self-employment of the partner in the quarter (A12)."""
    return (
        Item(
            "NACE of the employer",
            requirement,
            (*MAIN_JOB_COLUMNS, "dwh_job.nace"),
            f"nace (two digits) of the partner's main employee or civil-servant job; {MAIN_JOB}",
        ),
        Item(
            "gross wage (classes)",
            requirement,
            cols("dwh_job", "quarter_end", "statute", "gross_wage"),
            "sum of gross_wage over the partner's employee and civil-servant jobs (statute 1 "
            f"or 2) of the quarter, {AMOUNT}",
        ),
        Item(
            "NACE of self-employment",
            requirement,
            cols("dwh_job", "quarter_end", "statute", "nace"),
            "nace (two digits) of the partner's self-employed or helper activity (statute 3 "
            "or 4) of the quarter",
        ),
        Item(
            "self-employed income (classes)",
            requirement,
            cols("dwh_job", "quarter_end", "statute", "self_employed_income"),
            "self_employed_income of the partner's self-employed activity (statute 3 or 4) of "
            f"the quarter, {AMOUNT}",
        ),
    )
