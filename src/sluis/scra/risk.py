"""Individual and global re-identification risk (G5), as sdcMicro's
``indivRisk(method = "approx", survey = TRUE)`` (Franconi and Polettini's approximation of
the Benedetti-Franconi risk; Templ, *Statistical Disclosure Control for Microdata*, 2017).

With ``pk = fk / Fk`` for the record's key cell:

- ``fk = 1``: ``pk / (1 - pk) * ln(1 / pk)``
- ``fk = 2``: ``pk / (1 - pk) - (pk / (1 - pk))**2 * ln(1 / pk)``
- ``fk > 2``: ``pk / (fk - (1 - pk))``
- ``fk == Fk`` (the sample is the population in that cell): ``1 / fk``

The global risk is the mean of the individual risks over records and the expected number
of re-identifications (``global_risk_ER`` in sdcMicro) their sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: records per block of :func:`individual_risk` (its temporaries stay in cache and reused)
_BLOCK = 1 << 18


def individual_risk(fk: np.ndarray, Fk: np.ndarray) -> np.ndarray:
    """Per-record risk from ``fk`` and ``Fk`` (any shape; vectorised).

    Computed in blocks of records: the formula's half-dozen temporaries over five million
    records cost more in fresh memory (page faults) than the arithmetic."""
    fk = np.asarray(fk)
    Fk = np.asarray(Fk)
    if fk.ndim != 1 or len(fk) <= _BLOCK:
        return _risk_block(fk, Fk)
    out = np.empty(len(fk), dtype=np.float64)
    for start in range(0, len(fk), _BLOCK):
        out[start : start + _BLOCK] = _risk_block(
            fk[start : start + _BLOCK], Fk[start : start + _BLOCK]
        )
    return out


def _risk_block(fk: np.ndarray, Fk: np.ndarray) -> np.ndarray:
    fk = np.asarray(fk, dtype=np.float64)
    Fk = np.asarray(Fk, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pk = fk / Fk
        odds = pk / (1.0 - pk)
        log_inv = np.log(1.0 / pk)
        risk = np.where(
            fk == 1,
            odds * log_inv,
            np.where(fk == 2, odds - odds * odds * log_inv, pk / (fk - (1.0 - pk))),
        )
        risk = np.where(fk == Fk, 1.0 / fk, risk)
    return risk


@dataclass(frozen=True)
class GlobalRisk:
    """``global_risk`` (mean individual risk) and ``global_risk_ER`` (expected
    re-identifications, their sum) as in sdcMicro's ``measure_risk``."""

    global_risk: float
    expected_reidentifications: float
    max_risk: float


def global_risk(risk: np.ndarray) -> GlobalRisk:
    if len(risk) == 0:
        return GlobalRisk(0.0, 0.0, 0.0)
    total = float(np.sum(risk))
    return GlobalRisk(total / len(risk), total, float(np.max(risk)))


def sample_k(k: int, design_weight: float | None) -> int:
    """The k on sample frequencies that a sample with one design weight must reach so that
    every record's estimated population frequency Fk = weight x fk is at least ``k``.

    A random sample (25/074's phase 1: about 3,000 of 638,000 persons) is not a population:
    a record alone in the sample stands for ``weight`` persons of the population. Asking
    fk >= k of a 0.5% sample would suppress nearly every value without lowering the risk
    that matters, which is measured by the individual and global risk (sdcMicro's
    ``indivRisk``, which uses the same Fk)."""
    if design_weight is None or design_weight <= 1:
        return k
    return max(1, math.ceil(k / design_weight - 1e-9))
