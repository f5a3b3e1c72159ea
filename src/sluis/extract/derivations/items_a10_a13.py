"""The items of 25/074 A10-A13 (G2): jobs, unemployment, and the partner's and children's
variables (see :mod:`sluis.extract.derivations.items`)."""

from __future__ import annotations

from sluis.extract.derivations.items import (
    A13_NAMES,
    AMOUNT,
    CHILD_RULE,
    ENROLMENT,
    FWB_E,
    OF_QUARTER,
    PARTNER_COLUMNS,
    VL_E,
    WHILE_IN_HOUSEHOLD,
    YM,
    Item,
    cols,
    education_items,
    highest_level,
    partner_jobs,
    same_for,
    sep,
)
from sluis.sources.contract_ksz import BENEFIT_COLUMNS

_PER_JOB = "of each dwh_job row of the quarter (one row per job; statute tells its kind)"

A10 = (
    Item(
        "statute (employee, civil servant, self-employed)",
        "A10",
        cols("dwh_job", "quarter_end", "job", "statute"),
        f"statute {_PER_JOB}; a helper (4) is delivered with the self-employed",
    ),
    Item(
        "employee code",
        "A10",
        cols("dwh_job", "quarter_end", "statute", "employee_code"),
        f"employee_code (RSZ Codtra) {_PER_JOB}; empty for the self-employed",
    ),
    Item(
        "employee class",
        "A10",
        cols(
            "dwh_job",
            "quarter_end",
            "employee_class",
            "employee_class_holiday",
            "special_class",
        ),
        f"employee_class (Clatra) up to 2016, employee_class_holiday (Claonv) from 2017, with "
        f"special_class (Clatr2), {_PER_JOB}",
    ),
    Item(
        "employer type",
        "A10",
        cols("dwh_job", "quarter_end", "employer_type"),
        f"employer_type {_PER_JOB}",
    ),
    Item(
        "part-time percentage (classes)",
        "A10",
        cols("dwh_job", "quarter_end", "part_time_pct"),
        f"part_time_pct {_PER_JOB}, in classes set at coarsening (G4)",
    ),
    Item(
        "performance type",
        "A10",
        cols("dwh_job", "quarter_end", "performance_type"),
        f"performance_type (T_prest) {_PER_JOB}",
    ),
    Item(
        "NACE two digits",
        "A10",
        cols("dwh_job", "quarter_end", "nace"),
        f"nace (NACE-BEL 2008 division) {_PER_JOB}",
    ),
    Item(
        "private/public code",
        "A10",
        cols("dwh_job", "quarter_end", "private_public"),
        f"private_public {_PER_JOB}",
    ),
    Item(
        "home work",
        "A10",
        cols("dwh_job", "quarter_end", "home_work"),
        f"home_work {_PER_JOB}",
    ),
    Item(
        "seasonal work",
        "A10",
        cols("dwh_job", "quarter_end", "seasonal_work"),
        f"seasonal_work {_PER_JOB}",
    ),
    Item(
        "service vouchers",
        "A10",
        cols("dwh_job", "quarter_end", "service_vouchers"),
        f"service_vouchers {_PER_JOB}",
    ),
    Item(
        "self-employed occupation",
        "A10",
        cols("dwh_job", "quarter_end", "statute", "self_employed_occupation"),
        f"self_employed_occupation {_PER_JOB}; self-employed and helpers only",
    ),
    Item(
        "gross wage (classes)",
        "A10",
        cols("dwh_job", "quarter_end", "statute", "gross_wage"),
        f"gross_wage {_PER_JOB} (employees and civil servants), {AMOUNT}",
    ),
    Item(
        "self-employed income (classes)",
        "A10",
        cols("dwh_job", "quarter_end", "statute", "self_employed_income"),
        f"self_employed_income {_PER_JOB} (self-employed and helpers), {AMOUNT}",
    ),
    Item(
        "benefits per paying social-security institution (classes)",
        "A10",
        cols("dwh_position", "quarter_end", *BENEFIT_COLUMNS),
        f"one variable per paying institution: each benefit_* amount of the dwh_position "
        f"{OF_QUARTER}, {AMOUNT}",
    ),
)

_U = "dwh_unemployment"
_U_ROW = f"of the person's {_U} {OF_QUARTER}"
_OF_U = f"{_U_ROW}; empty without such a row"


def _a11(variable: str, columns: tuple[str, ...], rule: str) -> Item:
    return Item(variable, "A11", cols(_U, "quarter_end", *columns), rule)


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
        f"benefit_month {_OF_U}, {AMOUNT}",
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
    _a11("sanction start (y+m)", ("sanction_start",), f"sanction_start {_OF_U}, {YM}"),
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
        f"activation_start {_OF_U}, {YM}",
    ),
    _a11(
        "activation of the unemployed: end (y+m)",
        ("activation_end",),
        f"activation_end {_OF_U}, {YM}; empty while ongoing",
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
    Item(
        "sequence number",
        "A12",
        (*PARTNER_COLUMNS, "household.household_id"),
        f"the partner as for A6 partner's sequence number{WHILE_IN_HOUSEHOLD}",
    ),
    *same_for("A12", "partner"),
    Item("sex", "A12", ("person.sex",), "the partner's own person row"),
    highest_level("A12", "partner", "education level"),
    sep("A12", "partner"),
    *partner_jobs("A12"),
    Item(
        "job seeker indicator",
        "A12",
        cols(_U, "quarter_end", "regional_service"),
        f"computed: 1 when the partner's {_U} {OF_QUARTER} has a regional_service, else 0",
    ),
    Item(
        "OCMW intervention type (one level)",
        "A12",
        (
            *cols(_U, "quarter_end", "ocmw_law"),
            *cols("dwh_position", "quarter_end", "ocmw_support"),
        ),
        f"level 1 only: ocmw_law of the partner's {_U} {OF_QUARTER}; without such a row the "
        "legal basis of dwh_position.ocmw_support of the quarter (RMI-* -> RMI, RMH-* -> RMH)",
    ),
)

_A13_EDUCATION = education_items("A13", "child", A13_NAMES)

A13 = (
    Item(
        "sequence number",
        "A13",
        (
            "person.father_insz",
            "person.mother_insz",
            "household.household_id",
            "household.relation",
            "household.reference_insz",
        ),
        f"{CHILD_RULE}{WHILE_IN_HOUSEHOLD}",
    ),
    *same_for("A13", "child"),
    sep("A13", "child"),
    *(_A13_EDUCATION[k] for k in ("enrolled", "level", "year", "country", "category")),
    Item(
        "training category",
        "A13",
        (f"{VL_E}.level", f"{FWB_E}.level"),
        f"form of {ENROLMENT} condensed to general (SO-ASO, SEC-G), technical or artistic "
        "(SO-TSO, SO-KSO, SEC-TQ), vocational (SO-BSO, SEC-P) or other level; the registers' "
        "own training category was not found (design choice)",
    ),
    *(_A13_EDUCATION[k] for k in ("scholarship", "access", "study level", "study area")),
)
