"""Migration in the synthetic Belgium (S1, S3): emigration of households, returns from
abroad, household moves between municipalities, immigration filling each region up to the
next quarter's population, and frontier workers with a BIS number only.
"""

from __future__ import annotations

import numpy as np

from sluis.synth import behaviour as bh
from sluis.synth.bookkeeping import K_IMMIGRATION, K_RETURN, QUARTERS
from sluis.synth.draws import hazard
from sluis.synth.initial import InitialPopulation
from sluis.synth.state import (
    ABROAD,
    END_EMIGRATION,
    END_STRUCK_OFF,
    NODATE,
    NONE,
    NONRESIDENT,
    RESIDENT,
    quarter_start,
    years,
)


class Migration(InitialPopulation):
    """Who leaves, comes back, moves or arrives."""

    def emigrate(self, t0: int, when, year: int) -> None:
        rng, P, H = self.rng, self.P, self.H
        res = np.flatnonzero(P.status == RESIDENT)
        ref = H.ref
        valid = (ref >= 0) & ~H.coll
        valid[valid] &= P.cols["status"][ref[valid]] == RESIDENT
        hh_busy = np.zeros(H.n, dtype=bool)
        hh_busy[P.hh[res[self.busy[res]]]] = True
        cand = np.flatnonzero(valid & ~hh_busy)
        r = ref[cand]
        nat = P.nat[r]
        foreign = nat != self.belgium
        stay = years(t0 - P.arrival[r])
        eu = self.eu_member(nat, year)
        recent = np.where(eu, bh.EMIGRATION_RECENT["EU"], bh.EMIGRATION_RECENT["non-EU"])
        rate = np.where(
            foreign,
            np.where(P.stock[r], bh.EMIGRATION_FOREIGN_STOCK, bh.EMIGRATION_FLOOR_FOREIGN)
            + recent * np.exp(-stay / bh.EMIGRATION_DECAY_YEARS),
            bh.EMIGRATION_BELGIAN,
        )
        go = cand[hazard(rng, rate)]
        if len(go) == 0:
            return
        members, d = self.members_of(go, when(len(go)), res)
        keep = ~self.busy[members]
        members, d = members[keep], d[keep]
        ref_nat = P.nat[H.ref[P.hh[members]]]
        struck = (ref_nat != self.belgium) & (
            rng.random(len(members)) < bh.STRUCK_OFF_SHARE_FOREIGN
        )
        end = np.where(struck, END_STRUCK_OFF, END_EMIGRATION)
        dest = np.where(
            struck,
            NONE,
            np.where(
                ref_nat != self.belgium,
                ref_nat,
                self.draw_country(self.immigrant_origins(year), len(members)),
            ),
        )
        P.cols["status"][members] = ABROAD
        P.cols["left"][members] = d
        self.leave(members, d, end, dest)

    def returns(self, t0: int, when, year: int) -> None:
        rng, P, H = self.rng, self.P, self.H
        # not those who left this very quarter: one event per person per quarter
        away = np.flatnonzero((P.status == ABROAD) & (years(t0 - P.birth) >= 18) & (P.left < t0))
        if len(away) == 0:
            return
        belgian = P.nat[away] == self.belgium
        gone = years(t0 - P.left[away])
        rate = np.where(belgian, bh.RETURN_BELGIAN, bh.RETURN_FOREIGN) * np.where(
            gone < 5, 1.0, 0.2
        )
        back = away[hazard(rng, rate)]
        if len(back) == 0:
            return
        hh = H.add(len(back))
        H.cols["ref"][hh] = back
        region = rng.choice(
            3, len(back), p=self.targets.population[:, 0] / self.targets.population[:, 0].sum()
        )
        H.cols["muni"][hh] = self.immigrant_dest.draw(
            region.astype(np.int16), rng.random(len(back))
        )
        P.cols["hh"][back] = hh
        P.cols["arrival"][back] = d = when(len(back))
        self.grow_scratch()
        self.enter(back, d)
        self.kind[back] = K_RETURN
        self.busy[back] = True

    def moves(self, t0: int, when) -> None:
        rng, P, H = self.rng, self.P, self.H
        res = np.flatnonzero(P.status == RESIDENT)
        hh_busy = np.zeros(H.n, dtype=bool)
        hh_busy[P.hh[res[self.busy[res]]]] = True
        cand = np.flatnonzero(~H.coll & ~hh_busy & (H.ref >= 0))
        go = cand[hazard(rng, np.full(len(cand), bh.HOUSEHOLD_MOVE))]
        if len(go) == 0:
            return
        origin = H.muni[go]
        u = rng.random(len(go))
        v = rng.random(len(go))
        dest = np.select(
            [
                u < bh.MOVE_SAME_ARRONDISSEMENT,
                u < bh.MOVE_SAME_ARRONDISSEMENT + bh.MOVE_SAME_REGION,
            ],
            [
                self.by_arr.draw(self.geo.arrondissement[origin], v),
                self.by_region.draw(self.geo.region[origin].astype(np.int16), v),
            ],
            self.anywhere.draw(np.zeros(len(go), dtype=np.int16), v),
        )
        moved = dest != origin
        go, dest = go[moved], dest[moved]
        H.cols["muni"][go] = dest
        self.touch(*self.members_of(go, when(len(go)), res))

    def immigrate(self, t1: int, when, year: int) -> None:
        """Fill each region up to the population of the next quarter's first day."""
        rng, P, H = self.rng, self.P, self.H
        res = np.flatnonzero(P.status == RESIDENT)
        region_of = self.geo.region[H.muni[P.hh[res]]]
        have = np.bincount(region_of, minlength=3)
        target = np.array(
            [
                np.interp(t1, [quarter_start(4 * i) for i in range(26)], self.targets.population[r])
                * self.scale
                for r in range(3)
            ]
        )
        for region in range(3):
            need = self.carry(("imm", region), max(target[region] - have[region], 0.0))
            people, hh = self.build_households(need, region, t1, immigrant=True)
            if len(people) == 0:
                continue
            self.grow_scratch()
            d = when(len(hh))
            pd = d[P.hh[people] - hh[0]]
            # births were computed from t1; arrival is within the quarter
            n_hh = len(hh)
            belgian = rng.random(n_hh) < bh.BELGIAN_SHARE_OF_IMMIGRANTS
            origin = self.draw_country(self.immigrant_origins(year), n_hh)
            nat = np.where(belgian, self.belgium, origin).astype(np.int16)[P.hh[people] - hh[0]]
            cob = origin[P.hh[people] - hh[0]]
            P.cols["birth"][people] = np.minimum(P.cols["birth"][people], pd - 1)
            self.set_origin(people, nat, cob)
            P.cols["first_reg"][people] = pd
            P.cols["arrival"][people] = pd
            self.set_civil_status(people, int(pd.min()))
            foreign = nat != self.belgium
            eu = self.eu_member(nat, year)
            reason = np.where(eu, "06", rng.choice(bh.REASONS, len(people), p=bh.REASON_SHARES))
            # a household shares the reason of its reference person
            reason = reason[H.ref[P.hh[people]] - people[0]]
            asylum = reason == "04"
            recognised = asylum & (rng.random(len(people)) < bh.ASYLUM_RECOGNISED)
            rec_date = np.where(
                recognised, pd + rng.uniform(0.3, 3.0, len(people)) * 365.2425, NODATE
            ).astype(np.int32)
            rec_date = np.where(rec_date > quarter_start(QUARTERS) - 1, NODATE, rec_date)
            P.cols["refugee"][people] = rec_date != NODATE
            self.logs.reason.add(
                person=people[foreign],
                reason=reason[foreign],
                date=pd[foreign],
                asylum=rec_date[foreign],
            )
            self.enter(people, pd)
            self.kind[people] = K_IMMIGRATION
            self.busy[people] = True

    def frontier_workers(self, t0: int, when, year: int) -> None:
        """People with Belgian social-security rights who live abroad: BIS numbers only."""
        rng, P = self.rng, self.P
        n = self.carry(("bis",), bh.FRONTIER_WORKERS_PER_YEAR * self.scale / 4)
        if n == 0:
            return
        people = P.add(n)
        self.grow_scratch()
        d = when(n)
        age = rng.uniform(19, 60, n)
        P.cols["birth"][people] = (d - age * 365.2425).astype(np.int32)
        P.cols["sex"][people] = np.where(rng.random(n) < 0.62, 1, 2)
        origin = self.draw_country(self.country_weights(bh.FRONTIER_ORIGINS), n)
        self.set_origin(people, origin, origin)
        P.cols["status"][people] = NONRESIDENT
        P.cols["bis"][people] = True
