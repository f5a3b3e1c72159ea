"""Municipal context per quarter (A7), computed from the generated population.

Every chunk counts, per municipality and quarter, its residents, those with a foreign
nationality, the job seekers and the labour force 15-64; the counts of all chunks are summed
and classed once, so the context is consistent with the person-level tables. Size classes
apply to the represented population (residents divided by the scale), so a small test run
still has the size classes of the real municipalities.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from sluis.synth import labour as lb
from sluis.synth.panel import QUARTER_END, QUARTERS, Panel
from sluis.synth.rows import codes, dates
from sluis.synth.state import day
from sluis.synth.world import REGION_CODES, countries, geography

COUNTS = ("population", "foreign", "jobseekers", "labour_force")
SIZE_BOUNDS = np.array([5000, 10000, 20000, 50000, 100000])
MIGRANT_BOUNDS = np.array([0.05, 0.10, 0.20, 0.30])
RECODE = day(dt.date(2019, 1, 1))


def empty_counts() -> np.ndarray:
    return np.zeros((len(COUNTS), len(geography().nis), QUARTERS), dtype=np.int64)


def count(counts: np.ndarray, Q: lb.Quarter, panel: Panel) -> None:
    """Add the residents of one quarter to ``counts`` (by municipality of the 589 list)."""
    muni = panel.muni[Q.res, Q.q]
    n = counts.shape[1]
    belgian = countries().index("BE")
    foreign = panel.nat[Q.res, Q.q] != belgian
    seeker = lb.is_sep(Q.sep, lb.JOBSEEKERS)
    working_age = (Q.age >= 15) & (Q.age < 65)
    labour_force = working_age & (seeker | lb.working(Q.sep))
    for i, weight in enumerate((None, foreign, seeker & working_age, labour_force)):
        counts[i, :, Q.q] += np.bincount(muni, weights=weight, minlength=n).astype(np.int64)


def context_table(counts: np.ndarray, scale: float) -> pa.Table:
    """One row per municipality (in the vintage of the quarter) and quarter."""
    geo = geography()
    nis_all = tuple(sorted(set(geo.nis) | set(geo.nis_2019)))
    parts = []
    for q in range(QUARTERS):
        names = geo.nis_2019 if QUARTER_END[q] >= RECODE else geo.nis
        place = np.searchsorted(nis_all, names)
        summed = np.zeros((len(COUNTS), len(nis_all)))
        for i in range(len(COUNTS)):
            summed[i] = np.bincount(place, weights=counts[i, :, q], minlength=len(nis_all))
        used = np.unique(place)
        region = np.zeros(len(nis_all), dtype=np.int8)
        region[place] = geo.region
        parts.append((np.full(len(used), q), used, region[used], summed[:, used]))
    q = np.concatenate([p[0] for p in parts])
    muni = np.concatenate([p[1] for p in parts])
    region = np.concatenate([p[2] for p in parts])
    pop, foreign, seekers, labour = np.concatenate([p[3] for p in parts], axis=1)
    order = np.lexsort((q, muni))
    q, muni, region = q[order], muni[order], region[order]
    pop, foreign, seekers, labour = pop[order], foreign[order], seekers[order], labour[order]
    represented = pop / scale
    share = np.divide(foreign, pop, out=np.zeros_like(pop), where=pop > 0)
    rate = np.divide(100 * seekers, labour, out=np.zeros_like(pop), where=labour > 0)
    return pa.table(
        {
            "nis_code": codes(nis_all, muni.astype(np.int16)),
            "quarter_end": dates(QUARTER_END[q]),
            "region": codes(REGION_CODES, region),
            "population": pa.array(pop.astype(np.int64)),
            "size_class": codes(
                tuple("123456"), np.searchsorted(SIZE_BOUNDS, represented, "right")
            ),
            "migrant_class": codes(tuple("12345"), np.searchsorted(MIGRANT_BOUNDS, share, "right")),
            "unemployment_rate": pa.array(np.round(rate, 2), mask=labour == 0),
        }
    )
