"""What a job looks like: sector, employer, employee class, place of work (A10, B5, B9).

Attributes belong to a person's current job and are drawn again when a job starts (a new
spell of work or a change of employer), so they last as long as the job does. Sector shares
are orders of magnitude of Belgian employment by NACE section (APPROX, design choice).
"""

from __future__ import annotations

import numpy as np

from sluis.domain.codelists import read_csv
from sluis.synth.world import geography

#: employees and the self-employed by NACE section (shares of employment, APPROX)
EMPLOYEE_SECTIONS = {
    "A": 1, "C": 12, "D": 0.5, "E": 0.8, "F": 6, "G": 13, "H": 5.5, "I": 4, "J": 3.5, "K": 3.5,
    "L": 0.5, "M": 5, "N": 8, "O": 10, "P": 9, "Q": 14.5, "R": 1, "S": 1.5, "T": 0.2,
    "U": 0.3, "B": 0.2,
}  # fmt: skip
SELF_SECTIONS = {
    "A": 7, "C": 5, "F": 14, "G": 18, "I": 7, "J": 4, "K": 3, "L": 2, "M": 20, "N": 4,
    "Q": 10, "R": 2, "S": 4,
}  # fmt: skip
SECTIONS = tuple(sorted({r["section"] for r in read_csv("nace_bel_2008_divisions.csv")}))
#: self-employed occupation group (list self_employed_occupation) by section
OCCUPATION_OF_SECTION = {"A": "4", "C": "1", "F": "1", "G": "2", "I": "2", "M": "3", "Q": "3"}
PUBLIC_SECTIONS = ("O", "P", "Q")


def _division_draw(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """Division indices (rows of nace_bel_2008_divisions.csv): a section by its weight, then
    a division of that section uniformly."""
    rows = read_csv("nace_bel_2008_divisions.csv")
    sections = np.array([r["section"] for r in rows])
    w = np.array([weights.get(s, 0.0) / np.count_nonzero(sections == s) for s in sections])
    return rng.choice(len(rows), n, p=w / w.sum()).astype(np.int16)


class JobTraits:
    """The current job of every person of a chunk, as arrays indexed by person."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.rng = rng
        rows = read_csv("nace_bel_2008_divisions.csv")
        self.divisions = np.array([r["division"] for r in rows])
        self.section_of = np.array([SECTIONS.index(r["section"]) for r in rows], dtype=np.int8)
        self.nace = np.zeros(n, dtype=np.int16)
        self.self_nace = np.zeros(n, dtype=np.int16)
        self.white_collar = np.zeros(n, dtype=bool)
        self.agency = np.zeros(n, dtype=bool)
        self.apprentice = np.zeros(n, dtype=bool)
        self.seasonal = np.zeros(n, dtype=bool)
        self.subsidised = np.zeros(n, dtype=bool)
        self.flexi = np.zeros(n, dtype=bool)
        self.home_work = np.zeros(n, dtype=bool)
        self.vouchers = np.zeros(n, dtype=bool)
        self.public = np.zeros(n, dtype=bool)
        self.staff = np.zeros(n, dtype=bool)  # a self-employed person with employees
        self.workplace = np.zeros(n, dtype=np.int16)
        self.open_ended = np.zeros(n, dtype=bool)
        geo = geography()
        self._places = [np.flatnonzero(geo.region == r) for r in range(3)]
        self._place_weights = [
            geo.population[p] * (1 + 3 * (geo.population[p] > 1e5)) for p in self._places
        ]
        self._place_weights = [w / w.sum() for w in self._place_weights]

    def renew(
        self,
        persons: np.ndarray,
        skill: np.ndarray,
        age: np.ndarray,
        muni: np.ndarray,
        region: np.ndarray,
    ) -> None:
        """Draw a new job for ``persons`` (their skill, age, municipality and region now)."""
        rng, k = self.rng, len(persons)
        if k == 0:
            return
        r = rng.random((9, k))
        nace = _division_draw(rng, EMPLOYEE_SECTIONS, k)
        section = np.array(SECTIONS)[self.section_of[nace]]
        self.nace[persons] = nace
        self.self_nace[persons] = _division_draw(rng, SELF_SECTIONS, k)
        self.public[persons] = np.isin(section, PUBLIC_SECTIONS) & (r[0] < 0.7)
        self.white_collar[persons] = r[1] < np.clip(0.25 + 0.6 * skill, 0, 0.95)
        self.agency[persons] = r[2] < 0.03
        self.apprentice[persons] = (age < 21) & (r[3] < 0.15)
        self.seasonal[persons] = (section == "A") & (r[4] < 0.5)
        self.subsidised[persons] = r[5] < 0.02
        self.flexi[persons] = (section == "I") & (r[5] > 0.9)
        self.home_work[persons] = r[6] < 0.01
        self.vouchers[persons] = (skill < 0.35) & (r[7] < 0.05)
        self.staff[persons] = r[7] > 0.7
        self.open_ended[persons] = r[8] < 0.75
        here = r[8] < 0.45
        place = np.empty(k, dtype=np.int16)
        for reg in range(3):
            sel = ~here & (region == reg)
            place[sel] = rng.choice(
                self._places[reg], np.count_nonzero(sel), p=self._place_weights[reg]
            )
        self.workplace[persons] = np.where(here, muni, place)
