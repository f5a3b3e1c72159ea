"""Static geography and countries as NumPy arrays, for the vectorised simulation (S3).

Municipalities are simulated on the 589 list (valid until 2018); the writer recodes to the
581 list from 1 January 2019 with ``nis_changes_2019.csv``. Countries are the Belgian
3-digit codes of ``country_classes.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from sluis.domain.codelists import municipalities, read_csv

REGION_CODES = ("02000", "03000", "04000")  # Flanders, Wallonia, Brussels: index 0, 1, 2
BELGIUM = "150"


@dataclass(frozen=True)
class Geography:
    nis: np.ndarray  # str, 589 codes of the 1983-2018 list
    nis_2019: np.ndarray  # str, the code of the same place on the 581 list
    region: np.ndarray  # int8 index into REGION_CODES
    arrondissement: np.ndarray  # int16 index
    population: np.ndarray  # float64, population on 1 Jan 2018


@dataclass(frozen=True)
class Countries:
    code: np.ndarray  # str, Belgian 3-digit code
    iso2: np.ndarray  # str
    eu_group: np.ndarray  # str: BE, EU14, EU13, non-EU
    eu_from: np.ndarray  # int, accession year (9999 if never)
    class15: np.ndarray  # str

    def index(self, iso2: str) -> int:
        return int(np.flatnonzero(self.iso2 == iso2)[0])


@cache
def geography() -> Geography:
    old = [m for m in municipalities() if m.valid_to.year == 2018]
    changes = {r["old_nis"]: r["new_nis"] for r in read_csv("nis_changes_2019.csv")}
    arr_codes = sorted({m.arrondissement for m in old})
    return Geography(
        nis=np.array([m.nis for m in old]),
        nis_2019=np.array([changes.get(m.nis, m.nis) for m in old]),
        region=np.array([REGION_CODES.index(m.region) for m in old], dtype=np.int8),
        arrondissement=np.array([arr_codes.index(m.arrondissement) for m in old], dtype=np.int16),
        population=np.array([m.population for m in old], dtype=np.float64),
    )


@cache
def countries() -> Countries:
    rows = read_csv("country_classes.csv")
    return Countries(
        code=np.array([r["nis_country_code"] for r in rows]),
        iso2=np.array([r["iso2"] for r in rows]),
        eu_group=np.array([r["eu_group"] for r in rows]),
        eu_from=np.array([int(r["eu_accession_year"] or 9999) for r in rows]),
        class15=np.array([r["class15"] for r in rows]),
    )
