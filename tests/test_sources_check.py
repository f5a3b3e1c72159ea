"""G2, X2: ``check_sources`` reports every way an extract can break the source contract,
naming file, column, row and rule, and quarantines and counts the bad rows."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluis.domain.insz import is_valid_insz
from sluis.errors import SluisError
from sluis.sources.check import QUARANTINE_COLUMNS, CheckReport, Finding, check_sources
from sluis.sources.contract import CONTRACT, table
from source_tables import PEOPLE, set_value, valid_table, write_sources

Edit = Callable[[str, Callable[[pa.Table], pa.Table]], Path]


def _only(report: CheckReport, rule: str) -> Finding:
    found = [f for f in report.findings if f.rule == rule]
    assert len(found) == 1, report.findings
    return found[0]


def _quarantine(report: CheckReport, name: str) -> list[dict]:
    assert report.quarantine_dir is not None
    return pq.read_table(report.quarantine_dir / f"{name}.parquet").to_pylist()


def _table(report: CheckReport, name: str):
    return next(t for t in report.tables if t.name == name)


def test_g2_valid_sources_pass_without_quarantine(sources: Path) -> None:
    report = check_sources(sources)
    assert report.ok, report.findings
    assert report.total_findings == 0
    assert report.findings == []
    assert [t.name for t in report.tables] == [t.name for t in CONTRACT]
    assert all(t.rows_read == len(PEOPLE) for t in report.tables)
    assert report.quarantine_dir is None
    assert not (sources.parent / "sources.quarantine").exists()


def test_g2_missing_table_is_reported_with_file(sources: Path) -> None:
    (sources / "civil_status.parquet").unlink()
    report = check_sources(sources)
    finding = _only(report, "missing-table")
    assert finding.table == "civil_status"
    assert finding.file == str(sources / "civil_status.parquet")
    assert finding.row is None
    assert not report.ok
    assert [t.name for t in report.tables if not t.ok] == ["civil_status"]
    assert report.quarantine_dir is None


def test_g2_empty_table_folder_is_a_missing_table(sources: Path) -> None:
    (sources / "civil_status.parquet").unlink()
    (sources / "civil_status").mkdir()
    assert _only(check_sources(sources), "missing-table").file == str(sources / "civil_status")


def test_g2_table_both_as_file_and_folder_is_ambiguous(sources: Path) -> None:
    (sources / "person").mkdir()
    pq.write_table(valid_table(table("person")), sources / "person" / "part-0.parquet")
    assert _only(check_sources(sources), "ambiguous-table").table == "person"


def test_g2_missing_column_is_reported_with_file_and_column(sources: Path, edit: Edit) -> None:
    path = edit("person", lambda t: t.drop_columns(["sex"]))
    edit("person", set_value("insz", 1, "01031500109"))
    report = check_sources(sources)
    finding = _only(report, "missing-column")
    assert (finding.file, finding.column, finding.row) == (str(path), "sex", None)
    assert str(finding).startswith(f"{path}:sex: missing-column:")
    # no row checks for the missing column, but the others are still checked
    assert {f.rule for f in report.findings} == {"missing-column", "insz-check-digits"}
    assert _table(report, "person").rule_counts == {"missing-column": 1, "insz-check-digits": 1}


def test_x2_wrong_type_is_a_table_error_without_row_checks(sources: Path, edit: Edit) -> None:
    def as_text(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("birth_date")
        text = pa.array(["1850-01-01", "x", None], pa.string())
        return t.set_column(i, "birth_date", text)

    path = edit("person", as_text)
    report = check_sources(sources)
    finding = _only(report, "wrong-type")
    assert (finding.file, finding.column, finding.value) == (str(path), "birth_date", "VARCHAR")
    assert "DATE" in finding.message
    assert [f.rule for f in report.findings] == ["wrong-type"]
    assert report.quarantine_dir is None


def test_x2_integer_code_column_is_a_wrong_type(sources: Path, edit: Edit) -> None:
    def as_int(t: pa.Table) -> pa.Table:
        return t.set_column(t.schema.get_field_index("sex"), "sex", pa.array([1, 2, 1]))

    edit("person", as_int)
    finding = _only(check_sources(sources), "wrong-type")
    assert (finding.column, finding.value) == ("sex", "BIGINT")


def test_x2_bad_rows_are_quarantined_and_counted(sources: Path, edit: Edit) -> None:
    path = edit("person", set_value("insz", 1, "01031500109"))
    report = check_sources(sources)
    finding = _only(report, "insz-check-digits")
    assert (finding.file, finding.column, finding.row) == (str(path), "insz", 2)
    # X2, issue 23: the finding shows the row and a masked value, the quarantine the number
    assert finding.value == "*" * 11
    assert str(finding).startswith(f"{path}:2:insz: insz-check-digits:")
    assert str(finding).endswith("(***********)")

    person = _table(report, "person")
    assert (person.rows_read, person.rows_quarantined) == (3, 1)
    assert person.rule_counts == {"insz-check-digits": 1}
    assert report.quarantine_dir == sources.parent / "sources.quarantine"
    rows = _quarantine(report, "person")
    assert len(rows) == 1
    assert rows[0]["insz"] == "01031500109"
    assert rows[0]["_source_file"] == str(path)
    assert rows[0]["_source_row"] == 2
    assert rows[0]["_rules"] == ["insz-check-digits"]
    assert rows[0]["_failures"] == ["insz:insz-check-digits"]
    # all the row's columns are kept, and the sources are untouched
    assert set(rows[0]) == {c.name for c in table("person").columns} | set(QUARANTINE_COLUMNS)
    assert pq.read_table(path).num_rows == 3
    # only the bad table has a quarantine file, and nothing temporary is left behind
    assert [p.name for p in report.quarantine_dir.iterdir()] == ["person.parquet"]


def test_s3_bad_check_digit_in_a_parent_reference_is_found(sources: Path, edit: Edit) -> None:
    edit("person", set_value("father_insz", 0, "85073003329"))
    finding = _only(check_sources(sources), "insz-check-digits")
    assert (finding.column, finding.row, finding.value) == ("father_insz", 1, "*" * 11)


def test_s3_sex_must_match_the_insz_counter(sources: Path, edit: Edit) -> None:
    path = edit("person", set_value("sex", 0, "2"))  # a man's number (odd counter)
    report = check_sources(sources)
    finding = _only(report, "insz-sex")
    assert (finding.file, finding.column, finding.row, finding.value) == (str(path), "sex", 1, "2")
    assert [r["insz"] for r in _quarantine(report, "person")] == [PEOPLE[0]]


def test_x2_unknown_code_is_quarantined(sources: Path, edit: Edit) -> None:
    path = edit("household", set_value("lipro", 2, "XXXX"))
    report = check_sources(sources)
    finding = _only(report, "code-list")
    assert (finding.file, finding.column, finding.row, finding.value) == (
        str(path),
        "lipro",
        3,
        "XXXX",
    )
    assert "lipro" in finding.message
    assert [r["lipro"] for r in _quarantine(report, "household")] == ["XXXX"]
    assert _table(report, "household").rule_counts == {"code-list": 1}


def test_s3_nis_code_of_the_589_list_dated_2020_is_refused(sources: Path, edit: Edit) -> None:
    # 12030 Puurs merged into 12041 Puurs-Sint-Amands on 1 January 2019
    edit("residence", set_value("nis_code", 0, "12030"))
    edit("residence", set_value("valid_from", 0, dt.date(2020, 1, 1)))
    path = edit("residence", set_value("valid_to", 0, None))
    report = check_sources(sources)
    finding = _only(report, "code-list")
    assert (finding.file, finding.column, finding.row, finding.value) == (
        str(path),
        "nis_code",
        1,
        "12030",
    )
    assert "581" in finding.message and "2020-01-01" in finding.message
    assert _quarantine(report, "residence")[0]["nis_code"] == "12030"


def test_s3_nis_codes_follow_the_vintage_of_their_date(sources: Path, edit: Edit) -> None:
    edit("residence", set_value("nis_code", 0, "12030"))  # 589 list, dated 1980: fine
    edit("residence", set_value("nis_code", 1, "12041"))  # 581 list, dated 1981: refused
    report = check_sources(sources)
    finding = _only(report, "code-list")
    assert (finding.row, finding.value) == (2, "12041")
    assert "589" in finding.message


def test_x2_date_before_1890_is_out_of_range(sources: Path, edit: Edit) -> None:
    path = edit("person", set_value("birth_date", 0, dt.date(1850, 1, 1)))
    report = check_sources(sources)
    finding = _only(report, "date-range")
    assert (finding.file, finding.column, finding.row, finding.value) == (
        str(path),
        "birth_date",
        1,
        "1850-01-01",
    )
    assert _quarantine(report, "person")[0]["_rules"] == ["date-range"]


def test_x2_period_ending_before_it_starts(sources: Path, edit: Edit) -> None:
    path = edit("residence", set_value("valid_to", 1, dt.date(1970, 1, 1)))
    report = check_sources(sources)
    finding = _only(report, "period-order")
    assert (finding.file, finding.column, finding.row, finding.value) == (
        str(path),
        "valid_to",
        2,
        "1970-01-01",
    )
    assert "valid_from" in finding.message


def test_x2_duplicate_key_quarantines_every_row_with_the_key(sources: Path, edit: Edit) -> None:
    path = edit("household", lambda t: pa.concat_tables([t, t.slice(0, 1)]))
    report = check_sources(sources)
    found = [f for f in report.findings if f.rule == "duplicate-key"]
    assert [(f.file, f.row, f.column) for f in found] == [
        (str(path), 1, "insz,valid_from"),
        (str(path), 4, "insz,valid_from"),
    ]
    assert "2 times" in found[0].message
    household = _table(report, "household")
    assert (household.rows_read, household.rows_quarantined) == (4, 2)
    assert household.rule_counts == {"duplicate-key": 2}
    assert [r["_source_row"] for r in _quarantine(report, "household")] == [1, 4]


def test_x2_empty_values_in_required_columns(sources: Path, edit: Edit) -> None:
    edit("person", set_value("sex", 0, None))
    edit("person", set_value("register", 1, ""))
    report = check_sources(sources)
    found = [(f.column, f.row, f.rule) for f in report.findings]
    # an empty required value is a null finding, not also a code-list one
    assert found == [("sex", 1, "null"), ("register", 2, "null")]
    assert _table(report, "person").rule_counts == {"null": 2}


def test_x2_a_row_breaking_several_rules_is_quarantined_once(sources: Path, edit: Edit) -> None:
    edit("person", set_value("insz", 0, "1"))
    edit("person", set_value("birth_date", 0, dt.date(1850, 1, 1)))
    report = check_sources(sources)
    person = _table(report, "person")
    assert person.rows_quarantined == 1
    assert person.rule_counts == {"insz-check-digits": 1, "date-range": 1}
    (row,) = _quarantine(report, "person")
    assert row["_rules"] == ["date-range", "insz-check-digits"]
    assert row["_failures"] == ["birth_date:date-range", "insz:insz-check-digits"]


def test_g2_folder_of_parts_numbers_rows_per_part(sources: Path) -> None:
    whole = pq.read_table(sources / "person.parquet")
    (sources / "person.parquet").unlink()
    folder = sources / "person"
    folder.mkdir()
    pq.write_table(whole.slice(0, 2), folder / "part-0.parquet")
    second = set_value("sex", 0, "7")(whole.slice(2, 1))
    pq.write_table(second, folder / "part-1.parquet")
    report = check_sources(sources)
    finding = _only(report, "code-list")
    assert (finding.file, finding.row, finding.column) == (
        str(folder / "part-1.parquet"),
        1,
        "sex",
    )
    assert _table(report, "person").rows_read == 3
    assert len(_table(report, "person").files) == 2


def test_g2_missing_column_in_one_part_names_that_part(sources: Path) -> None:
    whole = pq.read_table(sources / "person.parquet")
    (sources / "person.parquet").unlink()
    folder = sources / "person"
    folder.mkdir()
    pq.write_table(whole.slice(0, 2), folder / "part-0.parquet")
    pq.write_table(whole.slice(2, 1).drop_columns(["mother_insz"]), folder / "part-1.parquet")
    finding = _only(check_sources(sources), "missing-column")
    assert (finding.file, finding.column) == (str(folder / "part-1.parquet"), "mother_insz")


def test_x2_unreadable_file_is_reported(sources: Path) -> None:
    (sources / "nationality.parquet").write_bytes(b"not parquet")
    finding = _only(check_sources(sources), "unreadable-file")
    assert finding.file == str(sources / "nationality.parquet")


def test_x2_custom_quarantine_and_stale_files_removed(sources: Path, edit: Edit) -> None:
    target = sources.parent / "elsewhere" / "q"
    edit("person", set_value("sex", 0, "9"))
    report = check_sources(sources, target)
    assert report.quarantine_dir == target
    assert (target / "person.parquet").is_file()
    # once the data is fixed, the old quarantine goes and no empty directory is left
    edit("person", set_value("sex", 0, "1"))
    report = check_sources(sources, target)
    assert report.ok and report.quarantine_dir is None
    assert not target.exists()


def test_x2_quarantine_inside_the_sources_is_refused(sources: Path) -> None:
    with pytest.raises(SluisError) as err:
        check_sources(sources, sources / "quarantine")
    assert err.value.rule == "quarantine-inside-sources"


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_x2_sources_must_be_a_directory(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nothing"
    if kind == "file":
        path.write_text("x")
    with pytest.raises(SluisError):
        check_sources(path)


def test_x2_findings_and_quarantine_are_deterministic(sources: Path, edit: Edit) -> None:
    edit("person", set_value("insz", 2, "00000000000"))
    edit("residence", set_value("valid_to", 0, dt.date(1900, 1, 1)))
    first = check_sources(sources)
    rows = _quarantine(first, "person")
    second = check_sources(sources)
    assert first.findings == second.findings
    assert rows == _quarantine(second, "person")


def test_x2_first_findings_are_limited_but_all_are_counted(sources: Path, edit: Edit) -> None:
    edit("person", lambda t: pa.concat_tables([t] * 20))  # 57 duplicate rows of 3 keys
    report = check_sources(sources, max_findings=5)
    assert len(report.findings) == 5
    assert report.total_findings == 60
    assert _table(report, "person").rows_quarantined == 60


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet="0123456789", min_size=11, max_size=11), min_size=3, max_size=3))
def test_s3_checker_flags_exactly_the_invalid_numbers(numbers: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sources = write_sources(Path(tmp) / "sources")
        path = sources / "person.parquet"
        person = pq.read_table(path)
        i = person.schema.get_field_index("father_insz")
        pq.write_table(person.set_column(i, "father_insz", pa.array(numbers)), path)
        report = check_sources(sources)
        flagged = [f.row for f in report.findings if f.rule == "insz-check-digits"]
        assert flagged == [n + 1 for n, v in enumerate(numbers) if not is_valid_insz(v)]
        assert report.rows_quarantined == len(flagged)
