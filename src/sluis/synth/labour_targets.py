"""Labour-market margins of the generator (S3, issue 4), from ``macro_facts.csv``.

Published figures exist only for some years and groups; the rules that fill the gaps are
design choices, stated here once and listed in docs/synthetic-belgium.md:

* a series is interpolated linearly between its years and held flat outside them;
* employment by origin is published for 2022 only: other years shift each origin group in
  parallel with the Belgian-origin series (published for 2003 and 2022); the origins without
  a published figure (Asia, the Americas, unknown) take the non-EU figure of 2021 (about 55%);
* regional integration-income counts exist for 2003-2019: later years keep the 2019 regional
  shares of the Belgian total;
* full-time wage quantiles before 2016 follow the mean wage (2010 and 2016 published), before
  2010 and after 2021 they grow 2% a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from sluis.synth.panel import ORIGINS
from sluis.synth.targets import REGION_NAMES, interpolate, series

YEARS = np.arange(2000, 2025)
#: origin -> the macro_facts suffix of its 2022 employment rate
_EMPLOYMENT_ORIGIN = {
    "belgian": "origin_belgian",
    "eu14": "origin_eu14",
    "eu13": "origin_eu13",
    "candidate": "origin_candidate_eu_mainly_turkey",
    "north_africa": "origin_north_africa",
    "subsaharan": "origin_subsaharan_africa",
}
#: unemployment relative to Belgian origin (2022: Belgian 3.8%, Turkey 10, North Africa 16.4,
#: sub-Saharan Africa 18.6); EU origins and others are design choices
UNEMPLOYMENT_RISK = {
    "belgian": 1.0,
    "eu14": 1.6,
    "eu13": 1.6,
    "candidate": 10.0 / 3.8,
    "north_africa": 16.4 / 3.8,
    "subsaharan": 18.6 / 3.8,
    "other": 2.5,
}
WAGE_RANKS = np.array([0.0, 0.10, 0.50, 0.90, 1.0])


@dataclass(frozen=True)
class LabourTargets:
    #: employment rate 20-64 (fraction) per origin (rows, ORIGINS order) and year
    employment: np.ndarray
    #: ILO unemployment rate 15-64 (fraction) per region (rows) and year
    unemployment: np.ndarray
    #: average monthly integration-income recipients per region (rows) and year
    integration_income: np.ndarray
    #: full-time gross monthly wage at WAGE_RANKS per year (rows): min, P10, P50, P90, max
    wage_knots: np.ndarray
    part_time_women: float
    part_time_men: float
    self_employed: float


def _value(indicator: str, geography: str = "BE") -> dict[int, float]:
    return series(indicator, geography)


@cache
def labour_targets() -> LabourTargets:
    """The labour-market margins for 2000-2024."""
    belgian = interpolate(_value("employment_rate_20_64_origin_belgian"), YEARS)
    belgian_2022 = _value("employment_rate_20_64_origin_belgian")[2022]
    other_2022 = _value("employment_rate_20_64_nonEU_origin")[2021]
    rows = []
    for name in ORIGINS:
        key = _EMPLOYMENT_ORIGIN.get(name)
        level = _value(f"employment_rate_20_64_{key}")[2022] if key else other_2022
        rows.append(belgian + (level - belgian_2022))
    employment = np.array(rows) / 100
    unemployment = []
    for region in REGION_NAMES:
        points = _value("unemployment_rate_ilo", region) | _value(
            "unemployment_rate_15_64_q", region
        )
        unemployment.append(interpolate(points, YEARS))
    be_ll = interpolate(_value("leefloon_recipients_monthly_avg"), YEARS)
    regional = [_value("leefloon_recipients_monthly_avg", r) for r in REGION_NAMES]
    share_years = sorted(set.intersection(*(set(r) for r in regional)))
    shares = np.array([[r[y] / sum(x[y] for x in regional) for y in share_years] for r in regional])
    integration = np.array([np.interp(YEARS, share_years, s) for s in shares]) * be_ll
    return LabourTargets(
        employment=employment,
        unemployment=np.array(unemployment) / 100,
        integration_income=integration,
        wage_knots=_wage_knots(),
        part_time_women=0.44,
        part_time_men=0.09,
        self_employed=_value("self_employed_share_of_employed")[2012] / 100,
    )


def _wage_knots() -> np.ndarray:
    median = _value("gross_monthly_wage_fulltime_median")
    p10 = _value("gross_monthly_wage_fulltime_p10")
    p90 = _value("gross_monthly_wage_fulltime_p90")
    mean = _value("gross_monthly_wage_fulltime_mean")
    # before 2016: the median follows the mean (2010 -> 2016), 2% a year before 2010
    median = {2010: median[2016] * mean[2010] / mean[2016], **median}
    first, last = min(median), max(median)
    med = interpolate(median, YEARS)
    med = np.where(first > YEARS, median[first] * 1.02 ** (YEARS - first), med)
    med = np.where(last < YEARS, median[last] * 1.02 ** (YEARS - last), med)
    low = interpolate({y: p10[y] / median[y] for y in p10}, YEARS) * med
    high = interpolate({y: p90[y] / median[y] for y in p90}, YEARS) * med
    # tails: the lowest full-time wage about 70% of P10, the top 1 in 1,000 about 3 x P90
    return np.stack([0.7 * low, low, med, high, 3.0 * high], axis=1)


def wage_at(rank: np.ndarray, year_index: int) -> np.ndarray:
    """Full-time monthly gross wage at ``rank`` (0..1), log-linear between the knots."""
    knots = np.log(labour_targets().wage_knots[year_index])
    return np.exp(np.interp(rank, WAGE_RANKS, knots))
