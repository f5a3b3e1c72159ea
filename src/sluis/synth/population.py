"""Demography of one chunk of the synthetic Belgium, 2000Q1-2024Q4 (S1, S3).

A chunk is a small, complete Belgium (``scale / chunks`` of the country): it starts from the
population of 1 January 2000, built household by household, and lives through 100 quarters.
Each quarter, in this order: deaths, emigration of households, returns from abroad, moves
into collective households, children leaving home, separations, marriages of cohabitants,
new unions, births, household moves between municipalities, nationality acquisitions,
immigration and new BIS numbers. A person has at most one event per quarter.

Published totals are margins, not outcomes left to chance: births and nationality
acquisitions per year are drawn to the yearly figures, and immigration per region fills the
gap between the simulated population and the population of the next 1 January (this is how
the region totals stay within the 2% of S3). Who is born, naturalises or arrives is decided
by the propensities of :mod:`sluis.synth.behaviour`.

The register state (household, reference person, relation, LIPRO position, municipality) is
derived from the structure every quarter and logged when it changes; :mod:`sluis.synth.tables`
turns the logs into the contract's history tables.

The chunk is assembled from one module per part: :mod:`sluis.synth.initial` (the population
of 2000), :mod:`sluis.synth.family` and :mod:`sluis.synth.migration` (the event families),
:mod:`sluis.synth.origins` (nationality), :mod:`sluis.synth.bookkeeping` (the register
bookkeeping they share) and :mod:`sluis.synth.draws` (the random draws); this module runs
the quarters in the order above.
"""

from __future__ import annotations

import numpy as np

from sluis.synth import behaviour as bh
from sluis.synth.bookkeeping import K_NONE, QUARTERS
from sluis.synth.draws import hazard
from sluis.synth.family import FamilyEvents
from sluis.synth.migration import Migration
from sluis.synth.state import (
    DEAD,
    END_DEATH,
    NODATE,
    NONE,
    RESIDENT,
    quarter_start,
    years,
)


class Chunk(Migration, FamilyEvents):
    """One chunk's simulation. ``scale`` is the chunk's share of Belgium."""

    def run(self) -> None:
        """Simulate 2000Q1-2024Q4."""
        self.evd = np.full(self.P.cols["birth"].shape[0], NODATE, dtype=np.int32)
        self.kind = np.zeros(self.P.cols["birth"].shape[0], dtype=np.int8)
        self.busy = np.zeros(self.P.cols["birth"].shape[0], dtype=bool)
        self.init_population()
        self.record(quarter_start(0))
        for q in range(QUARTERS):
            self.quarter(q)

    def quarter(self, q: int) -> None:
        rng, P = self.rng, self.P
        t0, t1 = quarter_start(q), quarter_start(q + 1)
        year = 2000 + q // 4
        self.busy[:] = False
        self.evd[:] = NODATE
        self.kind[:] = K_NONE

        def when(n: int) -> np.ndarray:
            return (t0 + rng.integers(0, t1 - t0, n)).astype(np.int32)

        res = np.flatnonzero(P.status == RESIDENT).astype(np.int32)
        age = years(t0 - P.birth[res])
        # deaths
        die = res[hazard(rng, bh.mortality(age, P.sex[res]))]
        d = when(len(die))
        P.cols["death"][die] = d
        P.cols["status"][die] = DEAD
        self.leave(die, d, np.full(len(die), END_DEATH), np.full(len(die), NONE))
        self.emigrate(t0, when, year)
        self.fix_references()
        self.returns(t0, when, year)
        self.household_events(t0, when, year)
        self.births(t0, when, year)
        self.moves(t0, when)
        self.naturalise(t0, when, year)
        self.fix_references()
        self.immigrate(t1, when, year)
        self.frontier_workers(t0, when, year)
        self.record(t0)
        self.snapshot()
