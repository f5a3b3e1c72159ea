"""The quarterly frame of part 2: who lives where, with what traits, each quarter (S1).

The demography (:mod:`sluis.synth.population`) decides who is resident at each quarter end;
this module turns its snapshots into dense person x quarter arrays and draws the lasting
traits that the labour-market, education and income registers share: a latent skill, the
education level it leads to, the age at which initial education ends, and the origin group
of the Statbel origin statistics (own and parents' first nationality). The registers read
the same traits, so a student in the education register is a child or student in the DWH
and a high diploma goes with a higher wage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sluis.synth.bookkeeping import QUARTERS
from sluis.synth.population import Chunk
from sluis.synth.state import NONE, quarter_start
from sluis.synth.world import countries, geography

YEARS = QUARTERS // 4
#: the last day of each quarter, as day numbers
QUARTER_END = np.array([quarter_start(q + 1) - 1 for q in range(QUARTERS)], dtype=np.int32)
#: origin groups of Statbel's origin statistics, by class15 of the first nationality
ORIGINS = ("belgian", "eu14", "eu13", "candidate", "north_africa", "subsaharan", "other")
ORIGIN_OF_CLASS = {
    "01": 0, "02": 1, "03": 1, "04": 1, "05": 2, "06": 2, "07": 2, "08": 3, "09": 3,
    "10": 4, "11": 4, "12": 5, "13": 5, "14": 6, "15": 6, "99": 6,
}  # fmt: skip
LOW, MID, HIGH = 0, 1, 2
#: municipalities of the German-speaking Community (job seekers register at ADG)
GERMAN_SPEAKING = ("63001", "63012", "63013", "63023", "63040", "63048", "63061", "63067", "63087")


@dataclass
class Panel:
    """Dense quarterly arrays of one chunk; persons are chunk-local numbers 0..n-1."""

    n: int
    scale: float
    sex: np.ndarray  # int8, 1 man, 2 woman
    birth: np.ndarray  # int32 day number
    cob: np.ndarray  # int16 country index of birth
    first_nat: np.ndarray  # int16 country index
    first_reg: np.ndarray  # int32 day number of first registration
    immigrant: np.ndarray  # bool: born abroad
    origin: np.ndarray  # int8 index into ORIGINS
    muni: np.ndarray  # int16 [n, QUARTERS]: municipality (589 list) at quarter end, -1 absent
    hh: np.ndarray  # int32 [n, QUARTERS]: household at quarter end, -1 absent
    nat: np.ndarray  # int16 [n, QUARTERS]: nationality at quarter end, -1 absent
    skill: np.ndarray  # float32 latent skill as a rank in 0..1 (uniform)
    edu: np.ndarray  # int8 LOW / MID / HIGH attained at the end of initial education
    study_end: np.ndarray  # float32 age at which initial education ends
    dutch_school: np.ndarray  # bool: a Brussels pupil goes to a Flemish-Community school

    @property
    def present(self) -> np.ndarray:
        """bool [n, QUARTERS]: resident at the end of the quarter."""
        return self.muni >= 0

    def residents(self, q: int) -> np.ndarray:
        """The persons resident at the end of quarter ``q`` (columns are contiguous)."""
        return np.flatnonzero(self.muni[:, q] >= 0).astype(np.int32)

    def region(self) -> np.ndarray:
        """int8 [n, QUARTERS]: 0 Flanders, 1 Wallonia, 2 Brussels, -1 absent."""
        geo = geography()
        region = geo.region[np.maximum(self.muni, 0)]
        return np.asfortranarray(np.where(self.muni >= 0, region, NONE).astype(np.int8))

    def age(self, q: int, persons: np.ndarray) -> np.ndarray:
        """Exact age in years of ``persons`` on the last day of quarter ``q``."""
        return ((QUARTER_END[q] - self.birth[persons]) / 365.2425).astype(np.float32)


def build_panel(sim: Chunk, rng: np.random.Generator) -> Panel:
    """The frame of one simulated chunk, with its traits drawn from ``rng``."""
    P = sim.P
    n = P.n
    muni = np.full((n, QUARTERS), NONE, dtype=np.int16, order="F")
    hh = np.full((n, QUARTERS), NONE, dtype=np.int32, order="F")
    nat = np.full((n, QUARTERS), NONE, dtype=np.int16, order="F")
    for q, (res, m, h, nt) in enumerate(sim.snapshots):
        muni[res, q] = m
        hh[res, q] = h
        nat[res, q] = nt
    cty = countries()
    origin_of = np.array([ORIGIN_OF_CLASS[c] for c in cty.class15], dtype=np.int8)
    own = origin_of[P.first_nat]
    father = np.where(P.father >= 0, origin_of[P.first_nat[np.maximum(P.father, 0)]], 0)
    mother = np.where(P.mother >= 0, origin_of[P.first_nat[np.maximum(P.mother, 0)]], 0)
    origin = np.where(own > 0, own, np.where(father > 0, father, mother)).astype(np.int8)
    immigrant = P.cob != cty.index("BE")
    skill = rng.random(n).astype(np.float32)
    edu, study_end = _education(rng, skill, P.birth, P.sex, origin, immigrant)
    return Panel(
        n=n,
        scale=sim.scale,
        sex=P.sex.copy(),
        birth=P.birth.copy(),
        cob=P.cob.copy(),
        first_nat=P.first_nat.copy(),
        first_reg=P.first_reg.copy(),
        immigrant=immigrant,
        origin=origin,
        muni=muni,
        hh=hh,
        nat=nat,
        skill=skill,
        edu=edu,
        study_end=study_end,
        dutch_school=rng.random(n) < 0.2,
    )


def _education(
    rng: np.random.Generator,
    skill: np.ndarray,
    birth: np.ndarray,
    sex: np.ndarray,
    origin: np.ndarray,
    immigrant: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Attained level from skill by birth cohort: Belgian attainment rose from about 15%
    high / 55% low among people born around 1940 to about half high among those born after
    1985 (Statbel LFS, APPROX). Immigrants from outside the EU are more often low-educated,
    those from EU14 countries more often high."""
    year = 1970 + birth / 365.2425
    p_high = np.clip(0.12 + 0.0085 * (year - 1935) + 0.05 * ((sex == 2) & (year > 1970)), 0.1, 0.55)
    p_low = np.clip(0.58 - 0.011 * (year - 1935), 0.14, 0.6)
    non_eu = immigrant & (origin >= 3)
    p_low = np.where(non_eu, p_low + 0.15, p_low)
    eu14 = immigrant & (origin == 1)
    p_high = np.where(non_eu, p_high - 0.08, np.where(eu14, p_high + 0.1, p_high))
    edu = np.where(skill > 1 - p_high, HIGH, np.where(skill < p_low, LOW, MID)).astype(np.int8)
    end = np.select(
        [edu == LOW, edu == MID],
        [rng.uniform(15.5, 18.5, len(edu)), rng.uniform(18.0, 19.8, len(edu))],
        rng.uniform(21.0, 25.0, len(edu)),
    ).astype(np.float32)
    return edu, end
