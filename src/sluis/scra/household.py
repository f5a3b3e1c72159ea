"""Household risk (G5): the risk that at least one member of a household is re-identified.

As sdcMicro's hierarchical risk (``measure_risk`` with a household id): every member ``i``
of household ``h`` gets ``1 - prod_{j in h} (1 - r_j)`` where ``r_j`` is the individual
risk of member ``j``. The product is taken as ``exp(sum(log1p(-r_j)))`` per household, in
one ``bincount`` over all records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sluis.scra.frequencies import encode_column


@dataclass(frozen=True)
class HouseholdRisk:
    """Per-record household risk, its mean over records, and the expected number of
    households with at least one member re-identified."""

    risk: np.ndarray
    n_households: int
    mean_risk: float
    expected_households: float
    expected_records: float


def household_risk(individual: np.ndarray, household: np.ndarray) -> HouseholdRisk:
    """``household`` holds dense household ids 0..H-1 (see :func:`household_ids`)."""
    n_households = int(household.max()) + 1 if len(household) else 0
    with np.errstate(divide="ignore"):
        log_keep = np.log1p(-np.minimum(individual, 1.0))
    per_household = 1.0 - np.exp(np.bincount(household, weights=log_keep, minlength=n_households))
    risk = per_household[household]
    return HouseholdRisk(
        risk=risk,
        n_households=n_households,
        mean_risk=float(risk.mean()) if len(risk) else 0.0,
        expected_households=float(per_household.sum()),
        expected_records=float(risk.sum()),
    )


def household_ids(column) -> np.ndarray:
    """Dense ids of a household-id column; a missing id is a household of its own per
    record (a person without a household cannot share one with others)."""
    codes, labels = encode_column(column)
    if labels and labels[-1] is None:
        missing = codes == len(labels) - 1
        codes = codes.astype(np.int64)
        codes[missing] = len(labels) - 1 + np.arange(int(missing.sum()))
    return codes.astype(np.int64, copy=False)
