"""The synthetic education registers (A8, A13, S1, S2).

One small chunk (scale 0.0005, a few thousand people) is simulated once for the module; a
property test repeats the invariants on other seeds, since a rule that holds for one
population by luck would break on another.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.domain.codelists import codelists
from sluis.sources.contract import table
from sluis.synth.education import education_tables
from sluis.synth.panel import HIGH, LOW, Panel, build_panel
from sluis.synth.population import Chunk
from sluis.synth.state import day

SCALE, SEED = 0.0005, 3
NAMES = (
    "education_vl_enrolment",
    "education_vl_diploma",
    "education_fwb_enrolment",
    "education_fwb_diploma",
)
ENROLMENTS = ("education_vl_enrolment", "education_fwb_enrolment")
DIPLOMAS = ("education_vl_diploma", "education_fwb_diploma")


def make_panel(seed: int) -> Panel:
    rng = np.random.Generator(np.random.PCG64(seed))
    sim = Chunk(rng, SCALE)
    sim.run()
    return build_panel(sim, rng)


def make_tables(panel: Panel, seed: int) -> dict[str, pa.Table]:
    return education_tables(panel, np.random.Generator(np.random.PCG64(seed)))


@pytest.fixture(scope="module")
def panel() -> Panel:
    return make_panel(SEED)


@pytest.fixture(scope="module")
def tables(panel: Panel) -> dict[str, pa.Table]:
    return make_tables(panel, SEED)


def col(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(t[name].to_numpy(zero_copy_only=False))


def sept_1(years: np.ndarray) -> np.ndarray:
    return np.array([day(dt.date(int(y), 9, 1)) for y in years], dtype=np.int64)


def check_invariants(panel: Panel, tables: dict[str, pa.Table]) -> None:
    """The rules every chunk must keep, whatever the seed."""
    assert set(tables) == set(NAMES)
    for name in ENROLMENTS:
        t = tables[name]
        person, year = col(t, "insz"), col(t, "school_year")
        assert len(person) > 0, name
        age = (sept_1(year) - panel.birth[person]) / 365.2425
        assert (age >= 2.5).all(), name
        assert (age < panel.study_end[person]).all(), name
        assert (panel.muni[person, 4 * (year - 2000) + 3] >= 0).all(), f"{name}: not resident"
        key = person * 10_000 + year
        assert len(np.unique(key)) == len(key), f"{name}: (insz, school_year) not unique"
        assert (np.diff(key) > 0).all(), f"{name}: not sorted by person, then year"
    for name in DIPLOMAS:
        t = tables[name]
        person, year = col(t, "insz"), col(t, "diploma_year")
        assert ((year >= 2000) & (year <= 2024)).all(), name
        assert (panel.muni[person, 4 * (year - 2000) + 3] >= 0).all(), f"{name}: not resident"
        keys = set(zip(person.tolist(), year.tolist(), t["level"].to_pylist(), strict=True))
        assert len(keys) == t.num_rows, f"{name}: (insz, diploma_year, level) not unique"
        order = person * 10_000 + year
        assert (np.diff(order) >= 0).all(), f"{name}: not sorted by person, then year"
        category = col(t, "category")
        higher = np.isin(category, ("HE1", "HE2", "HE3", "FOR"))
        assert (panel.edu[person[higher]] == HIGH).all(), f"{name}: HE diploma below HIGH"
        assert (panel.edu[person[category == "SEC"]] != LOW).all(), name
        assert (panel.edu[person[category == "SECQ"]] == LOW).all(), name
        foreign = category == "FOR"
        # recognised foreign diplomas: immigrants who arrived after their studies, in the
        # year of their first registration
        fp = person[foreign]
        assert panel.immigrant[fp].all(), name
        arrival_age = (panel.first_reg[fp].astype(np.int64) - panel.birth[fp]) / 365.2425
        assert (arrival_age > panel.study_end[fp]).all(), name
        arrival = panel.first_reg[fp].astype("datetime64[D]").astype("datetime64[Y]")
        assert (arrival.astype(np.int64) + 1970 == year[foreign]).all(), name
        assert (col(t, "country")[~foreign] == "150").all(), name
        assert (col(t, "country")[foreign] != "150").all(), name
        assert (col(t, "access_diploma") == np.where(category == "SECQ", "0", "1")).all(), name


def test_a8_a13_s1_tables_follow_the_contract(tables: dict[str, pa.Table]) -> None:
    """Column names and order, Arrow types, nullability and code lists as the contract
    says, with persons still chunk-local int64 numbers (swapped for INSZ by the runner)."""
    lists = codelists()
    for name in NAMES:
        spec, t = table(name), tables[name]
        assert t.column_names == [c.name for c in spec.columns], name
        for c in spec.columns:
            values = t[c.name]
            if c.type == "insz":
                assert values.type == pa.int64(), c.name
            elif c.type == "int":
                assert pa.types.is_integer(values.type), c.name
            else:
                assert values.type == pa.string(), c.name
            if not c.nullable:
                assert values.null_count == 0, f"{name}.{c.name} has nulls"
            if c.codelist:
                codes = set(values.drop_null().to_pylist())
                assert codes <= lists[c.codelist].codes, f"{name}.{c.name}: {codes}"


def test_a8_s1_enrolment_at_school_age_while_resident(
    panel: Panel, tables: dict[str, pa.Table]
) -> None:
    """Every enrolment falls between age 2.5 and the end of initial education, in a school
    year the person was resident; keys are unique and rows sorted (A8, S1)."""
    check_invariants(panel, tables)


def test_a8_register_follows_region_and_school_community(
    panel: Panel, tables: dict[str, pa.Table]
) -> None:
    """Flanders is in the Flemish register, Wallonia in the Federation's; Brussels pupils
    follow the community of their school (A8)."""
    region = panel.region()
    for name, flemish in (("education_vl_enrolment", True), ("education_fwb_enrolment", False)):
        t = tables[name]
        person, year = col(t, "insz"), col(t, "school_year")
        r = region[person, 4 * (year - 2000) + 3]
        vl = (r == 0) | ((r == 2) & panel.dutch_school[person])
        assert (vl == flemish).all(), name
        assert (r == 2).any(), f"{name}: no Brussels pupils"


def test_a8_flemish_register_has_more_detail_than_the_federation(
    tables: dict[str, pa.Table],
) -> None:
    """The Flemish register has study areas and fields below higher education and
    allowances for pupils; the Federation's has domains and allowances for higher
    education only (A8, A13)."""
    vl, fwb = tables["education_vl_enrolment"], tables["education_fwb_enrolment"]
    level, area = col(vl, "level"), vl["study_area"].to_pylist()
    basic = np.isin(level, ("KO", "LO"))
    assert all(a is None for a, b in zip(area, basic, strict=True) if b)
    assert all(a is not None for a, b in zip(area, basic, strict=True) if not b)
    secondary = np.char.startswith(level.astype(str), "SO-")
    assert vl.filter(pa.array(secondary))["scholarship"].to_pylist().count("1") > 0
    assert "study_area" not in fwb.column_names
    sup = np.char.startswith(col(fwb, "level").astype(str), "SUP-")
    for name in ("domain", "scholarship"):
        values = fwb[name].to_pylist()
        assert all(v is None for v, s in zip(values, sup, strict=True) if not s), name
        assert all(v is not None for v, s in zip(values, sup, strict=True) if s), name
    assert sup.any() and (~sup).any()
    assert "field" in tables["education_vl_diploma"].column_names
    assert "field" not in tables["education_fwb_diploma"].column_names


def test_a8_students_keep_their_field(tables: dict[str, pa.Table]) -> None:
    """A student's field is a lasting choice, not redrawn every year (A8)."""
    vl = tables["education_vl_enrolment"]
    level = col(vl, "level")
    higher = np.isin(level, ("HBO5", "PBA", "ABA", "MA", "DR"))
    person, field = col(vl, "insz")[higher], vl["field"].to_pylist()
    fields = [f for f, h in zip(field, higher, strict=True) if h]
    seen: dict[int, str] = {}
    for p, f in zip(person.tolist(), fields, strict=True):
        assert seen.setdefault(p, f) == f, p
    assert len(set(seen.values())) > 3


def test_a8_allowances_go_more_often_to_low_skill(
    panel: Panel, tables: dict[str, pa.Table]
) -> None:
    """About a quarter of secondary pupils get an allowance, more of the low-skilled, since
    allowances follow family income, which skill stands for (A8)."""
    vl = tables["education_vl_enrolment"]
    secondary = np.char.startswith(col(vl, "level").astype(str), "SO-")
    got = col(vl, "scholarship")[secondary] == "1"
    skill = panel.skill[col(vl, "insz")[secondary]]
    assert 0.15 < got.mean() < 0.35
    assert got[skill < 0.5].mean() > got[skill >= 0.5].mean()


def test_a13_diplomas_follow_levels_and_residence(
    panel: Panel, tables: dict[str, pa.Table]
) -> None:
    """Diplomas fall in 2000-2024 while resident; higher-education ones only for the high
    level; secondary ones in the year the person turns about 18 (A13)."""
    check_invariants(panel, tables)
    both = pa.concat_tables(
        [tables[n].select(["insz", "diploma_year", "category"]) for n in DIPLOMAS]
    )
    category = col(both, "category")
    assert {"SEC", "HE1", "HE2", "FOR"} <= set(category.tolist())
    sec = category == "SEC"
    person, year = col(both, "insz")[sec], col(both, "diploma_year")[sec]
    age = (np.array([day(dt.date(int(y), 6, 30)) for y in year]) - panel.birth[person]) / 365.2425
    assert ((age > 17.5) & (age < 19)).all()


def test_s2_same_seed_same_tables(panel: Panel, tables: dict[str, pa.Table]) -> None:
    """The same panel and seed give equal tables; another seed changes them (S2)."""
    again = make_tables(panel, SEED)
    assert all(again[n].equals(tables[n]) for n in NAMES)
    other = make_tables(panel, SEED + 1)
    assert not other["education_vl_enrolment"].equals(tables["education_vl_enrolment"])


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_a8_a13_s1_invariants_hold_for_any_seed(seed: int) -> None:
    """Enrolment ages, residence, keys, diploma years and levels hold for any population."""
    panel = make_panel(seed)
    check_invariants(panel, make_tables(panel, seed))
