"""The source contract, part 2: VDAB quarterly job-seeker data (B9).

Flemish job seekers per quarter, with the classes the 26/050 decision fixes. VDAB's own code
lists were not available; the lists are provisional (REFERENCE.md §1.4, §8).
"""

from __future__ import annotations

from sluis.sources.schema import Column, Table, flag
from sluis.sources.time import Quarterly

VDAB = "VDAB (Flemish public employment service)"


def _code(name: str, description: str, codelist: str, nullable: bool = True) -> Column:
    return Column(name, "code", description, nullable, codelist, serves=("B9",))


def _date(name: str, description: str) -> Column:
    return Column(name, "date", description, True, serves=("B9",))


def _int(name: str, description: str, nullable: bool = True) -> Column:
    return Column(name, "int", description, nullable, serves=("B9",))


JOBSEEKER = Table(
    name="vdab_jobseeker",
    register=VDAB,
    description=(
        "One row per person registered as job seeker at VDAB on the last day of a quarter, "
        "2000Q1-2024Q4."
    ),
    key=("insz", "quarter_end"),
    time=Quarterly(),
    columns=(
        Column("insz", "insz", "Person."),
        Column("quarter_end", "date", "Last day of the quarter.", serves=("B9",)),
        _date("registration_start", "First day of the current registration."),
        flag(
            "earlier_registration",
            "Registered before in the three years before this registration.",
            ("B9",),
        ),
        _int("earlier_months", "Length of that earlier registration in months."),
        _code(
            "earlier_trajectory", "Trajectory type of the earlier registration.", "vdab_trajectory"
        ),
        _code("aspired_contract", "Aspired contract type.", "vdab_contract"),
        _code("aspired_hours", "Aspired working hours.", "vdab_hours"),
        _int("unemployment_months", "Unemployment duration in months.", False),
        _code("distance", "Distance to the labour market.", "vdab_distance", False),
        _code("work_limitation", "Work limitation.", "vdab_work_limitation"),
        _code("dutch", "Knowledge of Dutch.", "vdab_dutch", False),
        _code("benefit_status", "Benefit status.", "vdab_benefit_status", False),
        flag(
            "control_referral",
            "Referred to the control service or RVA for insufficient search behaviour.",
            ("B9",),
        ),
        _date("action_start", "Start of the current activation action."),
        _date("action_end", "End of the activation action, if ended."),
        flag("action_early_stop", "The action stopped early.", ("B9",), True),
        _code("stop_reason", "Reason of the early stop.", "vdab_stop_reason"),
        _code("cooperation", "Cooperation partner in the action.", "vdab_cooperation"),
        _code("job_contract", "Contract type of a job found after registration.", "vdab_contract"),
        _code("job_sector", "Sector of that job (21 VDAB sectors).", "vdab_sector"),
        Column(
            "job_nis_code",
            "code",
            "Place of work (head office) of that job, in the vintage of quarter_end.",
            True,
            "municipality",
            "quarter_end",
            serves=("B9",),
        ),
    ),
    periods=(("registration_start", "quarter_end"), ("action_start", "action_end")),
)

VDAB_TABLES: tuple[Table, ...] = (JOBSEEKER,)
