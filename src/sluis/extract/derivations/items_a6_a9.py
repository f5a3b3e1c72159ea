"""The items of 25/074 A6-A9 (G2): the person, household, municipal context, education
and status of each sampled person (see :mod:`sluis.extract.derivations.items`)."""

from __future__ import annotations

from sluis.extract.derivations.items import (
    A8_NAMES,
    COUNTRY_CLASS,
    DIPLOMA_LEVELS,
    ENROLMENT,
    FLAG_OF_QUARTER,
    FWB_E,
    HIGHEST,
    HOUSEHOLD_ROW,
    OF_QUARTER,
    ON_DATE,
    PARTNER_COLUMNS,
    PARTNER_RULE,
    VL_D,
    VL_E,
    Item,
    cols,
    education_items,
    sep,
)

A6 = (
    Item(
        "sequence number",
        "A6",
        ("person.insz",),
        "replaced by the project's meaningless sequence number at pseudonymisation (G3); the "
        "INSZ itself is never delivered",
    ),
    Item(
        "region of domicile",
        "A6",
        ("residence.nis_code", "residence.valid_from", "residence.valid_to"),
        f"{ON_DATE}; NIS code -> region of municipalities.csv in the code's vintage; no row "
        "on the date = not resident (abroad)",
    ),
    Item(
        "sample flag",
        "A6",
        ("person.insz",),
        "set by the selection stage (A2): general sample, naturalisation sample or family "
        "member; not a source column",
    ),
    Item(
        "LIPRO household type",
        "A6",
        ("household.lipro", "household.household_id", *HOUSEHOLD_ROW),
        "the LIPRO positions of all persons with the same household_id on the reference date, "
        "condensed to the household type (e.g. a MAR+ member -> married couple with children, "
        "COLL -> collective household)",
    ),
    Item(
        "relation to the reference person",
        "A6",
        ("household.relation", *HOUSEHOLD_ROW),
        ON_DATE,
    ),
    Item(
        "household size",
        "A6",
        ("household.household_id", *HOUSEHOLD_ROW),
        "count of persons with the same household_id valid on the reference date",
    ),
    Item("birth date (y+q)", "A6", ("person.birth_date",), "year and quarter of the date"),
    Item(
        "death date (y+q)",
        "A6",
        ("person.death_date",),
        "year and quarter of the date; empty while alive (a person who leaves without a death "
        "date emigrated, see residence.end_reason)",
    ),
    Item(
        "number of children, each child's sequence number and birth year",
        "A6",
        ("person.father_insz", "person.mother_insz", "person.birth_date"),
        "children = persons whose father_insz or mother_insz is the person's INSZ; their "
        "count, their sequence numbers and the year of their birth_date",
    ),
    Item("partner's sequence number", "A6", PARTNER_COLUMNS, PARTNER_RULE),
    Item(
        "reference person's sequence number",
        "A6",
        ("household.reference_insz", *HOUSEHOLD_ROW),
        f"{ON_DATE}; empty for a collective household",
    ),
    Item("sex", "A6", ("person.sex",), "as registered (1 male, 2 female)"),
    Item(
        "civil status and the date of its last change (y+q)",
        "A6",
        ("civil_status.civil_status", "civil_status.valid_from", "civil_status.valid_to"),
        f"{ON_DATE}; valid_from as year and quarter",
    ),
    Item(
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
    Item(
        "first nationality of the person (classes)",
        "A6",
        ("person.first_nationality",),
        COUNTRY_CLASS,
    ),
    Item(
        "first nationality of each parent (classes)",
        "A6",
        ("person.father_insz", "person.mother_insz", "person.first_nationality"),
        f"the parent's own person row via father_insz / mother_insz; {COUNTRY_CLASS}; "
        "unknown when the parent is not in the register",
    ),
    Item(
        "place of birth of the person (classes)",
        "A6",
        ("person.country_of_birth",),
        COUNTRY_CLASS,
    ),
    Item(
        "place of birth of each parent (classes)",
        "A6",
        ("person.father_insz", "person.mother_insz", "person.country_of_birth"),
        f"the parent's own person row via father_insz / mother_insz; {COUNTRY_CLASS}; "
        "unknown when the parent is not in the register",
    ),
    Item(
        "residence reason and the date it was registered (y+q)",
        "A6",
        ("residence_reason.reason", "residence_reason.registered_date"),
        "as registered; registered_date as year and quarter",
    ),
    Item(
        "date of recognition as asylum seeker",
        "A6",
        ("residence_reason.asylum_recognition_date",),
        "coarsened as the spec says (year and quarter); empty when not recognised",
    ),
    Item(
        "current nationality (classes) and the date it was acquired (y+m)",
        "A6",
        ("nationality.nationality", "nationality.valid_from", "nationality.valid_to"),
        f"{ON_DATE}; {COUNTRY_CLASS}; valid_from as year and month",
    ),
    Item(
        "date of first registration in the National Register (y+q)",
        "A6",
        ("person.first_registration_date",),
        "year and quarter of the date",
    ),
)


_CONTEXT_JOIN = (
    *cols("residence", "nis_code", "valid_from", "valid_to"),
    *cols("municipal_context", "nis_code", "quarter_end"),
)
_CONTEXT = (
    "the municipal_context row of the person's municipality of residence on the quarter's "
    "last day (residence row valid on quarter_end; NIS code in the vintage of that date); "
    "the municipality itself is never delivered (G4)"
)

A7 = (
    Item(
        "region",
        "A7",
        (*_CONTEXT_JOIN, "municipal_context.region"),
        f"region of {_CONTEXT}",
    ),
    Item(
        "municipality size class",
        "A7",
        (*_CONTEXT_JOIN, *cols("municipal_context", "population", "size_class")),
        f"size_class (the class of population) of {_CONTEXT}",
    ),
    Item(
        "class of the migrant population size in the municipality",
        "A7",
        (*_CONTEXT_JOIN, "municipal_context.migrant_class"),
        f"migrant_class (share of residents with a foreign nationality) of {_CONTEXT}",
    ),
    Item(
        "municipal unemployment rate",
        "A7",
        (*_CONTEXT_JOIN, "municipal_context.unemployment_rate"),
        f"unemployment_rate of {_CONTEXT}; in classes set at coarsening (design choice, G4)",
    ),
)

_A8_EDUCATION = education_items("A8", "person", A8_NAMES)

A8 = (
    *(_A8_EDUCATION[k] for k in ("enrolled", "level", "year", "country", "category")),
    Item(
        "field of study",
        "A8",
        (f"{VL_E}.field", f"{FWB_E}.domain", f"{VL_D}.field", *DIPLOMA_LEVELS),
        f"field of {ENROLMENT} (Flemish field, FWB domain: higher education only); when not "
        f"enrolled, the field of {HIGHEST} (Flemish diplomas only: FWB diplomas carry none)",
    ),
    *(_A8_EDUCATION[k] for k in ("study level", "study area", "scholarship", "access")),
)

_A9_FLAGS = (
    ("working pensioner", ("working_pensioner",)),
    ("pensioner with social integration income or social aid", ("pensioner_social_aid",)),
    ("pensioner with a foreign pension", ("pensioner_foreign_pension",)),
    ("working with invalidity benefit", ("working_invalidity",)),
    ("child entitled to family allowance with invalidity benefit", ("child_allowance_invalidity",)),
    ("non-working person under pension age with invalidity benefit", ("nonworking_invalidity",)),
    (
        "working with (partial) career break or time credit",
        ("career_break_partial", "career_break_type"),
    ),
    (
        "working under an activation measure of the national employment office",
        ("rva_activation",),
    ),
    ("working in a local employment agency (PWA/ALE)", ("local_employment_agency",)),
)
_CAREER_BREAK = "; career_break_type (PREFIXLO) as registered tells the kind of interruption"

A9 = (
    sep(
        "A9",
        "person",
        ("dwh_position.sep_vintage",),
        "; sep_vintage tells a 2000-2002 position mapped onto the current tree",
    ),
    Item(
        "total number of jobs",
        "A9",
        cols("dwh_position", "quarter_end", "jobs_total"),
        f"jobs_total of the dwh_position {OF_QUARTER}",
    ),
    Item(
        "number of jobs as employee",
        "A9",
        cols("dwh_position", "quarter_end", "jobs_employee"),
        f"jobs_employee of the dwh_position {OF_QUARTER}",
    ),
    *(
        Item(
            variable,
            "A9",
            cols("dwh_position", "quarter_end", *columns),
            FLAG_OF_QUARTER + (_CAREER_BREAK if "career_break_type" in columns else ""),
        )
        for variable, columns in _A9_FLAGS
    ),
)
