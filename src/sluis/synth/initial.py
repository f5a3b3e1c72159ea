"""The population of 1 January 2000 (S1, S3), household by household; immigrants arrive in
households built the same way.
"""

from __future__ import annotations

import numpy as np

from sluis.synth import behaviour as bh
from sluis.synth.bookkeeping import FIRST_BIRTH
from sluis.synth.origins import Origins
from sluis.synth.state import (
    DEFACTO,
    DIVORCED,
    MARRIED,
    NEVER,
    NODATE,
    NONE,
    WED,
    WIDOWED,
    quarter_start,
    years,
)

#: age distributions of the 2000 population's adults by household type: weight per decade
#: from 20-29 to 90-99 (tuned to Statbel's 2000 age pyramid)
SINGLE_AGES = np.array([30, 18, 10, 8, 12, 17, 10, 1.5], dtype=float)
COUPLE_AGES = np.array([18, 10, 5, 18, 30, 22, 4, 0], dtype=float)
COLLECTIVE_AGES = np.array([3, 2, 2, 3, 5, 20, 50, 15], dtype=float)


def adult_ages(rng: np.random.Generator, decade_weights: np.ndarray, n: int) -> np.ndarray:
    """Ages from 20 to 99.9 with the given weight per decade, uniform within a decade."""
    decade = rng.choice(len(decade_weights), size=n, p=decade_weights / decade_weights.sum())
    return 20 + 10 * decade + 10 * rng.random(n) * 0.999


class InitialPopulation(Origins):
    """Households, origins and civil status of the people a chunk starts with or receives."""

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
