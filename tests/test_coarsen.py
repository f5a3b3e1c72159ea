"""The coarsening stage (G4) and its refusal check (G4, G1): every rule on hand-made tables
with its boundaries, property tests, and both shipped specs end to end on synthetic raw
datasets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.coarsen import CoarseningError, check_coarsened, classes, coarsen_dataset, codes
from sluis.domain.insz import make_insz
from sluis.engine import connect
from sluis.spec import MinimisationError, load_spec
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
    Spec,
    TopCode,
)

SPECS = Path(__file__).resolve().parents[1] / "specs"
#: a valid national number (check digits right), which no message may show
INSZ = make_insz(dt.date(1985, 7, 31), 12)


@pytest.fixture(scope="module")
def engine():
    with connect(memory_limit="1GB", threads=1) as e:
        yield e


@pytest.fixture(scope="module")
def spec25() -> Spec:
    return load_spec(SPECS / "25-074.yaml")


@pytest.fixture(scope="module")
def spec26() -> Spec:
    return load_spec(SPECS / "26-050.yaml")


def one_rule_spec(base: Spec, rules: dict[str, Coarsen]) -> Spec:
    """``base`` with one dataset ``t`` whose variables carry ``rules``."""
    template = next(iter(base.datasets.values()))
    var = template.variables[0]
    variables = [var.model_copy(update={"name": n, "coarsen": r}) for n, r in rules.items()]
    return base.model_copy(
        update={"datasets": {"t": template.model_copy(update={"variables": variables})}}
    )


def run(engine, spec25: Spec, rules: dict[str, Coarsen], data: dict, **kw) -> dict:
    """Coarsen a hand-made table under ``rules``; check it; return the columns as lists in
    input order (a join may reorder rows: a pseudonym column ``row`` keeps track)."""
    spec = one_rule_spec(spec25, {**rules, "row": Pseudonym(kind="pseudonym")})
    rows = len(next(iter(data.values())))
    raw = engine.arrow(pa.table({**data, "row": pa.array(range(rows), pa.int64())}))
    out = coarsen_dataset(engine, raw, spec, "t", **kw)
    check_coarsened(engine, out, spec, "t", party="test")
    got = engine.to_arrow(out.order_by("row")).to_pydict()
    del got["row"]
    return got


def refused(engine, spec25: Spec, rules: dict[str, Coarsen], data: dict) -> CoarseningError:
    spec = one_rule_spec(spec25, rules)
    with pytest.raises(CoarseningError) as info:
        check_coarsened(engine, engine.arrow(pa.table(data)), spec, "t", party="statbel")
    return info.value


# -- dates -------------------------------------------------------------------------------------


def test_g4_dates_to_quarter_month_year_and_nulls_stay_null(engine, spec25) -> None:
    days = [dt.date(2012, 12, 31), dt.date(2013, 1, 1), dt.date(1999, 4, 1), None]
    got = run(
        engine,
        spec25,
        {
            "yq": DateRule(kind="date", precision="year_quarter"),
            "ym": DateRule(kind="date", precision="year_month"),
            "y": DateRule(kind="date", precision="year"),
        },
        {"yq": days, "ym": days, "y": days},
    )
    assert got["yq"] == ["2012Q4", "2013Q1", "1999Q2", None]
    assert got["ym"] == ["2012-12", "2013-01", "1999-04", None]
    assert got["y"] == [2012, 2013, 1999, None]


def test_g4_year_output_is_int16_and_an_integer_year_is_accepted(engine, spec25) -> None:
    spec = one_rule_spec(spec25, {"y": DateRule(kind="date", precision="year")})
    out = coarsen_dataset(engine, engine.arrow(pa.table({"y": [2012, None]})), spec, "t")
    assert str(out.schema()["y"]) == "int16"
    assert engine.to_arrow(out)["y"].to_pylist() == [2012, None]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), min_size=1, max_size=20))
def test_g4_year_quarter_round_trips_to_the_quarter(engine, spec25, days) -> None:
    got = run(
        engine,
        spec25,
        {
            "yq": DateRule(kind="date", precision="year_quarter"),
            "ym": DateRule(kind="date", precision="year_month"),
        },
        {"yq": days, "ym": days},
    )
    for day, yq, ym in zip(days, got["yq"], got["ym"], strict=True):
        if day > dt.date(2022, 12, 31):  # after the window of 25/074: censored (G4, G6)
            assert yq is None and ym is None
            continue
        assert (int(yq[:4]), int(yq[5])) == (day.year, (day.month - 1) // 3 + 1)
        assert (int(ym[:4]), int(ym[5:])) == (day.year, day.month)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=20),
    st.sampled_from(["year_quarter", "year_month", "year"]),
)
def test_g4_g6_no_date_after_the_window_leaves(engine, spec25, days, precision) -> None:
    """A date after the window's end (25/074: 2022Q4) is delivered empty; every other date
    is kept; the check refuses a coarsened date after the end (issue 15, window rule)."""
    got = run(engine, spec25, {"d": DateRule(kind="date", precision=precision)}, {"d": days})
    for day, value in zip(days, got["d"], strict=True):
        assert (value is None) == (day > dt.date(2022, 12, 31))


@pytest.mark.parametrize(
    ("precision", "late"),
    [("year_quarter", "2023Q1"), ("year_month", "2023-01"), ("year", 2023)],
)
def test_g4_g6_check_refuses_a_coarsened_date_after_the_window(
    engine, spec25, precision, late
) -> None:
    err = refused(engine, spec25, {"d": DateRule(kind="date", precision=precision)}, {"d": [late]})
    assert err.rule == "outside-window"
    assert "d: 1 row(s)" in str(err) and "2000Q1-2022Q4" in str(err)


# -- amounts, ages, classes, counts ------------------------------------------------------------


def test_g4_amount_boundaries_150_149_top_negative_null(engine, spec25) -> None:
    rule = AmountRule(kind="amount", width=150, top=3000)
    got = run(
        engine, spec25, {"a": rule}, {"a": [149, 150, 299, 0, 2999, 3000, 10**7, -1, -500, None]}
    )
    assert got["a"] == [0, 150, 150, 0, 2850, 3000, 3000, -1, -1, None]


def test_g4_amount_breaks_and_top_not_a_multiple_of_width(engine, spec25) -> None:
    got = run(
        engine,
        spec25,
        {
            "b": AmountRule(kind="amount", breaks=[0, 500, 2000]),
            "w": AmountRule(kind="amount", width=400, top=1000),
        },
        {
            "b": [-3, 0, 499, 500, 1999, 2000, 99999, None],
            "w": [0, 399, 400, 799, 800, 999, 1000, 5],
        },
    )
    assert got["b"] == [-1, 0, 0, 500, 500, 2000, 2000, None]
    assert got["w"] == [0, 0, 400, 400, 800, 800, 1000, 0]


def test_g4_amount_classes_have_labels_for_the_codebook() -> None:
    found = classes(AmountRule(kind="amount", width=500, top=20000))
    assert found[0] == (-1, "less than EUR 0")
    assert found[1] == (0, "EUR 0-499")
    assert found[2] == (500, "EUR 500-999")
    assert found[-1] == (20000, "EUR 20,000 or more")
    assert len(found) == 20000 // 500 + 2


amount_rules = st.one_of(
    st.builds(
        lambda w, k: AmountRule(kind="amount", width=w, top=w * k),
        st.integers(150, 5000),
        st.integers(1, 60),
    ),
    st.lists(st.integers(-10_000, 200_000), min_size=1, max_size=12, unique=True).map(
        lambda b: AmountRule(kind="amount", breaks=sorted(b))
    ),
)


@settings(max_examples=40, deadline=None)
@given(amount_rules, st.lists(st.integers(-(10**9), 10**9) | st.none(), min_size=1, max_size=30))
def test_g4_any_amount_falls_in_its_class_and_passes_the_check(
    engine, spec25, rule, amounts
) -> None:
    got = run(engine, spec25, {"a": rule}, {"a": pa.array(amounts, pa.int64())})["a"]
    bounds = [c for c, _ in classes(rule)][1:]
    for amount, lower in zip(amounts, got, strict=True):
        if amount is None:
            assert lower is None
        elif amount < bounds[0]:
            assert lower == bounds[0] - 1
        else:
            i = bounds.index(lower)
            nxt = bounds[i + 1] if i + 1 < len(bounds) else float("inf")
            assert lower <= amount < nxt


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.floats(-5, 200, allow_nan=False).map(lambda f: round(f, 1)),
        min_size=2,
        max_size=8,
        unique=True,
    ),
    st.lists(st.floats(-100, 1000, allow_nan=False) | st.none(), min_size=1, max_size=20),
)
def test_g4_any_number_falls_in_its_numeric_class(engine, spec25, breaks, values) -> None:
    rule = NumericClasses(kind="classes", breaks=sorted(breaks))
    got = run(engine, spec25, {"x": rule}, {"x": pa.array(values, pa.float64())})["x"]
    b = rule.breaks
    for value, lower in zip(values, got, strict=True):
        if value is None:
            assert lower is None
        elif value < b[0]:
            assert lower == b[0] - 1
        else:
            assert lower == max(x for x in b if x <= value)


def test_g4_age_and_numeric_classes_boundaries(engine, spec25) -> None:
    got = run(
        engine,
        spec25,
        {
            "age": AgeRule(kind="age", breaks=[0, 5, 10, 85]),
            "rate": NumericClasses(kind="classes", breaks=[0, 5, 10]),
            "rooms": NumericClasses(kind="classes", breaks=[0, 0.5, 1, 3]),
        },
        {
            "age": [0, 4, 5, 84, 85, 110, None],
            "rate": [0.0, 4.99, 5.0, 9.9, 10.0, 250.0, None],
            "rooms": [0.49, 0.5, 0.99, 1.0, 2.9, 3.0, float("nan")],
        },
    )
    assert got["age"] == [0, 0, 5, 10, 85, 85, None]
    assert got["rate"] == [0, 0, 5, 5, 10, 10, None]
    assert got["rooms"] == [0, 0.5, 0.5, 1, 1, 3, None]
    assert classes(AgeRule(kind="age", breaks=[0, 5, 85]))[1:] == [
        (0, "0-4 years"),
        (5, "5-84 years"),
        (85, "85 years or older"),
    ]


def test_g4_numeric_classes_with_whole_breaks_are_integers(engine, spec25) -> None:
    spec = one_rule_spec(spec25, {"p": NumericClasses(kind="classes", breaks=[0, 25, 50, 75, 100])})
    out = coarsen_dataset(engine, engine.arrow(pa.table({"p": [24, 100, -3]})), spec, "t")
    assert str(out.schema()["p"]) == "int32"
    assert engine.to_arrow(out)["p"].to_pylist() == [0, 100, -1]


def test_g4_top_code_keeps_nulls_and_values_below(engine, spec25) -> None:
    got = run(engine, spec25, {"n": TopCode(kind="top", max=8)}, {"n": [0, 7, 8, 9, 40, None]})
    assert got["n"] == [0, 7, 8, 8, 8, None]


def test_g4_keep_and_pseudonym_are_untouched(engine, spec25) -> None:
    got = run(
        engine,
        spec25,
        {"sex": Keep(kind="keep"), "person_seq": Pseudonym(kind="pseudonym")},
        {"sex": ["1", "2", None], "person_seq": [3, 1, 2]},
    )
    assert got == {"sex": ["1", "2", None], "person_seq": [3, 1, 2]}


# -- countries, places, NACE -------------------------------------------------------------------


def test_g4_country_class15_with_unknown_and_null(engine, spec25) -> None:
    rule = CountryRule(kind="country", classes="class15")
    got = run(
        engine, spec25, {"c": rule}, {"c": ["150", "129", "122", "262", "999", "998", "000", None]}
    )
    assert got["c"][:3] == ["01", "02", "05"]
    assert got["c"][4:] == ["99", "99", "99", None]
    assert len(classes(rule)) == 16 and classes(rule)[-1][0] == "99"


def test_g4_eu4_follows_membership_in_the_reference_year(engine, spec25) -> None:
    rule = {"c": CountryRule(kind="country", classes="eu4")}
    data = {"c": ["150", "112", "146", "262", "999", None]}  # BE, UK, Croatia (2013), Turkey
    assert run(engine, spec25, rule, data, reference_year=2019)["c"] == [
        "01",
        "02",
        "02",
        "03",
        "99",
        None,
    ]
    assert run(engine, spec25, rule, data, reference_year=2012)["c"][2] == "03"
    assert run(engine, spec25, rule, data, reference_year=2020)["c"][1] == "03"
    assert run(engine, spec25, rule, data)["c"][1:3] == ["03", "02"]  # today's EU


def test_g4_eu4_reference_year_from_a_date_column_that_is_dropped(engine, spec25) -> None:
    rule = {"c": CountryRule(kind="country", classes="eu4")}
    data = {
        "c": ["112", "112", "146"],
        "ref": [dt.date(2019, 12, 31), dt.date(2020, 6, 30), dt.date(2012, 1, 1)],
    }
    got = run(engine, spec25, rule, data, reference_year="ref")
    assert got == {"c": ["02", "03", "03"]}


def test_g4_birth5_regions_eu_and_non_eu(engine, spec25) -> None:
    rule = {"b": CountryRule(kind="country", classes="birth5")}
    data = {"b": ["02000", "03000", "04000", "150", "111", "262", "999", None]}
    got = run(engine, spec25, rule, data, reference_year=2021)
    assert got["b"] == ["02", "03", "04", "01", "05", "06", "99", None]


def test_g4_place_region_from_municipalities_of_both_vintages(engine, spec25) -> None:
    rule = {"r": PlaceRule(kind="place", level="region")}
    data = {"r": ["11002", "21004", "62063", "44083", "04000", None]}  # 44083: Deinze (2019)
    got = run(engine, spec25, rule, data)
    assert got["r"] == ["02000", "04000", "03000", "02000", "04000", None]


def test_g4_nace_two_digits_and_sections(engine, spec25) -> None:
    got = run(
        engine,
        spec25,
        {"d": NaceRule(kind="nace", digits=2), "s": NaceRule(kind="nace", digits=1)},
        {"d": ["01110", "45", "86", None], "s": ["c", "10", "45111", None]},
    )
    assert got == {"d": ["01", "45", "86", None], "s": ["C", "C", "G", None]}


# -- the check ---------------------------------------------------------------------------------


def test_g4_check_refuses_an_exact_date(engine, spec25) -> None:
    error = refused(
        engine,
        spec25,
        {"birth_yq": DateRule(kind="date", precision="year_quarter")},
        {"birth_yq": [dt.date(1980, 3, 4), None]},
    )
    assert [(o.column, o.rows) for o in error.offences] == [("birth_yq", 1)]
    assert "1980-03-04" in str(error)


def test_g4_check_refuses_a_date_string_in_a_quarter_column(engine, spec25) -> None:
    error = refused(
        engine,
        spec25,
        {
            "yq": DateRule(kind="date", precision="year_quarter"),
            "ym": DateRule(kind="date", precision="year_month"),
        },
        {"yq": ["2012Q1", "2012-03-04", "2012Q5"], "ym": ["2012-03", "2012-13", "2012-03-04"]},
    )
    assert [(o.column, o.rows) for o in error.offences] == [("yq", 2), ("ym", 2)]


def test_g4_check_refuses_an_amount_outside_the_classes(engine, spec25) -> None:
    rule = AmountRule(kind="amount", width=500, top=20000)
    error = refused(
        engine, spec25, {"wage": rule}, {"wage": [0, 500, 1234, 20000, 25000, -1, None]}
    )
    (offence,) = error.offences
    assert (offence.column, offence.rows, offence.rule) == ("wage", 2, "amount width 500 top 20000")
    assert offence.example in ("1234", "25000")


def test_g4_check_refuses_a_country_code_outside_the_classes(engine, spec25) -> None:
    rule = CountryRule(kind="country", classes="class15")
    error = refused(engine, spec25, {"c": rule}, {"c": ["01", "150", "99", "15"]})
    assert [(o.column, o.rows, o.example) for o in error.offences] == [("c", 1, "'150'")]


def test_g4_check_refuses_a_municipality_code(engine, spec25) -> None:
    rule = PlaceRule(kind="place", level="region")
    error = refused(engine, spec25, {"region": rule}, {"region": ["02000", "11002", "04000"]})
    assert [(o.column, o.rows, o.example) for o in error.offences] == [("region", 1, "'11002'")]


def test_g1_check_refuses_a_column_not_in_the_spec(engine, spec25) -> None:
    spec = one_rule_spec(spec25, {"sex": Keep(kind="keep")})
    table = engine.arrow(pa.table({"sex": ["1"], "insz": [INSZ]}))
    with pytest.raises(MinimisationError, match="insz"):
        check_coarsened(engine, table, spec, "t", party="ksz")


def test_g4_check_lists_every_column_and_never_shows_a_national_number(engine, spec25) -> None:
    error = refused(
        engine,
        spec25,
        {
            "person_seq": Pseudonym(kind="pseudonym"),
            "code": Keep(kind="keep"),
            "n": TopCode(kind="top", max=5),
            "nace": NaceRule(kind="nace", digits=2),
            "when": Keep(kind="keep"),
        },
        {
            "person_seq": [INSZ, INSZ],
            "code": ["1", "2"],
            "n": [5, 6],
            "nace": ["45", INSZ],
            "when": [dt.date(2000, 1, 1), dt.date(2001, 1, 1)],
        },
    )
    assert [(o.column, o.rows) for o in error.offences] == [
        ("person_seq", 2),
        ("n", 1),
        ("nace", 1),
        ("when", 2),
    ]
    assert INSZ not in str(error)
    assert str(error).count("e.g.") == 4


def test_g4_coarsen_refuses_a_raw_column_the_spec_does_not_name(engine, spec25) -> None:
    spec = one_rule_spec(spec25, {"sex": Keep(kind="keep")})
    with pytest.raises(CoarseningError, match="insz"):
        coarsen_dataset(engine, engine.arrow(pa.table({"sex": ["1"], "insz": ["x"]})), spec, "t")


def test_g4_coarsen_refuses_an_amount_given_as_text(engine, spec25) -> None:
    spec = one_rule_spec(spec25, {"a": AmountRule(kind="amount", width=500, top=1000)})
    with pytest.raises(CoarseningError, match="needs a number"):
        coarsen_dataset(engine, engine.arrow(pa.table({"a": ["12"]})), spec, "t")


# -- both shipped specs end to end ---------------------------------------------------------------

ROWS = 8


def synthetic(rule: Coarsen, seed: int) -> pa.Array:
    """``ROWS`` raw values of the right type for ``rule``, one of them null."""

    def pick(values: list) -> list:
        return [None if i == seed % ROWS else values[(i + seed) % len(values)] for i in range(ROWS)]

    if isinstance(rule, Pseudonym):
        return pa.array(range(1, ROWS + 1), pa.int64())
    if isinstance(rule, DateRule):
        days = [dt.date(1950 + 7 * k, 1 + k % 12, 1 + 3 * k) for k in range(10)]
        return pa.array(pick(days), pa.date32())
    if isinstance(rule, CountryRule):
        c = ["150", "112", "122", "262", "354", "999", "998", "129"]
        return pa.array(pick(["02000", "03000", "04000", *c] if rule.classes == "birth5" else c))
    if isinstance(rule, AmountRule):
        return pa.array(pick([-20, 0, 149, 150, 1234, 2999, 3000, 250_000]), pa.int64())
    if isinstance(rule, AgeRule):
        return pa.array(pick([0, 4, 5, 17, 64, 85, 101]), pa.int16())
    if isinstance(rule, NumericClasses):
        return pa.array(pick([0.0, 0.5, 2.5, 24.9, 75.0, 100.0, 1960.0, 2021.0]), pa.float64())
    if isinstance(rule, NaceRule):
        return pa.array(
            pick(["01110", "45", "86", "C", "10"] if rule.digits == 1 else ["01110", "45", "86"])
        )
    if isinstance(rule, PlaceRule):
        return pa.array(pick(["11002", "21004", "62063", "44083"]))
    if isinstance(rule, TopCode):
        return pa.array(pick([0, 1, rule.max, rule.max + 1, 999]), pa.int32())
    return pa.array(pick(["1", "2", "3"]))


@pytest.mark.parametrize("name", ["25-074", "26-050"])
def test_g4_every_dataset_of_the_shipped_specs_coarsens_and_passes_the_check(engine, name) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    for dataset, ds in spec.datasets.items():
        data = {v.name: synthetic(v.coarsen, i) for i, v in enumerate(ds.variables)}
        period = spec.period(dataset)
        if period is not None and data[period].type == pa.date32():  # inside the window
            data[period] = pa.array([None] + [dt.date(2016, 3, 31)] * (ROWS - 1), pa.date32())
        out = coarsen_dataset(
            engine, engine.arrow(pa.table(data)), spec, dataset, reference_year=2016
        )
        check_coarsened(engine, out, spec, dataset, party="pseudonymiser")
        result = engine.to_arrow(out)
        assert result.column_names == spec.variable_names(dataset)
        assert result.num_rows == ROWS
        for v in ds.variables:
            if not isinstance(v.coarsen, Pseudonym):
                assert result[v.name].null_count == 1, (dataset, v.name)
            if codes(v.coarsen) is not None:
                assert set(result[v.name].drop_null().to_pylist()) <= set(codes(v.coarsen))


def test_g4_demobel_takes_the_eu_reference_year_from_its_own_year_column(engine, spec26) -> None:
    ds = spec26.datasets["demobel"]
    data = {v.name: synthetic(v.coarsen, i) for i, v in enumerate(ds.variables)}
    data["year"] = pa.array([dt.date(2019, 12, 31), dt.date(2020, 12, 31)] * (ROWS // 2))
    data["nationality"] = pa.array(["112"] * ROWS)
    raw = engine.arrow(pa.table(data))
    out = coarsen_dataset(engine, raw, spec26, "demobel", reference_year="year")
    check_coarsened(engine, out, spec26, "demobel", party="statbel")
    got = engine.to_arrow(out.select("year", "nationality").distinct().order_by("year"))
    assert got.to_pylist() == [
        {"year": 2019, "nationality": "02"},
        {"year": 2020, "nationality": "03"},
    ]


@given(st.lists(st.integers(1800, 2200), min_size=2, max_size=8, unique=True))
def test_g4_classes_of_years_are_labelled_as_years(years: list[int]) -> None:
    """Codebook labels of classes of calendar years have no thousands separator (issue 15:
    "under 1,900"); other classes keep it."""
    rule = NumericClasses(kind="classes", breaks=sorted(years))
    labels = " ".join(label for _, label in classes(rule))
    assert "," not in labels
    assert all(str(y) in labels for y in years)
    amounts = NumericClasses(kind="classes", breaks=[0, 5000, 25000])
    assert "5,000 to under 25,000" in [label for _, label in classes(amounts)]
