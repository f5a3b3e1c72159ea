"""G5: one SCRA driver for ``sluis scra FILE --keys`` and the spec run (issue 19 item 4):
one plan, one measure step, one treat step, one result type."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sluis.scra.driver import run, run_scra, run_spec_scra
from sluis.scra.plan import plan_from_file, plan_from_spec
from sluis.scra.result import ScraResult
from sluis.spec import load_spec
from test_scra_spec import stage_25_074

ROOT = Path(__file__).resolve().parents[1]


def _file(tmp_path: Path, n: int = 90) -> Path:
    path = tmp_path / "d.parquet"
    table = pa.table(
        {
            "age": [20 + i % 7 for i in range(n)],
            "sex": [1 + i % 2 for i in range(n)],
            "nat_year": [None if i % 3 else 2000 + i % 5 for i in range(n)],
            "income": [float(i % 4) for i in range(n)],
        }
    )
    pq.write_table(table, path)
    return path


def test_g5_a_file_run_is_a_plan_with_one_dataset_and_no_spec(tmp_path: Path) -> None:
    """G5: the CLI's --keys become a plan of one dataset (K1, K2, no period, no spec), run by
    the same driver as a spec; the JSON keeps the file run's flat layout."""
    path = _file(tmp_path)
    plan = plan_from_file(path, key_sets=[["age", "sex"], ["age", "sex", "age"]], k=3)
    assert plan.spec is None and plan.decision is None and len(plan.datasets) == 1
    (dataset,) = plan.datasets
    assert [ks.name for ks in dataset.key_sets] == ["K1", "K2"]
    assert dataset.key_sets[1].keys == ("age", "sex")  # a key named twice counts once
    assert dataset.period is None and not dataset.named
    result = run(plan, tmp_path / "out")
    assert isinstance(result, ScraResult) and result.is_file_run
    data = json.loads((tmp_path / "out" / "scra.json").read_text())
    assert list(data) == [
        "file", "records", "k", "weight", "household", "key_sets", "thresholds",
        "treatment", "longitudinal", "seconds", "ok",
    ]  # fmt: skip
    assert data["records"] == 90 and data["treatment"] is None
    assert [t["name"] for t in data["thresholds"]] == [
        "K1: records with fk < 3 (before treatment)",
        "K2: records with fk < 3 (before treatment)",
    ]


def test_g5_file_run_measures_l_diversity_after_treatment_on_the_cells_shown(
    tmp_path: Path,
) -> None:
    """G5: after --suppress the l-diversity is measured again on the treated cells (a
    suppressed value shown as its own category); a recount over treated.parquet agrees."""
    path = _file(tmp_path)
    out = tmp_path / "out"
    result = run_scra(
        path, out, key_sets=[["age", "sex", "nat_year"]], k=3, sensitive=["income"],
        l_min=2, suppress=True,
    )  # fmt: skip
    after = result.key_sets[0].after
    assert after is not None and result.treatment is not None
    treated = pq.read_table(out / "treated.parquet").to_pylist()
    cells: dict[tuple, set] = defaultdict(set)
    rows = []
    for row in treated:
        gone = set(filter(None, row["sdc_suppressed"].split(",")))
        cell = tuple("*" if key in gone else row[key] for key in ("age", "sex", "nat_year"))
        cells[cell].add(row["income"])
        rows.append(cell)
    ld = after.ldiversity[0]
    assert ld.min_l == min(len(v) for v in cells.values())
    assert ld.records_below == sum(len(cells[c]) < 2 for c in rows)
    assert ld.cells_below == sum(len(v) < 2 for v in cells.values())
    sizes = defaultdict(int)
    for c in rows:
        sizes[c] += 1
    assert after.records_below["k"] == sum(sizes[c] < 3 for c in rows) == 0


def test_g5_file_run_trajectories_are_measured_on_the_treated_file(tmp_path: Path) -> None:
    """G5: with --suppress the trajectory threshold is taken on the treated data, and the
    measure on the file stays in the JSON as ``longitudinal``."""
    rows = [(p, q, "A" if p < 4 else f"B{p}") for p in range(7) for q in ("2012Q1", "2012Q2")]
    path = tmp_path / "pq.parquet"
    pq.write_table(
        pa.table(
            {
                "person": [r[0] for r in rows],
                "quarter": [r[1] for r in rows],
                "status": [r[2] for r in rows],
            }
        ),
        path,
    )
    out = tmp_path / "out"
    result = run_scra(
        path, out, key_sets=[["status"]], k=3, suppress=True, person="person",
        quarter="quarter", states=["status"], window=2,
    )  # fmt: skip
    data = json.loads((out / "scra.json").read_text())
    assert data["longitudinal"]["persons_at_risk"] == 3  # B4, B5, B6 alone before
    # after: their status is suppressed, and the three share the suppressed trajectory
    assert data["longitudinal_after"]["persons_at_risk"] == 0
    (check,) = [t for t in result.thresholds if "trajectory" in t.name]
    assert check.name.endswith("(after treatment)") and check.holds and result.ok


def test_g5_spec_and_file_runs_share_one_result_type(tmp_path: Path) -> None:
    """G5: a spec run returns the same ScraResult type; its JSON keeps the spec layout."""
    spec = load_spec(ROOT / "specs" / "25-074.yaml")
    staged = stage_25_074(spec, tmp_path / "staged", persons=120)
    result = run_spec_scra(spec, staged, tmp_path / "out", treat=False)
    assert isinstance(result, ScraResult) and not result.is_file_run
    data = json.loads((tmp_path / "out" / "scra.json").read_text())
    assert data["decision"] == spec.decision.id
    assert {ks["dataset"] for ks in data["key_sets"]} == {ks.dataset for ks in spec.scra.key_sets}


def test_g5_the_final_measures_count_what_later_treatments_suppressed(tmp_path: Path) -> None:
    """G5 (issue 19 item 3): 25/074's scra.implied suppresses panel.nationality, a key of
    the panel's key set, after local suppression treated the panel (and the trajectory
    treatment suppresses sep and region, two more of its keys); the run measures again on
    the final treated file, agrees with a plain recount over it (a listed suppression
    shown as *, strict), and treated again until k holds."""
    spec = load_spec(ROOT / "specs" / "25-074.yaml")
    staged = stage_25_074(spec, tmp_path / "staged", persons=300)
    out = tmp_path / "out"
    plan = plan_from_spec(spec, staged)
    result = run(plan, out)
    final = next(ks for ks in result.key_sets if ks.dataset == "panel")
    measures, keys = final.after, list(final.keys)
    assert measures is not None and measures.records_below["k"] == 0
    gone: dict[int, set[str]] = defaultdict(set)
    for row in pq.read_table(out / "suppressions" / "panel.parquet").to_pylist():
        gone[row["record"]].add(row["variable"])
    assert any("nationality" in v for v in gone.values())  # implied suppressions listed
    rows = pq.read_table(out / "staged" / "panel.parquet").to_pylist()
    cells = [tuple("*" if k in gone[i] else r[k] for k in keys) for i, r in enumerate(rows)]
    sizes: dict[tuple, int] = defaultdict(int)
    for c in cells:
        sizes[c] += 1
    assert measures.cells == len(sizes)
    assert measures.records_below["k"] == sum(sizes[c] < spec.scra.k for c in cells)
