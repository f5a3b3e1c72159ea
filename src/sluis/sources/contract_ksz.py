"""The source contract, part 2: the KSZ data warehouse labour market and social protection.

Quarterly tables as the DWH keeps them (REFERENCE.md §1): one position per person on the last
day of each quarter, one row per job, and the unemployment / job-seeking / OCMW detail of the
quarter. Codes whose official lists are incomplete point at provisional lists (REFERENCE.md
§8), which the contract document marks as such.
"""

from __future__ import annotations

from sluis.sources.schema import Column, Table, amount, flag
from sluis.sources.time import Quarterly

DWH = "KSZ data warehouse labour market and social protection (DWH AM&SB)"

#: benefits of the quarter by paying institution (A10), in euros
BENEFITS = (
    ("benefit_rva", "Unemployment-related benefits paid by RVA/ONEM."),
    ("benefit_riziv", "Sickness and invalidity benefits (RIZIV/INAMI)."),
    ("benefit_fedris", "Work-accident and occupational-disease benefits."),
    ("benefit_pension", "Pensions (pension cadastre)."),
    ("benefit_ocmw", "Integration income or equivalent aid (POD MI)."),
    ("benefit_family", "Family allowance for the entitled child."),
    ("benefit_disability", "Disability allowances (FOD SZ)."),
)
BENEFIT_COLUMNS = tuple(name for name, _ in BENEFITS)

_PERSON = Column("insz", "insz", "Person.")
_QUARTER = Column(
    "quarter_end", "date", "Reference day: the last day of the quarter.", serves=("A15", "B8")
)

POSITION = Table(
    name="dwh_position",
    register=DWH,
    description=(
        "One row per person known to the DWH (every resident) per quarter 2000Q1-2024Q4: the "
        "socio-economic position on the last day of the quarter, the derived flags that the "
        "single position hides, the RVA and OCMW context and the benefits of the quarter by "
        "paying institution. No row after death or emigration."
    ),
    key=("insz", "quarter_end"),
    time=Quarterly(),
    columns=(
        _PERSON,
        _QUARTER,
        Column(
            "sep",
            "code",
            "Socio-economic position (KSZ nomenclature; the 3-digit tree, 2000-2002 mapped "
            "onto it, see sep_vintage).",
            codelist="sep",
            serves=("A9", "A12", "A13", "B8"),
        ),
        Column(
            "sep_vintage",
            "code",
            "Which nomenclature the position was coded in.",
            codelist="sep_vintage",
            serves=("A9",),
        ),
        Column(
            "jobs_total", "int", "Number of jobs on the last day (Jobs_tot).", serves=("A9", "B5")
        ),
        Column(
            "jobs_employee", "int", "Number of jobs as employee (Jobs_lnd).", serves=("A9", "B5")
        ),
        flag("working_pensioner", "Working while drawing a pension.", ("A9",)),
        flag(
            "pensioner_social_aid",
            "Pensioner with integration income or social aid.",
            ("A9",),
        ),
        flag("pensioner_foreign_pension", "Pensioner with a foreign pension.", ("A9",)),
        flag("working_invalidity", "Working with an invalidity benefit.", ("A9",)),
        flag(
            "child_allowance_invalidity",
            "Child entitled to family allowance with an invalidity benefit.",
            ("A9",),
        ),
        flag(
            "nonworking_invalidity",
            "Not working, under pension age, with an invalidity benefit.",
            ("A9",),
        ),
        flag(
            "career_break_partial",
            "Working with a partial career break or time credit.",
            ("A9",),
        ),
        Column(
            "career_break_type",
            "code",
            "Nature of the interruption (PREFIXLO), when on a career break.",
            True,
            "rva_aard_onderbreking_prefixlo",
            serves=("A9",),
        ),
        flag("rva_activation", "Working under an activation measure of the RVA.", ("A9",)),
        flag("local_employment_agency", "Working in a local employment agency (PWA/ALE).", ("A9",)),
        Column(
            "rva_status",
            "code",
            "Situation towards the national employment office (RVA/ONEM) in the quarter.",
            True,
            "rva_status",
            serves=("B8",),
        ),
        Column(
            "rva_family_category",
            "code",
            "RVA family category of a benefit recipient (from 2015).",
            True,
            "rva_gezinscategorie",
        ),
        Column(
            "ocmw_support",
            "code",
            "Type of OCMW/CPAS support (leefloon or social aid) in the quarter.",
            True,
            "ocmw_support",
            serves=("B8", "A12"),
        ),
        *(amount(name, text, ("A10",)) for name, text in BENEFITS),
    ),
)

JOB = Table(
    name="dwh_job",
    register=DWH,
    description=(
        "One row per job per quarter: employee jobs (RSZ/RSZPPO, one per employer), civil "
        "servants, and at most one self-employed or helper activity (RSVZ). Amounts are for "
        "the quarter."
    ),
    key=("insz", "quarter_end", "job"),
    time=Quarterly(),
    columns=(
        _PERSON,
        Column(
            "quarter_end", "date", "Reference day: the last day of the quarter.", serves=("A10",)
        ),
        Column("job", "int", "Job number within the person and quarter (1, 2, ...)."),
        Column(
            "statute",
            "code",
            "Employee, civil servant, self-employed or helper.",
            codelist="statute",
            serves=("A10", "B5"),
        ),
        Column(
            "employee_code",
            "code",
            "RSZ employee code (Codtra).",
            True,
            "employee_code",
            serves=("A10",),
        ),
        Column(
            "employee_class",
            "code",
            "Employee class (Clatra), 2000-2016.",
            True,
            "werknemersklasse_clatra",
            serves=("A10", "B5"),
        ),
        Column(
            "employee_class_holiday",
            "code",
            "Employee class by holiday scheme (Claonv), from 2017.",
            True,
            "werknemersklasse_vakantiestelsel_claonv",
            serves=("A10", "B5"),
        ),
        Column(
            "special_class",
            "code",
            "Special employee class (Clatr2): ordinary, apprentice, agency, seasonal ...",
            True,
            "special_class",
            serves=("A10", "B5"),
        ),
        Column(
            "employer_type", "code", "Type of employer.", True, "employer_type", serves=("A10",)
        ),
        Column(
            "part_time_pct",
            "int",
            "Part-time percentage of the job (100 = full time).",
            True,
            serves=("A10", "B5"),
        ),
        Column(
            "performance_type",
            "code",
            "Performance type on the last day (T_prest).",
            True,
            "prestatietype_t_prest",
            serves=("A10", "B5"),
        ),
        Column(
            "nace",
            "code",
            "NACE-BEL 2008 division of the employer or the self-employed activity.",
            codelist="nace_division",
            serves=("A10", "A12", "B5"),
        ),
        Column(
            "private_public",
            "code",
            "Private- or public-sector employer.",
            True,
            "private_public",
            serves=("A10",),
        ),
        flag("home_work", "Home work.", ("A10",), True),
        flag("seasonal_work", "Seasonal work.", ("A10",), True),
        flag("service_vouchers", "Job paid with service vouchers.", ("A10", "B5"), True),
        Column(
            "self_employed_occupation",
            "code",
            "Occupation group of the self-employed (RSVZ).",
            True,
            "self_employed_occupation",
            serves=("A10",),
        ),
        amount("gross_wage", "Gross wage of the quarter (employees).", ("A10", "A12")),
        amount(
            "self_employed_income", "Professional income of the quarter (RSVZ).", ("A10", "A12")
        ),
        Column(
            "workplace_nis_code",
            "code",
            "Municipality of the place of work (head office) in the vintage of quarter_end.",
            True,
            "municipality",
            "quarter_end",
            serves=("B5", "B9"),
        ),
    ),
)

UNEMPLOYMENT = Table(
    name="dwh_unemployment",
    register=DWH,
    description=(
        "Unemployment, job seeking and OCMW activation per quarter (RVA, regional services, "
        "POD MI): one row per person and quarter for job seekers, unemployed exempted from "
        "registration, integration-income recipients, people activated by RVA or an OCMW, "
        "and other registered job seekers."
    ),
    key=("insz", "quarter_end"),
    time=Quarterly(),
    columns=(
        _PERSON,
        _QUARTER,
        Column(
            "regional_service",
            "code",
            "Regional employment service where registered as job seeker (empty if none).",
            True,
            "regional_service",
            serves=("A11", "A12"),
        ),
        flag("jobseeker_social_aid", "Job seeker with integration income or social aid.", ("A11",)),
        Column(
            "exemption",
            "code",
            "Exemption from registration as job seeker.",
            True,
            "exemption",
            serves=("A11",),
        ),
        amount("benefit_month", "Unemployment benefit of the reference month.", ("A11",)),
        Column("months_unemployed", "int", "Months of unemployment.", True, serves=("A11",)),
        Column(
            "jobseeker_type", "code", "Job-seeker type.", True, "jobseeker_type", serves=("A11",)
        ),
        Column(
            "months_registered",
            "int",
            "Months registered at the regional service.",
            True,
            serves=("A11",),
        ),
        Column(
            "training_level",
            "code",
            "Training level as registered by the regional service.",
            True,
            "training_level",
            serves=("A11",),
        ),
        Column(
            "training_field",
            "code",
            "Training field as registered by the regional service.",
            True,
            "training_field",
            serves=("A11",),
        ),
        Column(
            "sanction_start",
            "date",
            "First day of the month a sanction started.",
            True,
            serves=("A11",),
        ),
        Column(
            "sanction_weeks", "int", "Duration of the sanction in weeks.", True, serves=("A11",)
        ),
        Column(
            "sanction_reason",
            "code",
            "Reason of the sanction.",
            True,
            "sanction_reason",
            serves=("A11",),
        ),
        Column(
            "activation_regime",
            "code",
            "Work regime of an RVA activation measure.",
            True,
            "activation_regime",
            serves=("A11", "B8"),
        ),
        Column(
            "activation_start",
            "date",
            "First day of the month the activation started.",
            True,
            serves=("A11", "B8"),
        ),
        Column(
            "activation_end",
            "date",
            "Last day of the activation, if ended.",
            True,
            serves=("A11",),
        ),
        Column(
            "activation_condition",
            "code",
            "Condition under which the activation was granted.",
            True,
            "activation_condition",
            serves=("A11",),
        ),
        Column(
            "activation_pct",
            "int",
            "Percentage of a full-time job of the activated employment.",
            True,
            serves=("A11",),
        ),
        Column(
            "ocmw_law",
            "code",
            "OCMW intervention, level 1: legal basis (RMI 2002 / RMH 1965).",
            True,
            "ocmw_law",
            serves=("A11", "A12"),
        ),
        Column(
            "ocmw_intervention",
            "code",
            "OCMW intervention, level 2: the type of aid (THP list of the 1965 law).",
            True,
            "ocmw_soort_hulp_wet_1965_thp",
            serves=("A11",),
        ),
        Column(
            "ocmw_activation",
            "code",
            "Activation type of an OCMW (budget article).",
            True,
            "ocmw_begrotingsartikel_leefloon",
            serves=("A11",),
        ),
        Column(
            "gpmi_type",
            "code",
            "Type of individualised integration project (GPMI/PIIS).",
            True,
            "gpmi_type",
            serves=("A11",),
        ),
        Column(
            "ocmw_programme",
            "code",
            "Type of OCMW employment programme.",
            True,
            "ocmw_programme",
            serves=("A11",),
        ),
    ),
    periods=(("activation_start", "activation_end"),),
)

KSZ_TABLES: tuple[Table, ...] = (POSITION, JOB, UNEMPLOYMENT)
