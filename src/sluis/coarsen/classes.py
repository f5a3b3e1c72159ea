"""The reference data of the coarsening rules (G4): country, NACE and place lists with
their labels, read once from the code lists sluis ships.

The rules (:mod:`sluis.coarsen.kinds`) build their codes, labels and lookups from these;
:func:`classes`, :func:`codes` and :func:`describe` give a rule's classes, codes and text
to callers that hold a rule, as the rule's own methods do.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from sluis.domain.codelists import REGIONS, read_csv

if TYPE_CHECKING:
    from sluis.coarsen.rule import Classes, Code, Rule

#: NIS country code of Belgium
BELGIUM = "150"
#: the unknown class of every country scheme
UNKNOWN = "99"

EU4: dict[str, str] = {
    "01": "Belgium",
    "02": "Other EU member state (in the reference year)",
    "03": "Outside the EU",
    UNKNOWN: "Unknown / stateless / not stated",
}
#: birth5: the extract puts the NIS region code of the birth municipality for persons born
#: in Belgium; ``01`` is a birth in Belgium whose municipality is not known
BIRTH5: dict[str, str] = {
    "01": "Belgium, region not known",
    "02": "Flemish Region",
    "03": "Walloon Region",
    "04": "Brussels-Capital Region",
    "05": "Other EU member state (in the reference year)",
    "06": "Outside the EU",
    UNKNOWN: "Unknown / stateless / not stated",
}
#: NIS region code in the birth5 column -> birth5 class
BIRTH_REGIONS = {"02000": "02", "03000": "03", "04000": "04"}

#: NACE Rev. 2 / NACE-BEL 2008 sections
NACE_SECTIONS: dict[str, str] = {
    "A": "Agriculture, forestry and fishing",
    "B": "Mining and quarrying",
    "C": "Manufacturing",
    "D": "Electricity, gas, steam and air conditioning supply",
    "E": "Water supply; sewerage, waste management and remediation activities",
    "F": "Construction",
    "G": "Wholesale and retail trade; repair of motor vehicles and motorcycles",
    "H": "Transportation and storage",
    "I": "Accommodation and food service activities",
    "J": "Information and communication",
    "K": "Financial and insurance activities",
    "L": "Real estate activities",
    "M": "Professional, scientific and technical activities",
    "N": "Administrative and support service activities",
    "O": "Public administration and defence; compulsory social security",
    "P": "Education",
    "Q": "Human health and social work activities",
    "R": "Arts, entertainment and recreation",
    "S": "Other service activities",
    "T": "Activities of households as employers and for own use",
    "U": "Activities of extraterritorial organisations and bodies",
}


# -- reference data ------------------------------------------------------------------------


@cache
def countries() -> dict[str, dict[str, str]]:
    """Every country of ``country_classes.csv`` by NIS country code."""
    return {r["nis_country_code"]: r for r in read_csv("country_classes.csv")}


@cache
def country_labels() -> dict[str, str]:
    """Every NIS country code with its English name, plus the provisional 998 and 999."""
    extra = {
        r["code"]: r["label_en"]
        for r in read_csv("sluis_codelists.csv")
        if r["list"] == "country_extra"
    }
    return {**{c: r["name_en"] for c, r in countries().items()}, **extra}


def eu_years(code: str) -> tuple[int | None, int | None]:
    """(accession year, exit year) of a country; a member in year Y when accession <= Y and
    Y < exit, i.e. a member on 31 December of Y (the United Kingdom: to 2019)."""
    row = countries().get(code)
    if row is None or not row["eu_accession_year"]:
        return None, None
    exit_ = row["eu_exit"]
    return int(row["eu_accession_year"]), int(exit_[:4]) if exit_ else None


@cache
def class15_labels() -> dict[str, str]:
    return {r["class15"]: r["label_en"] for r in read_csv("country_class_labels.csv")}


@cache
def nace_divisions() -> dict[str, tuple[str, str]]:
    """NACE-BEL 2008 division -> (section, label)."""
    return {
        r["division"]: (r["section"], r["label_en"])
        for r in read_csv("nace_bel_2008_divisions.csv")
    }


@cache
def place_levels() -> dict[str, dict[str, str]]:
    """Municipality NIS code (both vintages) -> code at each level (Brussels has no
    province: its province is the region, 04000)."""
    rows = read_csv("municipalities.csv")
    out: dict[str, dict[str, str]] = {"region": {}, "province": {}, "arrondissement": {}}
    for r in rows:
        out["region"][r["nis_code"]] = r["region_nis"]
        out["province"][r["nis_code"]] = r["province_nis"] or r["region_nis"]
        out["arrondissement"][r["nis_code"]] = r["arrondissement_nis"]
    return out


@cache
def place_labels(level: str) -> dict[str, str]:
    if level == "region":
        return dict(REGIONS)
    labels: dict[str, str] = {}
    for r in read_csv("municipalities.csv"):
        if level == "province":
            code = r["province_nis"] or r["region_nis"]
            labels[code] = r["province_nl"] or r["region_en"]
        elif level == "arrondissement":
            labels[r["arrondissement_nis"]] = r["arrondissement_nl"]
        else:
            labels[r["nis_code"]] = r["name_nl"]
    return dict(sorted(labels.items()))


# -- every rule ----------------------------------------------------------------------------


def classes(rule: Rule) -> Classes | None:
    """The classes a rule delivers, as (code, label) in code order, for the codebook
    (:meth:`sluis.coarsen.rule.Rule.labelled`)."""
    return rule.labelled()


def codes(rule: Rule) -> list[Code] | None:
    """The values a coarsened column may hold, or None when the check is not a list."""
    return rule.codes()


def describe(rule: Rule) -> str:
    """The rule as a short text, for messages: ``amount width 500 top 20000``."""
    return rule.text()
