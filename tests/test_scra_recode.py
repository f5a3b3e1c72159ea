"""G5: global recoding along the hierarchies of the spec's coarsening rules (scra.recode),
applied by the spec-driven run only while a threshold fails, before local suppression."""

from __future__ import annotations

import datetime as dt
import json
from bisect import bisect_right
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings

from sluis.coarsen.classes import countries, eu_years, nace_divisions
from sluis.errors import SluisError
from sluis.scra.driver import run_spec_scra
from sluis.scra.recode import recode_column
from sluis.spec import load_spec
from sluis.spec.model import (
    AgeRule,
    AmountRule,
    CountryRule,
    DateRule,
    KeySet,
    NaceRule,
    NumericClasses,
    RecodeStep,
    Scra,
    Spec,
    TopCode,
)
from test_scra_spec import stage_25_074

ROOT = Path(__file__).resolve().parents[1]
SPEC = load_spec(ROOT / "specs" / "25-074.yaml")
TO_YEAR = DateRule(kind="date", precision="year")
PERSON_STEPS = [
    RecodeStep(dataset="person", variable="birth_yq", to=TO_YEAR),
    RecodeStep(dataset="person", variable="first_registration_yq", to=TO_YEAR),
]


def _one(values: list, rule, to, years=None) -> list:
    return recode_column(pa.array(values), "x", rule, to, years).to_pylist()


# -- each kind maps a class to the coarser class containing it -----------------------------


def _date_repr(d: dt.date, precision: str) -> object:
    if precision == "year":
        return d.year
    if precision == "year_quarter":
        return f"{d.year}Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}-{d.month:02d}"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=30),
    st.sampled_from(
        [("year_month", "year_quarter"), ("year_month", "year"), ("year_quarter", "year")]
    ),
)
def test_g5_property_date_recode_is_the_coarser_date(dates: list[dt.date], pair) -> None:
    src, dst = pair
    staged = [_date_repr(d, src) for d in dates] + [None]
    got = _one(staged, DateRule(kind="date", precision=src), DateRule(kind="date", precision=dst))
    assert got == [_date_repr(d, dst) for d in dates] + [None]


def _code(bounds: list[float], x: float) -> float:
    """The class code of x under lower bounds (docs/coarsening.md): first bound - 1 below."""
    i = bisect_right(bounds, x) - 1
    return bounds[0] - 1 if i < 0 else bounds[i]


@st.composite
def nested_bounds(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    old = sorted(draw(st.sets(st.integers(-50, 200), min_size=2, max_size=12)))
    new = sorted(draw(st.sets(st.sampled_from(old), min_size=2, max_size=len(old))))
    return old, new


@settings(max_examples=80, deadline=None)
@given(
    nested_bounds(),
    st.lists(st.integers(-100, 300), min_size=1, max_size=40),
    st.sampled_from(["age", "classes", "amount"]),
)
def test_g5_property_numeric_recode_is_the_class_containing_the_value(
    bounds: tuple[list[int], list[int]], xs: list[int], kind: str
) -> None:
    """For random values x: recoding x's class under the old breaks gives x's class under
    the new breaks (every new break is an old break)."""
    old, new = bounds
    make = {
        "age": lambda b: AgeRule(kind="age", breaks=b),
        "classes": lambda b: NumericClasses(kind="classes", breaks=b),
        "amount": lambda b: AmountRule(kind="amount", breaks=b),
    }[kind]
    assert make(old).recode_problem(make(new), None) is None
    staged = [int(_code(old, x)) for x in xs]
    assert _one(staged, make(old), make(new)) == [int(_code(new, x)) for x in xs]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6).map(lambda w: 150 * w),
    st.integers(2, 5),
    st.integers(1, 8),
    st.lists(st.integers(-500, 40_000), min_size=1, max_size=40),
)
def test_g5_property_amount_width_recode(
    width: int, factor: int, classes: int, xs: list[int]
) -> None:
    top = width * factor * classes
    old = AmountRule(kind="amount", width=width, top=top + width * factor)
    new = AmountRule(kind="amount", width=width * factor, top=top)
    assert old.recode_problem(new, None) is None
    old_bounds = [*range(0, old.top, width), old.top]
    new_bounds = [*range(0, new.top, new.width), new.top]
    staged = [int(_code(old_bounds, x)) for x in xs]
    assert _one(staged, old, new) == [int(_code(new_bounds, x)) for x in xs]


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(1, 12), st.lists(st.integers(0, 20), max_size=30))
def test_g5_property_top_recode(old_max: int, new_max: int, xs: list[int]) -> None:
    new_max = min(new_max, old_max)
    staged = [min(x, old_max) for x in xs]
    got = _one(staged, TopCode(kind="top", max=old_max), TopCode(kind="top", max=new_max))
    assert got == [min(x, new_max) for x in xs]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(sorted(nace_divisions())), min_size=1, max_size=30))
def test_g5_property_nace_division_to_section(divisions: list[str]) -> None:
    got = _one(divisions, NaceRule(kind="nace", digits=2), NaceRule(kind="nace", digits=1))
    assert got == [nace_divisions()[d][0] for d in divisions]


def _eu4(code: str, year: int) -> str:
    if code == "150":
        return "01"
    accession, exit_year = eu_years(code)
    member = accession is not None and accession <= year and (exit_year is None or year < exit_year)
    return "02" if member else "03"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(countries())), st.integers(2013, 2019)),
        min_size=1,
        max_size=40,
    )
)
def test_g5_property_class15_to_eu4_in_its_year(rows: list[tuple[str, int]]) -> None:
    """A country's class15 class recoded to eu4 in the row's year is the country's eu4 class
    in that year (in 2013-2019, where class15 nests in eu4)."""
    staged = [countries()[c]["class15"] for c, _ in rows]
    years = np.array([y for _, y in rows])
    got = _one(
        staged,
        CountryRule(kind="country", classes="class15"),
        CountryRule(kind="country", classes="eu4"),
        years,
    )
    assert got == [_eu4(c, y) for c, y in rows]


def test_g5_birth5_to_eu4_and_refusals() -> None:
    birth5 = CountryRule(kind="country", classes="birth5")
    eu4 = CountryRule(kind="country", classes="eu4")
    assert _one(["02", "04", "01", "05", "06", "99", None], birth5, eu4) == [
        "01",
        "01",
        "01",
        "02",
        "03",
        "99",
        None,
    ]
    with pytest.raises(SluisError) as err:  # a staged value outside the rule's classes
        _one(["02", "150"], birth5, eu4)
    assert err.value.rule == "scra-recode-value"
    class15 = CountryRule(kind="country", classes="class15")
    with pytest.raises(SluisError) as err:  # the United Kingdom is in class 04, not EU in 2020
        _one(["04"], class15, eu4, np.array([2020]))
    assert err.value.rule == "scra-recode-not-coarser"
    assert "2020-2022" in (class15.recode_problem(eu4, range(2016, 2023)) or "")
    assert class15.recode_problem(eu4, None) is not None  # no period, no reference year
    assert TO_YEAR.recode_problem(DateRule(kind="date", precision="year_quarter"), None)
    assert AgeRule(kind="age", breaks=[0, 5, 10, 15]).recode_problem(
        AgeRule(kind="age", breaks=[0, 12]), None
    )


# -- the spec-driven run -------------------------------------------------------------------


def _person_spec(steps: list[RecodeStep], max_global_risk: float | None = 0.05) -> Spec:
    """25/074 with only the person key set, and the given recode steps."""
    scra = Scra(
        k=5,
        key_sets=[KeySet(**SPEC.scra.key_sets[0].model_dump())],
        max_global_risk=max_global_risk,
        recode=steps,
    )
    return SPEC.model_copy(update={"scra": scra})


def _stage_concentrated(directory: Path, persons: int = 4000, seed: int = 5) -> Path:
    """A person dataset where the quarters make records rare but the years do not: 5 birth
    years and 4 registration years, each in 4 quarters, two values of the other keys."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)

    def yq(first: int, years: int) -> pa.Array:
        y = rng.integers(first, first + years, persons)
        q = rng.integers(1, 5, persons)
        return pa.array([f"{a}Q{b}" for a, b in zip(y, q, strict=True)])

    table = pa.table(
        {
            "person_seq": pa.array(np.arange(1, persons + 1), pa.int64()),
            "sex": pa.array(rng.choice(np.array(["1", "2"], dtype=object), persons)),
            "birth_yq": yq(1970, 5),
            "first_nationality": pa.array(
                rng.choice(np.array(["08", "10"], dtype=object), persons)
            ),
            "birth_country": pa.array(rng.choice(np.array(["10", "13"], dtype=object), persons)),
            "first_registration_yq": yq(2000, 4),
        }
    )
    pq.write_table(table, directory / "person.parquet")
    return directory


def test_g5_recoding_makes_k_hold_with_fewer_suppressions(tmp_path: Path) -> None:
    """G5: k and the global risk fail on the staged values; the first recode step (birth
    year) is not enough, the second (registration year) is, so suppression has far less to
    do than without recoding; the treated file holds years, the report lists both steps."""
    staged = _stage_concentrated(tmp_path / "staged")
    with_steps = run_spec_scra(_person_spec(PERSON_STEPS), staged, tmp_path / "with")
    without = run_spec_scra(_person_spec([]), staged, tmp_path / "without")
    before = with_steps.key_sets[0].before
    assert before.records_below["k"] > 0 and before.global_risk > 0.05  # fails before
    assert [r.variable for r in with_steps.recoded] == ["birth_yq", "first_registration_yq"]
    first, second = with_steps.recoded
    assert first.key_sets[0].below_k_after > 0  # not enough after one step ...
    assert second.key_sets[0].below_k_after == 0  # ... after two the thresholds hold
    assert second.key_sets[0].global_risk_after <= 0.05
    assert (first.categories_before, first.categories_after) == (20, 5)
    assert with_steps.ok
    # without recoding, suppression would take more of a variable than the spec's cap allows:
    # the run fails, naming the variable (issue 15)
    assert not without.ok
    capped = [t for t in without.thresholds if not t.holds and "share of" in t.name]
    assert capped and all(t.enforced for t in capped)
    assert any("birth_yq" in t.name or "first_registration_yq" in t.name for t in capped)
    sup_with = with_steps.datasets[0].treatment.suppressed_values
    sup_without = without.datasets[0].treatment.suppressed_values
    assert sup_with < sup_without
    assert sup_with == 0
    # the treated file: same rows, recoded columns as years (int16), others unchanged
    original = pq.read_table(staged / "person.parquet")
    treated = pq.read_table(tmp_path / "with" / "staged" / "person.parquet")
    assert treated.num_rows == original.num_rows and treated.column_names == original.column_names
    assert treated.schema.field("birth_yq").type == pa.int16()
    years = [int(v[:4]) for v in original["birth_yq"].to_pylist()]
    assert treated["birth_yq"].to_pylist() == years
    assert treated["sex"].equals(original["sex"])
    data = json.loads((tmp_path / "with" / "scra.json").read_text())
    assert [(r["variable"], r["from_rule"], r["to"]) for r in data["recoded"]] == [
        ("birth_yq", "date year_quarter", {"kind": "date", "precision": "year"}),
        ("first_registration_yq", "date year_quarter", {"kind": "date", "precision": "year"}),
    ]
    html = (tmp_path / "with" / "scra.html").read_text()
    assert "Global recoding" in html and "first_registration_yq" in html
    assert any("global recoding" in t.name for t in with_steps.thresholds)


def test_g5_recoding_stops_as_soon_as_the_thresholds_hold(tmp_path: Path) -> None:
    """G5: with the registration year first, one step is enough and the birth quarter stays."""
    staged = _stage_concentrated(tmp_path / "staged", persons=6000, seed=9)
    steps = [PERSON_STEPS[1], PERSON_STEPS[0]]
    spec = _person_spec(steps, max_global_risk=None)
    spec = spec.model_copy(
        update={
            "scra": spec.scra.model_copy(
                update={
                    "key_sets": [
                        KeySet(
                            name="d",
                            dataset="person",
                            keys=["sex", "birth_yq", "first_registration_yq"],
                        )
                    ]
                }
            )
        }
    )
    result = run_spec_scra(spec, staged, tmp_path / "out")
    assert [r.variable for r in result.recoded] == ["first_registration_yq"]
    assert (
        result.datasets[0].recode_skipped and "not needed" in result.datasets[0].recode_skipped[0]
    )
    treated = pq.read_table(tmp_path / "out" / "staged" / "person.parquet")
    assert treated.schema.field("birth_yq").type == pa.string()


def test_g5_recoding_never_applied_when_thresholds_hold(tmp_path: Path) -> None:
    """G5: a dataset whose key sets hold before treatment is not recoded (and not suppressed)."""
    staged = tmp_path / "staged"
    staged.mkdir()
    n = 400
    pq.write_table(
        pa.table(
            {
                "person_seq": pa.array(np.arange(n), pa.int64()),
                "sex": pa.array(["1", "2"] * (n // 2)),
                "birth_yq": pa.array(["1970Q1", "1970Q1", "1971Q3", "1971Q3"] * (n // 4)),
                "first_nationality": pa.array(["10"] * n),
                "birth_country": pa.array(["10"] * n),
                "first_registration_yq": pa.array(["2001Q2"] * n),
            }
        ),
        staged / "person.parquet",
    )
    result = run_spec_scra(_person_spec(PERSON_STEPS), staged, tmp_path / "out")
    assert result.ok and result.recoded == []
    assert all("not needed" in s for s in result.datasets[0].recode_skipped)
    assert len(result.datasets[0].recode_skipped) == 2
    assert result.datasets[0].treatment.suppressed_values == 0
    original = pq.read_table(staged / "person.parquet")
    assert pq.read_table(tmp_path / "out" / "staged" / "person.parquet").equals(original)
    measured = run_spec_scra(_person_spec(PERSON_STEPS), staged, tmp_path / "m", treat=False)
    assert measured.recoded == []


def test_g5_recoding_on_25_074_shaped_data_is_never_finer(tmp_path: Path) -> None:
    """G5: on the sparse 25/074-shaped extract a step is kept only when it lowers the
    suppressions; the treated person file has the same rows, each value the year of its
    staged quarter where the step was kept, the staged value otherwise, or suppressed (null
    and explained)."""
    spec = SPEC.model_copy(update={"scra": SPEC.scra.model_copy(update={"recode": PERSON_STEPS})})
    staged = stage_25_074(spec, tmp_path / "staged", persons=300, seed=11)
    result = run_spec_scra(spec, staged, tmp_path / "out")
    kept = {r.variable for r in result.recoded}
    if kept:
        assert result.recoded[-1].suppressions_after < result.recoded[0].suppressions_before
    skipped = result.datasets[0].recode_skipped
    # first_registration_yq is pinned: the panel's first quarter gives it back (scra.implied)
    assert "first_registration_yq" not in kept
    assert len(skipped) == len(PERSON_STEPS) - 1 - len(kept)
    original = pq.read_table(staged / "person.parquet")
    treated = pq.read_table(tmp_path / "out" / "staged" / "person.parquet")
    explained = pq.read_table(tmp_path / "out" / "suppressions" / "person.parquet").to_pylist()
    listed = {(e["record"], e["variable"]) for e in explained}
    assert treated.num_rows == original.num_rows
    for column in ("birth_yq", "first_registration_yq"):
        for row, (a, b) in enumerate(
            zip(original[column].to_pylist(), treated[column].to_pylist(), strict=True)
        ):
            if (row, column) in listed:
                assert b is None
            else:
                assert b == (int(a[:4]) if column in kept else a)
    panel = next(d for d in result.datasets if d.name == "panel")
    assert panel.recode_skipped == []  # no steps for the panel
