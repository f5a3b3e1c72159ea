"""G5, X2: ``sluis scra FILE`` as the console script runs it (``sluis.cli.entry.main``), in a
fresh process: the same files, figures and exit codes as the Typer command, without loading
what the analysis does not use (Typer, Pydantic, pandas, numba, matplotlib, DuckDB), and
help and usage errors still Typer's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import typer

from sluis.cli.scra_cmd import scra
from sluis.cli.scra_fast import option_strings, parse

#: runs the console script's entry point, then prints which heavy modules were loaded
_PROBE = """
import json, sys
from sluis.cli.entry import main
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
heavy = ("typer", "pydantic", "pandas", "numba", "matplotlib", "duckdb", "ibis", "sluis.cli.app")
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _entry(*args: str) -> tuple[int, list[str], str]:
    """Exit code, heavy modules loaded, and the output of ``sluis ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=False
    )
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return last["code"], last["loaded"], done.stdout + done.stderr


def _table(n: int = 60) -> pa.Table:
    return pa.table(
        {
            "age": [20 + i % 7 for i in range(n)],
            "sex": [1 + i % 2 for i in range(n)],
            "nat_year": [None if i % 3 else 2000 + i % 5 for i in range(n)],
            "town": [f"t{i % 4}" for i in range(n)],
            "hh": [i // 3 for i in range(n)],
            "w": [4.0] * n,
        }
    )


def test_g5_scra_fast_path_same_report_without_heavy_imports(tmp_path: Path) -> None:
    """G5: the console script treats and reports a file as the Typer command does (same
    scra.json figures, same treated file) and loads none of the heavy modules."""
    data = tmp_path / "d.parquet"
    pq.write_table(_table(), data)
    options = ["--keys", "age,sex,nat_year,town", "--weight", "w", "--household", "hh"]
    options += ["-k", "3", "--suppress"]
    code, loaded, output = _entry("scra", str(data), *options, "--out", str(tmp_path / "a"))
    assert code == 0, output
    assert loaded == [], output

    from typer.testing import CliRunner

    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("scra")(scra)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["scra", str(data), *options, "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    fast = json.loads((tmp_path / "a" / "scra.json").read_text())
    slow = json.loads((tmp_path / "b" / "scra.json").read_text())
    for result_json in (fast, slow):
        result_json.pop("seconds")
        result_json.pop("file")
    assert fast == slow
    assert pq.read_table(tmp_path / "a" / "treated.parquet").equals(
        pq.read_table(tmp_path / "b" / "treated.parquet")
    )
    html = (tmp_path / "a" / "scra.html").read_text()
    assert html.count("<svg") == 3  # cell sizes and risks of K1, suppressions per key


def test_g5_scra_fast_path_csv_and_trajectories_need_no_pandas(tmp_path: Path) -> None:
    """G5: a CSV file and trajectory risk (both through DuckDB) run with pandas hidden;
    a threshold that fails exits 1, as the command."""
    csv = tmp_path / "p.csv"
    rows = ["pid,q,state"] + [f"{p},2020Q{q},{(p * q) % 3}" for p in range(12) for q in (1, 2, 3)]
    csv.write_text("\n".join(rows) + "\n")
    code, loaded, output = _entry(
        "scra", str(csv), "--keys", "state", "--person", "pid", "--quarter", "q",
        "--states", "state", "-m", "2", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 1, output  # trajectories of 12 persons are shared by fewer than 5
    assert "pandas" not in loaded and "typer" not in loaded, output
    result = json.loads((tmp_path / "o" / "scra.json").read_text())
    assert result["longitudinal"]["persons"] == 12


def test_g5_scra_fast_path_leaves_help_and_usage_errors_to_typer(tmp_path: Path) -> None:
    """X2: help, a misspelt option and a bad number are Typer's messages (exit 0 or 2);
    a missing file is sluis's one-line error (exit 2)."""
    code, _, output = _entry("scra", "--help")
    assert code == 0 and "Small-cell risk analysis" in output
    code, _, output = _entry("scra", "x.parquet", "--keys", "a", "--kees", "b", "--out", "o")
    assert code == 2 and "No such option" in output
    code, _, output = _entry("scra", "x.parquet", "--keys", "a", "-k", "five", "--out", "o")
    assert code == 2 and "-k" in output
    code, loaded, output = _entry(
        "scra", str(tmp_path / "none.parquet"), "--keys", "a", "--out", "o"
    )
    assert code == 2 and "scra-input-missing" in output and "typer" not in loaded
    assert parse(["x.parquet", "--out", "o"]) is None  # no --keys: Typer's command says so


def test_g5_scra_fast_parser_knows_every_option_of_the_command() -> None:
    """X2: the fast parser accepts exactly the options the Typer command declares (but the
    spec-driven ones, which go to the full app)."""
    command = typer.main.get_command(_single(scra))
    options = [p for p in command.params if p.param_type_name == "option"]
    declared = {o for p in options for o in (*p.opts, *p.secondary_opts)}
    declared -= {"--spec", "--staged", "--help"}
    assert option_strings() == declared


def _single(command: object) -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.command("scra")(command)
    return app
