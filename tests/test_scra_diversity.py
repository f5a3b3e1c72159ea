"""G5: l-diversity as a threshold on known sensitive values and its treatment (issue 19
item 2): after treatment an independent recount (plain Python, and a DuckDB GROUP BY over
the treated table) finds no cell below l and no new cell below k; a hand-made case with a
known minimal treatment; the join of a sensitive variable from another dataset."""

from __future__ import annotations

from collections import defaultdict

import duckdb
import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings

from sluis.errors import SluisError
from sluis.scra.diversity import (
    apply_ldiversity,
    cells_below_l,
    known_l_diversity,
    treat_ldiversity,
)
from sluis.scra.diversity_join import sensitive_onto, withheld_rows
from sluis.scra.frequencies import encode_keys, frequencies
from sluis.scra.ldiversity import distinct_l_diversity

STAR = "*suppressed*"


def _table(rows: list[tuple], names: list[str]) -> pa.Table:
    return pa.table({name: [r[i] for r in rows] for i, name in enumerate(names)})


def _recount(
    table: pa.Table,
    keys: list[str],
    sensitive: str,
    period: str | None,
    star: np.ndarray,
) -> dict[tuple, list[int]]:
    """Rows per cell, counted in plain Python: a suppressed key shows as STAR (its own
    category, distinct from a value missing before treatment), within the period."""
    data = table.to_pydict()
    cells: dict[tuple, list[int]] = defaultdict(list)
    for i in range(table.num_rows):
        shown = tuple(STAR if star[i, j] else data[key][i] for j, key in enumerate(keys))
        cells[shown + ((data[period][i],) if period else ())].append(i)
    return cells


def _disclosing(values: list[object], l_min: int) -> bool:
    known = {v for v in values if v is not None}
    return 0 < len(known) < l_min


def _strategy_case():
    @st.composite
    def case(draw):
        n = draw(st.integers(1, 40))
        n_keys = draw(st.integers(1, 3))
        keys = [f"k{j}" for j in range(n_keys)]
        cols = {
            key: draw(st.lists(st.sampled_from([1, 2, 3, None]), min_size=n, max_size=n))
            for key in keys
        }
        already = np.array(
            draw(st.lists(st.booleans(), min_size=n * n_keys, max_size=n * n_keys)), dtype=bool
        ).reshape(n, n_keys)
        for j, key in enumerate(keys):  # the table holds the keys as treated for k
            cols[key] = [None if already[i, j] else v for i, v in enumerate(cols[key])]
        cols["s"] = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
        period = draw(st.sampled_from([None, "year", "k0"]))
        if period == "year":
            cols["year"] = draw(st.lists(st.sampled_from([2020, 2021]), min_size=n, max_size=n))
        if period == "k0":  # the period is one of the keys: never suppressed by anyone
            already[:, 0] = False
            cols["k0"] = draw(st.lists(st.sampled_from([2020, 2021]), min_size=n, max_size=n))
        table = pa.table(
            {
                name: pa.array(v, pa.int64() if name != "s" else pa.string())
                for name, v in cols.items()
            }
        )
        fixed = draw(st.sampled_from([[], keys[-1:]]))  # a pinned key
        return table, keys, period, already, draw(st.integers(2, 3)), draw(st.integers(1, 3)), fixed

    return case()


@settings(max_examples=300, deadline=None)
@given(_strategy_case())
def test_g5_ldiversity_treatment_recount_finds_no_cell_below_l_and_keeps_k(case) -> None:
    table, keys, period, already, l_min, k, fixed = case
    out = treat_ldiversity(
        table,
        keys=keys,
        sensitive="s",
        l=l_min,
        k=k,
        period=period,
        already_suppressed=already,
        fixed=fixed,
    )
    new, withheld = out.keys_suppressed, out.sensitive_suppressed
    star = already | new
    assert not (new & already).any()  # new values only; the caller's stay suppressed
    for name in [period, *fixed]:
        if name in keys:  # the period and a pinned key are never suppressed
            assert not new[:, keys.index(name)].any()
    data = table.to_pydict()
    sens = data["s"]
    # a key is suppressed only where it shows a value; a value withheld only where known
    for j, key in enumerate(keys):
        assert all(data[key][i] is not None for i in np.flatnonzero(new[:, j]))
    assert all(sens[i] is not None for i in np.flatnonzero(withheld))
    treated = apply_ldiversity(table, out, keys=keys, sensitive="s")
    assert treated.schema == table.schema and treated.num_rows == table.num_rows
    after_s = treated.column("s").to_pylist()
    # independent recount, suppressed values as their own category
    cells_after = _recount(table, keys, "s", period, star)
    for rows in cells_after.values():
        assert not _disclosing([after_s[i] for i in rows], l_min)
    # k: a cell below k after treatment is a cell that was there, unchanged, before
    before = {tuple(rows) for rows in _recount(table, keys, "s", period, already).values()}
    for rows in cells_after.values():
        assert len(rows) >= k or tuple(rows) in before
    # a plain GROUP BY over the treated table (suppressed and missing both null) agrees
    cols = ", ".join(keys + ([period] if period and period not in keys else []))
    recount = duckdb.sql(
        f"select count(distinct s) as d, count(s) as c from treated group by {cols}"
    ).fetchall()
    assert all(c == 0 or d >= l_min for d, c in recount)
    # the counts the treatment reports
    assert out.cells_below_after == 0
    assert out.per_variable["s"] == int(withheld.sum())
    assert sum(out.per_variable[key] for key in keys) == int(new.sum())
    assert out.explanations.num_rows == out.total
    assert out.cells_below_before == sum(
        _disclosing([sens[i] for i in rows], l_min)
        for rows in _recount(table, keys, "s", period, already).values()
    )


@settings(max_examples=60, deadline=None)
@given(_strategy_case(), st.randoms(use_true_random=False))
def test_g5_ldiversity_treatment_is_deterministic_and_follows_the_rows(case, rnd) -> None:
    table, keys, period, already, l_min, k, fixed = case
    kwargs = dict(keys=keys, sensitive="s", l=l_min, k=k, period=period, fixed=fixed)
    one = treat_ldiversity(table, already_suppressed=already, **kwargs)
    two = treat_ldiversity(table, already_suppressed=already, **kwargs)
    assert np.array_equal(one.keys_suppressed, two.keys_suppressed)
    assert np.array_equal(one.sensitive_suppressed, two.sensitive_suppressed)
    assert one.explanations.equals(two.explanations)
    # the decision is per cell: shuffling the rows shuffles the result the same way
    perm = np.array(rnd.sample(range(table.num_rows), table.num_rows), dtype=np.int64)
    moved = treat_ldiversity(table.take(pa.array(perm)), already_suppressed=already[perm], **kwargs)
    assert np.array_equal(moved.keys_suppressed, one.keys_suppressed[perm])
    assert np.array_equal(moved.sensitive_suppressed, one.sensitive_suppressed[perm])


def test_g5_ldiversity_hand_made_minimal_treatment() -> None:
    """l=2, k=2. (M,30) discloses 'a' for both records, all known: withholding costs 2 and
    suppressing age costs 2, and (M,*) already holds b and c, so age is suppressed (a tie
    goes to the key: the research variable stays); suppressing sex would leave (*,30)
    alone. (F,40) has 2 known of 3: withholding (2) beats pooling (3). (F,50) holds two
    values, (F,60) no known value: both pass and are not touched."""
    rows = [
        ("M", 30, "a"),  # 0
        ("M", 30, "a"),  # 1
        ("M", None, "b"),  # 2 age suppressed by local suppression
        ("M", None, "c"),  # 3
        ("F", 40, "a"),  # 4
        ("F", 40, None),  # 5
        ("F", 40, "a"),  # 6
        ("F", 50, "b"),  # 7
        ("F", 50, "c"),  # 8
        ("F", 60, None),  # 9
        ("F", 60, None),  # 10
    ]
    table = _table(rows, ["sex", "age", "reason"])
    already = np.zeros((len(rows), 2), dtype=bool)
    already[[2, 3], 1] = True
    out = treat_ldiversity(
        table, keys=["sex", "age"], sensitive="reason", l=2, k=2, already_suppressed=already
    )
    assert np.flatnonzero(out.keys_suppressed[:, 1]).tolist() == [0, 1]
    assert not out.keys_suppressed[:, 0].any()
    assert np.flatnonzero(out.sensitive_suppressed).tolist() == [4, 6]
    assert out.per_variable == {"sex": 0, "age": 2, "reason": 2}
    assert (out.cells_below_before, out.cells_below_after, out.total) == (2, 0, 4)
    explained = out.explanations.to_pylist()
    assert [(e["row"], e["variable"], e["cell_size"], e["distinct_before"]) for e in explained] == [
        (0, "age", 2, 1),
        (1, "age", 2, 1),
        (4, "reason", 3, 1),
        (6, "reason", 3, 1),
    ]
    assert "age suppressed to pool" in explained[0]["rule"] and "l=2" in explained[0]["rule"]
    assert "known reason values withheld (pooling by a key would change 3" in explained[2]["rule"]
    # without the caller's mask the two nulls are a missing age, not a suppressed one: the
    # (M,30) records would pool with nothing, so they are withheld
    plain = treat_ldiversity(table, keys=["sex", "age"], sensitive="reason", l=2, k=2)
    assert np.flatnonzero(plain.sensitive_suppressed).tolist() == [0, 1, 4, 6]


def test_g5_ldiversity_pools_failing_cells_together_and_respects_k() -> None:
    """Two failing cells that each hold one value pool into one new cell that holds two,
    when it keeps k records; with a larger k the pool is refused and the values withheld."""
    rows = [("M", 20, "a"), ("M", 20, "a"), ("M", 21, "b"), ("M", 21, "b")]
    table = _table(rows, ["sex", "age", "reason"])
    out = treat_ldiversity(table, keys=["sex", "age"], sensitive="reason", l=2, k=4)
    assert out.keys_suppressed[:, 1].all() and not out.sensitive_suppressed.any()
    refused = treat_ldiversity(table, keys=["sex", "age"], sensitive="reason", l=2, k=5)
    assert not refused.keys_suppressed.any() and refused.sensitive_suppressed.all()
    assert "no key pools it" in refused.explanations.column("rule")[0].as_py()


def test_g5_ldiversity_pool_partners_that_choose_otherwise() -> None:
    """(M,20) would pool with (M,21) on age, but (M,21) has an unknown value and is
    cheaper to withhold; the pool then fails, so (M,20) is withheld as well."""
    rows = [("M", 20, "a"), ("M", 20, "a"), ("M", 21, "b"), ("M", 21, None)]
    table = _table(rows, ["sex", "age", "reason"])
    out = treat_ldiversity(table, keys=["sex", "age"], sensitive="reason", l=2, k=2)
    assert not out.keys_suppressed.any()
    assert out.sensitive_suppressed.tolist() == [True, True, True, False]
    assert out.cells_below_after == 0


def test_g5_ldiversity_cells_are_taken_within_the_period() -> None:
    """The same keys in two years are two cells; the period is never suppressed."""
    rows = [("M", 2020, "a"), ("M", 2020, "a"), ("M", 2021, "b"), ("M", 2021, "b")]
    table = _table(rows, ["sex", "year", "reason"])
    assert cells_below_l(table, keys=["sex"], sensitive="reason", l=2) == 0
    assert cells_below_l(table, keys=["sex"], sensitive="reason", l=2, period="year") == 2
    out = treat_ldiversity(table, keys=["sex", "year"], sensitive="reason", l=2, k=2, period="year")
    assert not out.keys_suppressed[:, 1].any()
    assert out.cells_below_after == 0


def test_g5_known_l_diversity_does_not_count_a_withheld_value() -> None:
    """sdcMicro's distinct l-diversity counts a missing value as a value, so one withheld
    record makes a cell that discloses every other member's value look diverse; the
    threshold's measure does not, and a cell with no known value passes."""
    table = _table(
        [("M", "a"), ("M", "a"), ("M", None), ("F", None), ("F", None)], ["sex", "reason"]
    )
    codes = encode_keys(table, ["sex"])
    freq = frequencies(codes)
    sdc = distinct_l_diversity(
        freq.cell, freq.n_cells, encode_keys(table, ["reason"]).codes[0], "reason", 2
    )
    assert sdc.cells_below == 1  # F: one distinct "value" (missing)
    known = known_l_diversity(table, keys=["sex"], sensitive="reason", l=2)
    assert (known.cells, known.cells_below, known.records_below, known.min_l) == (2, 1, 3, 1)


def test_g5_ldiversity_never_suppresses_a_fixed_key() -> None:
    """A pinned key (25/074's first_registration_yq) is never a pooling candidate. Free,
    the two one-record cells pool by registration into (*, 20) with a and b; pinned, the
    pool by age would hold one value, so the two values are withheld."""
    rows = [(2001, 20, "a"), (2002, 20, "b"), (2003, 21, "a"), (2003, 21, "b")]
    table = _table(rows, ["registration", "age", "reason"])
    keys = ["registration", "age"]
    free = treat_ldiversity(table, keys=keys, sensitive="reason", l=2, k=2)
    assert free.keys_suppressed.tolist() == [[True, False], [True, False], [False] * 2, [False] * 2]
    assert not free.sensitive_suppressed.any()
    pinned = treat_ldiversity(
        table, keys=keys, sensitive="reason", l=2, k=2, fixed=["registration"]
    )
    assert not pinned.keys_suppressed.any()
    assert pinned.sensitive_suppressed.tolist() == [True, True, False, False]
    with pytest.raises(SluisError) as err:
        treat_ldiversity(table, keys=keys, sensitive="reason", l=2, k=2, fixed=["year"])
    assert err.value.column == "year"


def test_g5_ldiversity_refuses_bad_input() -> None:
    table = _table([("M", "a")], ["sex", "reason"])
    with pytest.raises(SluisError) as err:
        treat_ldiversity(table, keys=["sex", "age"], sensitive="reason", l=2, k=2)
    assert err.value.rule == "scra-ldiversity-column" and err.value.column == "age"
    with pytest.raises(SluisError) as err:
        treat_ldiversity(
            table,
            keys=["sex"],
            sensitive="reason",
            l=2,
            k=2,
            already_suppressed=np.zeros((1, 2), bool),
        )
    assert err.value.rule == "scra-ldiversity-mask"
    with pytest.raises(SluisError) as err:
        treat_ldiversity(table, keys=["sex", "reason"], sensitive="reason", l=2, k=2)
    assert err.value.rule == "scra-ldiversity-column"


def _demobel_income() -> tuple[pa.Table, pa.Table]:
    demobel = pa.table(
        {
            "person_seq": pa.array([1, 1, 2, 3, 4, None, 2], pa.int64()),
            "year": pa.array([2020, 2021, 2020, 2020, 2020, 2020, 2020], pa.int16()),
        }
    )
    income = pa.table(
        {
            "person_seq": pa.array([2, 1, 3, 1, 9], pa.int32()),
            "year": pa.array([2020, 2020, 2020, 2021, 2020], pa.int64()),
            "poverty_risk": pa.array(["yes", "no", None, "yes", "no"]),
        }
    )
    return demobel, income


def test_g5_sensitive_onto_joins_by_person_and_year() -> None:
    """Rows without a match (person 4, a null person) get null, two key rows may take the
    same sensitive row, and the join columns' integer widths may differ."""
    demobel, income = _demobel_income()
    values = sensitive_onto(demobel, income, on=["person_seq", "year"], sensitive="poverty_risk")
    assert values.to_pylist() == ["no", "yes", "yes", None, None, None, "yes"]


def test_g5_withheld_rows_maps_back_exactly() -> None:
    demobel, income = _demobel_income()
    on = ["person_seq", "year"]
    withheld = np.array([True, False, False, True, True, True, False])
    back = withheld_rows(demobel, income, on=on, withheld=withheld)
    assert back.tolist() == [False, True, True, False, False]  # (1,2020) and (3,2020)
    # several key rows to one sensitive row: either withheld withholds it
    assert withheld_rows(demobel, income, on=on, withheld=np.eye(7, dtype=bool)[6]).tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]
    # written back and joined again, the withheld key rows have no value
    treated = income.set_column(
        2, "poverty_risk", pa.array(np.where(back, None, income.column(2).to_pylist()).tolist())
    )
    again = sensitive_onto(demobel, treated, on=on, sensitive="poverty_risk").to_pylist()
    assert all(again[i] is None for i in np.flatnonzero(withheld))


def test_g5_sensitive_join_refuses_duplicates() -> None:
    demobel, income = _demobel_income()
    twice = pa.concat_tables([income, income.slice(1, 1)])
    for call in (
        lambda: sensitive_onto(demobel, twice, on=["person_seq", "year"], sensitive="poverty_risk"),
        lambda: withheld_rows(
            demobel, twice, on=["person_seq", "year"], withheld=np.zeros(7, bool)
        ),
    ):
        with pytest.raises(SluisError) as err:
            call()
        assert err.value.rule == "scra-ldiversity-join-not-unique"
        assert err.value.row == 1 and "person_seq, year" in str(err.value)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_g5_ldiversity_across_datasets_recount_after_writing_back(data) -> None:
    """26/050's shape: the sensitive variable on income, the key set on demobel (one row
    per person and year). Joined, treated, written back to income by ``withheld_rows``;
    then an independent SQL recount joins the treated income onto the treated demobel
    again and finds no cell below l."""
    n = data.draw(st.integers(1, 30))
    persons = data.draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    years = data.draw(st.lists(st.sampled_from([2020, 2021]), min_size=n, max_size=n))
    pairs = sorted(set(zip(persons, years, strict=True)))  # demobel: unique person-year
    sex = data.draw(st.lists(st.sampled_from(["1", "2"]), min_size=len(pairs), max_size=len(pairs)))
    age = data.draw(
        st.lists(st.sampled_from([0, 20, 40]), min_size=len(pairs), max_size=len(pairs))
    )
    demobel = pa.table(
        {
            "person_seq": pa.array([p for p, _ in pairs], pa.int64()),
            "year": pa.array([y for _, y in pairs], pa.int16()),
            "sex": sex,
            "age_class": pa.array(age, pa.int64()),
        }
    )
    covered = data.draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    kept = [pair for pair, c in zip(pairs, covered, strict=True) if c] + [(99, 2020)]
    risk = data.draw(
        st.lists(st.sampled_from(["yes", "no", None]), min_size=len(kept), max_size=len(kept))
    )
    income = pa.table(
        {
            "person_seq": pa.array([p for p, _ in kept], pa.int32()),
            "year": pa.array([y for _, y in kept], pa.int64()),
            "poverty_risk": pa.array(risk, pa.string()),
        }
    )
    on, keys = ["person_seq", "year"], ["year", "sex", "age_class"]
    joined = demobel.append_column(
        "poverty_risk", sensitive_onto(demobel, income, on=on, sensitive="poverty_risk")
    )
    out = treat_ldiversity(joined, keys=keys, sensitive="poverty_risk", l=2, k=2, period="year")
    back = withheld_rows(demobel, income, on=on, withheld=out.sensitive_suppressed)
    assert int(back.sum()) == int(out.sensitive_suppressed.sum())  # one to one here
    treated_demobel = apply_ldiversity(  # noqa: F841 (DuckDB reads it by name)
        demobel, out, keys=keys, sensitive="poverty_risk"
    )
    treated_income = income.set_column(
        2,
        "poverty_risk",
        pa.array(
            [None if b else v for b, v in zip(back, income.column(2).to_pylist(), strict=True)],
            pa.string(),
        ),
    )
    recount = duckdb.sql(
        """select count(distinct i.poverty_risk) as d, count(i.poverty_risk) as c
           from treated_demobel d left join treated_income i
             on d.person_seq = i.person_seq and d.year = i.year
           group by d.year, d.sex, d.age_class"""
    ).fetchall()
    assert all(c == 0 or d >= 2 for d, c in recount)
    assert treated_income.num_rows == income.num_rows
