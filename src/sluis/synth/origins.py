"""Origins and nationality in the synthetic Belgium (S1, S3): countries of birth and
nationalities of people entering the registers, and nationality acquisitions drawn to the
yearly figures.
"""

from __future__ import annotations

import numpy as np

from sluis.synth import behaviour as bh
from sluis.synth.bookkeeping import Register
from sluis.synth.draws import pick
from sluis.synth.state import (
    RESIDENT,
    years,
)


class Origins(Register):
    """Countries and nationalities of a chunk's people."""

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
