"""Class schemes of the coarsening rules (G4): the codes each rule may deliver and their
human labels, for the stage itself, its post-check and the codebook.

One place says which values a coarsened column may hold (:func:`codes`) and what they mean
(:func:`classes`); :mod:`sluis.coarsen.rules` produces exactly these codes and
:mod:`sluis.coarsen.check` refuses anything else. Numeric classes are coded by their lower
bound; values below the first bound form one open class coded ``first bound - 1`` (``-1``
for amounts, whose first bound is 0).
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise

from sluis.domain.codelists import REGIONS, read_csv
from sluis.spec.model import (
    AgeRule,
    AmountRule,
    Coarsen,
    CountryRule,
    DateRule,
    Keep,
    NaceRule,
    NumericClasses,
    PlaceRule,
    Pseudonym,
    TopCode,
)

Code = int | float | str
Classes = list[tuple[Code, str]]

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


# -- numeric classes -----------------------------------------------------------------------


def bounds(rule: Coarsen) -> list[int] | list[float] | None:
    """The lower bounds of a numeric class rule; the last opens a class without end."""
    if isinstance(rule, AmountRule):
        if rule.breaks is not None:
            return list(rule.breaks)
        assert rule.width is not None and rule.top is not None
        return [*range(0, rule.top, rule.width), rule.top]
    if isinstance(rule, AgeRule | NumericClasses):
        if isinstance(rule, NumericClasses) and not integral(rule):
            return list(rule.breaks)
        return [int(b) for b in rule.breaks]
    return None


def below(rule: Coarsen) -> int | float:
    """The code of the open class below the first bound: first bound - 1."""
    b = bounds(rule)
    assert b is not None
    return b[0] - 1


def integral(rule: NumericClasses) -> bool:
    """True when every break is a whole number: the classes are then coded as integers."""
    return all(float(b).is_integer() for b in rule.breaks)


#: breaks all in this range are calendar years, written without a thousands separator
YEARS = (1800, 2200)


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def _numeric_classes(rule: Coarsen) -> Classes:
    b = bounds(rule)
    assert b is not None
    low = below(rule)
    if isinstance(rule, AmountRule):
        first = (low, f"less than EUR {_num(b[0])}")
        inner = [(lo, f"EUR {_num(lo)}-{_num(hi - 1)}") for lo, hi in pairwise(b)]
        last = (b[-1], f"EUR {_num(b[-1])} or more")
    elif isinstance(rule, AgeRule):
        first = (low, f"under {b[0]} years")
        inner = [(lo, f"{lo}-{hi - 1} years") for lo, hi in pairwise(b)]
        last = (b[-1], f"{b[-1]} years or older")
    else:
        # classes of calendar years (arrival year: 1900, 1960, ...) read as years, not amounts
        years = all(float(x).is_integer() and YEARS[0] <= x <= YEARS[1] for x in b)
        num = (lambda x: str(int(x))) if years else _num
        first = (low, f"under {num(b[0])}")
        inner = [(lo, f"{num(lo)} to under {num(hi)}") for lo, hi in pairwise(b)]
        last = (b[-1], f"{num(b[-1])} or more")
    return [first, *inner, last]


# -- every rule ----------------------------------------------------------------------------


def classes(rule: Coarsen) -> Classes | None:
    """The classes a rule delivers, as (code, label) in code order, for the codebook.

    None for rules without a class list: ``keep``, ``pseudonym``, ``date`` (the value is a
    quarter, month or year), ``top`` (the count itself, ``max`` meaning "max or more") and
    NACE or places finer than the lists sluis ships.
    """
    if isinstance(rule, AmountRule | AgeRule | NumericClasses):
        return _numeric_classes(rule)
    if isinstance(rule, CountryRule):
        scheme = {
            "class15": class15_labels,
            "eu4": lambda: EU4,
            "birth5": lambda: BIRTH5,
            "country_code": country_labels,
        }[rule.classes]()
        return sorted(scheme.items())
    if isinstance(rule, PlaceRule):
        return list(place_labels(rule.level).items())
    if isinstance(rule, NaceRule):
        if rule.digits == 1:
            return list(NACE_SECTIONS.items())
        if rule.digits == 2:
            return [(d, label) for d, (_, label) in nace_divisions().items()]
        return None
    if isinstance(rule, Keep | Pseudonym | DateRule | TopCode):
        return None
    raise TypeError(f"unknown coarsening rule {rule!r}")


def codes(rule: Coarsen) -> list[Code] | None:
    """The values a coarsened column may hold, or None when the check is not a list."""
    if isinstance(rule, NaceRule) and rule.digits == 2:
        return None  # checked by length: a valid division is the source check's job (G2)
    found = classes(rule)
    return None if found is None else [code for code, _ in found]


def describe(rule: Coarsen) -> str:
    """The rule as a short text, for messages: ``amount width 500 top 20000``."""
    fields = rule.model_dump(exclude={"kind"}, exclude_none=True)
    parts = [
        str(v) if k in ("precision", "classes", "level") else f"{k} {v}" for k, v in fields.items()
    ]
    if isinstance(rule, NumericClasses | AgeRule | AmountRule) and "breaks" in fields:
        parts = [f"breaks {_num(rule.breaks[0])}..{_num(rule.breaks[-1])}"]  # type: ignore[union-attr]
    return " ".join([rule.kind, *parts])
