"""X2, X4: ``sluis sources check`` prints a summary table and one line per finding, exits 1
when the sources break the contract, 0 when they are clean and 2 on a usage error, never with
a traceback; ``sluis sources doc`` writes the contract documentation (G2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from entry_point import sluis
from sluis.cli.app import app
from sluis.sources.contract import CONTRACT
from sluis.sources.docs import render_contract_doc
from source_tables import N_ROWS, set_value

Edit = Callable[[str, Callable[[pa.Table], pa.Table]], Path]
runner = CliRunner()


def test_x4_clean_sources_exit_zero_with_a_summary(sources: Path) -> None:
    result = runner.invoke(app, ["sources", "check", str(sources)])
    assert result.exit_code == 0, result.output
    for name in ("person", "household", "residence_reason", "quarantined"):
        assert name in result.output
    assert "meet the source contract" in result.output
    assert not (sources.parent / "sources.quarantine").exists()


def test_x2_cli_prints_file_row_column_rule_and_exits_one(sources: Path, edit: Edit) -> None:
    path = edit("person", set_value("insz", 1, "01031500109"))
    result = runner.invoke(app, ["sources", "check", str(sources)])
    assert result.exit_code == 1
    line = f"{path}:2:insz: insz-check-digits: "
    assert any(
        row.startswith(line) and row.endswith("(***********)") for row in result.output.splitlines()
    ), result.output
    assert f"1 of {N_ROWS * len(CONTRACT)} rows quarantined" in result.output
    assert "Traceback" not in result.output


def test_x2_cli_quarantine_option(sources: Path, edit: Edit, tmp_path: Path) -> None:
    edit("household", set_value("relation", 0, "99"))
    target = tmp_path / "q"
    result = runner.invoke(app, ["sources", "check", str(sources), "--quarantine", str(target)])
    assert result.exit_code == 1
    assert (target / "household.parquet").is_file()
    assert str(target) in result.output


def test_x2_cli_missing_table_exits_one_without_traceback(sources: Path) -> None:
    (sources / "legal_cohabitation.parquet").unlink()
    done = sluis("sources", "check", str(sources))
    assert done.returncode == 1
    assert f"{sources / 'legal_cohabitation.parquet'}: missing-table: " in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_x2_cli_missing_directory_is_one_line_exit_two(tmp_path: Path) -> None:
    done = sluis("sources", "check", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {tmp_path / 'nowhere'}: no-such-directory: ")


def test_x2_cli_file_instead_of_directory_exits_two(tmp_path: Path) -> None:
    path = tmp_path / "file.parquet"
    path.write_bytes(b"")
    done = sluis("sources", "check", str(path))
    assert done.returncode == 2
    assert f"{path}: not-a-directory: " in done.stderr
    assert "Traceback" not in done.stderr


def test_g2_cli_doc_writes_the_rendered_contract(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "contract.md"
    result = runner.invoke(app, ["sources", "doc", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == render_contract_doc()


def _drop(column: str) -> Callable[[pa.Table], pa.Table]:
    return lambda t: t.drop_columns([column])


def _as_text(column: str) -> Callable[[pa.Table], pa.Table]:
    def change(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index(column)
        return t.set_column(i, column, t.column(column).cast(pa.string()))

    return change


def _both(*changes: Callable[[pa.Table], pa.Table]) -> Callable[[pa.Table], pa.Table]:
    def change(t: pa.Table) -> pa.Table:
        for c in changes:
            t = c(t)
        return t

    return change


# one corruption per case: table, change, and the start of the line the CLI must print
CORRUPTIONS = {
    "missing-column": ("person", _drop("sex"), "sex: missing-column: "),
    "wrong-type": ("person", _as_text("birth_date"), "birth_date: wrong-type: "),
    "check-digit": ("person", set_value("insz", 0, "85073003329"), "1:insz: insz-check-digits: "),
    "unknown-code": ("person", set_value("sex", 2, "X"), "3:sex: code-list: "),
    "nis-589-in-2020": (
        "residence",
        _both(
            set_value("nis_code", 1, "12030"),
            set_value("valid_from", 1, dt.date(2020, 1, 1)),
            set_value("valid_to", 1, None),
        ),
        "2:nis_code: code-list: ",
    ),
    "date-1850": ("person", set_value("birth_date", 1, dt.date(1850, 6, 1)), "2:birth_date: "),
    "end-before-start": (
        "nationality",
        set_value("valid_to", 0, dt.date(1900, 1, 1)),
        "1:valid_to: period-order: ",
    ),
    "duplicate-key": (
        "civil_status",
        lambda t: pa.concat_tables([t, t.slice(1, 1)]),
        "2:insz,valid_from: duplicate-key: ",
    ),
    "null": ("household", set_value("household_id", 0, None), "1:household_id: null: "),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_x2_cli_reports_each_corruption_and_exits_one(sources: Path, edit: Edit, case: str) -> None:
    name, change, expected = CORRUPTIONS[case]
    path = edit(name, change)
    result = runner.invoke(app, ["sources", "check", str(sources)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert any(line.startswith(f"{path}:{expected}") for line in result.output.splitlines()), (
        result.output
    )


def test_x2_cli_reports_a_missing_table_and_exits_one(sources: Path) -> None:
    (sources / "residence_reason.parquet").unlink()
    result = runner.invoke(app, ["sources", "check", str(sources)])
    assert result.exit_code == 1
    assert f"{sources / 'residence_reason.parquet'}: missing-table: " in result.output
