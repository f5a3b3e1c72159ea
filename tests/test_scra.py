"""G5 small-cell risk analysis: sdcMicro's reference figures reproduced exactly, hand-computed
cases, and hypothesis properties of the measures and of local suppression."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings

from sluis.errors import SluisError
from sluis.scra import (
    distinct_l_diversity,
    encode_keys,
    frequencies,
    global_recode,
    global_risk,
    household_risk,
    individual_risk,
    local_suppression,
    longitudinal_risk,
    suda2,
    wildcard_frequencies,
)
from sluis.scra.household import household_ids
from sluis.scra.reference import reference_microdata
from sluis.scra.suppress import apply_suppression, explanations, strict_frequencies

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "scra"
K8 = [
    "birth_year",
    "sex",
    "country_class",
    "region",
    "arrival_quarter",
    "naturalised",
    "naturalisation_year",
    "household_size",
]
K4 = K8[:4]


def generate_reference(n: int, out: Path) -> Path:
    """``microdata_N.parquet`` from the shared generator (its chunks, assembled with pyarrow
    because the generator's own ``generate`` needs pandas, which sluis does not use)."""
    table = reference_microdata(REFERENCE / "gen_microdata.py", n)
    path = out / f"microdata_{n}.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="session")
def reference_100k(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The 100,000-record reference file, naturalisation_year missing recoded to 0."""
    if not (REFERENCE / "gen_microdata.py").exists():
        pytest.skip(f"G5 reference data generator not found at {REFERENCE}")
    path = generate_reference(100_000, tmp_path_factory.mktemp("scra_ref"))
    table = pq.read_table(path)
    index = table.schema.get_field_index("naturalisation_year")
    return table.set_column(
        index, "naturalisation_year", pc.fill_null(table["naturalisation_year"], 0)
    )


REFERENCE_RISK = [
    # N, keys, cells, viol k=2, k=3, k=5, global_risk, global_risk_ER
    (10_000, K8, 9_920, 9_841, 9_997, 10_000, 0.457581183366754, 4575.81183366754),
    (100_000, K8, 93_200, 87_445, 97_233, 99_815, 0.424460467974899, 42446.0467974899),
    (100_000, K4, 4_376, 555, 1_243, 3_156, 0.0133368773778996, 1333.68773778997),
]


@pytest.mark.parametrize(
    ("n", "keys", "cells", "v2", "v3", "v5", "risk", "er"),
    REFERENCE_RISK,
    ids=["10k-K8", "100k-K8", "100k-K4"],
)
def test_g5_reference_risk_figures(
    reference_100k: pa.Table,
    n: int,
    keys: list[str],
    cells: int,
    v2: int,
    v3: int,
    v5: int,
    risk: float,
    er: float,
) -> None:
    """G5: fk, records below k and indivRisk(approx, survey) as sdcMicro's table."""
    table = reference_100k.slice(0, n)  # the 10k file is a prefix of the 100k file
    freq = frequencies(encode_keys(table, keys), table["weight"].to_numpy())
    assert freq.n_cells == cells
    assert [freq.records_below(k) for k in (2, 3, 5)] == [v2, v3, v5]
    result = global_risk(individual_risk(freq.fk, freq.Fk))
    assert result.global_risk == pytest.approx(risk, rel=1e-9)
    assert result.expected_reidentifications == pytest.approx(er, rel=1e-9)


def test_g5_reference_suda2_100k_k4(reference_100k: pa.Table) -> None:
    """G5: SUDA2 and DIS scores as sdcMicro's suda2 defaults on 100k records, K4."""
    result = suda2(encode_keys(reference_100k, K4))
    assert result.records_with_score == 555
    assert result.score_sum == 586
    assert result.score_max == 2
    assert result.records_dis_above(0.1) == 0
    assert result.dis_sum == pytest.approx(4.65468236931065, rel=1e-9)


def test_g5_reference_local_suppression_100k_k4(reference_100k: pa.Table) -> None:
    """G5: local suppression to k=5 beats sdcMicro's 3,156 values and leaves no record below
    k under the same (wildcard) semantics; deterministic."""
    keys = encode_keys(reference_100k, K4)
    result = local_suppression(keys, 5, semantics="sdcmicro")
    assert result.total == 315 <= 3_156
    assert result.order[0] == "birth_year"
    fk, _ = wildcard_frequencies(keys, result.suppressed)
    assert int((fk < 5).sum()) == 0
    again = local_suppression(keys, 5, semantics="sdcmicro")
    assert np.array_equal(again.suppressed, result.suppressed)
    assert sum(result.per_variable.values()) == result.total
    # under strict counting (a suppressed value is its own category) every record that was
    # below k still is: the wildcard semantics counts them safe through their neighbours
    strict_fk, _, _ = strict_frequencies(keys, result.suppressed)
    assert int((strict_fk < 5).sum()) == 3_156


def test_g5_reference_strict_suppression_100k_k4(reference_100k: pa.Table) -> None:
    """G5: strict local suppression to k=5 on 100k, K4 leaves 0 records below k when a
    suppressed value is its own category, with 3,161 values (every one of the 3,156
    records below k needs one; 5 more complete a group), deterministically."""
    keys = encode_keys(reference_100k, K4)
    result = local_suppression(keys, 5, semantics="strict")
    fk, _, _ = strict_frequencies(keys, result.suppressed)
    assert int((fk < 5).sum()) == 0
    assert result.total == 3_161 and result.per_variable["birth_year"] == 3_161
    wild_fk, _ = wildcard_frequencies(keys, result.suppressed)
    assert int((wild_fk < 5).sum()) == 0
    again = local_suppression(keys, 5, semantics="strict")
    assert np.array_equal(again.suppressed, result.suppressed)


def test_g5_local_suppression_100k_k8_leaves_no_violation(reference_100k: pa.Table) -> None:
    """G5: K8 at 100k (sdcMicro did not finish in 600 s): 0 violations of k=5 after."""
    keys = encode_keys(reference_100k, K8)
    for semantics in ("sdcmicro", "strict"):
        result = local_suppression(keys, 5, semantics=semantics)
        fk, _ = wildcard_frequencies(keys, result.suppressed)
        assert int((fk < 5).sum()) == 0
        assert result.total < 8 * 100_000
    strict_fk, _, _ = strict_frequencies(keys, result.suppressed)
    assert int((strict_fk < 5).sum()) == 0


# --- small hand-computed cases ---------------------------------------------------------


def test_g5_individual_risk_by_hand() -> None:
    """G5: the four branches of indivRisk(approx, survey) computed by hand."""
    fk = np.array([1, 2, 3, 2])
    Fk = np.array([4.0, 8.0, 12.0, 2.0])
    pk = 0.25
    odds = pk / (1 - pk)
    expected = [
        odds * math.log(4),
        odds - odds**2 * math.log(4),
        pk / (3 - (1 - pk)),
        1 / 2,  # fk == Fk
    ]
    assert individual_risk(fk, Fk) == pytest.approx(expected, rel=1e-12)


def test_g5_missing_key_value_is_its_own_category() -> None:
    """G5: a missing key value is a category, not a wildcard (before treatment)."""
    table = pa.table({"a": [1, None, None, 1], "b": ["x", "x", "x", "x"]})
    freq = frequencies(encode_keys(table, ["a", "b"]))
    assert freq.fk.tolist() == [2, 2, 2, 2]
    assert freq.n_cells == 2


def test_g5_household_risk_by_hand() -> None:
    """G5: household risk 1 - prod(1 - r_i), assigned to every member."""
    risk = np.array([0.5, 0.2, 0.1, 1.0, 0.3])
    hh = household_ids(pa.chunked_array([pa.array(["h1", "h1", "h2", "h3", None])]))
    result = household_risk(risk, hh)
    expected = [1 - 0.5 * 0.8, 1 - 0.5 * 0.8, 0.1, 1.0, 0.3]
    assert result.risk == pytest.approx(expected)
    assert result.n_households == 4  # the record without a household is one of its own
    assert result.expected_households == pytest.approx(0.6 + 0.1 + 1.0 + 0.3)


def test_g5_suda2_by_hand() -> None:
    """G5: MSUs of a 4-record, 3-key table worked out on paper."""
    table = pa.table({"a": [1, 1, 2, 2], "b": [1, 2, 1, 1], "c": [1, 1, 1, 2]})
    # record 0 (1,1,1): unique on {a,b}; record 1 (1,2,1): {b}; record 2 (2,1,1): {a,c};
    # record 3 (2,1,2): {c}.  Scores with M=3: size 1 -> 2! = 2, size 2 -> 1! = 1.
    result = suda2(encode_keys(table, ["a", "b", "c"]))
    assert result.score.tolist() == [1.0, 2.0, 1.0, 2.0]
    assert result.msu_per_size.tolist() == [2, 2, 0]


def test_g5_l_diversity_by_hand() -> None:
    """G5: distinct l-diversity of a sensitive variable per key cell."""
    table = pa.table({"k": [1, 1, 1, 2, 2], "s": ["x", "y", "x", "z", "z"]})
    keys = encode_keys(table, ["k"])
    freq = frequencies(keys)
    sens = encode_keys(table, ["s"]).codes[0]
    result = distinct_l_diversity(freq.cell, freq.n_cells, sens, "s", l_min=2)
    assert result.per_record.tolist() == [2, 2, 2, 1, 1]
    assert (result.min_l, result.cells_below, result.records_below) == (1, 1, 2)


def test_g5_longitudinal_risk_by_hand() -> None:
    """G5: windows of 2 consecutive quarters; shares per calendar window; gaps break one."""
    rows = [
        # person, quarter, state
        ("p1", "2012Q1", "A"), ("p1", "2012Q2", "B"), ("p1", "2012Q3", "B"),
        ("p2", "2012Q1", "A"), ("p2", "2012Q2", "B"), ("p2", "2012Q3", "C"),
        ("p3", "2012Q1", "A"), ("p3", "2012Q3", "B"),
    ]  # fmt: skip
    table = pa.table(
        {
            "person": [r[0] for r in rows],
            "quarter": [r[1] for r in rows],
            "state": [r[2] for r in rows],
        }
    )
    result = longitudinal_risk(
        table, person="person", quarter="quarter", states=["state"], m=2, k=2
    )
    # windows: 2012Q1 p1 AB, p2 AB (share 2); 2012Q2 p1 BB, p2 BC (share 1 each); p3 none
    assert result.windows == 4
    assert result.windows_at_risk == 2
    assert result.persons == 3
    assert result.persons_with_window == 2
    assert result.persons_at_risk == 2
    assert result.records_at_risk == 4  # 2012Q2 and 2012Q3 of p1 and p2
    assert [(q.quarter, q.windows, q.windows_at_risk) for q in result.per_quarter] == [
        ("2012Q1", 2, 0),
        ("2012Q2", 2, 2),
    ]


def test_g5_global_recode_coarsens_and_refuses_gaps() -> None:
    """G5: recoding along a hierarchy; an unmapped value is an error, never passed on."""
    table = pa.table({"y": [1971, 1975, 1983, None]})
    out = global_recode(table, "y", {1971: 1970, 1975: 1970, 1983: 1980})
    assert out["y"].to_pylist() == [1970, 1970, 1980, None]
    with pytest.raises(SluisError, match="no parent for 1983"):
        global_recode(table, "y", {1971: 1970, 1975: 1970})


def test_g5_suppression_explanations_and_missing_code() -> None:
    """G5: each suppression is explained; the treated table marks suppressed values."""
    table = pa.table({"rid": [10, 11, 12, 13], "a": [1, 1, 1, 2], "b": [5, 5, 5, 5]})
    keys = encode_keys(table, ["a", "b"])
    result = local_suppression(keys, 2, semantics="sdcmicro")
    assert result.total == 1 and result.suppressed[3].tolist() == [True, False]
    explained = explanations(keys, result, table["rid"].combine_chunks()).to_pylist()
    assert explained[0]["record"] == 13
    assert explained[0]["variable"] == "a"
    assert explained[0]["value"] == "2"
    assert explained[0]["cell"] == "a=2, b=5"
    assert explained[0]["fk"] == 1
    treated = apply_suppression(table, keys, result)
    assert treated["a"].to_pylist() == [1, 1, 1, None]
    assert treated["sdc_suppressed"].to_pylist() == ["", "", "", "a"]


def test_g5_suppression_cannot_reach_k_with_too_few_records() -> None:
    """G5: fewer records than k is a user error, not a silent failure."""
    keys = encode_keys(pa.table({"a": [1, 2]}), ["a"])
    with pytest.raises(SluisError, match="cannot reach k=5"):
        local_suppression(keys, 5)


# --- properties ---------------------------------------------------------------------------


@st.composite
def key_tables(draw: st.DrawFn, max_keys: int = 4, max_rows: int = 60) -> pa.Table:
    n_keys = draw(st.integers(1, max_keys))
    n = draw(st.integers(1, max_rows))
    columns = {}
    for j in range(n_keys):
        card = draw(st.integers(1, 5))
        values = draw(st.lists(st.one_of(st.none(), st.integers(0, card)), min_size=n, max_size=n))
        columns[f"k{j}"] = pa.array(values, pa.int64())
    return pa.table(columns)


@settings(max_examples=60, deadline=None)
@given(key_tables(), st.lists(st.floats(1, 10), min_size=60, max_size=60))
def test_g5_property_frequencies_and_risk(table: pa.Table, weights: list[float]) -> None:
    """G5: fk as brute force; sum of 1/fk = number of cells; with survey weights (>= 1)
    the risk is in (0, 1]."""
    keys = encode_keys(table, table.column_names)
    w = np.array(weights[: table.num_rows])
    freq = frequencies(keys, w)
    assert freq.cell_sizes().sum() == table.num_rows
    assert np.isclose((1.0 / freq.fk).sum(), freq.n_cells)
    brute = [
        sum(all(a == b for a, b in zip(r, s, strict=True)) for s in zip(*keys.codes, strict=True))
        for r in zip(*keys.codes, strict=True)
    ]
    assert freq.fk.tolist() == brute
    risk = individual_risk(freq.fk, freq.Fk)
    assert np.all((risk > 0) & (risk <= 1.0 + 1e-12))


def _brute_force_msu(rows: list[tuple[int, ...]], m: int) -> list[float]:
    scores = []
    m_score = max(m, 3)
    for r in rows:
        unique = {
            s: sum(all(o[j] == r[j] for j in s) for o in rows) == 1
            for size in range(1, m + 1)
            for s in itertools.combinations(range(m), size)
        }
        score = 0.0
        for s, u in unique.items():
            if u and all(not unique.get(t, False) for t in itertools.combinations(s, len(s) - 1)):
                score += math.factorial(m_score - len(s))
        scores.append(score)
    return scores


@settings(max_examples=40, deadline=None)
@given(key_tables(max_keys=4, max_rows=25), st.booleans())
def test_g5_property_suda2_matches_brute_force(table: pa.Table, packed: bool) -> None:
    """G5: the SUDA2 search finds exactly the minimal sample uniques (cells packed in one
    word and in the general layout)."""
    keys = encode_keys(table, table.column_names)
    result = suda2(keys, _packed=packed)
    rows = list(zip(*[c.tolist() for c in keys.codes], strict=True))
    assert result.score.tolist() == _brute_force_msu(rows, len(keys.names))
    assert np.all(result.dis_score[result.score == 0] == 0)


@settings(max_examples=60, deadline=None)
@given(key_tables(max_rows=80), st.integers(2, 5))
def test_g5_property_suppression_guarantees_k(table: pa.Table, k: int) -> None:
    """G5: after suppression no record is below k (wildcard semantics, checked by brute
    force), non-suppressed values are unchanged, and the result is deterministic."""
    if table.num_rows < k:
        return
    keys = encode_keys(table, table.column_names)
    result = local_suppression(keys, k, semantics="sdcmicro")
    fk, _ = wildcard_frequencies(keys, result.suppressed)
    codes = np.stack(keys.codes, axis=1)
    sup = result.suppressed
    brute = [
        sum(
            all(codes[i, j] == codes[o, j] or sup[i, j] or sup[o, j] for j in range(codes.shape[1]))
            for o in range(len(codes))
        )
        for i in range(len(codes))
    ]
    assert fk.tolist() == brute
    assert min(brute) >= k
    treated = apply_suppression(table, keys, result)
    for j, name in enumerate(keys.names):
        kept = ~sup[:, j]
        before = np.array(table[name].to_pylist(), dtype=object)[kept]
        after = np.array(treated[name].to_pylist(), dtype=object)[kept]
        assert before.tolist() == after.tolist()
        assert all(v is None for v in np.array(treated[name].to_pylist(), dtype=object)[~kept])
    again = local_suppression(keys, k, semantics="sdcmicro")
    assert np.array_equal(again.suppressed, sup)
