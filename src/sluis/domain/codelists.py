"""Code lists (S3): every coded column of the source contract points at one of these.

Lists come from the vendored reference files (``ksz_dwh_codelists.csv``, countries,
municipalities) and from ``sluis_codelists.csv``, which holds the lists whose official
versions were not available; those rows say ``provisional`` or ``design choice`` and the
contract documentation shows that status, so nothing is invented silently.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class CodeList:
    """A named set of codes with labels, their status and where they come from."""

    name: str
    labels: dict[str, str]
    status: str
    source: str

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.labels)

    @property
    def provisional(self) -> bool:
        return self.status != "verified"


@dataclass(frozen=True)
class Municipality:
    nis: str
    name_nl: str
    arrondissement: str
    province: str
    region: str
    population: int
    valid_from: dt.date
    valid_to: dt.date


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of one vendored reference file, as dictionaries."""
    text = resources.files("sluis.domain").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


# the KSZ list names of ksz_dwh_codelists.csv under the names the contract uses
_KSZ_LISTS = {"lipro": "lipro", "relatie_referentiepersoon": "relation"}


@cache
def codelists() -> dict[str, CodeList]:
    """Every code list by name."""
    grouped: dict[str, dict[str, list]] = {}
    for row in read_csv("ksz_dwh_codelists.csv"):
        name = _KSZ_LISTS.get(row["list"], row["list"])
        entry = grouped.setdefault(name, {"labels": {}, "status": set(), "source": row["source"]})
        entry["labels"][row["code"]] = row["label_en"]
        entry["status"].add(row["status"])
    for row in read_csv("sluis_codelists.csv"):
        entry = grouped.setdefault(
            row["list"], {"labels": {}, "status": set(), "source": "sluis_codelists.csv"}
        )
        entry["labels"][row["code"]] = row["label_en"]
        entry["status"].add(row["status"])
    country = {r["nis_country_code"]: r["name_en"] for r in read_csv("country_classes.csv")}
    extra = grouped.pop("country_extra")
    grouped["country"] = {
        "labels": {**country, **extra["labels"]},
        "status": {"verified", "provisional"},
        "source": "country_classes.csv (Belgian 3-digit codes) + provisional 998/999",
    }
    sep = read_csv("sep_nomenclature.csv")
    grouped["sep"] = {
        "labels": {r["code"]: r["label_en"] for r in sep},
        "status": {"verified" if r["status"] == "verified" else "provisional" for r in sep},
        "source": "sep_nomenclature.csv (KSZ post-2003 tree; reconstructed codes provisional)",
    }
    nace = read_csv("nace_bel_2008_divisions.csv")
    grouped["nace_division"] = {
        "labels": {r["division"]: r["label_en"] for r in nace},
        "status": {"verified"},
        "source": "nace_bel_2008_divisions.csv (NACE-BEL 2008 divisions)",
    }
    grouped["nace_section"] = {
        "labels": {r["section"]: f"Section {r['section']}" for r in nace},
        "status": {"verified"},
        "source": "nace_bel_2008_divisions.csv (NACE-BEL 2008 sections)",
    }
    lists = {}
    for name, entry in grouped.items():
        statuses = entry["status"]
        status = "verified" if statuses == {"verified"} else "provisional"
        if statuses == {"design choice"}:
            status = "design choice"
        lists[name] = CodeList(name, dict(entry["labels"]), status, entry["source"])
    return lists


@cache
def municipalities() -> tuple[Municipality, ...]:
    """Both NIS vintages: 589 municipalities valid until 2018-12-31, 581 from 2019-01-01."""
    return tuple(
        Municipality(
            nis=r["nis_code"],
            name_nl=r["name_nl"],
            arrondissement=r["arrondissement_nis"],
            province=r["province_nis"],
            region=r["region_nis"],
            population=int(r["population"]),
            valid_from=dt.date.fromisoformat(r["list_valid_from"]),
            valid_to=dt.date.fromisoformat(r["list_valid_to"]),
        )
        for r in read_csv("municipalities.csv")
    )


VINTAGE_2019 = dt.date(2019, 1, 1)
REGIONS = {"02000": "Flemish Region", "03000": "Walloon Region", "04000": "Brussels-Capital Region"}
