"""G5: the spec-driven small-cell risk analysis on a staged extract (what the flow calls),
strict suppression semantics, and ``sluis scra --spec --staged``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

from sluis.errors import SluisError
from sluis.scra import encode_keys, local_suppression
from sluis.scra.driver import run_spec_scra
from sluis.scra.rebuild import rebuild_attacks
from sluis.scra.suppress import strict_frequencies
from sluis.spec import load_spec
from sluis.spec.model import Spec

ROOT = Path(__file__).resolve().parents[1]
SPEC_25_074 = ROOT / "specs" / "25-074.yaml"
QUARTERS = [f"{y}Q{q}" for y in (2011, 2012) for q in (1, 2, 3, 4)]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC_25_074)


def _values(rng: np.random.Generator, name: str, n: int) -> pa.Array:
    """Coarse random values for a variable of 25/074's person and panel datasets."""
    small = {
        "sex": ["1", "2"],
        "first_nationality": [f"C{i:02d}" for i in range(4)],
        "birth_country": [f"C{i:02d}" for i in range(3)],
        "nationality": [f"C{i:02d}" for i in range(3)],
        "region": ["2000", "3000", "4000"],
        "household_type": ["1", "2", "3"],
        "sep": ["1.1", "1.2", "2.1", "3.0"],
        "residence_reason": ["family", "work", "asylum", "study"],
        "death_yq": [None, None, None, "2015Q1"],
    }
    if name in small:
        return pa.array(rng.choice(np.array(small[name], dtype=object), n), pa.string())
    if name in {"birth_yq", "first_registration_yq"}:
        years = rng.integers(
            1960 if name == "birth_yq" else 2000, 1975 if name == "birth_yq" else 2004, n
        )
        return pa.array([f"{y}Q{q}" for y, q in zip(years, rng.integers(1, 5, n), strict=True)])
    if name == "household_size":
        return pa.array(rng.integers(1, 5, n), pa.int64())
    raise AssertionError(name)


def stage_25_074(spec: Spec, directory: Path, persons: int = 400, seed: int = 7) -> Path:
    """A staged extract shaped like 25/074's person and panel datasets: the key, state,
    sensitive and household variables with random coarse values, person_seq and quarter,
    plus one variable outside every key set (death_yq) that must pass through unchanged."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    person_cols = ["person_seq", *spec.scra.key_sets[0].keys, "residence_reason", "death_yq"]
    person = {"person_seq": pa.array(np.arange(1, persons + 1), pa.int64())}
    for name in person_cols[1:]:
        person[name] = _values(rng, name, persons)
    pq.write_table(pa.table(person), directory / "person.parquet")
    # panel: every person observed in a run of consecutive quarters
    start = rng.integers(0, 3, persons)
    length = rng.integers(4, len(QUARTERS) + 1, persons)
    length = np.minimum(length, len(QUARTERS) - start)
    seq = np.repeat(np.arange(1, persons + 1), length)
    qidx = np.concatenate([np.arange(s, s + n) for s, n in zip(start, length, strict=True)])
    n = len(seq)
    panel = {
        "person_seq": pa.array(seq, pa.int64()),
        "quarter": pa.array(np.array(QUARTERS, dtype=object)[qidx], pa.string()),
        "reference_seq": pa.array(1000 + seq // 2, pa.int64()),
    }
    for name in spec.scra.key_sets[1].keys:
        if name != "quarter":
            panel[name] = _values(rng, name, n)
    assert {s for lg in spec.scra.longitudinal for s in lg.states} <= set(panel)
    pq.write_table(pa.table(panel), directory / "panel.parquet")
    return directory


def test_g5_spec_run_treats_every_key_set_and_keeps_thresholds(spec: Spec, tmp_path: Path) -> None:
    """G5: every key set of 25/074 is measured on its dataset, treated to k (strict), and
    the report covers before and after, per quarter, household, l-diversity, trajectories."""
    staged = stage_25_074(spec, tmp_path / "staged")
    before = {p.name: p.read_bytes() for p in staged.iterdir()}
    out = tmp_path / "out"
    result = run_spec_scra(spec, staged, out)
    assert {p.name: p.read_bytes() for p in staged.iterdir()} == before  # input untouched
    assert [(ks.dataset, ks.name) for ks in result.key_sets] == [
        ("person", "demography"),
        ("panel", "household"),
    ]
    for ks in result.key_sets:
        assert ks.before.records_below["k"] > 0  # random data: small cells before
        assert ks.after is not None and ks.after.records_below["k"] == 0
    panel = result.key_sets[1]
    assert panel.period == "quarter"
    assert [p.period for p in panel.per_period] == QUARTERS
    assert sum(p.below_before for p in panel.per_period) == panel.before.records_below["k"]
    assert all(p.below_after == 0 for p in panel.per_period)
    assert panel.before.household is not None
    assert result.key_sets[0].before.ldiversity[0].variable == "residence_reason"
    assert len(result.longitudinal) == 1 and result.longitudinal[0].after is not None
    names = [t.name for t in result.thresholds]
    assert any("fk < 5 within each quarter (after treatment)" in n for n in names)
    assert any("global risk" in n for n in names)
    assert any("trajectory" in n for n in names)
    assert any("known residence_reason" in n and "distinct known values" in n for n in names)
    assert result.ok == all(t.holds or not t.enforced for t in result.thresholds)
    data = json.loads((out / "scra.json").read_text())
    assert data["ok"] == result.ok and data["semantics"] == "strict"
    assert len(data["key_sets"]) == 2 and data["key_sets"][1]["per_period"]
    html = (out / "scra.html").read_text()
    assert "Small-cell risk analysis of 25/074" in html and "2012Q4" in html
    assert "Trajectories" in html and "<svg" in html


def test_g5_spec_run_treated_output_never_finer(spec: Spec, tmp_path: Path) -> None:
    """G5: the treated extract has the staged rows, columns and types; a value not
    suppressed never changes, a suppressed one is null and listed in the explanations."""
    staged = stage_25_074(spec, tmp_path / "staged", seed=11)
    out = tmp_path / "out"
    result = run_spec_scra(spec, staged, out)
    for name in ("person", "panel"):
        original = pq.read_table(staged / f"{name}.parquet")
        treated = pq.read_table(out / "staged" / f"{name}.parquet")
        assert treated.schema == original.schema and treated.num_rows == original.num_rows
        explained = pq.read_table(out / "suppressions" / f"{name}.parquet").to_pylist()
        listed = {(e["record"], e["variable"]) for e in explained}
        # local suppression's own (not scra.implied's, nor the l-diversity and trajectory
        # treatments' after it, issue 19)
        local = [
            e
            for e in explained
            if "scra.implied" not in e["rule"]
            and not e["rule"].startswith(("l-diversity", "trajectory"))
        ]
        run = next(d for d in result.datasets if d.name == name)
        assert run.treatment is not None and run.treatment.suppressed_values == len(local)
        assert sum(run.treatment.per_variable.values()) == len(local)
        for column in original.column_names:
            before = original[column].to_pylist()
            after = treated[column].to_pylist()
            for row, (a, b) in enumerate(zip(before, after, strict=True)):
                if (row, column) in listed:  # suppressed, or suppressed with a key
                    assert b is None and a is not None
                else:
                    assert a == b
        if name == "panel":
            assert "quarter" not in run.treatment.per_variable  # the period is never suppressed
            assert "person_seq" not in {v for _, v in listed}
    assert all(e["value"] is not None for e in explained)
    assert any("scra.implied" in e["rule"] for e in explained)  # values suppressed with a key


def test_g5_spec_run_without_treatment_and_failing_thresholds(spec: Spec, tmp_path: Path) -> None:
    """G5: treat=False measures only, writes no treated files, and a threshold that does
    not hold makes the result not ok."""
    staged = stage_25_074(spec, tmp_path / "staged", persons=120)
    out = tmp_path / "out"
    result = run_spec_scra(spec, staged, out, treat=False)
    assert not (out / "staged").exists() and not (out / "suppressions").exists()
    assert all(ks.after is None for ks in result.key_sets)
    assert not result.ok
    failing = [t for t in result.thresholds if not t.holds]
    assert any("records with fk < 5" in t.name and "before treatment" in t.name for t in failing)


def test_g5_spec_run_refuses_to_overwrite_or_miss_its_input(spec: Spec, tmp_path: Path) -> None:
    """G5: a missing dataset file names it; the treated files never overwrite the input."""
    staged = stage_25_074(spec, tmp_path / "x" / "staged", persons=60)
    with pytest.raises(SluisError) as err:
        run_spec_scra(spec, staged, tmp_path / "x")
    assert err.value.rule == "scra-output-overwrites-input"
    (staged / "panel.parquet").unlink()
    with pytest.raises(SluisError) as err:
        run_spec_scra(spec, staged, tmp_path / "o")
    assert err.value.rule == "scra-staged-missing" and "panel.parquet" in str(err.value)


def test_g5_spec_run_sdcmicro_semantics_uses_fewer_suppressions(spec: Spec, tmp_path: Path) -> None:
    """G5: the sdcmicro (wildcard) semantics needs fewer suppressions than strict on the
    same extract, and both reach k under their own counting."""
    staged = stage_25_074(spec, tmp_path / "staged", seed=3)
    strict = run_spec_scra(spec, staged, tmp_path / "strict")
    wild = run_spec_scra(spec, staged, tmp_path / "wild", semantics="sdcmicro")
    for a, b in zip(strict.datasets, wild.datasets, strict=True):
        assert b.treatment.suppressed_values <= a.treatment.suppressed_values
    assert all(ks.after.records_below["k"] == 0 for ks in wild.key_sets)


# --- strict semantics ---------------------------------------------------------------------


@st.composite
def key_tables(draw: st.DrawFn, max_keys: int = 4, max_rows: int = 80) -> pa.Table:
    n_keys = draw(st.integers(1, max_keys))
    n = draw(st.integers(1, max_rows))
    columns = {}
    for j in range(n_keys):
        card = draw(st.integers(1, 6))
        values = draw(st.lists(st.one_of(st.none(), st.integers(0, card)), min_size=n, max_size=n))
        columns[f"k{j}"] = pa.array(values, pa.int64())
    return pa.table(columns)


@settings(max_examples=80, deadline=None)
@given(key_tables(), st.integers(2, 5), st.booleans())
def test_g5_property_strict_suppression_guarantees_k(
    table: pa.Table, k: int, stratified: bool
) -> None:
    """G5: strict suppression leaves no record below k when a suppressed value is its own
    category (checked by brute force), within each stratum of a fixed key that has at
    least k records; the fixed key is never suppressed; deterministic."""
    if table.num_rows < k:
        return
    keys = encode_keys(table, table.column_names)
    fixed = [keys.names[-1]] if stratified and len(keys.names) > 1 else []
    result = local_suppression(keys, k, semantics="strict", fixed=fixed)
    codes = np.stack(keys.codes, axis=1)
    sup = result.suppressed
    shown = np.where(sup, -1, codes)
    brute = np.array([int((shown == row).all(axis=1).sum()) for row in shown])
    fk, _, _ = strict_frequencies(keys, sup)
    assert fk.tolist() == brute.tolist()
    if fixed:
        j = keys.names.index(fixed[0])
        assert not sup[:, j].any()
        stratum_size = np.bincount(codes[:, j])[codes[:, j]]
        assert np.all(brute[stratum_size >= k] >= k)
        assert result.unreachable == int((stratum_size < k).sum())
    else:
        assert brute.min() >= k and result.unreachable == 0
    again = local_suppression(keys, k, semantics="strict", fixed=fixed)
    assert np.array_equal(again.suppressed, sup)


def test_g5_strict_semantics_does_not_count_a_unique_as_safe() -> None:
    """G5: under the wildcard semantics a unique record counts as safe once neighbours are
    suppressed; under strict semantics it is suppressed itself."""
    table = pa.table({"a": [1, 1, 1, 2], "b": [5, 5, 5, 5]})
    keys = encode_keys(table, ["a", "b"])
    wild = local_suppression(keys, 2, semantics="sdcmicro")
    strict = local_suppression(keys, 2, semantics="strict")
    fk_wild, _, _ = strict_frequencies(keys, wild.suppressed)
    fk_strict, _, _ = strict_frequencies(keys, strict.suppressed)
    assert int((fk_wild < 2).sum()) == 1  # record 3 alone with a=*
    assert int((fk_strict < 2).sum()) == 0
    assert strict.total == 2  # record 3 and one donor of the a=1 cell


# --- the command --------------------------------------------------------------------------


def _app():
    import typer

    from sluis.cli.scra_cmd import scra

    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("scra")(scra)

    @app.command("other")
    def other() -> None:  # a second command keeps "scra" as a sub-command name
        """Nothing."""

    return app


def test_g5_scra_cli_spec_staged(spec: Spec, tmp_path: Path) -> None:
    """G5: sluis scra --spec --staged runs the spec-driven analysis; the exit code says
    whether every threshold holds after treatment."""
    staged = stage_25_074(spec, tmp_path / "staged")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        _app(),
        ["scra", "--spec", str(SPEC_25_074), "--staged", str(staged), "--out", str(out)],
    )
    data = json.loads((out / "scra.json").read_text())
    assert res.exit_code == (0 if data["ok"] else 1), (res.output, res.exception)
    assert data["semantics"] == "strict"
    assert (out / "staged" / "panel.parquet").exists()
    assert "25/074" in res.output and "demography" in res.output
    res = CliRunner().invoke(
        _app(),
        ["scra", "--spec", str(SPEC_25_074), "--staged", str(staged), "--out",
         str(tmp_path / "o2"), "--suppression", "sdcmicro", "--no-treat"],
    )  # fmt: skip
    assert res.exit_code == 1, (res.output, res.exception)  # no treatment: k does not hold
    assert json.loads((tmp_path / "o2" / "scra.json").read_text())["semantics"] == "sdcmicro"


def test_g5_scra_cli_spec_and_file_are_alternatives(spec: Spec, tmp_path: Path) -> None:
    """G5: FILE with --spec, or --spec without --staged, is a usage error."""
    res = CliRunner().invoke(_app(), ["scra", "--spec", str(SPEC_25_074), "--out", str(tmp_path)])
    assert isinstance(res.exception, SluisError) and res.exception.rule == "scra-usage"
    res = CliRunner().invoke(_app(), ["scra", "--out", str(tmp_path)])
    assert isinstance(res.exception, SluisError) and res.exception.rule == "scra-usage"


def test_g5_a_key_its_period_gives_back_is_pinned(spec: Spec, tmp_path: Path) -> None:
    """Issue 15: the panel's first quarter is the first registration, and a period cannot be
    suppressed, so ``scra.implied`` pins first_registration_yq: it is never suppressed or
    recoded (k is reached on the other keys); suppressed, the panel's first quarter would
    give every value back (the rebuild check finds it)."""
    staged = stage_25_074(spec, tmp_path / "staged", seed=11)
    # as in the registers: the panel starts at the first registration
    panel = pq.read_table(staged / "panel.parquet")
    first = panel.group_by("person_seq").aggregate([("quarter", "min")])
    person = pq.read_table(staged / "person.parquet").drop_columns(["first_registration_yq"])
    person = person.join(first, "person_seq").rename_columns(
        [*person.column_names, "first_registration_yq"]
    )
    pq.write_table(person.sort_by("person_seq"), staged / "person.parquet")
    pinned = run_spec_scra(spec, staged, tmp_path / "pinned")
    person = next(d for d in pinned.datasets if d.name == "person")
    assert "first_registration_yq" not in person.treatment.per_variable
    assert person.treatment.suppressed_values > 0  # the other keys were treated
    before = pq.read_table(staged / "person.parquet")["first_registration_yq"]
    after = pq.read_table(tmp_path / "pinned" / "staged" / "person.parquet")
    assert after["first_registration_yq"].equals(before)

    # had it been suppressed, the panel's first quarter would give every value back
    treated = tmp_path / "suppressed"
    shutil.copytree(tmp_path / "pinned" / "staged", treated)
    cut = after.set_column(
        after.schema.get_field_index("first_registration_yq"),
        "first_registration_yq",
        pa.nulls(after.num_rows, pa.string()),
    )
    pq.write_table(cut, treated / "person.parquet")
    attacks = {(a.key, a.column): a for a in rebuild_attacks(spec, staged, treated)}
    attack = attacks[("person.first_registration_yq", "panel.quarter")]
    assert attack.rebuilds and attack.rebuilt == attack.treated == after.num_rows
