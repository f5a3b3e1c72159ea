"""The register bookkeeping of one chunk of the synthetic Belgium (S1): the person and
household tables, who enters and leaves the registers, and each quarter's logging of what
changed in the register state (household, reference person, relation, LIPRO position,
municipality), from which :mod:`sluis.synth.tables` builds the contract's history tables.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sluis.synth.draws import Carry, GroupSampler
from sluis.synth.register_state import Structure, relation_and_lipro
from sluis.synth.state import (
    DIVORCED,
    END_DEATH,
    END_MOVE,
    HOUSEHOLD_FIELDS,
    LEGAL,
    MARRIED,
    NODATE,
    NONE,
    PERSON_FIELDS,
    RESIDENT,
    START_BIRTH,
    START_IMMIGRATION,
    START_MOVE,
    START_RETURN,
    WIDOWED,
    Logs,
    Table,
    day,
)
from sluis.synth.targets import targets
from sluis.synth.world import countries, geography

QUARTERS = 100
#: nobody is born before 1900: an INSZ cannot tell 1899 from 1999 (same check rule)
FIRST_BIRTH = day(dt.date(1900, 1, 1))
# per-quarter kinds of event, for the residence reasons
K_NONE, K_BIRTH, K_IMMIGRATION, K_RETURN = 0, 1, 2, 3


class Register:
    """A chunk's people, households and logs, and the bookkeeping every event shares."""

    #: per person, this quarter: the date of their event, its kind (K_*) and whether they
    #: had one (at most one event per person per quarter); set up by ``Chunk.run``
    evd: np.ndarray
    kind: np.ndarray
    busy: np.ndarray

    def __init__(self, rng: np.random.Generator, scale: float) -> None:
        self.rng = rng
        self.scale = scale
        self.geo = geography()
        self.cty = countries()
        self.targets = targets()
        n0 = int(self.targets.population[:, 0].sum() * scale)
        self.P = Table(PERSON_FIELDS, int(n0 * 1.8) + 64)
        self.H = Table(HOUSEHOLD_FIELDS, int(n0 * 0.9) + 700)
        self.logs = Logs()
        #: per quarter: (residents, municipality, household, nationality) at quarter end
        self.snapshots: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.dirty: list[np.ndarray] = []  # households whose register state may have changed
        self.exits: list[tuple[np.ndarray, np.ndarray]] = []  # (household, date) of leavers
        self.carry = Carry()
        self.cohab_count = 0
        geo = self.geo
        self.by_arr = GroupSampler(geo.arrondissement, geo.population)
        self.by_region = GroupSampler(geo.region.astype(np.int16), geo.population)
        every = np.zeros(len(geo.nis), dtype=np.int16)
        self.anywhere = GroupSampler(every, geo.population)
        # immigrants favour Brussels and the big cities
        attract = geo.population * (1 + 2.0 * (geo.region == 2) + 1.0 * (geo.population > 1e5))
        self.immigrant_dest = GroupSampler(geo.region.astype(np.int16), attract)
        self.belgium = self.cty.index("BE")
        self.non_eu = self.cty.eu_group != "EU14"
        self.non_eu &= self.cty.eu_group != "EU13"
        self.non_eu &= self.cty.eu_group != "BE"
        # one collective household per municipality
        self.coll_hh = self.H.add(len(geo.nis))
        self.H.cols["coll"][self.coll_hh] = True
        self.H.cols["muni"][self.coll_hh] = np.arange(len(geo.nis), dtype=np.int16)

    def enter(self, persons: np.ndarray, date: np.ndarray, *, first: bool = False) -> None:
        """Mark persons as resident from ``date``; the quarter's state logging records their
        residence and household from that date."""
        self.grow_scratch()
        self.P.cols["status"][persons] = RESIDENT
        self.evd[persons] = date
        if first:
            # initial periods started before 2000: born here, arrived, or moved in
            started = np.where(
                date == self.P.cols["birth"][persons],
                np.int8(K_BIRTH),
                np.where(
                    date == self.P.cols["first_reg"][persons],
                    np.int8(K_IMMIGRATION),
                    np.int8(K_NONE),
                ),
            )
            self.kind[persons] = started

    def leave(
        self, persons: np.ndarray, date: np.ndarray, end: np.ndarray, country: np.ndarray
    ) -> None:
        """Persons stop being resident (death, emigration): close their periods."""
        P = self.P
        before = P.cols["p_hh"][persons]
        self.dirty.append(before[before >= 0])
        # the household goes on without them from the next day (their last day is ``date``)
        self.exits.append((before[before >= 0], date[before >= 0] + 1))
        self.logs.residence.add(
            person=persons, date=date, muni=NONE, start=NONE, end=end, country=country
        )
        self.logs.household.add(person=persons, date=date, hh=NONE, ref=NONE, rel=NONE, lipro=NONE)
        P.cols["p_hh"][persons] = NONE
        P.cols["p_muni"][persons] = NONE
        P.cols["p_ref"][persons] = NONE
        P.cols["p_rel"][persons] = NONE
        P.cols["p_lipro"][persons] = NONE
        # partners left behind
        partner = P.cols["partner"][persons]
        has = partner >= 0
        has[has] &= P.cols["status"][partner[has]] == RESIDENT  # co-emigrants stay a couple
        self.end_union(persons[has], partner[has], date[has], died=end[has] == END_DEATH)
        P.cols["hh"][persons] = NONE
        self.busy[persons] = True

    def end_union(
        self, a: np.ndarray, b: np.ndarray, date: np.ndarray, *, died: np.ndarray
    ) -> None:
        """End the unions of couples (a, b) on ``date``: by death of a, or separation."""
        P = self.P
        if len(a) == 0:
            return
        union = P.cols["union"][a]
        married = union == MARRIED
        b_status = np.where(died, WIDOWED, DIVORCED).astype(np.int8)
        log = self.logs.civil
        log.add(person=b[married], date=date[married], civil=b_status[married], spouse=NONE)
        alive_a = married & ~died
        log.add(person=a[alive_a], date=date[alive_a], civil=DIVORCED, spouse=NONE)
        P.cols["civil"][b[married]] = b_status[married]
        P.cols["civil"][a[alive_a]] = DIVORCED
        legal = union == LEGAL
        cid = P.cols["cohab"][a[legal]]
        code = np.where(died[legal], 4, np.where(self.rng.random(int(legal.sum())) < 0.5, 1, 2))
        self.logs.cohab_end.add(id=cid, date=date[legal], code=code)
        for x in (a, b):
            P.cols["partner"][x] = NONE
            P.cols["union"][x] = 0
            P.cols["cohab"][x] = NONE

    def grow_scratch(self) -> None:
        n = self.P.cols["birth"].shape[0]
        if len(self.evd) < n:
            for name in ("evd", "kind", "busy"):
                old = getattr(self, name)
                new = (
                    np.zeros(n, dtype=old.dtype)
                    if name != "evd"
                    else np.full(n, NODATE, dtype=old.dtype)
                )
                new[: len(old)] = old
                setattr(self, name, new)

    def members_of(
        self, households: np.ndarray, dates: np.ndarray, residents: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The residents living in ``households``, each with the date of their household."""
        hh_date = np.full(self.H.n, NODATE, dtype=np.int32)
        hh_date[households] = dates
        members = residents[hh_date[self.P.hh[residents]] != NODATE]
        return members, hh_date[self.P.hh[members]]

    def touch(self, persons: np.ndarray, date: np.ndarray) -> None:
        self.evd[persons] = date
        self.busy[persons] = True

    def fix_references(self) -> None:
        """Give every household whose reference person left a new one (the oldest member);
        an empty household keeps no reference person."""
        P, H = self.P, self.H
        res = np.flatnonzero(P.status == RESIDENT)
        hh = P.hh[res]
        ref = H.ref
        ok = np.zeros(H.n, dtype=bool)
        has_ref = ref >= 0
        ok[has_ref] = (P.cols["status"][ref[has_ref]] == RESIDENT) & (
            P.cols["hh"][ref[has_ref]] == np.flatnonzero(has_ref)
        )
        broken = ~ok & ~H.coll
        sel = broken[hh]
        if not sel.any():
            return
        members, mhh = res[sel], hh[sel]
        order = np.lexsort((members, P.birth[members], mhh))
        first = np.ones(len(order), dtype=bool)
        first[1:] = mhh[order][1:] != mhh[order][:-1]
        H.cols["ref"][mhh[order][first]] = members[order][first]
        self.dirty.append(mhh[order][first])
        empty = broken.copy()
        empty[mhh] = False
        H.cols["ref"][np.flatnonzero(empty)] = NONE

    def snapshot(self) -> None:
        """Who lives where, in which household and with which nationality at quarter end:
        the frame of the quarterly registers of part 2 (:mod:`sluis.synth.panel`)."""
        P = self.P
        res = np.flatnonzero(P.status == RESIDENT).astype(np.int32)
        hh = P.hh[res]
        self.snapshots.append((res, self.H.muni[hh], hh, P.nat[res]))

    def record(self, t0: int) -> None:
        """Derive relation and LIPRO from the structure; log what changed this quarter."""
        P, H = self.P, self.H
        # only households where something happened can have changed
        res = np.flatnonzero(P.status == RESIDENT).astype(np.int32)
        touched = res[self.evd[res] != NODATE]
        dirty = np.zeros(H.n, dtype=bool)
        dirty[P.hh[touched]] = True
        before = P.p_hh[touched]
        dirty[before[before >= 0]] = True
        for part in self.dirty:
            dirty[part] = True
        self.dirty = []
        res = res[dirty[P.hh[res]]]
        hh = P.hh[res]
        ref = H.ref[hh]
        coll = H.coll[hh]
        links = Structure(P.partner, P.union, P.mother, P.father)
        rel, lipro = relation_and_lipro(res, hh, ref, coll, links, H.n)
        n_hh = H.n
        ref_out = np.where(coll, NONE, ref)
        muni = H.muni[hh]
        # dates: the person's own event, else the household's latest event, else quarter start
        evd = self.evd[res]
        hh_date = np.full(n_hh, NODATE, dtype=np.int32)
        own = evd != NODATE
        np.maximum.at(hh_date, hh[own], evd[own])
        prev_hh = P.p_hh[res]
        prev_ok = own & (prev_hh >= 0)
        np.maximum.at(hh_date, prev_hh[prev_ok], evd[prev_ok])
        for left_hh, left_date in self.exits:
            np.maximum.at(hh_date, left_hh, left_date)
        self.exits = []
        date = np.where(
            own,
            evd,
            np.where(
                hh_date[hh] != NODATE,
                hh_date[hh],
                np.where(prev_hh >= 0, np.maximum(hh_date[np.maximum(prev_hh, 0)], t0), t0),
            ),
        )
        changed = (
            (prev_hh != hh)
            | (P.p_ref[res] != ref_out)
            | (P.p_rel[res] != rel)
            | (P.p_lipro[res] != lipro)
        )
        c = changed
        self.logs.household.add(
            person=res[c], date=date[c], hh=hh[c], ref=ref_out[c], rel=rel[c], lipro=lipro[c]
        )
        moved = P.p_muni[res] != muni
        kind = self.kind[res][moved]
        start = np.select(
            [kind == K_BIRTH, kind == K_IMMIGRATION, kind == K_RETURN],
            [START_BIRTH, START_IMMIGRATION, START_RETURN],
            START_MOVE,
        )
        country = np.where(kind == K_IMMIGRATION, P.cob[res][moved], NONE)
        self.logs.residence.add(
            person=res[moved],
            date=date[moved],
            muni=muni[moved],
            start=start,
            end=END_MOVE,
            country=country,
        )
        P.cols["p_hh"][res] = hh
        P.cols["p_ref"][res] = ref_out
        P.cols["p_rel"][res] = rel
        P.cols["p_lipro"][res] = lipro
        P.cols["p_muni"][res] = muni
