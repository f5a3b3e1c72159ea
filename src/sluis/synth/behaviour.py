"""Behavioural parameters of the synthetic Belgium (S3), in one place.

Rates are annual hazards unless said otherwise. Their levels come from the published
figures in ``REFERENCE.md`` §5-6 and ``macro_facts.csv`` where those exist; the rest are
orders of magnitude chosen so that the calibration checks pass (see docs/synthetic-belgium.md).
"""

from __future__ import annotations

import numpy as np

# -- mortality: Gompertz, m(x) = exp(A + B x), women lower, plus infant mortality ----------
MORTALITY_A, MORTALITY_B, MORTALITY_WOMEN, INFANT = -9.85, 0.089, 0.62, 0.0035


def mortality(age: np.ndarray, sex: np.ndarray) -> np.ndarray:
    m = np.exp(MORTALITY_A + MORTALITY_B * age) * np.where(sex == 2, MORTALITY_WOMEN, 1.0)
    return np.minimum(m + np.where(age < 1, INFANT, 0.0), 0.7)


# -- fertility: relative weights by the mother's age (births are margins) --------------
def fertility(age: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * ((age - 30.5) / 5.5) ** 2) * ((age >= 15) & (age < 50))


FERTILITY_IN_UNION, FERTILITY_NON_EU = 4.0, 1.5
FERTILITY_BY_CHILDREN = np.array([1.0, 1.1, 0.55, 0.25, 0.12])  # by children at home

# -- emigration (per household, from the reference person) ------------------------------
EMIGRATION_BELGIAN = 0.0033
EMIGRATION_FOREIGN_STOCK = 0.008
EMIGRATION_RECENT = {"EU": 0.45, "non-EU": 0.22}  # extra hazard, decaying with the stay
EMIGRATION_DECAY_YEARS = 2.5
EMIGRATION_FLOOR_FOREIGN = 0.02
STRUCK_OFF_SHARE_FOREIGN = 0.3
RETURN_BELGIAN, RETURN_FOREIGN = 0.15, 0.03  # returns from abroad, adults only


# -- household dynamics ------------------------------------------------------------------
def union_formation(age: np.ndarray) -> np.ndarray:
    return 0.35 * np.exp(-0.5 * ((age - 28.0) / 6.0) ** 2) + 0.04 * (age < 70)


SEPARATION = {1: 0.022, 2: 0.04, 3: 0.06}  # by union type: married, legal, de facto
MARRY_COHABITANTS = 0.045


def separation_by_age(age: np.ndarray) -> np.ndarray:
    """Couples split less as they grow older (long unions are more stable)."""
    return np.clip(np.exp(-(age - 35.0) / 12.0), 0.1, 1.0)


LEAVE_HOME = ((18, 0.03), (22, 0.1), (26, 0.15), (31, 0.08), (41, 0.03))  # (from age, rate)
HOUSEHOLD_MOVE = 0.035
MOVE_SAME_ARRONDISSEMENT, MOVE_SAME_REGION = 0.5, 0.3  # rest: anywhere


def enter_collective(age: np.ndarray) -> np.ndarray:
    return np.where(age >= 75, 0.01 * np.exp(0.13 * (age - 75)), 0.0003 * (age >= 18))


def union_mix(year: int) -> tuple[float, float, float]:
    """Shares of new unions that are a marriage, a legal cohabitation, a de facto union."""
    married = 0.55 - 0.012 * (year - 2000)
    legal = min(0.35, 0.05 + 0.015 * (year - 2000))
    return married, legal, 1.0 - married - legal


# -- naturalisation: propensity of an eligible foreign resident --------------------------
NATURALISE_ORIGIN = {"non-EU": 1.0, "EU13": 0.25, "EU14": 0.08}
NATURALISE_STOCK = 2.5  # long-resident foreigners who had not naturalised by 2000
NATURALISE_MINOR, NATURALISE_OLD, NATURALISE_REFUGEE = 1.0, 0.4, 1.5


def naturalise_eligibility(years_resident: np.ndarray, year: int) -> np.ndarray:
    """The 2000 law: naturalisation after 3 years, declaration after 7; the law of
    4 December 2012 (in force 1 January 2013): 5 years and integration conditions."""
    if year < 2013:
        return np.select([years_resident >= 7, years_resident >= 3], [1.0, 0.25], 0.0)
    return np.where(years_resident >= 5, 1.0, 0.0)


# -- immigration -------------------------------------------------------------------------
#: origin weights of immigrant households 2000-2012 (REFERENCE.md §5.4, APPROX), by ISO2;
#: the remainder is spread over the other countries by class weights below
ORIGIN_WEIGHTS = {
    "FR": 11, "NL": 10, "MA": 9, "PL": 8, "RO": 7, "IT": 3, "ES": 3, "DE": 3, "BG": 3,
    "TR": 3, "PT": 2, "CD": 2, "GB": 1.5, "US": 1.5, "IN": 1.5, "CN": 1.5, "CM": 1, "GN": 1,
    "RU": 1, "BR": 1,
}  # fmt: skip
REST_BY_CLASS = {"04": 3, "07": 3, "08": 5, "11": 6, "13": 5, "14": 5, "15": 3}
ASYLUM_WAVE = {"SY": 6, "AF": 3, "IQ": 3, "ER": 1.5}  # 2015-2017 arrivals
BELGIAN_SHARE_OF_IMMIGRANTS = 0.06
#: foreign residents in 2000 by region (Flanders, Wallonia, Brussels) and their origins
FOREIGN_SHARE_2000 = np.array([0.047, 0.10, 0.27])
STOCK_ORIGINS = (
    {"NL": 30, "IT": 10, "MA": 15, "TR": 12, "FR": 6, "DE": 6, "GB": 4, "ES": 3, "PT": 2,
     "GR": 2, "CD": 2, "PL": 2},
    {"IT": 45, "FR": 22, "ES": 4, "MA": 5, "TR": 3, "PT": 3, "DE": 4, "NL": 3, "GR": 2,
     "CD": 2, "PL": 2, "DZ": 2},
    {"MA": 22, "FR": 13, "IT": 10, "ES": 7, "TR": 5, "PT": 6, "DE": 4, "NL": 3, "GR": 4,
     "CD": 5, "GB": 3, "PL": 2},
)  # fmt: skip
#: Belgians of foreign first nationality in 2000 (naturalised earlier), share of households
FOREIGN_BACKGROUND_2000 = np.array([0.05, 0.08, 0.2])
BACKGROUND_ORIGINS = {"MA": 30, "TR": 18, "IT": 20, "CD": 8, "FR": 6, "NL": 5, "DZ": 4, "PL": 3}
BORN_ABROAD_BELGIAN = 0.03
#: residence reasons of non-EU immigrants (residence_reason codes 01-05, 07)
REASONS = ("01", "02", "03", "04", "05", "07")
REASON_SHARES = np.array([0.15, 0.45, 0.12, 0.18, 0.05, 0.05])
ASYLUM_RECOGNISED = 0.45
FRONTIER_WORKERS_PER_YEAR = 10_000  # new BIS numbers (non-residents) per year, whole country
FRONTIER_ORIGINS = {"FR": 45, "NL": 35, "DE": 10, "LU": 5, "PL": 5}
