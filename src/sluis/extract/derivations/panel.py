"""What the frame of a dataset computes: the quarter, a job's number, the cohort, the year
and the move and leaver flags of the whole-population frames (G6, G7, B2, B3)."""

from __future__ import annotations

import ibis.expr.types as ir

from sluis.extract.derivations.base import Context, Derivation, frame_column
from sluis.spec.model import Variable


def _quarter(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
    return w.mutate(**{v.name: w.qend})


DERIVATIONS = (
    Derivation(
        "panel.quarter",
        ("G6: quarter",),
        (),
        "the quarter of the row as its last day (the row's reference day, G6)",
        _quarter,
    ),
    Derivation(
        "panel.job",
        ("A10: statute (employee, civil servant, self-employed)",),
        ("dwh_job.job",),
        "the job's number within the person's quarter: the key of a job-quarter row",
        frame_column("job"),
        frame="job",
    ),
    Derivation(
        "panel.year",
        ("G6: year",),
        ("household.valid_from", "household.valid_to"),
        "the reference day of a person-year row of the whole-population frame (B2): a day "
        "the person is a resident cohort person or lives in a cohort person's household",
        frame_column("year"),
        frame="year",
    ),
    Derivation(
        "panel.cohort",
        ("B2: cohort",),
        ("person.insz",),
        "set by the selection (B2): the person's own cohort (2016, 2019 or 2022), else the "
        "earliest cohort of the cohort persons the person lives with",
        frame_column("cohort"),
        frame="cohort",
    ),
    Derivation(
        "panel.cohort_member",
        ("B2: cohort",),
        ("person.insz",),
        "set by the selection (B2): 1 when the person is a cohort person, 0 for a member of "
        "a cohort person's household",
        frame_column("cohort_member"),
        frame="cohort_member",
    ),
    Derivation(
        "panel.left_household",
        ("G7: member left the household",),
        ("household.household_id", "household.valid_from", "household.valid_to"),
        "1 on a household member's last year in a cohort person's household when the cohort "
        "person is observed after it (G7)",
        frame_column("left_household"),
        frame="left_household",
    ),
    Derivation(
        "panel.moved_out",
        ("B3: moved out of the Flemish Region (to another region, abroad or unknown)",),
        (
            "residence.nis_code",
            "residence.valid_from",
            "residence.valid_to",
            "residence.end_reason",
        ),
        "1 on the day a residence period in the Flemish Region ends and the next one (if "
        "any) is outside it: moved to another region, abroad or unknown",
        frame_column("moved_out"),
        frame="moved_out",
    ),
)
