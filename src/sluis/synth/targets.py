"""Calibration margins of the generator (S3), read from the vendored reference files.

``macro_facts.csv`` gives the published anchors (population per region on 1 January,
nationality acquisitions per year); ``synth_targets.csv`` fills the years between them with
recalled Statbel figures marked approximate. Where both have a value, ``macro_facts.csv``
wins. The generator uses these as margins: yearly totals it must hit, which it allocates to
individuals with a propensity model (see :mod:`sluis.synth.population`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from sluis.domain.codelists import read_csv

YEARS = np.arange(2000, 2026)
REGION_NAMES = ("Flemish Region", "Walloon Region", "Brussels-Capital Region")


@dataclass(frozen=True)
class Targets:
    #: population on 1 January of YEARS, per region (rows) - shape (3, len(YEARS))
    population: np.ndarray
    #: live births per calendar year 2000..2024
    births: np.ndarray
    #: nationality acquisitions per calendar year 2000..2024
    naturalisations: np.ndarray


def series(indicator: str, geography: str) -> dict[int, float]:
    """The published yearly values of ``indicator`` in ``geography`` (year -> value), from
    the synthetic targets and the macro facts."""
    values: dict[int, float] = {}
    for row in read_csv("synth_targets.csv"):
        if row["indicator"] == indicator and row["geography"] == geography:
            values[int(row["period"][:4])] = float(row["value"])
    for row in read_csv("macro_facts.csv"):
        if row["indicator"] == indicator and row["geography"] == geography:
            period = row["period"]
            if len(period) == 4 or (len(period) == 10 and period[4] == "-"):
                values[int(period[:4])] = float(row["value"])
    return values


def interpolate(points: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Values for ``years``: linear between the published years, flat outside them."""
    xs = np.array(sorted(points))
    return np.interp(years, xs, np.array([points[x] for x in xs]))


@cache
def targets() -> Targets:
    """The margins, interpolated to every year."""
    be = interpolate(series("population", "BE"), YEARS)
    regional = [series("population", name) for name in REGION_NAMES]
    anchor_years = sorted(set.intersection(*(set(r) for r in regional)))
    shares = np.array(
        [[r[y] / sum(rr[y] for rr in regional) for y in anchor_years] for r in regional]
    )
    share_path = np.array([np.interp(YEARS, anchor_years, s) for s in shares])
    population = share_path * be
    births = interpolate(series("births", "BE"), YEARS[:-1])
    natural = interpolate(series("nationality_acquisitions", "BE"), YEARS[:-1])
    return Targets(population=population, births=births, naturalisations=natural)
