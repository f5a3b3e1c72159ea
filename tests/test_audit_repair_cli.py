"""``sluis audit repair`` cuts an interrupted append off a log and records it (G10)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sluis.audit import open_log, verify
from sluis.cli.app import app


def test_g10_audit_repair_removes_a_partial_line_and_records_it(tmp_path: Path) -> None:
    log, store = tmp_path / "audit.log", tmp_path / "keys"
    with open_log(log, party="ksz", store=store) as audit:
        audit.append("run-started", {"decision": "25/074"})
    with log.open("ab") as fh:
        fh.write(b'{"data":{"dec')  # a crash in the middle of an append
    assert not verify(log).ok
    runner = CliRunner()
    result = runner.invoke(
        app, ["audit", "repair", str(log), "--party", "ksz", "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    assert "removed an incomplete last line of 13 bytes" in result.output
    report = verify(log)  # not declared open: the repair re-sealed the log with the key
    assert report.ok and report.sealed, report.problems
    assert '"event":"repaired"' in log.read_text()
    again = runner.invoke(
        app, ["audit", "repair", str(log), "--party", "ksz", "--store", str(store)]
    )
    assert again.output.strip() == f"{log}: nothing to repair"


def test_g10_audit_repair_seals_a_log_a_crash_left_open(tmp_path: Path) -> None:
    """Issue 22: a run killed before its close leaves the log unsealed, which verify refuses
    unless told it is open; repair seals it with the party's key."""
    log, store = tmp_path / "audit.log", tmp_path / "keys"
    audit = open_log(log, party="ksz", store=store)
    audit.append("run-started", {"decision": "25/074"})  # and then the process dies
    assert verify(log).first_problem.rule == "audit-unsealed"
    result = CliRunner().invoke(
        app, ["audit", "repair", str(log), "--party", "ksz", "--store", str(store)]
    )
    assert result.exit_code == 0 and "sealed the log" in result.output, result.output
    assert verify(log).sealed


def test_g10_audit_witness_through_the_app_catches_a_cut_back_to_an_earlier_seal(
    tmp_path: Path,
) -> None:
    """Issue 22: a witness file kept by another party shows a cut the log alone cannot."""
    log, store, kept = tmp_path / "audit.log", tmp_path / "keys", tmp_path / "ksz.witness"
    with open_log(log, party="ksz", store=store) as audit:
        audit.append("run-started", {"decision": "25/074"})
    first_run = log.read_bytes()
    with open_log(log, party="ksz", store=store) as audit:
        audit.append("destroyed", {"files": 3})
    runner = CliRunner()
    done = runner.invoke(app, ["audit", "witness", str(log), "--to", str(kept)])
    assert done.exit_code == 0, done.output
    log.write_bytes(first_run)
    assert runner.invoke(app, ["audit", "verify", str(log)]).exit_code == 0
    done = runner.invoke(app, ["audit", "verify", str(log), "--witness", str(kept)])
    assert done.exit_code == 1 and "audit-truncated" in done.output, done.output
