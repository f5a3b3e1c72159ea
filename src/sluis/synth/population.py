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
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sluis.synth import behaviour as bh
from sluis.synth.register_state import Structure, relation_and_lipro, take
from sluis.synth.state import (
    ABROAD,
    DEAD,
    DEFACTO,
    DIVORCED,
    END_DEATH,
    END_EMIGRATION,
    END_MOVE,
    END_STRUCK_OFF,
    HOUSEHOLD_FIELDS,
    LEGAL,
    MARRIED,
    NEVER,
    NODATE,
    NONE,
    NONRESIDENT,
    PERSON_FIELDS,
    RESIDENT,
    START_BIRTH,
    START_IMMIGRATION,
    START_MOVE,
    START_RETURN,
    WED,
    WIDOWED,
    Logs,
    Table,
    day,
    quarter_start,
    years,
)
from sluis.synth.targets import targets
from sluis.synth.world import countries, geography

QUARTERS = 100
#: nobody is born before 1900: an INSZ cannot tell 1899 from 1999 (same check rule)
FIRST_BIRTH = day(dt.date(1900, 1, 1))
# per-quarter kinds of event, for the residence reasons
K_NONE, K_BIRTH, K_IMMIGRATION, K_RETURN = 0, 1, 2, 3


#: age distributions of the 2000 population's adults by household type: weight per decade
#: from 20-29 to 90-99 (tuned to Statbel's 2000 age pyramid)
SINGLE_AGES = np.array([30, 18, 10, 8, 12, 17, 10, 1.5], dtype=float)
COUPLE_AGES = np.array([18, 10, 5, 18, 30, 22, 4, 0], dtype=float)
COLLECTIVE_AGES = np.array([3, 2, 2, 3, 5, 20, 50, 15], dtype=float)


def adult_ages(rng: np.random.Generator, decade_weights: np.ndarray, n: int) -> np.ndarray:
    """Ages from 20 to 99.9 with the given weight per decade, uniform within a decade."""
    decade = rng.choice(len(decade_weights), size=n, p=decade_weights / decade_weights.sum())
    return 20 + 10 * decade + 10 * rng.random(n) * 0.999


def pick(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Draw ``k`` positions without replacement, with probability by weight
    (Efraimidis and Spirakis 2006); positions come back sorted."""
    positive = np.flatnonzero(weights > 0)
    k = min(k, len(positive))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    keys = np.log(rng.random(len(positive))) / weights[positive]
    chosen = positive[np.argpartition(-keys, k - 1)[:k]]
    return np.sort(chosen)


def hazard(rng: np.random.Generator, annual: np.ndarray) -> np.ndarray:
    """Bernoulli draws for a quarter of an annual hazard rate."""
    annual = np.asarray(annual, dtype=np.float32)
    return rng.random(len(annual), dtype=np.float32) < -np.expm1(annual / -4.0)


class Carry:
    """Turns fractional expected counts into integers without losing the remainder, so
    that chunk totals add up to the margins."""

    def __init__(self) -> None:
        self.rest: dict[object, float] = {}

    def __call__(self, key: object, expected: float) -> int:
        value = expected + self.rest.get(key, 0.0)
        count = int(np.floor(value))
        self.rest[key] = value - count
        return max(count, 0)


class GroupSampler:
    """Draws municipalities with probability by population, within a group (arrondissement,
    region, or the whole country)."""

    def __init__(self, group: np.ndarray, weights: np.ndarray) -> None:
        self.order = np.argsort(group, kind="stable")
        self.cum = np.cumsum(weights[self.order])
        bounds = np.searchsorted(group[self.order], np.arange(group.max() + 2))
        self.lo = np.where(bounds[:-1] > 0, self.cum[np.maximum(bounds[:-1] - 1, 0)], 0.0)
        self.hi = self.cum[np.maximum(bounds[1:] - 1, 0)]

    def draw(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        pos = self.lo[groups] + u * (self.hi[groups] - self.lo[groups])
        idx = np.searchsorted(self.cum, pos, side="right")
        return self.order[np.minimum(idx, len(self.order) - 1)].astype(np.int16)


class Chunk:
    """One chunk's simulation. ``scale`` is the chunk's share of Belgium."""

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

    # -- helpers -----------------------------------------------------------------------
    def country_weights(self, weights: dict[str, float]) -> np.ndarray:
        w = np.zeros(len(self.cty.code))
        for iso, value in weights.items():
            w[self.cty.index(iso)] = value
        return w / w.sum()

    def draw_country(self, weights: np.ndarray, n: int) -> np.ndarray:
        return self.rng.choice(len(weights), size=n, p=weights).astype(np.int16)

    def immigrant_origins(self, year: int) -> np.ndarray:
        w = self.country_weights(bh.ORIGIN_WEIGHTS) * 100
        named = w > 0
        for cls, share in bh.REST_BY_CLASS.items():
            members = (self.cty.class15 == cls) & ~named
            w[members] += share / max(members.sum(), 1)
        eu_late = self.cty.eu_from > year
        w[eu_late & (self.cty.eu_from < 9999)] *= 0.4  # before accession fewer came
        if 2015 <= year <= 2017:
            w += self.country_weights(bh.ASYLUM_WAVE) * 20
        w[self.belgium] = 0
        return w / w.sum()

    def set_origin(
        self,
        people: np.ndarray,
        nationality: np.ndarray,
        country_of_birth: np.ndarray | int,
        first_nationality: np.ndarray | None = None,
    ) -> None:
        """Nationality and country of birth of people entering the registers; their first
        nationality is registered from birth."""
        P = self.P
        first = nationality if first_nationality is None else first_nationality
        P.cols["nat"][people] = nationality
        P.cols["first_nat"][people] = first
        P.cols["cob"][people] = country_of_birth
        self.logs.nationality.add(person=people, date=P.cols["birth"][people], nat=first, mode=1)

    def eu_member(self, country: np.ndarray, year: int) -> np.ndarray:
        return (self.cty.eu_from[country] <= year) | (country == self.belgium)

    # -- building households --------------------------------------------------------------
    def build_households(
        self, n_persons: int, region: int, t: int, *, immigrant: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Create households with about ``n_persons`` members in ``region`` at day ``t``.

        Returns (persons, households). Members get sex, birth date, parents and partner;
        nationality and registration are set by the caller.
        """
        rng, P, H = self.rng, self.P, self.H
        if n_persons <= 0:
            return np.empty(0, np.int32), np.empty(0, np.int32)
        if immigrant:
            probs = np.array([0.45, 0.18, 0.25, 0.12, 0.0])
        else:
            probs = np.array([0.32, 0.29, 0.27, 0.08, 0.04])
        n_hh = int(n_persons / 1.8) + 8
        kind = rng.choice(5, size=n_hh, p=probs)
        kids = np.where(
            (kind == 2) | (kind == 3), rng.choice([1, 2, 3, 4], n_hh, p=[0.42, 0.4, 0.14, 0.04]), 0
        )
        size = np.select([kind == 0, kind == 3], [1, 1 + kids], 2 + kids)
        keep = np.cumsum(size) - size < n_persons
        kind, kids, size = kind[keep], kids[keep], size[keep]
        n_hh = len(kind)
        u = rng.random(n_hh)
        # families: the eldest child's age first, the parents' ages follow from it
        eldest = np.where(
            rng.random(n_hh) < 0.85, 18 * rng.random(n_hh) ** 0.8, 18 + 7 * rng.random(n_hh)
        )
        if immigrant:
            eldest = np.minimum(eldest, 17.5)
            ref_age = np.where(rng.random(n_hh) < 0.8, rng.normal(30, 6.5, n_hh), 18 + 57 * u)
            ref_age = np.clip(ref_age, 18, 80)
        else:
            ref_age = np.select(
                [kind == 0, kind == 1, (kind == 2) | (kind == 3)],
                [
                    adult_ages(rng, SINGLE_AGES, n_hh),
                    adult_ages(rng, COUPLE_AGES, n_hh),
                    eldest + np.clip(rng.normal(27.5, 5.0, n_hh), 19, 44),
                ],
                35 + 30 * u,
            )
        if immigrant:
            ref_age = np.where(kids > 0, np.maximum(ref_age, 22), ref_age)
        ref_female = np.select(
            [kind == 0, kind == 3],
            [rng.random(n_hh) < np.where(ref_age > 65, 0.7, 0.45), rng.random(n_hh) < 0.83],
            rng.random(n_hh) < 0.15,
        )
        family = (kind == 2) | (kind == 3)
        if not immigrant:
            ref_age = np.where(family & ~ref_female, ref_age + 2.5, ref_age)
        hh = H.add(n_hh)
        # member slots: ref, then the second adult (partner or parent), then children
        has_second = (kind == 1) | (kind == 2) | (kind == 4)
        total = int(size.sum())
        people = P.add(total)
        first = people[0] + np.cumsum(size) - size
        ref = first.astype(np.int32)
        H.cols["ref"][hh] = ref
        member_hh = np.repeat(hh, size)
        P.cols["hh"][people] = member_hh
        P.cols["sex"][ref] = np.where(ref_female, 2, 1)

        def birth_of(age: np.ndarray) -> np.ndarray:
            birth = (t - age * 365.2425 - rng.random(len(age)) * 30).astype(np.int32)
            return np.maximum(birth, FIRST_BIRTH)

        P.cols["birth"][ref] = birth_of(ref_age)
        second = ref[has_second] + 1
        k2 = kind[has_second]
        gap = rng.normal(2.5, 3.5, len(second))
        sec_age = np.where(
            ref_female[has_second], ref_age[has_second] + gap, ref_age[has_second] - gap
        )
        sec_age = np.where(k2 == 4, ref_age[has_second] + rng.uniform(22, 35, len(second)), sec_age)
        # spread rather than clip, so that no birth day gets a heap of people (INSZ counters)
        sec_age = np.where(sec_age < 18, 18 + 4 * rng.random(len(sec_age)), sec_age)
        sec_age = np.where(sec_age > 99.5, 90 + 9.5 * rng.random(len(sec_age)), sec_age)
        P.cols["birth"][second] = birth_of(sec_age)
        P.cols["sex"][second] = np.where(
            k2 == 4,
            rng.choice([1, 2], len(second), p=[0.3, 0.7]),
            np.where(ref_female[has_second], 1, 2),
        )
        couple = k2 != 4
        a, b = ref[has_second][couple], second[couple]
        P.cols["partner"][a], P.cols["partner"][b] = b, a
        # the ref is the child of the parent living in (kind 4)
        parent = second[~couple]
        child_of = ref[has_second][~couple]
        col = np.where(P.cols["sex"][parent] == 2, 0, 1)
        P.cols["mother"][child_of[col == 0]] = parent[col == 0]
        P.cols["father"][child_of[col == 1]] = parent[col == 1]
        # children
        with_kids = kids > 0
        kid_start = ref[with_kids] + np.where(kind[with_kids] == 2, 2, 1)
        n_kids = kids[with_kids]
        kid = np.repeat(kid_start, n_kids) + (
            np.arange(n_kids.sum()) - np.repeat(np.cumsum(n_kids) - n_kids, n_kids)
        )
        kid = kid.astype(np.int32)
        mum_ref = np.repeat(ref[with_kids], n_kids)
        mum_is_ref = P.cols["sex"][mum_ref] == 2
        partner_of_ref = P.cols["partner"][mum_ref]
        mother = np.where(mum_is_ref, mum_ref, partner_of_ref)
        father = np.where(mum_is_ref, partner_of_ref, mum_ref)
        mother_age = years(t - P.cols["birth"][np.maximum(mother, 0)])
        mother_age = np.where(mother >= 0, mother_age, years(t - P.cols["birth"][mum_ref]))
        order_in_family = np.arange(n_kids.sum()) - np.repeat(np.cumsum(n_kids) - n_kids, n_kids)
        first_age = np.repeat(eldest[with_kids], n_kids)
        kid_age = first_age - order_in_family * rng.uniform(1.5, 4.0, len(kid))
        # a younger sibling who would not be born yet gets an age below the eldest's
        kid_age = np.where(kid_age < 0, rng.random(len(kid)) * first_age, kid_age)
        kid_age = np.clip(kid_age, 0.0, np.maximum(mother_age - 18, 0.0))
        P.cols["birth"][kid] = birth_of(kid_age)
        P.cols["sex"][kid] = np.where(rng.random(len(kid)) < 0.513, 1, 2)
        P.cols["mother"][kid] = mother
        P.cols["father"][kid] = father
        # a single parent's child: the other parent is not in the household
        P.cols["father"][kid[(father >= 0) & (P.cols["partner"][mum_ref] < 0) & ~mum_is_ref]] = NONE
        # municipality
        dest = self.immigrant_dest if immigrant else self.by_region
        H.cols["muni"][hh] = dest.draw(np.full(n_hh, region, dtype=np.int16), rng.random(n_hh))
        return people, hh

    def set_civil_status(self, persons: np.ndarray, t: int) -> None:
        """Civil status of people entering the simulation (the 2000 stock, immigrants)."""
        rng, P = self.rng, self.P
        age = years(t - P.cols["birth"][persons])
        partner = P.cols["partner"][persons]
        adult = age >= 18
        married = (partner >= 0) & (rng.random(len(persons)) < 0.85)
        # a couple shares its status: decide on the lower index
        lead = (partner >= 0) & (persons < partner)
        married_lead = married & lead
        follower = P.cols["partner"][persons[married_lead]]
        status = np.full(len(persons), NEVER, dtype=np.int8)
        u = rng.random(len(persons))
        single_adult = adult & (partner < 0)
        status[single_adult & (age >= 40) & (age < 65) & (u < 0.4)] = DIVORCED
        old = single_adult & (age >= 65)
        status[old & (u < 0.7)] = WIDOWED
        status[old & (u >= 0.7) & (u < 0.9)] = DIVORCED
        status[married_lead] = WED
        P.cols["civil"][persons] = status
        P.cols["civil"][follower] = WED
        P.cols["union"][persons[partner >= 0]] = DEFACTO
        P.cols["union"][persons[married_lead]] = MARRIED
        P.cols["union"][follower] = MARRIED
        status = P.cols["civil"][persons]
        # when the current status began
        span = np.maximum(age - 18, 0.1)
        since = (t - rng.random(len(persons)) * np.minimum(span, 45) * 365.2425).astype(np.int32)
        if len(follower):  # spouses married on the same day
            since[np.searchsorted(persons, follower)] = since[married_lead]
        birth = P.cols["birth"][persons]
        since = np.maximum(since, birth + int(18 * 365.2425))
        since = np.minimum(since, t - 1)
        log = self.logs.civil
        log.add(person=persons, date=birth, civil=NEVER, spouse=NONE)
        changed = status != NEVER
        spouse = np.where(status == WED, P.cols["partner"][persons], NONE)
        log.add(
            person=persons[changed],
            date=since[changed],
            civil=status[changed],
            spouse=spouse[changed],
        )

    def init_population(self) -> None:
        """The population of 1 January 2000, household by household."""
        rng, P = self.rng, self.P
        t = quarter_start(0)
        n_region = self.targets.population[:, 0] * self.scale
        for region in range(3):
            n_coll = int(n_region[region] * 0.011)
            people, hh = self.build_households(
                int(n_region[region]) - n_coll, region, t, immigrant=False
            )
            self.stock_origins(people, hh, region, t)
            coll = P.add(n_coll)
            age = adult_ages(rng, COLLECTIVE_AGES, n_coll)
            P.cols["birth"][coll] = np.maximum((t - age * 365.2425).astype(np.int32), FIRST_BIRTH)
            P.cols["sex"][coll] = np.where(rng.random(n_coll) < 0.68, 2, 1)
            munis = self.by_region.draw(np.full(n_coll, region, dtype=np.int16), rng.random(n_coll))
            P.cols["hh"][coll] = self.coll_hh[munis]
            self.set_origin(coll, np.full(n_coll, self.belgium, dtype=np.int16), self.belgium)
            P.cols["first_reg"][coll] = P.cols["birth"][coll]
            P.cols["arrival"][coll] = P.cols["birth"][coll]
            civil = np.where(rng.random(n_coll) < 0.7, WIDOWED, NEVER).astype(np.int8)
            P.cols["civil"][coll] = civil
            log = self.logs.civil
            log.add(person=coll, date=P.cols["birth"][coll], civil=NEVER, spouse=NONE)
            wid = coll[civil == WIDOWED]
            since = np.maximum(
                t - rng.uniform(0, 20, len(wid)) * 365.2425, P.cols["birth"][wid] + 25 * 365
            )
            log.add(
                person=wid,
                date=np.minimum(since, t - 1).astype(np.int32),
                civil=WIDOWED,
                spouse=NONE,
            )
            self.set_civil_status(people, t)
        everyone = np.arange(P.n, dtype=np.int32)
        # when the current residence began: some years back, not before registration
        hh = P.cols["hh"][everyone]
        back = rng.exponential(8.0, self.H.n) * 365.2425
        start = np.maximum((t - back[hh]).astype(np.int32), P.cols["first_reg"][everyone])
        start = np.minimum(start, t - 1)
        self.enter(everyone, start, first=True)
        # born in Belgium: most in the municipality they live in, the others elsewhere
        native = everyone[P.cols["cob"][everyone] == self.belgium]
        here = self.H.cols["muni"][P.cols["hh"][native]]
        region = self.geo.region[here].astype(np.int16)
        elsewhere = self.by_region.draw(region, rng.random(len(native)))
        P.cols["birth_muni"][native] = np.where(rng.random(len(native)) < 0.7, here, elsewhere)

    def stock_origins(self, people: np.ndarray, hh: np.ndarray, region: int, t: int) -> None:
        """Nationality, country of birth and registration of the 2000 population."""
        rng, P = self.rng, self.P
        n_hh = len(hh)
        u = rng.random(n_hh)
        foreign = u < bh.FOREIGN_SHARE_2000[region]
        background = ~foreign & (
            u < bh.FOREIGN_SHARE_2000[region] + bh.FOREIGN_BACKGROUND_2000[region]
        )
        origin = np.full(n_hh, self.belgium, dtype=np.int16)
        origin[foreign] = self.draw_country(
            self.country_weights(bh.STOCK_ORIGINS[region]), int(foreign.sum())
        )
        origin[background] = self.draw_country(
            self.country_weights(bh.BACKGROUND_ORIGINS), int(background.sum())
        )
        member_hh = P.cols["hh"][people]
        pos = member_hh - hh[0]
        o = origin[pos]
        birth = P.cols["birth"][people]
        age = years(t - birth)
        is_child = P.cols["mother"][people] >= 0
        is_child &= P.cols["mother"][people] >= people[0]  # parent in this batch
        is_child |= P.cols["father"][people] >= people[0]
        born_abroad = (o != self.belgium) & np.where(
            is_child, rng.random(len(people)) < 0.3, rng.random(len(people)) < 0.8
        )
        born_abroad |= (o == self.belgium) & (rng.random(len(people)) < bh.BORN_ABROAD_BELGIAN)
        cob = np.where(born_abroad, o, self.belgium).astype(np.int16)
        abroad_belgian = born_abroad & (o == self.belgium)
        cob[abroad_belgian] = self.draw_country(
            self.immigrant_origins(2000), int(abroad_belgian.sum())
        )
        arrival = np.where(
            born_abroad,
            t
            - rng.random(len(people)) * np.maximum(age - np.where(is_child, 0, 16), 0.5) * 365.2425,
            birth,
        ).astype(np.int32)
        arrival = np.maximum(arrival, birth)
        f_people = foreign[pos]
        bg_people = background[pos]
        nat = np.where(f_people, o, self.belgium).astype(np.int16)
        first_nat = np.where(f_people | (bg_people & ~is_child), o, self.belgium).astype(np.int16)
        self.set_origin(people, nat, cob, first_nat)
        P.cols["first_reg"][people] = arrival
        P.cols["arrival"][people] = arrival
        P.cols["stock"][people] = f_people
        switched = people[first_nat != nat]
        when = t - rng.random(len(switched)) * 15 * 365.2425
        when = np.maximum(when, P.cols["arrival"][switched] + 3 * 365).astype(np.int32)
        when = np.minimum(when, t - 1)
        self.logs.nationality.add(
            person=switched, date=when, nat=self.belgium, mode=rng.choice([2, 3], len(switched))
        )
        # residence reason of foreigners already here
        reason = np.where(
            self.eu_member(o, 2000), "06", rng.choice(bh.REASONS, len(people), p=bh.REASON_SHARES)
        )
        keep = f_people & born_abroad
        self.logs.reason.add(
            person=people[keep],
            reason=reason[keep],
            date=arrival[keep],
            asylum=np.full(int(keep.sum()), NODATE),
        )

    # -- entering and leaving ------------------------------------------------------------
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

    # -- the quarter ----------------------------------------------------------------------
    def run(self) -> None:
        """Simulate 2000Q1-2024Q4."""
        self.evd = np.full(self.P.cols["birth"].shape[0], NODATE, dtype=np.int32)
        self.kind = np.zeros(self.P.cols["birth"].shape[0], dtype=np.int8)
        self.busy = np.zeros(self.P.cols["birth"].shape[0], dtype=bool)
        self.init_population()
        self.record(quarter_start(0))
        for q in range(QUARTERS):
            self.quarter(q)

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

    def snapshot(self) -> None:
        """Who lives where, in which household and with which nationality at quarter end:
        the frame of the quarterly registers of part 2 (:mod:`sluis.synth.panel`)."""
        P = self.P
        res = np.flatnonzero(P.status == RESIDENT).astype(np.int32)
        hh = P.hh[res]
        self.snapshots.append((res, self.H.muni[hh], hh, P.nat[res]))

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

    def naturalise(self, t0: int, when, year: int) -> None:
        rng, P = self.rng, self.P
        res = np.flatnonzero((P.status == RESIDENT) & (P.nat != self.belgium))
        if len(res) == 0:
            return
        stay = years(t0 - P.arrival[res])
        age = years(t0 - P.birth[res])
        origin = self.cty.eu_group[P.nat[res]]
        eu = self.eu_member(P.nat[res], year)
        factor = np.where(
            eu,
            np.where(origin == "EU13", bh.NATURALISE_ORIGIN["EU13"], bh.NATURALISE_ORIGIN["EU14"]),
            1.0,
        )
        weight = bh.naturalise_eligibility(stay, year) * factor
        weight *= np.where(P.stock[res], bh.NATURALISE_STOCK, 1.0)
        weight *= np.select([age < 18, age >= 65], [bh.NATURALISE_MINOR, bh.NATURALISE_OLD], 1.0)
        weight *= np.where(P.refugee[res], bh.NATURALISE_REFUGEE, 1.0)
        expected = self.targets.naturalisations[year - 2000] * self.scale / 4
        chosen = res[pick(rng, weight, self.carry(("natural",), expected))]
        d = when(len(chosen))
        mode = np.where(
            years(t0 - P.birth[chosen]) < 18,
            4,
            np.where(rng.random(len(chosen)) < (0.5 if year < 2013 else 0.85), 2, 3),
        )
        P.cols["nat"][chosen] = self.belgium
        self.logs.nationality.add(person=chosen, date=d, nat=self.belgium, mode=mode)

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

    # -- register state --------------------------------------------------------------------
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
