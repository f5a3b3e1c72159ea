"""G5: the ``sluis scra`` command on Parquet and CSV files: outputs, exit codes, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from sluis.cli.scra_cmd import scra
from sluis.errors import SluisError


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("scra")(scra)

    @app.command("other")
    def other() -> None:  # a second command keeps "scra" as a sub-command name
        """Nothing."""

    return app


def _table(n: int = 60) -> pa.Table:
    return pa.table(
        {
            "id": list(range(n)),
            "age": [20 + i % 7 for i in range(n)],
            "sex": [1 + i % 2 for i in range(n)],
            "nat_year": [None if i % 3 else 2000 + i % 5 for i in range(n)],
            "hh": [i // 3 for i in range(n)],
            "w": [4.0] * n,
            "income": [float(i % 4) for i in range(n)],
        }
    )


def _run(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(_app(), ["scra", *args])
    return result.exit_code, result.output, result.exception


def test_g5_scra_cli_writes_json_html_and_treatment(tmp_path: Path) -> None:
    """G5: sluis scra on Parquet with every option; thresholds hold after suppression."""
    data = tmp_path / "d.parquet"
    pq.write_table(_table(), data)
    out = tmp_path / "out"
    code, output, exc = _run(
        str(data), "--keys", "age,sex,nat_year", "--keys", "age,sex", "--weight", "w",
        "--household", "hh", "--sensitive", "income", "-k", "3", "--suda", "--suppress",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, (output, exc)
    result = json.loads((out / "scra.json").read_text())
    assert result["ok"] is True
    assert [ks["keys"] for ks in result["key_sets"]] == [["age", "sex", "nat_year"], ["age", "sex"]]
    first = result["key_sets"][0]
    assert first["before"]["records_below"]["k"] > 0
    assert first["after"]["records_below"]["k"] == 0
    assert first["before"]["household"]["households"] == 20
    assert first["before"]["suda"]["records_with_score"] == first["before"]["records_below"]["2"]
    assert first["before"]["ldiversity"][0]["variable"] == "income"
    html = (out / "scra.html").read_text()
    assert "Small-cell risk analysis" in html and "<svg" in html
    explained = pq.read_table(out / "suppressions.parquet")
    assert explained.num_rows == result["treatment"]["suppressed_values"]
    treated = pq.read_table(out / "treated.parquet")
    assert treated.num_rows == 60 and "sdc_suppressed" in treated.column_names
    assert "Suppressed" in output


def test_g5_scra_cli_reads_csv_and_fails_thresholds_without_treatment(tmp_path: Path) -> None:
    """G5: CSV input (empty = missing = own category); exit 1 when k does not hold."""
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,x\n1,x\n2,\n2,\n3,y\n")
    code, output, _ = _run(str(data), "--keys", "a,b", "-k", "2", "--out", str(tmp_path / "o"))
    assert code == 1
    result = json.loads((tmp_path / "o" / "scra.json").read_text())
    assert result["key_sets"][0]["before"]["records_below"]["k"] == 1
    assert result["key_sets"][0]["before"]["cells"] == 3
    assert "FAIL" in output


@pytest.mark.parametrize(
    ("args", "rule", "column"),
    [
        (["--keys", "age,nope"], "scra-column-missing", "nope"),
        (["--keys", "age", "--weight", "wrong"], "scra-column-missing", "wrong"),
    ],
)
def test_g5_scra_cli_missing_column_is_a_clear_error(
    tmp_path: Path, args: list[str], rule: str, column: str
) -> None:
    """G5: a missing column names file and column, as a SluisError (no traceback)."""
    data = tmp_path / "d.parquet"
    pq.write_table(_table(), data)
    _, _, exc = _run(str(data), *args, "--out", str(tmp_path / "o"))
    assert isinstance(exc, SluisError)
    assert exc.rule == rule and exc.column == column and exc.file == str(data)
    assert str(data) in str(exc)


def test_g5_scra_cli_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """G5: a file that is not there is a SluisError naming it."""
    _, _, exc = _run(str(tmp_path / "none.parquet"), "--keys", "a", "--out", str(tmp_path))
    assert isinstance(exc, SluisError) and exc.rule == "scra-input-missing"


def test_g5_scra_cli_longitudinal_risk_per_quarter(tmp_path: Path) -> None:
    """G5: trajectories of a person-quarter table in the result, per starting quarter."""
    quarters = ["2012Q1", "2012Q2", "2012Q3"]
    rows = [(p, q, "A" if p < 4 else "B") for p in range(6) for q in quarters]
    data = tmp_path / "pq.parquet"
    pq.write_table(
        pa.table(
            {
                "person": [r[0] for r in rows],
                "quarter": [r[1] for r in rows],
                "status": [r[2] for r in rows],
            }
        ),
        data,
    )
    out = tmp_path / "o"
    code, output, exc = _run(
        str(data), "--keys", "status", "-k", "3", "--person", "person", "--quarter", "quarter",
        "--states", "status", "-m", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 1, (output, exc)  # the two B persons share their trajectory only by 2
    result = json.loads((out / "scra.json").read_text())
    lr = result["longitudinal"]
    assert (lr["windows"], lr["windows_at_risk"], lr["persons_at_risk"]) == (12, 4, 2)
    assert [q["quarter"] for q in lr["per_quarter"]] == ["2012Q1", "2012Q2"]
    assert "Trajectories" in (out / "scra.html").read_text()


def test_g5_spec_run_on_a_sample_takes_the_design_weight_its_run_recorded(
    tmp_path: Path,
) -> None:
    """G5: ``sluis scra --spec --staged W/<party>/staged`` measures a sample as the run did,
    with the design weight from the run's ``run.json`` (the sampled population over the
    persons delivered), so a 25/074 phase-1 extract is not taken for a population."""
    from sluis.spec import load_spec
    from test_scra_spec import stage_25_074

    root = Path(__file__).resolve().parents[1]
    spec_file = root / "specs" / "25-074.yaml"
    work = tmp_path / "W"
    staged = stage_25_074(load_spec(spec_file), work / "ksz" / "staged", persons=200)
    (work / "run.json").write_text(
        json.dumps({"populations": {"target": 40_000, "naturalised": 9_000}, "persons": 200})
    )
    _code, output, err = _run(
        "--spec", str(spec_file), "--staged", str(staged), "--out", str(tmp_path / "o")
    )
    assert err is None or isinstance(err, SystemExit), output
    data = json.loads((tmp_path / "o" / "scra.json").read_text())
    assert {d["weight"] for d in data["datasets"] if d["name"] in ("person", "panel")} == {
        "design weight 200"
    }
    (work / "run.json").unlink()  # without a run, the extract is taken as it is
    _run("--spec", str(spec_file), "--staged", str(staged), "--out", str(tmp_path / "p"))
    data = json.loads((tmp_path / "p" / "scra.json").read_text())
    assert {d["weight"] for d in data["datasets"]} == {None}
