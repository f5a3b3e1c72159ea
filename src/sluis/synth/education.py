"""The education registers of the communities, drawn from the quarterly frame (A8, A13, S1).

Enrolments and diplomas follow from the traits of :class:`~sluis.synth.panel.Panel` (the
attained level ``edu`` and the age ``study_end`` at which initial education ends), so that a
pupil in the education register is a child in the household register, a student is enrolled
until the same age the labour-market registers treat as the end of studies, and a
higher-education diploma goes with the high level that raises wages elsewhere. Nobody is
enrolled while dead or abroad, because enrolment requires residence.

Which community keeps the record follows the school system: Flanders and the Brussels
pupils of Flemish-Community schools (``dutch_school``) are in the Flemish register, Wallonia
and the other Brussels pupils in the register of the Federation Wallonia-Brussels. The
Federation keeps less detail (no study area, fields and allowances for higher education
only), which the contract documents and the tables reproduce.

Persons are chunk-local int64 numbers in ``insz``, as in :mod:`sluis.synth.tables`;
:mod:`sluis.synth.run` swaps them for INSZ numbers. All shares below are APPROX (orders of
magnitude from general knowledge of the Belgian school systems), not calibrated figures.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from sluis.synth.panel import HIGH, LOW, MID, Panel
from sluis.synth.state import NODATE, day
from sluis.synth.world import BELGIUM, countries

#: school years 1999..2024; 1999 is never written but is the school year before the diplomas
#: of 2000, so that every diploma can be checked against the school year that led to it
FIRST_YEAR, LAST_YEAR = 1999, 2024
SCHOOL_YEARS = np.arange(FIRST_YEAR, LAST_YEAR + 1)
#: 1 September of each school year, as day numbers
SEPT_1 = np.array([day(dt.date(int(y), 9, 1)) for y in SCHOOL_YEARS], dtype=np.int64)
#: the quarter whose end decides residence during each school year: the 31 December of the
#: school year's first calendar year; 1999 has no quarter in the window and uses 2000Q1
SCHOOL_QUARTER = np.array([max(4 * (int(y) - 2000) + 3, 0) for y in SCHOOL_YEARS])
DAYS_PER_YEAR = 365.2425
#: the youngest age at which a child is enrolled (Belgian pre-primary starts at 2.5)
ENTRY_AGE = 2.5

# the common level index; each register names it in its own code list
KO, LO, ASO, TSO, KSO, BSO, HBO5, PBA, ABA, MA, DR = range(11)
VL_LEVEL = np.array(
    ["KO", "LO", "SO-ASO", "SO-TSO", "SO-KSO", "SO-BSO", "HBO5", "PBA", "ABA", "MA", "DR"]
)
#: the Federation has no HBO5 (a Flemish level; never used for an FWB row) and one
#: university level for bachelors and masters
FWB_LEVEL = np.array(
    ["MAT", "PRIM", "SEC-G", "SEC-TQ", "SEC-TQ", "SEC-P", "", "SUP-HE", "SUP-U", "SUP-U", "SUP-DR"]
)
SECONDARY = (ASO, TSO, KSO, BSO)
HIGHER = (HBO5, PBA, ABA, MA, DR)

#: secondary form (ASO, TSO, KSO, BSO) by attained level: general education leads to higher
#: education, vocational education to early exit (APPROX)
FORM_SHARES = {
    HIGH: (0.80, 0.15, 0.05, 0.00),
    MID: (0.30, 0.50, 0.07, 0.13),
    LOW: (0.05, 0.20, 0.03, 0.72),
}
FIELDS = np.array(["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10"])
#: ISCED-F broad fields of higher-education students in Belgium (APPROX: business and law
#: and health and welfare are the largest)
HE_FIELD_SHARES = (0.00, 0.10, 0.10, 0.10, 0.22, 0.06, 0.04, 0.13, 0.02, 0.20, 0.03)
#: fields of technical and vocational secondary education (APPROX)
SEC_FIELD_SHARES = (0.00, 0.00, 0.00, 0.00, 0.20, 0.00, 0.05, 0.35, 0.05, 0.20, 0.15)
ARTS = 2
#: the Flemish study area of each ISCED field
AREAS = np.array(["A", "E", "T", "H", "L", "K"])
AREA_OF_FIELD = np.array([0, 4, 5, 4, 1, 2, 2, 2, 2, 3, 1])
GENERAL_AREA = 0
#: share of mid-level people who follow HBO5 (graduaat) after secondary in Flanders
P_HBO5 = 0.25
#: share of the high-level who hold a doctorate (APPROX, about 1% of adults)
P_DOCTORATE = 0.02
#: doctoral candidates start after a master, at this age
DR_AGE = 23.0
#: allowances: about a quarter of secondary pupils and a fifth of students (APPROX); the
#: Flemish school allowance for pre-primary and primary pupils exists from 2008-2009
P_PUPIL_ALLOWANCE, P_STUDENT_ALLOWANCE = 0.25, 0.20
PRIMARY_ALLOWANCE_FROM = 2008
#: most families keep or lose an allowance for years: this share of person-years reuses the
#: person's lasting draw
ALLOWANCE_PERSISTENCE = 0.8
P_SECQ = 0.5
P_FOREIGN = 0.3
#: share of recognised foreign diplomas that are masters in the Flemish register (APPROX)
P_FOREIGN_MASTER = 0.6

DIPLOMA_CATEGORIES = np.array(["SEC", "SECQ", "HE1", "HE2", "HE3", "FOR"])
SEC, SECQ, HE1, HE2, HE3, FOR = range(6)
#: the higher-education diploma category of each level (bachelor / master / doctorate)
CATEGORY_OF_LEVEL = np.array([-1, -1, -1, -1, -1, -1, HE1, HE1, HE1, HE2, HE3])


def education_tables(panel: Panel, rng: np.random.Generator) -> dict[str, pa.Table]:
    """The four education tables of one chunk (A8, A13): enrolments and diplomas of the
    Flemish and the Federation register, persons as chunk-local int64 numbers.

    Draws its lasting traits (secondary form, fields, HBO5 and doctoral tracks, allowance
    propensity, who gets a certificate or a recognition) from ``rng`` in a fixed order, so the
    same panel and generator state give the same tables (S2).
    """
    n = panel.n
    edu = panel.edu
    study_end = panel.study_end.astype(np.float64)
    skill = panel.skill.astype(np.float64)

    form = _draw_form(rng, edu)
    he_field = rng.choice(len(FIELDS), n, p=HE_FIELD_SHARES)
    sec_field = np.where(form == KSO, ARTS, rng.choice(len(FIELDS), n, p=SEC_FIELD_SHARES))
    hbo5 = (edu == MID) & (rng.random(n) < P_HBO5)
    dr = _draw_doctorate(rng, edu, study_end)
    lasting = rng.random(n)
    persists = rng.random((n, len(SCHOOL_YEARS))) < ALLOWANCE_PERSISTENCE
    fresh = rng.random((n, len(SCHOOL_YEARS)))
    secq = (edu == LOW) & (form == BSO) & (study_end >= 17.0) & (rng.random(n) < P_SECQ)
    recognised = rng.random(n) < P_FOREIGN
    foreign_master = rng.random(n) < P_FOREIGN_MASTER

    # the school-year frame: age on 1 September, residence, register
    age = (SEPT_1[None, :] - panel.birth.astype(np.int64)[:, None]) / DAYS_PER_YEAR
    present = panel.muni[:, SCHOOL_QUARTER] >= 0
    region = panel.region()[:, SCHOOL_QUARTER]
    flemish = (region == 0) | ((region == 2) & panel.dutch_school[:, None])
    enrolled = present & (age >= ENTRY_AGE) & (age < study_end[:, None])
    level = _level(age, edu, form, study_end, hbo5, dr, flemish)

    allowance_draw = np.where(persists, lasting[:, None], fresh)
    allowance = allowance_draw < _allowance_probability(level, skill, flemish)

    tables = _enrolments(enrolled, flemish, level, he_field, sec_field, allowance)
    tables.update(
        _diplomas(
            panel, age, enrolled, flemish, level, form, study_end, he_field, sec_field, dr,
            secq, recognised, foreign_master,
        )
    )  # fmt: skip
    return tables


def _draw_form(rng: np.random.Generator, edu: np.ndarray) -> np.ndarray:
    """Secondary form (ASO, TSO, KSO or BSO) of each person, by attained level."""
    u = rng.random(len(edu))
    form = np.full(len(edu), ASO, dtype=np.int8)
    for level, shares in FORM_SHARES.items():
        cum = np.cumsum(shares)
        pick = np.searchsorted(cum, u, side="right").clip(0, 3)
        form = np.where(edu == level, np.array(SECONDARY, dtype=np.int8)[pick], form)
    return form


def _draw_doctorate(rng: np.random.Generator, edu: np.ndarray, study_end: np.ndarray) -> np.ndarray:
    """Doctoral candidates: ``P_DOCTORATE`` of the high-level, taken among those who study
    longest (past 24), since a doctorate is what keeps people in education that long."""
    high = edu == HIGH
    late = high & (study_end > 24.0)
    share = P_DOCTORATE * high.sum() / max(late.sum(), 1)
    return late & (rng.random(len(edu)) < min(share, 1.0))


def _level(
    age: np.ndarray,
    edu: np.ndarray,
    form: np.ndarray,
    study_end: np.ndarray,
    hbo5: np.ndarray,
    dr: np.ndarray,
    flemish: np.ndarray,
) -> np.ndarray:
    """Level index of everyone in every school year, by age and lasting traits.

    Pre-primary below 6, primary to 12, the person's secondary form to 18. After 18 the high
    level goes on in higher education: a professional bachelor when studies end before 22,
    otherwise three years of academic bachelor, then master, and doctorate from 23 for the
    doctoral candidates. The mid level stays in a last (specialisation) year of secondary,
    or in HBO5 in the Flemish register; the low level repeats its last secondary year.
    Only meaningful where the person is enrolled.
    """
    col = np.ones(age.shape[1], dtype=bool)[None, :]
    high = (edu == HIGH)[:, None] & col
    pba = (study_end < 22.0)[:, None] & col
    higher = np.select(
        [pba, age < 21.0, dr[:, None] & (age >= DR_AGE)],
        [PBA, ABA, DR],
        MA,
    )
    adult = np.where(high, higher, np.where(hbo5[:, None] & flemish, HBO5, form[:, None]))
    return np.select(
        [age < 6.0, age < 12.0, age < 18.0],
        [KO, LO, form[:, None] * col],
        adult,
    ).astype(np.int8)


def _allowance_probability(level: np.ndarray, skill: np.ndarray, flemish: np.ndarray) -> np.ndarray:
    """Chance of a study or school allowance in each person-year.

    Allowances go to families with low incomes, which the latent skill stands for: the
    chance falls linearly with skill, scaled so secondary pupils (mean skill about 0.5) get
    ``P_PUPIL_ALLOWANCE`` and students (the high level, mean skill about 0.75) get
    ``P_STUDENT_ALLOWANCE``. Doctoral candidates are paid, not supported.
    """
    need = (1.6 - 1.2 * skill)[:, None]
    pupil = P_PUPIL_ALLOWANCE * need / (1.6 - 1.2 * 0.5)
    student = P_STUDENT_ALLOWANCE * need / (1.6 - 1.2 * 0.75)
    young = (level <= LO) & flemish & (SCHOOL_YEARS >= PRIMARY_ALLOWANCE_FROM)[None, :]
    secondary = (level >= ASO) & (level <= BSO)
    studying = (level >= HBO5) & (level <= MA)
    return np.where(young | secondary, pupil, np.where(studying, student, 0.0))


def _flag(values: np.ndarray) -> pa.Array:
    return pa.array(np.where(values, "1", "0"), type=pa.string())


def _optional(codes: np.ndarray, index: np.ndarray, present: np.ndarray) -> pa.Array:
    return pa.array(codes[np.maximum(index, 0)], type=pa.string(), mask=~present)


def _enrolments(
    enrolled: np.ndarray,
    flemish: np.ndarray,
    level: np.ndarray,
    he_field: np.ndarray,
    sec_field: np.ndarray,
    allowance: np.ndarray,
) -> dict[str, pa.Table]:
    """One row per enrolled person and school year 2000..2024, in the register of the
    region (and, in Brussels, of the school's community) at that time."""
    out: dict[str, pa.Table] = {}
    written = enrolled.copy()
    written[:, 0] = False  # 1999 only serves the diplomas of 2000
    for name, here in (("education_vl_enrolment", flemish), ("education_fwb_enrolment", ~flemish)):
        person, col = np.nonzero(written & here)  # row-major: sorted by person, then year
        lv = level[person, col]
        year = SCHOOL_YEARS[col].astype(np.int32)
        is_higher = np.isin(lv, HIGHER)
        if name == "education_vl_enrolment":
            vocational = np.isin(lv, (TSO, KSO, BSO))
            field = np.where(is_higher, he_field[person], sec_field[person])
            area = np.where(lv == ASO, GENERAL_AREA, AREA_OF_FIELD[field])
            out[name] = pa.table(
                {
                    "insz": pa.array(person.astype(np.int64)),
                    "school_year": pa.array(year),
                    "level": pa.array(VL_LEVEL[lv], type=pa.string()),
                    "study_area": _optional(AREAS, area, lv >= ASO),
                    "field": _optional(FIELDS, field, vocational | is_higher),
                    "scholarship": _flag(allowance[person, col]),
                }
            )
        else:
            out[name] = pa.table(
                {
                    "insz": pa.array(person.astype(np.int64)),
                    "school_year": pa.array(year),
                    "level": pa.array(FWB_LEVEL[lv], type=pa.string()),
                    "domain": _optional(FIELDS, he_field[person], is_higher),
                    "scholarship": pa.array(
                        np.where(allowance[person, col], "1", "0"),
                        type=pa.string(),
                        mask=~is_higher,
                    ),
                }
            )
    return out


def _last_school_year(age: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Column of the last school year that starts before the person reaches ``limit``
    (-1 if that is before 1999; the last column if it is 2024 or later)."""
    return (age < limit[:, None]).sum(axis=1) - 1


def _diplomas(
    panel: Panel,
    age: np.ndarray,
    enrolled: np.ndarray,
    flemish: np.ndarray,
    level: np.ndarray,
    form: np.ndarray,
    study_end: np.ndarray,
    he_field: np.ndarray,
    sec_field: np.ndarray,
    dr: np.ndarray,
    secq: np.ndarray,
    recognised: np.ndarray,
    foreign_master: np.ndarray,
) -> dict[str, pa.Table]:
    """Diplomas obtained in Belgium at the end of a school year, and recognised foreign ones.

    A Belgian diploma is awarded in June after the last school year of its stage, so it needs
    an enrolment in that school year (which also rules out people who studied abroad and
    people who were not yet or no longer resident) and residence at the end of the diploma
    year, when the register would still reach the person. It goes to the register of that
    last enrolment.
    """
    n = panel.n
    quarter_of = np.array([4 * (y - 2000) + 3 for y in range(2000, LAST_YEAR + 1)])
    cty = countries()
    registered_immigrant = panel.immigrant & (panel.first_reg != NODATE)
    reg_age = (panel.first_reg.astype(np.int64) - panel.birth) / DAYS_PER_YEAR
    trained_abroad = registered_immigrant & (reg_age > study_end)

    rows: list[tuple[np.ndarray, ...]] = []

    def award(who: np.ndarray, col: np.ndarray, category: np.ndarray, lv: np.ndarray) -> None:
        """Keep the diplomas of ``who`` whose last school year ``col`` was spent enrolled
        and whose diploma year (the June after) is in the window with the person resident
        at its end."""
        year = SCHOOL_YEARS[0] + col + 1
        ok = who & (col >= 0) & (year <= LAST_YEAR) & (np.broadcast_to(category, (n,)) >= 0)
        person = np.flatnonzero(ok)
        c, y = col[person], year[person]
        ok = enrolled[person, c] & panel.present[person, quarter_of[y - 2000]]
        person, c, y = person[ok], c[ok], y[ok]
        field = np.where(
            np.isin(lv[person], HIGHER),
            he_field[person],
            np.where(np.isin(lv[person], (TSO, KSO, BSO)), sec_field[person], -1),
        )
        cat = np.broadcast_to(category, (n,))[person]
        rows.append(
            (person, y, lv[person], cat, field, flemish[person, c], np.full(len(person), -1))
        )

    edu = panel.edu
    mid_high = edu != LOW
    col18 = _last_school_year(age, np.full(n, 18.0))
    award(mid_high, col18, np.array(SEC), form.astype(np.int64))
    col_end = _last_school_year(age, study_end)
    award(secq, col_end, np.array(SECQ), form.astype(np.int64))
    he_level = level[np.arange(n), np.clip(col_end, 0, None)].astype(np.int64)
    award(
        (edu == HIGH) & ~trained_abroad,
        col_end,
        CATEGORY_OF_LEVEL[he_level],
        he_level,
    )
    col_dr = _last_school_year(age, np.full(n, DR_AGE))
    award(dr & ~trained_abroad, col_dr, np.array(HE2), np.full(n, MA))

    # recognised foreign higher-education diplomas, in the year of first registration
    ever = panel.present.any(axis=1)
    first_q = np.argmax(panel.present, axis=1)
    first_region = panel.region()[np.arange(n), first_q]
    first_flemish = (first_region == 0) | ((first_region == 2) & panel.dutch_school)
    reg_year = np.where(
        panel.first_reg != NODATE,
        panel.first_reg.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970,
        0,
    )
    inside = (reg_year >= 2000) & (reg_year <= LAST_YEAR)
    quarter = quarter_of[np.clip(reg_year - 2000, 0, LAST_YEAR - 2000)]
    resident_then = panel.present[np.arange(n), quarter]
    foreign = trained_abroad & (edu == HIGH) & recognised & ever & inside & resident_then
    person = np.flatnonzero(foreign)
    rows.append(
        (
            person,
            reg_year[person],
            np.where(foreign_master[person], MA, ABA),
            np.full(len(person), FOR),
            he_field[person],
            first_flemish[person],
            panel.cob[person].astype(np.int64),
        )
    )

    person, year, lv, cat, field, in_vl, country = (
        np.concatenate(parts) for parts in zip(*rows, strict=True)
    )
    country_code = np.where(country >= 0, cty.code[np.maximum(country, 0)], BELGIUM)
    access = cat != SECQ
    out: dict[str, pa.Table] = {}
    for name, here in (("education_vl_diploma", in_vl), ("education_fwb_diploma", ~in_vl)):
        codes = VL_LEVEL if name == "education_vl_diploma" else FWB_LEVEL
        # a foreign recognition in the Federation is an equivalence at university level
        lv_here = lv if name == "education_vl_diploma" else np.where(cat == FOR, MA, lv)
        idx = np.flatnonzero(here)
        level_code = codes[lv_here[idx]]
        order = np.lexsort((level_code, year[idx], person[idx]))
        idx, level_code = idx[order], level_code[order]
        # one diploma per person, year and level (the key)
        first = np.ones(len(idx), dtype=bool)
        first[1:] = (
            (person[idx][1:] != person[idx][:-1])
            | (year[idx][1:] != year[idx][:-1])
            | (level_code[1:] != level_code[:-1])
        )
        idx, level_code = idx[first], level_code[first]
        columns = {
            "insz": pa.array(person[idx].astype(np.int64)),
            "diploma_year": pa.array(year[idx].astype(np.int32)),
            "level": pa.array(level_code, type=pa.string()),
            "category": pa.array(DIPLOMA_CATEGORIES[cat[idx]], type=pa.string()),
        }
        if name == "education_vl_diploma":
            columns["field"] = _optional(FIELDS, field[idx], field[idx] >= 0)
        columns["country"] = pa.array(country_code[idx], type=pa.string())
        columns["access_diploma"] = _flag(access[idx])
        out[name] = pa.table(columns)
    return out
