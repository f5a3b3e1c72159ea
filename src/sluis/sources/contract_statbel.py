"""The source contract, part 2: Statbel CENSUS 2011/2021, ADI per year, municipal context.

CENSUS and ADI are Statbel's own data (B1: Statbel links them at the trusted third party).
The municipal context (A7) is an aggregate per municipality and quarter.
"""

from __future__ import annotations

from sluis.sources.schema import Column, Table, amount, flag
from sluis.sources.time import Census, Quarterly, Yearly

STATBEL = "Statbel"

CENSUS = Table(
    name="census",
    register=f"{STATBEL} CENSUS",
    description=(
        "The register-based censuses of 1 January 2011 and 1 January 2021: one row per "
        "resident per census."
    ),
    key=("insz", "census_year"),
    time=Census("census_year"),
    columns=(
        Column("insz", "insz", "Person."),
        Column("census_year", "int", "2011 or 2021.", serves=("B5",)),
        Column("household_size", "int", "Members of the person's household.", serves=("B5",)),
        Column(
            "arrival_year", "int", "Year of arrival in Belgium (immigrants).", True, serves=("B5",)
        ),
        Column(
            "education_level",
            "code",
            "Highest education level (ISCED 0-2 / 3-4 / 5-8).",
            True,
            "census_education",
            serves=("B5",),
        ),
        Column(
            "labour_situation",
            "code",
            "Labour-market situation.",
            codelist="census_labour",
            serves=("B5",),
        ),
        flag("jobseeker", "Job seeker or unemployed.", ("B5",)),
        flag("ocmw_aid", "Receives OCMW aid.", ("B5",)),
        flag("inactive", "Economically inactive.", ("B5",)),
        flag("disability", "Recognised disability or invalidity.", ("B5",)),
        flag("student", "Pupil or student.", ("B5",)),
        flag("agency_work", "Works through a temporary work agency.", ("B5",)),
        flag("service_vouchers", "Works in the service-voucher system.", ("B5",)),
        Column(
            "professional_status",
            "code",
            "Professional status of the employed.",
            True,
            "census_professional_status",
            serves=("B5",),
        ),
        Column(
            "occupation",
            "code",
            "Occupation (ISCO-08 major group).",
            True,
            "isco_major",
            serves=("B5",),
        ),
        flag("occupation_imputed", "The occupation was imputed.", ("B5",), True),
        Column("jobs", "int", "Number of jobs.", serves=("B5",)),
        Column(
            "sector",
            "code",
            "Economic sector (NACE section).",
            True,
            "nace_section",
            serves=("B5",),
        ),
        flag("same_province", "Works in the province of residence.", ("B5",), True),
        Column(
            "performance_type",
            "code",
            "Performance type (5 classes).",
            True,
            "census_performance",
            serves=("B5",),
        ),
        Column(
            "working_time",
            "code",
            "Working time (4 classes).",
            True,
            "census_working_time",
            serves=("B5",),
        ),
        Column(
            "ownership",
            "code",
            "Type of home ownership.",
            True,
            "census_ownership",
            serves=("B5",),
        ),
        Column(
            "rooms_per_occupant",
            "float",
            "Rooms of the dwelling per occupant.",
            True,
            serves=("B5",),
        ),
    ),
)

_ADI_AMOUNTS = (
    ("wages", "Taxable gross income from wages."),
    ("self_employment", "Taxable gross income from self-employment."),
    ("real_estate", "Taxable income from real estate."),
    ("capital", "Taxable income from capital and movable property."),
    ("refunds", "Tax refunds received."),
    ("maintenance_received", "Maintenance received."),
    ("integration_income", "Integration income (leefloon)."),
    ("equivalent_integration_income", "Equivalent integration income (financial social aid)."),
    ("unemployment", "Unemployment benefits."),
    ("sickness_invalidity", "Sickness and invalidity benefits."),
    ("pension_first_pillar", "Statutory pensions (first pillar)."),
    ("pension_second_pillar", "Occupational pensions (second pillar)."),
    ("survivor_pension", "Survivor's pension."),
    ("child_benefit", "Simulated child benefit of the person."),
    ("household_child_benefit", "Simulated child benefit of the household."),
    ("tax_prepayments", "Tax prepayments."),
    ("withholding_tax", "Withholding tax on earnings and benefits."),
    ("special_contribution", "Special social-security contribution."),
    ("movable_withholding", "Withholding tax on movable income."),
    ("taxes_due", "Tax balance still due at assessment."),
    ("maintenance_paid", "Maintenance paid."),
)

ADI = Table(
    name="adi",
    register=f"{STATBEL} ADI (administrative data on income)",
    description=(
        "Income, benefits and expenses per person and income year 2000-2024 (residents on "
        "31 December of the year), the disposable income of the person and the household "
        "and the at-risk-of-poverty flag. Household amounts are sums over the household's "
        "members on 31 December."
    ),
    key=("insz", "income_year"),
    time=Yearly("income_year"),
    columns=(
        Column("insz", "insz", "Person."),
        Column("income_year", "int", "Income year.", serves=("B7",)),
        Column("household_id", "string", "Household on 31 December (as in the household table)."),
        *(amount(name, text, ("B7",), nullable=False) for name, text in _ADI_AMOUNTS),
        amount(
            "disposable_income",
            "Administrative disposable income of the person.",
            ("B7",),
            nullable=False,
        ),
        amount(
            "household_disposable_income",
            "Disposable income of the household.",
            ("B7",),
            nullable=False,
        ),
        amount(
            "equivalised_income",
            "Household disposable income per equivalent adult (modified OECD scale).",
            ("B7",),
            nullable=False,
        ),
        flag(
            "international_organisation",
            "A household member works for an international "
            "organisation (income not taxed in Belgium).",
            ("B7",),
        ),
        flag(
            "poverty_risk",
            "Equivalised income below 60% of the national median of the year.",
            ("B7",),
        ),
    ),
)

MUNICIPAL_CONTEXT = Table(
    name="municipal_context",
    register=f"{STATBEL} / KSZ (aggregates)",
    description=(
        "Context of every municipality per quarter, computed from the population: size "
        "class, class of the share of residents with a foreign nationality, unemployment "
        "rate (job seekers over the labour force 15-64)."
    ),
    key=("nis_code", "quarter_end"),
    time=Quarterly(),
    columns=(
        Column(
            "nis_code",
            "code",
            "Municipality in the vintage of quarter_end.",
            codelist="municipality",
            vintage_date="quarter_end",
            serves=("A7",),
        ),
        Column("quarter_end", "date", "Last day of the quarter.", serves=("A7",)),
        Column("region", "code", "Region.", codelist="region", serves=("A7",)),
        Column("population", "int", "Residents on the last day of the quarter.", serves=("A7",)),
        Column(
            "size_class",
            "code",
            "Municipality size class.",
            codelist="municipality_size",
            serves=("A7",),
        ),
        Column(
            "migrant_class",
            "code",
            "Class of the share of residents with a foreign nationality.",
            codelist="migrant_share",
            serves=("A7",),
        ),
        Column(
            "unemployment_rate",
            "float",
            "Job seekers per 100 in the labour force 15-64.",
            True,
            serves=("A7",),
        ),
    ),
)

STATBEL_TABLES: tuple[Table, ...] = (CENSUS, ADI, MUNICIPAL_CONTEXT)
