"""How every variable of the two authorisations comes from the source contract (G2): A6-A13
of 25/074 and B3-B9 of 26/050.

Declared as data, like the contract itself: each row names a variable as the requirement
words it, the requirement, the contract columns (``table.column``) it is derived from and the
rule. ``docs/source-contract.md`` renders this table, and tests check that every column named
here exists in the contract, that every requirement has its variables and that every column
tagged with ``serves`` feeds a variable of a requirement it serves, so the mapping cannot
drift from the declaration.

A rule that says *computed* or *at coarsening* names a value that a later stage (selection,
G4 coarsening) sets from the named columns; it is not stored in a source.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluis.sources.contract_ksz import BENEFIT_COLUMNS


@dataclass(frozen=True)
class Derivation:
    """One delivered variable: where it comes from and how."""

    variable: str
    requirement: str
    columns: tuple[str, ...]
    rule: str


def _cols(table: str, *columns: str) -> tuple[str, ...]:
    """``table.column`` references for the columns of one table."""
    return tuple(f"{table}.{c}" for c in columns)


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


# -- part 2: shared row choices and coarsening rules ---------------------------------------

_AMOUNT = "in classes at least EUR 150 wide, set at coarsening (G4)"
_OF_QUARTER = "row of the quarter (quarter_end = the quarter's last day, G6)"
_YQ = "as year and quarter (G4)"
_YM = "as year and month"
_FLAG_OF_QUARTER = f"the flag of the person's dwh_position {_OF_QUARTER}, as the DWH derives it"
_MAIN_JOB_COLUMNS = _cols("dwh_job", "quarter_end", "job", "statute", "gross_wage")
_MAIN_JOB = (
    "main job = the employee or civil-servant job (statute 1 or 2) of the quarter with the "
    "highest gross_wage, then the lowest job number; the self-employed activity when there "
    "is none (design choice)"
)

_VL_E, _FWB_E = "education_vl_enrolment", "education_fwb_enrolment"
_VL_D, _FWB_D = "education_vl_diploma", "education_fwb_diploma"
_SCHOOL_YEAR = (
    "of the school year that contains the quarter's last day (school_year Y = 1 September Y "
    "to 31 August Y+1)"
)
_ENROLMENT = f"the enrolment row (Flemish or FWB register) {_SCHOOL_YEAR}"
_DIPLOMA_LEVELS = (*_cols(_VL_D, "level", "diploma_year"), *_cols(_FWB_D, "level", "diploma_year"))
_HIGHEST = (
    "the highest diploma obtained up to the quarter in either community's diploma table "
    "(diploma_year not after the quarter's year; both level lists ranked on one scale: "
    "primary < secondary < higher vocational < bachelor < master < doctorate, design choice; "
    "recognised foreign diplomas count)"
)
_HIGHER_EDUCATION = "Flemish HBO5, PBA, ABA, MA, DR; FWB SUP-HE, SUP-U, SUP-DR"
_ACCESS = "the first diploma with access_diploma = 1 (either community)"


def _sep(requirement: str, who: str, extra: tuple[str, ...] = (), note: str = "") -> Derivation:
    """The socio-economic position (KSZ nomenclature) of ``who`` in the quarter."""
    return Derivation(
        "socio-economic position",
        requirement,
        (*_cols("dwh_position", "quarter_end", "sep"), *extra),
        f"sep of the {who}'s dwh_position {_OF_QUARTER}{note}",
    )


def _highest_level(requirement: str, who: str, variable: str) -> Derivation:
    return Derivation(
        variable,
        requirement,
        _DIPLOMA_LEVELS,
        f"level of {_HIGHEST}, for the {who}; classed at coarsening; empty without a "
        "registered diploma",
    )


#: how A13 words the education variables it shares with A8 (A8's wording in _A8_NAMES)
_A13_NAMES = {
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
_A8_NAMES = {
    **_A13_NAMES,
    "enrolled": "enrolled as pupil or student",
    "level": "highest level attained",
    "access": "type of the diploma giving access to higher education and the year obtained",
    "study level": "level of study",
    "study area": "area of study",
}


def _education(requirement: str, who: str, names: dict[str, str]) -> dict[str, Derivation]:
    """The education variables that A8 and A13 share, for ``who``, named as ``names``; keyed
    like ``names`` so that each requirement lists them in its own order."""
    return {
        "enrolled": Derivation(
            names["enrolled"],
            requirement,
            (f"{_VL_E}.school_year", f"{_FWB_E}.school_year"),
            f"computed: 1 when the {who} has {_ENROLMENT}, else 0",
        ),
        "level": _highest_level(requirement, who, names["level"]),
        "year": Derivation(
            names["year"],
            requirement,
            _DIPLOMA_LEVELS,
            f"diploma_year of {_HIGHEST}, for the {who}",
        ),
        "country": Derivation(
            names["country"],
            requirement,
            (*_cols(_VL_D, "level", "country"), *_cols(_FWB_D, "level", "country")),
            f"country of the {who}'s highest higher-education diploma (level {_HIGHER_EDUCATION}; "
            f"recognised foreign diplomas included); {_COUNTRY_CLASS}",
        ),
        "category": Derivation(
            names["category"],
            requirement,
            (*_DIPLOMA_LEVELS, f"{_VL_D}.category", f"{_FWB_D}.category"),
            f"category of {_HIGHEST}, for the {who}; the registers' detailed diploma codes are "
            "not in the contract, the category stands in for them",
        ),
        "scholarship": Derivation(
            names["scholarship"],
            requirement,
            (f"{_VL_E}.scholarship", f"{_FWB_E}.scholarship"),
            f"scholarship of {_ENROLMENT}; the FWB register has it for higher education only "
            "(empty for pupils)",
        ),
        "access": Derivation(
            names["access"],
            requirement,
            (
                *_cols(_VL_D, "access_diploma", "category", "level", "diploma_year"),
                *_cols(_FWB_D, "access_diploma", "category", "level", "diploma_year"),
            ),
            f"type (category and level) and year (diploma_year) of {_ACCESS}, for the {who}",
        ),
        "study level": Derivation(
            names["study level"],
            requirement,
            (f"{_VL_E}.level", f"{_FWB_E}.level"),
            f"level of {_ENROLMENT}, in the community's own list (edu_vl_level, edu_fwb_level)",
        ),
        "study area": Derivation(
            names["study area"],
            requirement,
            (f"{_VL_E}.study_area",),
            f"study_area of the Flemish enrolment row {_SCHOOL_YEAR}; the FWB register has no "
            "study area (empty)",
        ),
    }


def _partner_jobs(requirement: str) -> tuple[Derivation, ...]:
    """Employer, wage and self-employment of the partner in the quarter (A12)."""
    return (
        Derivation(
            "NACE of the employer",
            requirement,
            (*_MAIN_JOB_COLUMNS, "dwh_job.nace"),
            f"nace (two digits) of the partner's main employee or civil-servant job; {_MAIN_JOB}",
        ),
        Derivation(
            "gross wage (classes)",
            requirement,
            _cols("dwh_job", "quarter_end", "statute", "gross_wage"),
            "sum of gross_wage over the partner's employee and civil-servant jobs (statute 1 "
            f"or 2) of the quarter, {_AMOUNT}",
        ),
        Derivation(
            "NACE of self-employment",
            requirement,
            _cols("dwh_job", "quarter_end", "statute", "nace"),
            "nace (two digits) of the partner's self-employed or helper activity (statute 3 "
            "or 4) of the quarter",
        ),
        Derivation(
            "self-employed income (classes)",
            requirement,
            _cols("dwh_job", "quarter_end", "statute", "self_employed_income"),
            "self_employed_income of the partner's self-employed activity (statute 3 or 4) of "
            f"the quarter, {_AMOUNT}",
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


_CONTEXT_JOIN = (
    *_cols("residence", "nis_code", "valid_from", "valid_to"),
    *_cols("municipal_context", "nis_code", "quarter_end"),
)
_CONTEXT = (
    "the municipal_context row of the person's municipality of residence on the quarter's "
    "last day (residence row valid on quarter_end; NIS code in the vintage of that date); "
    "the municipality itself is never delivered (G4)"
)

A7 = (
    Derivation(
        "region",
        "A7",
        (*_CONTEXT_JOIN, "municipal_context.region"),
        f"region of {_CONTEXT}",
    ),
    Derivation(
        "municipality size class",
        "A7",
        (*_CONTEXT_JOIN, *_cols("municipal_context", "population", "size_class")),
        f"size_class (the class of population) of {_CONTEXT}",
    ),
    Derivation(
        "class of the migrant population size in the municipality",
        "A7",
        (*_CONTEXT_JOIN, "municipal_context.migrant_class"),
        f"migrant_class (share of residents with a foreign nationality) of {_CONTEXT}",
    ),
    Derivation(
        "municipal unemployment rate",
        "A7",
        (*_CONTEXT_JOIN, "municipal_context.unemployment_rate"),
        f"unemployment_rate of {_CONTEXT}; in classes set at coarsening (design choice, G4)",
    ),
)

_A8_EDUCATION = _education("A8", "person", _A8_NAMES)

A8 = (
    *(_A8_EDUCATION[k] for k in ("enrolled", "level", "year", "country", "category")),
    Derivation(
        "field of study",
        "A8",
        (f"{_VL_E}.field", f"{_FWB_E}.domain", f"{_VL_D}.field", *_DIPLOMA_LEVELS),
        f"field of {_ENROLMENT} (Flemish field, FWB domain: higher education only); when not "
        f"enrolled, the field of {_HIGHEST} (Flemish diplomas only: FWB diplomas carry none)",
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
    _sep(
        "A9",
        "person",
        ("dwh_position.sep_vintage",),
        "; sep_vintage tells a 2000-2002 position mapped onto the current tree",
    ),
    Derivation(
        "total number of jobs",
        "A9",
        _cols("dwh_position", "quarter_end", "jobs_total"),
        f"jobs_total of the dwh_position {_OF_QUARTER}",
    ),
    Derivation(
        "number of jobs as employee",
        "A9",
        _cols("dwh_position", "quarter_end", "jobs_employee"),
        f"jobs_employee of the dwh_position {_OF_QUARTER}",
    ),
    *(
        Derivation(
            variable,
            "A9",
            _cols("dwh_position", "quarter_end", *columns),
            _FLAG_OF_QUARTER + (_CAREER_BREAK if "career_break_type" in columns else ""),
        )
        for variable, columns in _A9_FLAGS
    ),
)

_PER_JOB = "of each dwh_job row of the quarter (one row per job; statute tells its kind)"

A10 = (
    Derivation(
        "statute (employee, civil servant, self-employed)",
        "A10",
        _cols("dwh_job", "quarter_end", "job", "statute"),
        f"statute {_PER_JOB}; a helper (4) is delivered with the self-employed",
    ),
    Derivation(
        "employee code",
        "A10",
        _cols("dwh_job", "quarter_end", "statute", "employee_code"),
        f"employee_code (RSZ Codtra) {_PER_JOB}; empty for the self-employed",
    ),
    Derivation(
        "employee class",
        "A10",
        _cols(
            "dwh_job",
            "quarter_end",
            "employee_class",
            "employee_class_holiday",
            "special_class",
        ),
        f"employee_class (Clatra) up to 2016, employee_class_holiday (Claonv) from 2017, with "
        f"special_class (Clatr2), {_PER_JOB}",
    ),
    Derivation(
        "employer type",
        "A10",
        _cols("dwh_job", "quarter_end", "employer_type"),
        f"employer_type {_PER_JOB}",
    ),
    Derivation(
        "part-time percentage (classes)",
        "A10",
        _cols("dwh_job", "quarter_end", "part_time_pct"),
        f"part_time_pct {_PER_JOB}, in classes set at coarsening (G4)",
    ),
    Derivation(
        "performance type",
        "A10",
        _cols("dwh_job", "quarter_end", "performance_type"),
        f"performance_type (T_prest) {_PER_JOB}",
    ),
    Derivation(
        "NACE two digits",
        "A10",
        _cols("dwh_job", "quarter_end", "nace"),
        f"nace (NACE-BEL 2008 division) {_PER_JOB}",
    ),
    Derivation(
        "private/public code",
        "A10",
        _cols("dwh_job", "quarter_end", "private_public"),
        f"private_public {_PER_JOB}",
    ),
    Derivation(
        "home work",
        "A10",
        _cols("dwh_job", "quarter_end", "home_work"),
        f"home_work {_PER_JOB}",
    ),
    Derivation(
        "seasonal work",
        "A10",
        _cols("dwh_job", "quarter_end", "seasonal_work"),
        f"seasonal_work {_PER_JOB}",
    ),
    Derivation(
        "service vouchers",
        "A10",
        _cols("dwh_job", "quarter_end", "service_vouchers"),
        f"service_vouchers {_PER_JOB}",
    ),
    Derivation(
        "self-employed occupation",
        "A10",
        _cols("dwh_job", "quarter_end", "statute", "self_employed_occupation"),
        f"self_employed_occupation {_PER_JOB}; self-employed and helpers only",
    ),
    Derivation(
        "gross wage (classes)",
        "A10",
        _cols("dwh_job", "quarter_end", "statute", "gross_wage"),
        f"gross_wage {_PER_JOB} (employees and civil servants), {_AMOUNT}",
    ),
    Derivation(
        "self-employed income (classes)",
        "A10",
        _cols("dwh_job", "quarter_end", "statute", "self_employed_income"),
        f"self_employed_income {_PER_JOB} (self-employed and helpers), {_AMOUNT}",
    ),
    Derivation(
        "benefits per paying social-security institution (classes)",
        "A10",
        _cols("dwh_position", "quarter_end", *BENEFIT_COLUMNS),
        f"one variable per paying institution: each benefit_* amount of the dwh_position "
        f"{_OF_QUARTER}, {_AMOUNT}",
    ),
)

_U = "dwh_unemployment"
_U_ROW = f"of the person's {_U} {_OF_QUARTER}"
_OF_U = f"{_U_ROW}; empty without such a row"


def _a11(variable: str, columns: tuple[str, ...], rule: str) -> Derivation:
    return Derivation(variable, "A11", _cols(_U, "quarter_end", *columns), rule)


A11 = (
    _a11(
        "job seeker known at a regional employment service",
        ("regional_service",),
        f"computed: 1 when regional_service {_U_ROW} is filled, else 0",
    ),
    _a11(
        "job seeker with social integration income or aid",
        ("jobseeker_social_aid",),
        f"jobseeker_social_aid {_OF_U}",
    ),
    _a11(
        "exempt from registration for training",
        ("exemption",),
        f"computed: 1 when exemption {_U_ROW} is 1 (training or studies), else 0",
    ),
    _a11(
        "exempt from registration for family or social reasons",
        ("exemption",),
        f"computed: 1 when exemption {_U_ROW} is 2 (family or social), else 0",
    ),
    _a11(
        "exempt from registration with integration income",
        ("exemption",),
        f"computed: 1 when exemption {_U_ROW} is 3 (integration income), else 0; "
        "exemption 4 (older unemployed) is not asked for and not delivered",
    ),
    _a11(
        "benefit amount for the reference month (classes)",
        ("benefit_month",),
        f"benefit_month {_OF_U}, {_AMOUNT}",
    ),
    _a11("months of unemployment", ("months_unemployed",), f"months_unemployed {_OF_U}"),
    _a11("job seeker type", ("jobseeker_type",), f"jobseeker_type {_OF_U}"),
    _a11(
        "months registered at the regional service",
        ("months_registered",),
        f"months_registered {_OF_U}",
    ),
    _a11(
        "training level per the regional service",
        ("training_level",),
        f"training_level {_OF_U}",
    ),
    _a11(
        "training field per the regional service",
        ("training_field",),
        f"training_field {_OF_U}",
    ),
    _a11("sanction start (y+m)", ("sanction_start",), f"sanction_start {_OF_U}, {_YM}"),
    _a11("sanction duration in weeks", ("sanction_weeks",), f"sanction_weeks {_OF_U}"),
    _a11("sanction reason", ("sanction_reason",), f"sanction_reason {_OF_U}"),
    _a11(
        "activation of the unemployed: work regime",
        ("activation_regime",),
        f"activation_regime {_OF_U}",
    ),
    _a11(
        "activation of the unemployed: start (y+m)",
        ("activation_start",),
        f"activation_start {_OF_U}, {_YM}",
    ),
    _a11(
        "activation of the unemployed: end (y+m)",
        ("activation_end",),
        f"activation_end {_OF_U}, {_YM}; empty while ongoing",
    ),
    _a11(
        "activation of the unemployed: conditions",
        ("activation_condition",),
        f"activation_condition {_OF_U}",
    ),
    _a11(
        "activation of the unemployed: percentage of a full-time job",
        ("activation_pct",),
        f"activation_pct {_OF_U}",
    ),
    _a11(
        "OCMW activation: type of intervention on two levels",
        ("ocmw_law", "ocmw_intervention"),
        f"level 1 ocmw_law (RMI/RMH), level 2 ocmw_intervention (THP type of aid) {_OF_U}",
    ),
    _a11("OCMW activation: activation type", ("ocmw_activation",), f"ocmw_activation {_OF_U}"),
    _a11(
        "OCMW activation: type of individualised integration project",
        ("gpmi_type",),
        f"gpmi_type {_OF_U}",
    ),
    _a11(
        "OCMW activation: type of employment programme",
        ("ocmw_programme",),
        f"ocmw_programme {_OF_U}",
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
    _highest_level("A12", "partner", "education level"),
    _sep("A12", "partner"),
    *_partner_jobs("A12"),
    Derivation(
        "job seeker indicator",
        "A12",
        _cols(_U, "quarter_end", "regional_service"),
        f"computed: 1 when the partner's {_U} {_OF_QUARTER} has a regional_service, else 0",
    ),
    Derivation(
        "OCMW intervention type (one level)",
        "A12",
        (
            *_cols(_U, "quarter_end", "ocmw_law"),
            *_cols("dwh_position", "quarter_end", "ocmw_support"),
        ),
        f"level 1 only: ocmw_law of the partner's {_U} {_OF_QUARTER}; without such a row the "
        "legal basis of dwh_position.ocmw_support of the quarter (RMI-* -> RMI, RMH-* -> RMH)",
    ),
)

_A13_EDUCATION = _education("A13", "child", _A13_NAMES)

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
    _sep("A13", "child"),
    *(_A13_EDUCATION[k] for k in ("enrolled", "level", "year", "country", "category")),
    Derivation(
        "training category",
        "A13",
        (f"{_VL_E}.level", f"{_FWB_E}.level"),
        f"form of {_ENROLMENT} condensed to general (SO-ASO, SEC-G), technical or artistic "
        "(SO-TSO, SO-KSO, SEC-TQ), vocational (SO-BSO, SEC-P) or other level; the registers' "
        "own training category was not found (design choice)",
    ),
    *(_A13_EDUCATION[k] for k in ("scholarship", "access", "study level", "study area")),
)


# -- 26/050 ---------------------------------------------------------------------------------

_CENSUS_ROW = (
    "the census row of the latest census on or before the cohort date (census_year 2011 for "
    "cohorts 2016 and 2019, 2021 for cohort 2022; design choice)"
)
_NO_CENSUS = "; without that census row (arrived or born later): "
_COHORT_QUARTER = "the quarter ending the day before the cohort date"
_JOBS_OF_COHORT = f"the person's dwh_job rows of {_COHORT_QUARTER}"


def _census(
    variable: str,
    column: str | tuple[str, ...],
    rule: str = "",
    fallback: tuple[str, ...] = (),
    fallback_rule: str = "",
) -> Derivation:
    """A B5 variable: the census value, with the register fallback the contract tags B5."""
    names = (column,) if isinstance(column, str) else column
    text = f"{', '.join(names)} of {_CENSUS_ROW}"
    if rule:
        text += f"; {rule}"
    if fallback:
        text += f"{_NO_CENSUS}{fallback_rule}"
    else:
        text += "; empty without that census row"
    return Derivation(variable, "B5", (*_cols("census", "census_year", *names), *fallback), text)


_RESIDENCE_PERIOD = ("residence.nis_code", "residence.valid_from", "residence.valid_to")

B3 = (
    Derivation(
        "moved out of the Flemish Region (to another region, abroad or unknown)",
        "B3",
        (*_RESIDENCE_PERIOD, "residence.end_reason", "residence.destination_country"),
        "a residence period in the Flemish Region (region of nis_code) ending in 2016-2024 "
        "and followed by a period in another region, by emigration (end_reason) or by no "
        "further period (unknown destination)",
    ),
    Derivation(
        "year of the move",
        "B3",
        ("residence.valid_to",),
        "year of valid_to of the last Flemish residence period",
    ),
)

B4 = (
    Derivation(
        "person sequence number",
        "B4",
        ("person.insz",),
        "replaced by the project's meaningless sequence number at pseudonymisation (G3)",
    ),
    Derivation(
        "household sequence number",
        "B4",
        ("household.household_id",),
        "household_id replaced by a meaningless sequence number from its own key domain (G3)",
    ),
)

B5 = (
    _census(
        "household size",
        "household_size",
        fallback=(*_cols("household", "household_id", "valid_from", "valid_to"),),
        fallback_rule="count of persons with the person's household_id on the cohort date",
    ),
    _census(
        "arrival year (5-year classes)",
        "arrival_year",
        "5-year classes set at coarsening (G4)",
        ("person.country_of_birth", "person.first_registration_date"),
        "year of first_registration_date for a person born abroad (country_of_birth not 150)",
    ),
    _census("education level (low, middle, high)", "education_level"),
    _census(
        "labour-market situation (7 classes)",
        "labour_situation",
        fallback=_cols("dwh_position", "quarter_end", "sep"),
        fallback_rule=f"sep of {_COHORT_QUARTER} mapped onto the 7 classes (design choice)",
    ),
    _census("status flag: job seeker or unemployed", "jobseeker"),
    _census("status flag: OCMW aid", "ocmw_aid"),
    _census("status flag: inactive", "inactive"),
    _census("status flag: recognised disability or invalidity", "disability"),
    _census("status flag: student", "student"),
    _census(
        "status flag: temporary agency work",
        "agency_work",
        fallback=_cols("dwh_job", "quarter_end", "special_class"),
        fallback_rule=f"1 when one of {_JOBS_OF_COHORT} has an agency special_class (OI, EI)",
    ),
    _census(
        "status flag: service vouchers",
        "service_vouchers",
        fallback=_cols("dwh_job", "quarter_end", "service_vouchers"),
        fallback_rule=f"1 when one of {_JOBS_OF_COHORT} is paid with service vouchers",
    ),
    _census(
        "professional status (10 classes)",
        "professional_status",
        fallback=(
            *_MAIN_JOB_COLUMNS,
            *_cols(
                "dwh_job",
                "employee_class",
                "employee_class_holiday",
                "special_class",
                "private_public",
            ),
        ),
        fallback_rule=(
            f"from {_JOBS_OF_COHORT}: employee and self-employed jobs together -> 10; else the "
            "main job's statute (2 -> 04, 3 -> 07 as staff is not known, 4 -> 09) or, for an "
            "employee, special_class (apprentice -> 05, agency -> 06), a public employer "
            "(private_public) -> 03, else manual (01) or white-collar (02) by employee_class "
            f"(to 2016) or employee_class_holiday (from 2017); {_MAIN_JOB}"
        ),
    ),
    _census(
        "occupation with an imputed flag",
        ("occupation", "occupation_imputed"),
        "ISCO-08 major group and whether the census imputed it",
    ),
    _census(
        "number of jobs",
        "jobs",
        fallback=_cols("dwh_position", "quarter_end", "jobs_total"),
        fallback_rule=f"jobs_total of {_COHORT_QUARTER}",
    ),
    _census(
        "economic sector",
        "sector",
        "NACE section",
        (*_MAIN_JOB_COLUMNS, "dwh_job.nace"),
        f"section of the nace division of the main job of {_COHORT_QUARTER}; {_MAIN_JOB}",
    ),
    _census(
        "same province of work and residence",
        "same_province",
        fallback=(
            *_MAIN_JOB_COLUMNS,
            "dwh_job.workplace_nis_code",
            *_cols("residence", "nis_code", "valid_from", "valid_to"),
        ),
        fallback_rule=(
            f"1 when the province of the main job's workplace_nis_code ({_COHORT_QUARTER}) is "
            f"the province of residence.nis_code on the cohort date; {_MAIN_JOB}"
        ),
    ),
    _census(
        "performance type (5 classes)",
        "performance_type",
        fallback=(
            *_MAIN_JOB_COLUMNS,
            *_cols("dwh_job", "special_class", "performance_type", "part_time_pct"),
        ),
        fallback_rule=(
            f"from the main job of {_COHORT_QUARTER}: self-employed -> 4, agency or seasonal "
            "special_class -> 3, else full-time (1) or part-time (2) by performance_type, or "
            f"part_time_pct when it is empty; no job -> 5; {_MAIN_JOB}"
        ),
    ),
    _census(
        "working time (4 classes)",
        "working_time",
        fallback=_cols("dwh_job", "quarter_end", "statute", "part_time_pct"),
        fallback_rule=(
            f"sum of part_time_pct over the employee jobs of {_COHORT_QUARTER}: 100 or more -> "
            "1, 50-99 -> 2, below 50 -> 3, none -> 4"
        ),
    ),
    _census("type of home ownership", "ownership"),
    _census("rooms per occupant", "rooms_per_occupant", "in classes set at coarsening (G4)"),
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

_ADI_AMOUNTS = (
    ("taxable gross income from wages", "wages"),
    ("taxable gross income from self-employment", "self_employment"),
    ("taxable income from real estate", "real_estate"),
    ("taxable income from capital", "capital"),
    ("refunds", "refunds"),
    ("maintenance received", "maintenance_received"),
    ("integration income, real", "integration_income"),
    ("integration income, equivalent", "equivalent_integration_income"),
    ("unemployment benefits", "unemployment"),
    ("sickness and invalidity benefits", "sickness_invalidity"),
    ("pension, first pillar", "pension_first_pillar"),
    ("pension, second pillar", "pension_second_pillar"),
    ("survivor's pension", "survivor_pension"),
    ("simulated child benefit per person", "child_benefit"),
    ("simulated child benefit per household", "household_child_benefit"),
    ("administrative disposable income of the person", "disposable_income"),
    ("administrative disposable income of the household", "household_disposable_income"),
    ("equivalised disposable income of the household", "equivalised_income"),
    ("tax prepayments", "tax_prepayments"),
    ("withholding tax", "withholding_tax"),
    ("special social security contribution", "special_contribution"),
    ("withholding tax on movable income", "movable_withholding"),
    ("taxes due", "taxes_due"),
    ("maintenance paid", "maintenance_paid"),
)
_OF_ADI = "of the person's adi row of the income year"
_HOUSEHOLD_ADI = "; the same for every member of the household on 31 December (household_id)"

_ADI_HOUSEHOLD = ("household_child_benefit", "household_disposable_income", "equivalised_income")


def _adi_amount(variable: str, column: str) -> Derivation:
    if column in _ADI_HOUSEHOLD:
        return Derivation(
            f"{variable} (classes)",
            "B7",
            _cols("adi", "income_year", "household_id", column),
            f"{column} {_OF_ADI}, {_AMOUNT}{_HOUSEHOLD_ADI}",
        )
    return Derivation(
        f"{variable} (classes)",
        "B7",
        _cols("adi", "income_year", column),
        f"{column} {_OF_ADI}, {_AMOUNT}",
    )


B7 = (
    *(_adi_amount(variable, column) for variable, column in _ADI_AMOUNTS),
    Derivation(
        "a household member working for an international organisation",
        "B7",
        _cols("adi", "income_year", "household_id", "international_organisation"),
        f"international_organisation {_OF_ADI}{_HOUSEHOLD_ADI}",
    ),
    Derivation(
        "at risk of monetary poverty (yes/no)",
        "B7",
        _cols("adi", "income_year", "poverty_risk"),
        f"poverty_risk {_OF_ADI} (equivalised income below 60% of the national median)",
    ),
)

_B8_WINDOW = (
    "every quarter from the look-back start (2013Q1, 2016Q1, 2019Q1 for cohorts 2016, 2019, "
    "2022) to 2024Q4"
)

B8 = (
    _sep("B8", "person", note=f", {_B8_WINDOW}"),
    Derivation(
        "national employment office (RVA/ONEM) status",
        "B8",
        _cols("dwh_position", "quarter_end", "rva_status"),
        f"rva_status of the dwh_position {_OF_QUARTER}, {_B8_WINDOW}",
    ),
    Derivation(
        "OCMW support type",
        "B8",
        _cols("dwh_position", "quarter_end", "ocmw_support"),
        f"ocmw_support of the dwh_position {_OF_QUARTER}, {_B8_WINDOW}",
    ),
    Derivation(
        "start (y+m) of the activation participation at the cohort date",
        "B8",
        _cols(_U, "quarter_end", "activation_regime", "activation_start"),
        f"for a person whose {_U} row of {_COHORT_QUARTER} has an activation_regime: "
        f"activation_start {_YM} when at most three years before the cohort date, else "
        "'longer ago' (design choice); computed at selection, once per person",
    ),
)

_V = "vdab_jobseeker"
_OF_V = f"of the person's {_V} {_OF_QUARTER}"


def _b9(variable: str, columns: tuple[str, ...], rule: str) -> Derivation:
    return Derivation(variable, "B9", _cols(_V, "quarter_end", *columns), rule)


B9 = (
    _b9(
        "start of the current registration",
        ("registration_start",),
        f"registration_start {_OF_V}, {_YQ}, when at most three years before quarter_end, "
        "else 'longer ago'",
    ),
    _b9(
        "earlier registration in the last three years",
        ("earlier_registration",),
        f"earlier_registration {_OF_V}",
    ),
    _b9(
        "length of the earlier registration in months",
        ("earlier_months",),
        f"earlier_months {_OF_V}",
    ),
    _b9(
        "earlier registration with an activation action (trajectory type in classes)",
        ("earlier_trajectory",),
        f"earlier_trajectory {_OF_V}",
    ),
    _b9("aspired contract type", ("aspired_contract",), f"aspired_contract {_OF_V}"),
    _b9("aspired working hours", ("aspired_hours",), f"aspired_hours {_OF_V}"),
    _b9(
        "unemployment duration in months",
        ("unemployment_months",),
        f"unemployment_months {_OF_V}",
    ),
    _b9(
        "distance to the labour market (short, medium, long, undetermined)",
        ("distance",),
        f"distance {_OF_V}",
    ),
    _b9(
        "work limitation (disability, multiple problems)",
        ("work_limitation",),
        f"work_limitation {_OF_V}",
    ),
    _b9(
        "knowledge of Dutch (none, limited, good, very good, unknown)",
        ("dutch",),
        f"dutch {_OF_V}",
    ),
    _b9("benefit status (four types)", ("benefit_status",), f"benefit_status {_OF_V}"),
    _b9(
        "referral to the control service or RVA for insufficient search behaviour",
        ("control_referral",),
        f"control_referral {_OF_V}",
    ),
    _b9(
        "activation action start and end",
        ("action_start", "action_end"),
        f"action_start and action_end {_OF_V}, {_YQ}; end empty while ongoing",
    ),
    _b9(
        "early stop of the activation action and its reason",
        ("action_early_stop", "stop_reason"),
        f"action_early_stop and stop_reason {_OF_V}",
    ),
    _b9(
        "cooperation with OCMW, RIZIV/INAMI or the Flemish integration agency",
        ("cooperation",),
        f"cooperation {_OF_V}",
    ),
    _b9(
        "job after registration: contract type (fixed-term, open-ended, agency)",
        ("job_contract",),
        f"job_contract {_OF_V}",
    ),
    _b9(
        "job after registration: sector (21 VDAB categories)",
        ("job_sector",),
        f"job_sector {_OF_V}",
    ),
    _b9(
        "job after registration: place of work (head office)",
        ("job_nis_code",),
        f"job_nis_code {_OF_V}, delivered as its region only (G4: places at most as region "
        "plus classed municipal context)",
    ),
)

#: every variable of 25/074 (A6-A13) and 26/050 (B3-B9), in the order of REQUIREMENTS.md
DERIVATIONS: tuple[Derivation, ...] = (
    *A6,
    *A7,
    *A8,
    *A9,
    *A10,
    *A11,
    *A12,
    *A13,
    *B3,
    *B4,
    *B5,
    *B6,
    *B7,
    *B8,
    *B9,
)
