"""The items of 26/050 B3-B9 (G2): moves, DEMOBEL, census, income, KSZ and VDAB variables of
the whole population (see :mod:`sluis.extract.derivations.items`)."""

from __future__ import annotations

from sluis.extract.derivations.items import (
    AMOUNT,
    COUNTRY_4,
    HOUSEHOLD_ROW,
    MAIN_JOB,
    MAIN_JOB_COLUMNS,
    OF_QUARTER,
    ON_DATE,
    ORIGIN_RULE,
    YM,
    YQ,
    Item,
    cols,
    sep,
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
) -> Item:
    """A B5 variable: the census value, with the register fallback the contract tags B5."""
    names = (column,) if isinstance(column, str) else column
    text = f"{', '.join(names)} of {_CENSUS_ROW}"
    if rule:
        text += f"; {rule}"
    if fallback:
        text += f"{_NO_CENSUS}{fallback_rule}"
    else:
        text += "; empty without that census row"
    return Item(variable, "B5", (*cols("census", "census_year", *names), *fallback), text)


_RESIDENCE_PERIOD = ("residence.nis_code", "residence.valid_from", "residence.valid_to")

B3 = (
    Item(
        "moved out of the Flemish Region (to another region, abroad or unknown)",
        "B3",
        (*_RESIDENCE_PERIOD, "residence.end_reason", "residence.destination_country"),
        "a residence period in the Flemish Region (region of nis_code) ending in 2016-2024 "
        "and followed by a period in another region, by emigration (end_reason) or by no "
        "further period (unknown destination)",
    ),
    Item(
        "year of the move",
        "B3",
        ("residence.valid_to",),
        "year of valid_to of the last Flemish residence period",
    ),
)

B4 = (
    Item(
        "person sequence number",
        "B4",
        ("person.insz",),
        "replaced by the project's meaningless sequence number at pseudonymisation (G3)",
    ),
    Item(
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
        fallback=(*cols("household", "household_id", "valid_from", "valid_to"),),
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
        fallback=cols("dwh_position", "quarter_end", "sep"),
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
        fallback=cols("dwh_job", "quarter_end", "special_class"),
        fallback_rule=f"1 when one of {_JOBS_OF_COHORT} has an agency special_class (OI, EI)",
    ),
    _census(
        "status flag: service vouchers",
        "service_vouchers",
        fallback=cols("dwh_job", "quarter_end", "service_vouchers"),
        fallback_rule=f"1 when one of {_JOBS_OF_COHORT} is paid with service vouchers",
    ),
    _census(
        "professional status (10 classes)",
        "professional_status",
        fallback=(
            *MAIN_JOB_COLUMNS,
            *cols(
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
            f"(to 2016) or employee_class_holiday (from 2017); {MAIN_JOB}"
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
        fallback=cols("dwh_position", "quarter_end", "jobs_total"),
        fallback_rule=f"jobs_total of {_COHORT_QUARTER}",
    ),
    _census(
        "economic sector",
        "sector",
        "NACE section",
        (*MAIN_JOB_COLUMNS, "dwh_job.nace"),
        f"section of the nace division of the main job of {_COHORT_QUARTER}; {MAIN_JOB}",
    ),
    _census(
        "same province of work and residence",
        "same_province",
        fallback=(
            *MAIN_JOB_COLUMNS,
            "dwh_job.workplace_nis_code",
            *cols("residence", "nis_code", "valid_from", "valid_to"),
        ),
        fallback_rule=(
            f"1 when the province of the main job's workplace_nis_code ({_COHORT_QUARTER}) is "
            f"the province of residence.nis_code on the cohort date; {MAIN_JOB}"
        ),
    ),
    _census(
        "performance type (5 classes)",
        "performance_type",
        fallback=(
            *MAIN_JOB_COLUMNS,
            *cols("dwh_job", "special_class", "performance_type", "part_time_pct"),
        ),
        fallback_rule=(
            f"from the main job of {_COHORT_QUARTER}: self-employed -> 4, agency or seasonal "
            "special_class -> 3, else full-time (1) or part-time (2) by performance_type, or "
            f"part_time_pct when it is empty; no job -> 5; {MAIN_JOB}"
        ),
    ),
    _census(
        "working time (4 classes)",
        "working_time",
        fallback=cols("dwh_job", "quarter_end", "statute", "part_time_pct"),
        fallback_rule=(
            f"sum of part_time_pct over the employee jobs of {_COHORT_QUARTER}: 100 or more -> "
            "1, 50-99 -> 2, below 50 -> 3, none -> 4"
        ),
    ),
    _census("type of home ownership", "ownership"),
    _census("rooms per occupant", "rooms_per_occupant", "in classes set at coarsening (G4)"),
)

B6 = (
    Item(
        "reference person's sequence number",
        "B6",
        ("household.reference_insz", *HOUSEHOLD_ROW),
        f"{ON_DATE}; empty for a collective household",
    ),
    Item("relation to the reference person", "B6", ("household.relation", *HOUSEHOLD_ROW), ON_DATE),
    Item("sex", "B6", ("person.sex",), "as registered (1 male, 2 female)"),
    Item(
        "age class",
        "B6",
        ("person.birth_date",),
        "age in completed years on the reference (cohort) date, in the spec's classes",
    ),
    Item(
        "place of residence",
        "B6",
        ("residence.nis_code", "residence.valid_from", "residence.valid_to"),
        f"{ON_DATE}; municipality -> region and classed municipal context as the spec says",
    ),
    Item(
        "household type",
        "B6",
        ("household.lipro", "household.household_id", *HOUSEHOLD_ROW),
        "the LIPRO positions of all persons with the same household_id on the reference date, "
        "condensed to the household type",
    ),
    Item("position in the household", "B6", ("household.lipro", *HOUSEHOLD_ROW), ON_DATE),
    Item(
        "place of birth (Flemish, Walloon or Brussels region, other EU country, non-EU country)",
        "B6",
        ("person.country_of_birth", "person.birth_nis_code"),
        "country_of_birth 150 (Belgium): region of the municipality birth_nis_code (first "
        "two digits: 21 Brussels; the province decides Flanders or Wallonia); other "
        "countries: EU member on the reference date -> other EU, else non-EU",
    ),
    Item(
        "first nationality (Belgian, EU, non-EU, other)",
        "B6",
        ("person.first_nationality",),
        COUNTRY_4,
    ),
    Item(
        "current nationality (Belgian, EU, non-EU, other)",
        "B6",
        ("nationality.nationality", "nationality.valid_from", "nationality.valid_to"),
        f"{ON_DATE}; {COUNTRY_4}",
    ),
    Item(
        "migrant status / origin (4 classes)",
        "B6",
        (
            "person.first_nationality",
            "nationality.nationality",
            "person.father_insz",
            "person.mother_insz",
        ),
        ORIGIN_RULE,
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


def _adi_amount(variable: str, column: str) -> Item:
    if column in _ADI_HOUSEHOLD:
        return Item(
            f"{variable} (classes)",
            "B7",
            cols("adi", "income_year", "household_id", column),
            f"{column} {_OF_ADI}, {AMOUNT}{_HOUSEHOLD_ADI}",
        )
    return Item(
        f"{variable} (classes)",
        "B7",
        cols("adi", "income_year", column),
        f"{column} {_OF_ADI}, {AMOUNT}",
    )


B7 = (
    *(_adi_amount(variable, column) for variable, column in _ADI_AMOUNTS),
    Item(
        "a household member working for an international organisation",
        "B7",
        cols("adi", "income_year", "household_id", "international_organisation"),
        f"international_organisation {_OF_ADI}{_HOUSEHOLD_ADI}",
    ),
    Item(
        "at risk of monetary poverty (yes/no)",
        "B7",
        cols("adi", "income_year", "poverty_risk"),
        f"poverty_risk {_OF_ADI} (equivalised income below 60% of the national median)",
    ),
)

_B8_WINDOW = (
    "every quarter from the look-back start (2013Q1, 2016Q1, 2019Q1 for cohorts 2016, 2019, "
    "2022) to 2024Q4"
)

B8 = (
    sep("B8", "person", note=f", {_B8_WINDOW}"),
    Item(
        "national employment office (RVA/ONEM) status",
        "B8",
        cols("dwh_position", "quarter_end", "rva_status"),
        f"rva_status of the dwh_position {OF_QUARTER}, {_B8_WINDOW}",
    ),
    Item(
        "OCMW support type",
        "B8",
        cols("dwh_position", "quarter_end", "ocmw_support"),
        f"ocmw_support of the dwh_position {OF_QUARTER}, {_B8_WINDOW}",
    ),
    Item(
        "start (y+m) of the activation participation at the cohort date",
        "B8",
        cols("dwh_unemployment", "quarter_end", "activation_regime", "activation_start"),
        f"for a person whose dwh_unemployment row of {_COHORT_QUARTER} has an activation_regime: "
        f"activation_start {YM} when at most three years before the cohort date, else "
        "'longer ago' (design choice); computed at selection, once per person",
    ),
)

_V = "vdab_jobseeker"
_OF_V = f"of the person's {_V} {OF_QUARTER}"


def _b9(variable: str, columns: tuple[str, ...], rule: str) -> Item:
    return Item(variable, "B9", cols(_V, "quarter_end", *columns), rule)


B9 = (
    _b9(
        "start of the current registration",
        ("registration_start",),
        f"registration_start {_OF_V}, {YQ}, when at most three years before quarter_end, "
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
        f"action_start and action_end {_OF_V}, {YQ}; end empty while ongoing",
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
