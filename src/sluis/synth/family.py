"""Family events in the synthetic Belgium (S1): moves into collective households, children
leaving home, separations, marriages, new unions and births (drawn to the yearly figures).
"""

from __future__ import annotations

import numpy as np

from sluis.synth import behaviour as bh
from sluis.synth.bookkeeping import K_BIRTH
from sluis.synth.draws import hazard, pick
from sluis.synth.origins import Origins
from sluis.synth.register_state import take
from sluis.synth.state import (
    DEFACTO,
    LEGAL,
    MARRIED,
    NEVER,
    NONE,
    RESIDENT,
    WED,
    years,
)


class FamilyEvents(Origins):
    """The events that make and unmake households and unions."""

    def household_events(self, t0: int, when, year: int) -> None:
        """Collective households, leaving home, separations, marriages, new unions."""
        rng, P, H = self.rng, self.P, self.H
        res = np.flatnonzero((P.status == RESIDENT) & ~self.busy[: P.n])
        age = years(t0 - P.birth[res])
        hh = P.hh[res]
        coll = H.coll[hh]
        partner = P.partner[res]
        # into a collective household (same municipality)
        go = ~coll & (partner < 0) & (age >= 18)
        go[go] = hazard(rng, bh.enter_collective(age[go]))
        movers = res[go]
        P.cols["hh"][movers] = self.coll_hh[H.muni[hh[go]]]
        self.touch(movers, when(len(movers)))
        # children leave home
        ref = H.ref[hh]
        is_child = (
            ((P.mother[res] == ref) | (P.father[res] == ref)) & (ref >= 0) & ~coll & (partner < 0)
        )
        leave = is_child & ~go & (age >= bh.LEAVE_HOME[0][0])
        rate = np.zeros(int(leave.sum()))
        for start, value in bh.LEAVE_HOME:
            rate[age[leave] >= start] = value
        leave[leave] = hazard(rng, rate)
        leavers = res[leave]
        new = H.add(len(leavers))
        H.cols["ref"][new] = leavers
        far = rng.random(len(leavers)) < 0.5
        H.cols["muni"][new] = np.where(
            far,
            self.by_arr.draw(self.geo.arrondissement[H.muni[hh[leave]]], rng.random(len(leavers))),
            H.muni[hh[leave]],
        )
        P.cols["hh"][leavers] = new
        self.touch(leavers, when(len(leavers)))
        # separations and marriages of couples (decided on the partner with the lower number)
        lead = (partner > res) & ~self.busy[np.maximum(partner, 0)] & ~go & ~leave
        lead &= P.cols["status"][np.maximum(partner, 0)] == RESIDENT
        a, b = res[lead], partner[lead]
        union = P.union[a]
        split = hazard(
            rng,
            np.select(
                [union == MARRIED, union == LEGAL],
                [bh.SEPARATION[1], bh.SEPARATION[2]],
                bh.SEPARATION[3],
            )
            * bh.separation_by_age(age[lead]),
        )
        marry = ~split & (union != MARRIED) & hazard(rng, np.full(len(a), bh.MARRY_COHABITANTS))
        self.separate(a[split], b[split], when(int(split.sum())))
        self.marry(a[marry], b[marry], when(int(marry.sum())))
        # new unions among single adults
        free = np.flatnonzero((P.status == RESIDENT) & ~self.busy[: P.n] & (P.partner < 0))
        free = free[~H.coll[P.hh[free]]]
        fage = years(t0 - P.birth[free])
        rate = bh.union_formation(fage) * (fage >= 18) * np.where(P.civil[free] == NEVER, 1.0, 0.5)
        women, men = free[P.sex[free] == 2], free[P.sex[free] == 1]
        w_rate = rate[P.sex[free] == 2]
        k = self.carry(("union", 0), float((1 - np.exp(-w_rate / 4)).sum()))
        w = women[pick(rng, w_rate, k)]
        m = men[pick(rng, rate[P.sex[free] == 1], len(w))]
        k = min(len(w), len(m))
        w, m = w[:k], m[:k]
        w = w[np.argsort(P.birth[w], kind="stable")]
        m = m[np.argsort(P.birth[m] + 2.5 * 365, kind="stable")]
        ok = (P.hh[w] != P.hh[m]) & ((P.mother[w] < 0) | (P.mother[w] != P.mother[m]))
        # at most one partner brings a household with other members
        size = np.bincount(P.hh[P.status == RESIDENT], minlength=H.n) if H.n else np.zeros(0)
        w_anchor = (H.ref[P.hh[w]] == w) & (size[P.hh[w]] > 1)
        m_anchor = (H.ref[P.hh[m]] == m) & (size[P.hh[m]] > 1)
        ok &= ~(w_anchor & m_anchor)
        self.unite(w[ok], m[ok], w_anchor[ok], m_anchor[ok], when(int(ok.sum())), year)

    def separate(self, a: np.ndarray, b: np.ndarray, date: np.ndarray) -> None:
        rng, P, H = self.rng, self.P, self.H
        if len(a) == 0:
            return
        hh = P.hh[a]
        res = np.flatnonzero(P.status == RESIDENT)
        kids = (
            np.bincount(P.hh[res][(P.mother[res] >= 0) & (H.ref[P.hh[res]] != res)], minlength=H.n)[
                hh
            ]
            > 0
        )
        man = np.where(P.sex[a] == 1, a, b)
        woman = np.where(P.sex[a] == 1, b, a)
        ref_is_a = H.ref[hh] == a
        non_ref = np.where(ref_is_a, b, a)
        leaver = np.where(kids, np.where(rng.random(len(a)) < 0.8, man, woman), non_ref)
        self.end_union(a, b, date, died=np.zeros(len(a), dtype=bool))
        new = H.add(len(leaver))
        H.cols["ref"][new] = leaver
        stay = rng.random(len(leaver)) < 0.5
        H.cols["muni"][new] = np.where(
            stay,
            H.muni[hh],
            self.by_arr.draw(self.geo.arrondissement[H.muni[hh]], rng.random(len(leaver))),
        )
        P.cols["hh"][leaver] = new
        self.touch(a, date)
        self.touch(b, date)

    def marry(self, a: np.ndarray, b: np.ndarray, date: np.ndarray) -> None:
        P = self.P
        legal = P.union[a] == LEGAL
        self.logs.cohab_end.add(id=P.cohab[a[legal]], date=date[legal], code=3)
        P.cols["cohab"][a], P.cols["cohab"][b] = NONE, NONE
        P.cols["union"][a], P.cols["union"][b] = MARRIED, MARRIED
        P.cols["civil"][a], P.cols["civil"][b] = WED, WED
        self.logs.civil.add(person=a, date=date, civil=WED, spouse=b)
        self.logs.civil.add(person=b, date=date, civil=WED, spouse=a)
        self.touch(a, date)
        self.touch(b, date)

    def unite(self, w, m, w_anchor, m_anchor, date, year: int) -> None:
        rng, P, H = self.rng, self.P, self.H
        n = len(w)
        if n == 0:
            return
        married, legal, _ = bh.union_mix(year)
        u = rng.random(n)
        union = np.where(
            u < married, MARRIED, np.where(u < married + legal, LEGAL, DEFACTO)
        ).astype(np.int8)
        P.cols["partner"][w], P.cols["partner"][m] = m, w
        P.cols["union"][w], P.cols["union"][m] = union, union
        wed = union == MARRIED
        P.cols["civil"][w[wed]], P.cols["civil"][m[wed]] = WED, WED
        self.logs.civil.add(person=w[wed], date=date[wed], civil=WED, spouse=m[wed])
        self.logs.civil.add(person=m[wed], date=date[wed], civil=WED, spouse=w[wed])
        lc = union == LEGAL
        ids = np.arange(self.cohab_count, self.cohab_count + int(lc.sum()), dtype=np.int32)
        self.cohab_count += len(ids)
        self.logs.cohab.add(id=ids, a=w[lc], b=m[lc], start=date[lc])
        P.cols["cohab"][w[lc]], P.cols["cohab"][m[lc]] = ids, ids
        # where they live: with the partner who brings a household, else a new one
        w_own = (H.ref[P.hh[w]] == w) | w_anchor
        m_own = (H.ref[P.hh[m]] == m) | m_anchor
        into_w = w_anchor | (~m_anchor & w_own & (~m_own | (rng.random(n) < 0.5)))
        into_m = ~into_w & (m_anchor | m_own)
        P.cols["hh"][m[into_w]] = P.hh[w[into_w]]
        P.cols["hh"][w[into_m]] = P.hh[m[into_m]]
        fresh = ~into_w & ~into_m
        new = H.add(int(fresh.sum()))
        H.cols["ref"][new] = np.where(rng.random(len(new)) < 0.7, m[fresh], w[fresh])
        H.cols["muni"][new] = np.where(
            rng.random(len(new)) < 0.5, H.muni[P.hh[w[fresh]]], H.muni[P.hh[m[fresh]]]
        )
        P.cols["hh"][w[fresh]] = new
        P.cols["hh"][m[fresh]] = new
        self.touch(w, date)
        self.touch(m, date)

    def births(self, t0: int, when, year: int) -> None:
        rng, P = self.rng, self.P
        res = np.flatnonzero((P.status == RESIDENT) & ~self.busy[: P.n])
        women = res[(P.sex[res] == 2)]
        age = years(t0 - P.birth[women])
        women = women[(age >= 15) & (age < 50)]
        age = years(t0 - P.birth[women])
        in_union = P.partner[women] >= 0
        res_all = np.flatnonzero(P.status == RESIDENT)
        children = np.bincount(P.mother[res_all][P.mother[res_all] >= 0], minlength=P.n)[women]
        weight = bh.fertility(age) * np.where(in_union, bh.FERTILITY_IN_UNION, 1.0)
        weight *= np.where(self.non_eu[P.first_nat[women]], bh.FERTILITY_NON_EU, 1.0)
        weight *= bh.FERTILITY_BY_CHILDREN[np.minimum(children, 4)]
        expected = self.targets.births[year - 2000] * self.scale / 4
        mothers = women[pick(rng, weight, self.carry(("births",), expected))]
        n = len(mothers)
        if n == 0:
            return
        baby = P.add(n)
        self.grow_scratch()
        d = when(n)
        father = np.where(P.partner[mothers] >= 0, P.partner[mothers], NONE)
        P.cols["mother"][baby] = mothers
        P.cols["father"][baby] = father
        P.cols["sex"][baby] = np.where(rng.random(n) < 0.513, 1, 2)
        P.cols["birth"][baby] = d
        P.cols["hh"][baby] = P.hh[mothers]
        P.cols["birth_muni"][baby] = self.H.cols["muni"][P.hh[mothers]]
        belgian_parent = (P.nat[mothers] == self.belgium) | (
            take(P.cols["nat"], father) == self.belgium
        )
        belgian_parent |= P.cob[mothers] == self.belgium  # born here of a parent born here
        nat = np.where(belgian_parent, self.belgium, P.nat[mothers]).astype(np.int16)
        self.set_origin(baby, nat, self.belgium)
        P.cols["first_reg"][baby] = d
        P.cols["arrival"][baby] = d
        self.logs.civil.add(person=baby, date=d, civil=NEVER, spouse=NONE)
        self.enter(baby, d)
        self.kind[baby] = K_BIRTH
        self.busy[baby] = True
        self.touch(mothers, d)
