"""The registers of part 2 for one chunk: DWH, education, VDAB, CENSUS, ADI, context counts.

One pass over the quarters feeds every register from the same simulated state, so a job in
the DWH, a wage in ADI and a census position agree; the chunk's own random stream makes the
output depend on seed and scale only (S2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sluis.synth.adi import AdiRows
from sluis.synth.census import CENSUS_QUARTERS, census_table
from sluis.synth.dwh_tables import DwhRows
from sluis.synth.education import education_tables
from sluis.synth.labour import Labour
from sluis.synth.municipal import count, empty_counts
from sluis.synth.panel import QUARTERS, Panel
from sluis.synth.vdab import VdabRows


@dataclass
class Part2:
    """A chunk's part-2 tables (persons as chunk-local numbers) and its aggregates."""

    tables: dict[str, pa.Table]
    #: ADI without the poverty flag, which needs every chunk's incomes
    adi: pa.Table
    #: equivalised-income histogram per year (for the national median)
    income_histogram: np.ndarray
    #: residents, foreigners, job seekers and labour force per municipality and quarter
    context_counts: np.ndarray


def registers(panel: Panel, rng: np.random.Generator, chunk: int) -> Part2:
    """Simulate the labour market of ``panel`` and write every part-2 register from it."""
    labour = Labour(panel, rng)
    dwh = DwhRows(labour)
    vdab = VdabRows(labour, dwh)
    adi = AdiRows(labour, chunk)
    counts = empty_counts()
    census_quarters = {}
    for q in range(QUARTERS):
        state = labour.quarter(q)
        dwh.add(state)
        vdab.add(state)
        adi.add(state)
        count(counts, state, panel)
        if q in CENSUS_QUARTERS.values():
            census_quarters[q] = state
    tables = dwh.tables()
    tables.update(vdab.tables())
    tables["census"] = census_table(census_quarters, labour)
    tables.update(education_tables(panel, rng))
    adi_table, histogram = adi.table()
    return Part2(tables, adi_table, histogram, counts)
