"""The tamper-evident audit log (G10): format, chain, checkpoints, verification, the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import multiprocessing
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sluis.audit import (
    EVENTS,
    GENESIS,
    AuditError,
    AuditLog,
    canonical,
    find_insz,
    fingerprint,
    load_checkpoint,
    load_public_key,
    load_witnesses,
    public_key_openssh,
    public_key_raw,
    signing_key,
    signing_key_path,
    verify,
    witness,
)
from sluis.audit.signing import sign_checkpoint
from sluis.cli.audit_cmd import audit_verify, audit_witness
from sluis.domain.insz import is_valid_insz, make_insz

INSZ = make_insz(dt.date(1985, 7, 31), 123)  # a valid national number (1900s rule)
INSZ_2000 = make_insz(dt.date(2004, 2, 29), 2)  # the 2000s rule
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
STEPS = [
    ("run-started", {"spec": "25-074", "spec_sha256": hashlib.sha256(b"spec").hexdigest()}),
    ("sources-checked", {"tables": 18, "rows": 1_100_000_000, "quarantined": 0}),
    ("population-selected", {"persons": 41_234, "reference_date": "2024-12-31"}),
    ("key-used", {"project": "25-074", "fingerprint": "3f9a0c1d2e4b5a67"}),
    ("pseudonymised", {"persons": 41_234, "households": 20_007}),
    ("coarsened", {"variables": 73, "rules": ["age-5y", "country-group"]}),
    ("scra-result", {"k": 5, "global_risk": 0.0012, "suppressed": 17}),
    ("package-built", {"files": ["panel.parquet", "panel.dta"], "bytes": 123_456}),
    ("encrypted", {"recipients": 2, "file": "package.age"}),
    ("sent", {"host": "sftp.example.be", "bytes": 130_000}),
    ("received", {"receipt": "receipt.json"}),
]


def fixed_clock() -> Callable[[], dt.datetime]:
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    ticks = itertools.count()
    return lambda: start + dt.timedelta(seconds=next(ticks))


def make_log(
    path: Path, steps: int = 11, *, every: int = 4, close: bool = True
) -> tuple[Path, dict]:
    """A log of ``steps`` events (a checkpoint after every ``every``); returns it and the
    last checkpoint."""
    log = AuditLog(path, party="ksz", key=KEY, checkpoint_every=every, clock=fixed_clock())
    for i in range(steps):
        event, data = STEPS[i % len(STEPS)]
        log.append(event, data)
    if close:  # as the delivery stage does: sign the log as it is, then close it
        checkpoint = log.checkpoint()
        log.close()
    else:
        checkpoint = log.current_checkpoint()
    return path, checkpoint


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def first(report) -> tuple[int | None, str]:
    assert not report.ok, "the change was not detected"
    problem = report.problems[0]
    return problem.line, problem.rule


# ---------------------------------------------------------------- format and writing


def test_g10_records_are_canonical_chained_json_lines(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl", steps=5, every=0)
    lines = lines_of(path)
    assert len(lines) == 7  # five events, the checkpoint and the seal close() writes
    prev = GENESIS
    for seq, line in enumerate(lines, start=1):
        record = json.loads(line)
        assert set(record) == {"seq", "time", "party", "event", "data", "prev", "hash"}
        assert line == canonical(record)  # sorted keys, no spaces, UTF-8
        assert record["seq"] == seq and record["party"] == "ksz"
        assert record["time"].endswith("Z") and record["time"].startswith("2026-11-23T09:00:0")
        assert record["prev"] == prev
        body = {k: v for k, v in record.items() if k != "hash"}
        assert record["hash"] == hashlib.sha256(canonical(body)).hexdigest()
        prev = hashlib.sha256(line).hexdigest()
    assert json.loads(lines[-2])["event"] == "checkpoint"
    assert "seal" not in json.loads(lines[-2])["data"]
    seal = json.loads(lines[-1])
    assert seal["event"] == "checkpoint" and seal["data"]["seal"] is True
    assert seal["data"]["seq"] == 6  # the seal covers the checkpoint before it
    assert (stat.S_IMODE(path.stat().st_mode) & 0o007) == 0


def test_g10_the_same_events_and_clock_give_the_same_bytes(tmp_path: Path) -> None:
    a, cp_a = make_log(tmp_path / "a.jsonl")
    b, cp_b = make_log(tmp_path / "b.jsonl")
    assert a.read_bytes() == b.read_bytes() and cp_a == cp_b  # Ed25519 is deterministic (X3)


def test_g10_unknown_and_reserved_events_and_bad_data_are_refused(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", party="ksz", key=KEY, events=["enclave-job"])
    log.append("enclave-job", {"job": 3})  # an extended vocabulary
    for event in ("made-up", "checkpoint", "repaired", "Run Started"):
        with pytest.raises(AuditError, match="event"):
            log.append(event, {})
    with pytest.raises(AuditError, match="JSON"):
        log.append("run-started", {"when": dt.date(2026, 1, 1)})
    with pytest.raises(AuditError, match="not a JSON number"):
        log.append("run-started", {"risk": float("nan")})
    with pytest.raises(AuditError, match="over"):
        log.append("run-started", {"blob": "x" * 20_000})
    log.close()
    assert verify(log.path).records == 2  # the extended event and the closing checkpoint


@pytest.mark.parametrize(
    "data",
    [
        {"person": INSZ},
        {"person": INSZ_2000},
        {"message": f"row 5 has insz {INSZ} twice"},
        {"rows": [{"files": ["a.parquet", f"{INSZ}.csv"]}]},
        {INSZ: 1},
        {"number": int(INSZ)},
        {"number": float(INSZ)},
    ],
)
def test_g10_a_national_number_never_enters_the_log(tmp_path: Path, data: dict) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", party="ksz", key=KEY)
    with pytest.raises(AuditError, match="national number") as err:
        log.append("population-selected", data)
    assert err.value.rule == "audit-insz"
    assert INSZ not in str(err.value) and INSZ_2000 not in str(err.value)
    log.close()
    assert tmp_path.joinpath("audit.jsonl").read_bytes() == b""


def test_g10_digests_and_invalid_numbers_pass_the_insz_scan() -> None:
    bad_check = INSZ[:9] + f"{(int(INSZ[9:]) + 1) % 100:02d}"
    assert not is_valid_insz(bad_check)
    digest = "ab" + INSZ + "c" * 51  # 64 hex digits holding eleven digits in a row
    assert find_insz({"sha256": digest, "rows": 12_345_678_901 - 1, "id": bad_check}) is None
    assert find_insz({"x": INSZ + "0"}) is None  # twelve digits: not an INSZ
    assert find_insz({"x": ["ok", {"y": INSZ}]}) == "data.x[1].y"


def test_g10_party_ids_are_checked(tmp_path: Path) -> None:
    for party in ("KSZ", "", "a b", INSZ):
        with pytest.raises(AuditError, match="party"):
            AuditLog(tmp_path / "audit.jsonl", party=party, key=KEY)


# ---------------------------------------------------------------- checkpoints and keys


def test_g10_checkpoints_every_n_records_sign_the_last_hash(tmp_path: Path) -> None:
    path, checkpoint = make_log(tmp_path / "audit.jsonl", steps=9, every=4, close=False)
    records = [json.loads(line) for line in lines_of(path)]
    events = [r["event"] for r in records]
    assert events.count("checkpoint") == 2
    assert [i + 1 for i, e in enumerate(events) if e == "checkpoint"] == [5, 10]
    cp_record = records[9]
    assert cp_record["data"]["seq"] == 9 and cp_record["data"]["hash"] == records[8]["hash"]
    assert cp_record["data"]["public_key"] == public_key_openssh(KEY)
    assert checkpoint == {
        "party": "ksz",
        "seq": 9,
        "hash": records[8]["hash"],
        "signature": sign_checkpoint(KEY, "ksz", 9, records[8]["hash"]),
        "fingerprint": fingerprint(KEY),
    }
    KEY.public_key().verify(
        bytes.fromhex(checkpoint["signature"]),
        canonical(
            {
                "hash": checkpoint["hash"],
                "party": "ksz",
                "seq": 9,
                "type": "sluis-audit-checkpoint/1",
            }
        ),
    )


def test_g10_checkpoint_on_demand_covers_the_latest_record(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", party="ksz", key=KEY, checkpoint_every=0)
    assert log.current_checkpoint() is None
    with pytest.raises(AuditError, match="empty"):
        log.checkpoint()
    record = log.append("package-built", {"files": 3})
    cp = log.checkpoint()
    assert (cp["seq"], cp["hash"]) == (1, record.hash)
    assert log.checkpoint() == cp  # the log already ends with a checkpoint: nothing written
    assert log.current_checkpoint() == cp
    log.close()
    assert len(lines_of(log.path)) == 3  # the record, the checkpoint, the seal


def test_g10_signing_key_is_created_once_owner_only(tmp_path: Path) -> None:
    store = tmp_path / "keys"
    key = signing_key(store, "statbel")
    path = signing_key_path(store, "statbel")
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    again = signing_key(store, "statbel")
    assert path.read_bytes() == before and public_key_raw(again) == public_key_raw(key)
    line = public_key_openssh(key, comment="statbel audit")
    assert line.startswith("ssh-ed25519 ") and line.endswith(" statbel audit")
    for exported in (line, public_key_raw(key), public_key_raw(key).hex()):
        assert public_key_raw(load_public_key(exported)) == public_key_raw(key)
    assert fingerprint(key).startswith("SHA256:") and len(fingerprint(key)) == 50
    os.chmod(path, 0o640)
    with pytest.raises(AuditError, match="group or others"):
        signing_key(store, "statbel")
    with pytest.raises(AuditError, match="Ed25519"):
        load_public_key("not a key")


# ---------------------------------------------------------------- verification


def test_g10_a_valid_log_verifies(tmp_path: Path) -> None:
    path, checkpoint = make_log(tmp_path / "audit.jsonl")
    report = verify(path, public_key=KEY.public_key(), checkpoint=checkpoint)
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.last_seq) == (15, 4, 15)
    assert report.seals == 1 and report.sealed
    assert report.key_source == "given" and report.warnings == []


def test_g10_flipped_byte_is_found_at_its_line(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    changed = lines[2].replace(b'"persons":41234', b'"persons":41235')
    assert changed != lines[2]
    lines[2] = changed
    write_lines(path, lines)
    report = verify(path)
    assert first(report) == (3, "audit-hash")
    assert report.problems[0].seq == 3
    assert (report.problems[1].line, report.problems[1].rule) == (4, "audit-prev")


def test_g10_dropped_line_is_found(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    del lines[6]
    write_lines(path, lines)
    report = verify(path)
    assert first(report) == (7, "audit-prev")
    assert any(
        p.rule == "audit-seq" and "record 7 is missing" in p.message for p in report.problems
    )


def test_g10_inserted_line_is_found(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    # a forged record that is well formed, correctly hashed and chained to line 3
    forged = {
        "seq": 4,
        "time": "2026-11-23T09:00:03.000000Z",
        "party": "ksz",
        "event": "sent",
        "data": {"host": "elsewhere"},
        "prev": hashlib.sha256(lines[2]).hexdigest(),
    }
    forged["hash"] = hashlib.sha256(canonical(forged)).hexdigest()
    lines.insert(3, canonical(forged))
    write_lines(path, lines)
    report = verify(path)
    assert first(report) == (5, "audit-prev")  # the original record 4, now on line 5
    assert any(p.rule == "audit-seq" and p.line == 5 for p in report.problems)


def test_g10_swapped_lines_are_found(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    lines[7], lines[8] = lines[8], lines[7]
    write_lines(path, lines)
    assert first(verify(path)) == (8, "audit-prev")


def test_g10_truncation_is_found_against_an_external_checkpoint(tmp_path: Path) -> None:
    path, checkpoint = make_log(tmp_path / "audit.jsonl")
    assert checkpoint["seq"] == 13
    write_lines(path, lines_of(path)[:10])  # cut after the second checkpoint (line 10)
    # a chain cut at a line boundary is a valid chain, but a closed log ends with a seal
    assert first(verify(path)) == (10, "audit-unsealed")
    assert verify(path, still_open=True).ok
    report = verify(path, checkpoint=checkpoint, still_open=True)
    assert first(report) == (11, "audit-truncated")
    assert "ends at seq 10" in report.problems[0].message

    write_lines(path, lines_of(path)[:8])  # now also records after the last checkpoint
    plain = verify(path, still_open=True)
    assert plain.ok and plain.after_checkpoint == 3
    assert any(
        w.rule == "audit-unsealed" and "ends 3 record(s) after its last checkpoint" in w.message
        for w in plain.warnings
    )


def test_g10_edited_and_rehashed_record_breaks_the_next_prev(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    record = json.loads(lines[2])
    record["data"]["rows"] = 7
    record["hash"] = hashlib.sha256(
        canonical({k: v for k, v in record.items() if k != "hash"})
    ).hexdigest()
    lines[2] = canonical(record)
    write_lines(path, lines)
    assert first(verify(path)) == (4, "audit-prev")


def test_g10_rewritten_chain_breaks_at_the_checkpoint_signature(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    records = [json.loads(line) for line in lines_of(path)]
    records[2]["data"]["rows"] = 7  # edit record 3, then re-hash and re-chain everything after
    prev, out = GENESIS, []
    for record in records:
        record["prev"] = prev
        if record["event"] == "checkpoint":  # the attacker fixes seq/hash, cannot re-sign
            record["data"]["hash"] = out[-1]["hash"]
        record["hash"] = hashlib.sha256(
            canonical({k: v for k, v in record.items() if k != "hash"})
        ).hexdigest()
        out.append(record)
        prev = hashlib.sha256(canonical(record)).hexdigest()
    write_lines(path, [canonical(r) for r in out])
    assert first(verify(path)) == (5, "audit-signature")  # the first checkpoint


def test_g10_a_log_resigned_with_another_key_fails_against_the_party_key(tmp_path: Path) -> None:
    path, checkpoint = make_log(tmp_path / "audit.jsonl")
    report = verify(path, public_key=OTHER_KEY.public_key())
    assert first(report) == (5, "audit-key")
    assert verify(path, public_key=OTHER_KEY.public_key(), checkpoint=checkpoint).problems
    forged = dict(checkpoint, signature=sign_checkpoint(OTHER_KEY, "ksz", 13, checkpoint["hash"]))
    assert first(verify(path, checkpoint=forged)) == (None, "audit-signature")


def test_g10_external_checkpoint_from_another_history_is_found(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    _, other = make_log(tmp_path / "other.jsonl", steps=12)
    report = verify(path, checkpoint=other)
    assert first(report) == (14, "audit-checkpoint")  # same seq, another history
    assert other["seq"] == 14 and len(lines_of(path)) == 15


# ---------------------------------------------------------------- crashes and concurrency


def test_g10_incomplete_last_line_blocks_appends_until_repaired(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl", steps=3, every=0, close=False)
    whole = lines_of(path)
    fragment = b'{"data":{"files":3},"event":"pack'  # a write cut short by a crash
    with path.open("ab") as fh:
        fh.write(fragment)
    report = verify(path)
    assert first(report) == (4, "audit-partial-line")
    log = AuditLog(path, party="ksz", key=KEY, clock=fixed_clock())
    with pytest.raises(AuditError, match="incomplete line") as err:
        log.append("package-built", {})
    assert err.value.rule == "audit-partial-line"
    assert log.repair() == len(fragment)
    assert log.repair() == 0
    log.append("package-built", {"files": 3})
    log.close()
    lines = lines_of(path)
    assert lines[:3] == whole
    repaired = json.loads(lines[3])
    assert repaired["event"] == "repaired"
    assert repaired["data"] == {
        "removed_bytes": len(fragment),
        "removed_sha256": hashlib.sha256(fragment).hexdigest(),
    }
    assert verify(path, public_key=KEY).ok


def test_g10_a_tampered_log_is_not_appended_to(tmp_path: Path) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    del lines[1]
    write_lines(path, lines)
    with pytest.raises(AuditError, match="fails verification") as err:
        AuditLog(path, party="ksz", key=KEY)
    assert err.value.rule == "audit-tampered" and err.value.line == 2


def test_g10_concurrent_appenders_in_one_process_are_serialised(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    logs = [AuditLog(path, party="ksz", key=KEY, checkpoint_every=10) for _ in range(2)]

    def work(log: AuditLog, n: int) -> None:
        for i in range(25):
            log.append("sent", {"worker": n, "i": i})

    threads = [threading.Thread(target=work, args=(logs[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for log in logs:
        log.close()
    report = verify(path, public_key=KEY)
    assert report.ok, report.problems
    assert report.records - report.checkpoints == 100 and report.checkpoints >= 10


def _append_in_child(path: str, n: int) -> None:
    with AuditLog(Path(path), party="ksz", key=KEY, checkpoint_every=7) as log:
        for i in range(15):
            log.append("received", {"process": n, "i": i})


def test_g10_appenders_in_several_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_append_in_child, args=(str(path), n)) for n in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join()
        assert child.exitcode == 0
    report = verify(path, public_key=KEY)
    assert report.ok, report.problems
    assert report.records - report.checkpoints == 30


# ---------------------------------------------------------------- property


def _mutate(content: bytes, kind: str, position: int, value: int) -> bytes:
    at = position % len(content)
    if kind == "replace":
        new = value if value != content[at] else (value + 1) % 256
        return content[:at] + bytes([new]) + content[at + 1 :]
    if kind == "delete":
        return content[:at] + content[at + 1 :]
    return content[:at] + bytes([value]) + content[at:]


_facts = st.dictionaries(
    st.text("abcdefghij_", min_size=1, max_size=6),
    st.one_of(st.integers(-(10**12), 10**12), st.text(max_size=12), st.booleans(), st.none()),
    max_size=3,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(sorted(EVENTS - {"checkpoint", "repaired"})), _facts),
        min_size=1,
        max_size=8,
    ),
    every=st.integers(0, 3),
    kind=st.sampled_from(["replace", "delete", "insert"]),
    position=st.integers(0, 10**6),
    value=st.integers(0, 255),
)
def test_g10_any_single_byte_change_fails_verification(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list,
    every: int,
    kind: str,
    position: int,
    value: int,
) -> None:
    path = tmp_path_factory.mktemp("prop") / "audit.jsonl"
    log = AuditLog(path, party="ksz", key=KEY, checkpoint_every=every, clock=fixed_clock())
    for event, data in steps:
        try:
            log.append(event, data)
        except AuditError as err:  # hypothesis may draw a national number
            assert err.rule == "audit-insz"
    checkpoint = log.checkpoint() if path.stat().st_size else None
    log.close()
    content = path.read_bytes()
    if not content:
        return
    assert verify(path, public_key=KEY).ok
    mutated = _mutate(content, kind, position, value)
    path.write_bytes(mutated)
    assert not verify(path, public_key=KEY, checkpoint=checkpoint).ok


# ---------------------------------------------------------------- CLI


@pytest.fixture
def cli() -> Callable[..., object]:
    app = typer.Typer()
    audit_app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    audit_app.command("verify")(audit_verify)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["audit", "verify", *map(str, args)])


def test_g10_cli_verify_reports_valid_and_tampered(tmp_path: Path, cli) -> None:
    path, checkpoint = make_log(tmp_path / "audit.jsonl")
    key_file = tmp_path / "ksz.pub"
    key_file.write_text(public_key_openssh(KEY) + "\n")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"files": {"a.parquet": "00"}, "audit_checkpoint": checkpoint}))
    assert load_checkpoint(manifest) == checkpoint

    result = cli(path, "--public-key", key_file, "--checkpoint", manifest)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "15 record(s)" in result.output

    lines = lines_of(path)
    lines[5], lines[6] = lines[6], lines[5]
    write_lines(path, lines)
    result = cli(path)
    assert result.exit_code == 1
    assert (
        "TAMPERED" in result.output and "first problem: line 6, seq 7: audit-prev" in result.output
    )


def test_g10_cli_verify_finds_truncation_against_a_manifest(tmp_path: Path, cli) -> None:
    path, checkpoint = make_log(tmp_path / "audit.jsonl")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"audit_checkpoint": checkpoint}))
    write_lines(path, lines_of(path)[:9])
    plain = cli(path)  # X2: the cut is an error now, not a warning
    assert plain.exit_code == 1 and "audit-unsealed" in plain.output, plain.output
    still_open = cli(path, "--open")
    assert still_open.exit_code == 0 and "after its last checkpoint" in still_open.output
    result = cli(path, "--checkpoint", manifest, "--open")
    assert result.exit_code == 1 and "audit-truncated" in result.output
    assert "line 10" in result.output


def test_g10_cli_verify_usage_errors_are_sluis_errors(tmp_path: Path, cli) -> None:
    result = cli(tmp_path / "missing.jsonl")
    assert isinstance(result.exception, AuditError)
    assert result.exception.rule == "audit-missing"
    bad = tmp_path / "bad.json"
    bad.write_text('{"nothing": 1}')
    path, _ = make_log(tmp_path / "audit.jsonl", steps=2)
    result = cli(path, "--checkpoint", bad)
    assert isinstance(result.exception, AuditError)
    assert result.exception.rule == "audit-checkpoint-format"


def test_g10_cli_verify_with_the_wrong_public_key_fails(tmp_path: Path, cli) -> None:
    path, _ = make_log(tmp_path / "audit.jsonl")
    wrong = tmp_path / "other.pub"
    wrong.write_text(public_key_openssh(OTHER_KEY))
    result = cli(path, "--public-key", wrong)
    assert result.exit_code == 1 and "audit-key" in result.output
    result = cli(path, "--public-key", tmp_path / "missing.pub")
    assert isinstance(result.exception, AuditError) and result.exception.rule == "key-missing"


def test_g10_cli_verify_calls_an_empty_log_an_error(tmp_path: Path, cli) -> None:
    """Issue 23: a party's log is written by its run or delivery, so an empty one was
    emptied; "valid: 0 record(s)" hid that. One line, exit 1; a log of one record passes."""
    empty = tmp_path / "audit.jsonl"
    empty.write_bytes(b"")
    result = cli(empty)
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1, result.output
    assert "EMPTY" in result.output and "audit-empty" in result.output
    assert "valid" not in result.output
    report = verify(empty)
    assert not report.ok and report.first_problem.rule == "audit-empty"
    with AuditLog(empty, party="ksz", key=KEY) as log:  # an appender starts from an empty file
        log.append("run-started", {"decision": "25/074"})
    assert cli(empty).exit_code == 0


# ---------------------------------------------------------------- seals and witnesses (issue 22)


def _rehash(record: dict) -> dict:
    record["hash"] = hashlib.sha256(
        canonical({k: v for k, v in record.items() if k != "hash"})
    ).hexdigest()
    return record


def _forged_append(lines: list[bytes], event: str = "destroyed") -> list[bytes]:
    """A record chained to the last line with a correct prev and hash, as anyone without the
    key can write."""
    last = json.loads(lines[-1])
    forged = _rehash(
        {
            "seq": last["seq"] + 1,
            "time": "2026-11-23T09:59:00.000000Z",
            "party": "ksz",
            "event": event,
            "data": {"files": [{"name": "panel.parquet", "bytes": 1}]},
            "prev": hashlib.sha256(lines[-1]).hexdigest(),
        }
    )
    return [*lines, canonical(forged)]


def _resigned(lines: list[bytes], key: Ed25519PrivateKey) -> list[bytes]:
    """Every line re-chained and every checkpoint re-signed with ``key`` (record 3 edited)."""
    records = [json.loads(line) for line in lines]
    records[2]["data"]["rows"] = 7
    prev, out = GENESIS, []
    for record in records:
        record["prev"] = prev
        if record["event"] == "checkpoint":
            data, seal = record["data"], record["data"].get("seal") is True
            data["hash"] = out[-1]["hash"]
            data["signature"] = sign_checkpoint(key, "ksz", data["seq"], data["hash"], seal=seal)
            data["fingerprint"] = fingerprint(key)
            data["public_key"] = public_key_openssh(key)
        out.append(_rehash(record))
        prev = hashlib.sha256(canonical(record)).hexdigest()
    return [canonical(r) for r in out]


def _first_checkpoint_line(lines: list[bytes]) -> int:
    return next(i for i, line in enumerate(lines) if b'"event":"checkpoint"' in line)


#: each takes the lines of a closed log (15 lines: checkpoints on 5, 10, 14, the seal on 15)
#: and returns the bytes of a tampered copy
TAMPERINGS: dict[str, Callable[[list[bytes]], bytes]] = {
    "byte flipped": lambda ls: (
        b"\n".join(ls).replace(b'"persons":41234', b'"persons":41284', 1) + b"\n"
    ),
    "line deleted": lambda ls: b"".join(x + b"\n" for i, x in enumerate(ls) if i != 6),
    "first line deleted": lambda ls: b"".join(x + b"\n" for x in ls[1:]),
    "last line deleted": lambda ls: b"".join(x + b"\n" for x in ls[:-1]),
    "lines swapped": lambda ls: b"".join(x + b"\n" for x in [*ls[:3], ls[4], ls[3], *ls[5:]]),
    "line duplicated": lambda ls: b"".join(x + b"\n" for x in [*ls[:4], ls[3], *ls[4:]]),
    "truncated mid-line": lambda ls: b"".join(x + b"\n" for x in ls)[:-40],
    "tail of two lines cut": lambda ls: b"".join(x + b"\n" for x in ls[:-2]),
    "cut right after the first checkpoint": lambda ls: b"".join(
        x + b"\n" for x in ls[: _first_checkpoint_line(ls) + 1]
    ),
    "forged append with a recomputed hash": lambda ls: b"".join(
        x + b"\n" for x in _forged_append(ls)
    ),
    "forged append with the seal copied after it": lambda ls: b"".join(
        x + b"\n" for x in [*_forged_append(ls), ls[-1]]
    ),
    "forged append sealed with another key": lambda ls: b"".join(
        x + b"\n" for x in _sealed_by(_forged_append(ls), OTHER_KEY)
    ),
    "edited and rehashed": lambda ls: b"".join(
        x + b"\n"
        for x in [
            *ls[:2],
            canonical(_rehash({**json.loads(ls[2]), "data": {"persons": 1}})),
            *ls[3:],
        ]
    ),
    "rewritten and re-signed with another key": lambda ls: b"".join(
        x + b"\n" for x in _resigned(ls, OTHER_KEY)
    ),
    "CRLF line ends": lambda ls: b"".join(x + b"\r\n" for x in ls),
    "emptied": lambda ls: b"",
    "trailing garbage line": lambda ls: b"".join(x + b"\n" for x in ls) + b"garbage\n",
    "trailing bytes without a newline": lambda ls: b"".join(x + b"\n" for x in ls) + b"{}",
}


def _sealed_by(lines: list[bytes], key: Ed25519PrivateKey) -> list[bytes]:
    """``lines`` plus a seal over the last one, signed with ``key``, as ``close`` writes it."""
    last = json.loads(lines[-1])
    seal = _rehash(
        {
            "seq": last["seq"] + 1,
            "time": "2026-11-23T09:59:01.000000Z",
            "party": "ksz",
            "event": "checkpoint",
            "data": {
                "seq": last["seq"],
                "hash": last["hash"],
                "signature": sign_checkpoint(key, "ksz", last["seq"], last["hash"], seal=True),
                "fingerprint": fingerprint(key),
                "public_key": public_key_openssh(key),
                "seal": True,
            },
            "prev": hashlib.sha256(lines[-1]).hexdigest(),
        }
    )
    return [*lines, canonical(seal)]


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_x2_g10_every_tampered_copy_fails_verification(tmp_path: Path, name: str) -> None:
    """Issue 22: of 18 tampered copies none verifies against the party's key and the
    manifest's checkpoint; the untouched log does (X2, G10)."""
    path, checkpoint = make_log(tmp_path / "audit.jsonl")
    assert verify(path, public_key=KEY.public_key(), checkpoint=checkpoint).ok
    lines = lines_of(path)
    assert len(lines) == 15 and json.loads(lines[-1])["data"]["seal"] is True
    tampered = TAMPERINGS[name](lines)
    assert tampered != path.read_bytes()
    path.write_bytes(tampered)
    report = verify(path, public_key=KEY.public_key(), checkpoint=checkpoint)
    assert not report.ok, f"{name}: not detected ({report.warnings})"


def test_x2_g10_appends_and_cuts_without_the_key_fail_even_without_it(tmp_path: Path) -> None:
    """A forged append or a cut tail is an error without any key or manifest too: a closed log
    ends with a seal, and a seal by a second key is a forger's."""
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    expected = {
        "forged append with a recomputed hash": (16, "audit-unsealed"),
        "tail of two lines cut": (13, "audit-unsealed"),
        "cut right after the first checkpoint": (5, "audit-unsealed"),
        "forged append with the seal copied after it": (17, "audit-prev"),
        "forged append sealed with another key": (17, "audit-key"),
    }
    for name, where in expected.items():
        path.write_bytes(TAMPERINGS[name](lines))
        assert first(verify(path)) == where, name


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.integers(1, 14), every=st.integers(0, 4), cut=st.integers(1, 40))
def test_x2_g10_any_tail_cut_by_whole_lines_fails(
    tmp_path_factory: pytest.TempPathFactory, steps: int, every: int, cut: int
) -> None:
    """A log closed once, cut by any number of whole lines: never valid (it no longer ends
    with its seal), and valid again only when declared still open."""
    path, _ = make_log(tmp_path_factory.mktemp("cut") / "audit.jsonl", steps=steps, every=every)
    lines = lines_of(path)
    kept = lines[: max(0, len(lines) - cut)]
    write_lines(path, kept)
    assert not verify(path).ok
    assert verify(path, still_open=True).ok == bool(kept)


def test_g10_close_seals_and_a_reopened_log_is_sealed_again(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, party="ksz", key=KEY, checkpoint_every=0) as log:
        log.append("run-started", {})
    assert verify(path).sealed
    log = AuditLog(path, party="ksz", key=KEY, checkpoint_every=0)
    log.append("sent", {"bytes": 1})
    assert first(verify(path)) == (3, "audit-unsealed")  # open: the appender is still at work
    assert verify(path, still_open=True).ok
    log.close()
    report = verify(path, public_key=KEY)
    assert report.ok and report.seals == 2 and report.sealed


def test_g10_repair_reseals_the_log(tmp_path: Path) -> None:
    """``repair`` is the key holder's act: it records the cut and seals, so the repaired log
    verifies as closed even before ``close``."""
    path, _ = make_log(tmp_path / "audit.jsonl", steps=3, every=0)
    with path.open("ab") as fh:
        fh.write(b'{"data":{"fi')
    log = AuditLog(path, party="ksz", key=KEY)
    assert log.repair() == 12
    events = [json.loads(line) for line in lines_of(path)[-2:]]
    assert [e["event"] for e in events] == ["repaired", "checkpoint"]
    assert events[1]["data"]["seal"] is True
    assert verify(path, public_key=KEY).ok
    log.close()
    assert len(lines_of(path)) == 7  # close adds nothing to a sealed log


def test_g10_a_seal_cannot_be_made_from_a_plain_checkpoint(tmp_path: Path) -> None:
    """A seal signs another message than a checkpoint: adding ``seal: true`` to a cut log's
    last checkpoint breaks its signature."""
    path, _ = make_log(tmp_path / "audit.jsonl")
    lines = lines_of(path)[:5]
    record = json.loads(lines[-1])
    record["data"]["seal"] = True
    lines[-1] = canonical(_rehash(record))
    write_lines(path, lines)
    assert first(verify(path)) == (5, "audit-signature")


def test_g10_the_witness_catches_a_log_rewritten_and_resigned_by_the_key_holder(
    tmp_path: Path,
) -> None:
    """Against the key holder (Certificate Transparency's split view): the rewritten log
    verifies against the party's own key, but not against a checkpoint a witness kept."""
    path, _ = make_log(tmp_path / "audit.jsonl")
    kept = tmp_path / "witness.jsonl"
    checkpoint, _ = witness(path, kept, public_key=KEY.public_key())
    assert checkpoint["seal"] is True and checkpoint["seq"] == 14
    assert witness(path, kept)[0] == checkpoint and len(kept.read_bytes().splitlines()) == 1
    assert verify(path, public_key=KEY, witnesses=load_witnesses(kept)).ok

    path.write_bytes(b"".join(line + b"\n" for line in _resigned(lines_of(path), KEY)))
    rewritten = verify(path, public_key=KEY.public_key())
    assert rewritten.ok and rewritten.sealed  # the key holder's rewrite is self-consistent
    report = verify(path, public_key=KEY, witnesses=load_witnesses(kept))
    assert first(report) == (14, "audit-witness")
    with pytest.raises(AuditError, match="fails verification"):
        witness(path, kept)  # a witness does not countersign another history


def test_g10_the_witness_catches_a_cut_back_to_an_earlier_seal(tmp_path: Path) -> None:
    """A log closed twice can be cut back to its first seal and still end sealed: only a
    checkpoint kept elsewhere shows the cut."""
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, party="ksz", key=KEY, clock=fixed_clock()) as log:
        log.append("run-started", {})
    first_run = len(lines_of(path))
    with AuditLog(path, party="ksz", key=KEY, clock=fixed_clock()) as log:
        log.append("destroyed", {"files": 3})
    kept = tmp_path / "w.jsonl"
    witness(path, kept)
    write_lines(path, lines_of(path)[:first_run])
    assert verify(path).ok  # a closed log, as far as the log alone can tell
    assert first(verify(path, witnesses=load_witnesses(kept))) == (3, "audit-truncated")


def test_g10_receipts_and_witness_files_are_read_as_witnesses(tmp_path: Path) -> None:
    _, checkpoint = make_log(tmp_path / "audit.jsonl")
    receipt = tmp_path / "x.receipt.json"
    receipt.write_text(json.dumps({"sha256": "00", "audit_checkpoint": checkpoint}, indent=2))
    assert load_witnesses(receipt) == [checkpoint]
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps(cp) + "\n" for cp in (checkpoint, checkpoint)))
    assert load_witnesses(many) == [checkpoint, checkpoint]
    for text, rule in (
        ("nothing\n{", "audit-witness-format"),
        ('{"a": 1}', "audit-witness-format"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(AuditError) as err:
            load_witnesses(bad)
        assert err.value.rule == rule and err.value.file == str(bad)


@pytest.mark.parametrize(
    "name",
    [
        "forged append with a recomputed hash",
        "tail of two lines cut",
        "cut right after the first checkpoint",
        "CRLF line ends",
    ],
)
def test_x2_g10_cli_exits_non_zero_on_what_passed_before(tmp_path: Path, cli, name: str) -> None:
    """Issue 22: these passed `sluis audit verify LOG --checkpoint MANIFEST --public-key KEY`
    with a warning; now they exit 1. The untouched log exits 0."""
    path, checkpoint = make_log(tmp_path / "audit.jsonl")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"audit_checkpoint": checkpoint}))
    key_file = tmp_path / "ksz.pub"
    key_file.write_text(public_key_openssh(KEY) + "\n")
    args = ("--checkpoint", manifest, "--public-key", key_file)
    done = cli(path, *args)
    assert done.exit_code == 0 and "sealed" in done.output, done.output
    path.write_bytes(TAMPERINGS[name](lines_of(path)))
    done = cli(path, *args)
    assert done.exit_code == 1 and "TAMPERED" in done.output, done.output


def test_g10_cli_witness_then_verify_with_the_witness(tmp_path: Path) -> None:
    app = typer.Typer()
    audit_app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    audit_app.command("verify")(audit_verify)
    audit_app.command("witness")(audit_witness)
    runner = CliRunner()
    path, _ = make_log(tmp_path / "audit.jsonl")
    kept = tmp_path / "ksz.witness.jsonl"
    done = runner.invoke(app, ["audit", "witness", str(path), "--to", str(kept)])
    assert done.exit_code == 0 and "at seq 14" in done.output, done.output
    done = runner.invoke(app, ["audit", "verify", str(path), "--witness", str(kept)])
    assert done.exit_code == 0 and "1 witnessed checkpoint(s)" in done.output, done.output
    path.write_bytes(b"".join(line + b"\n" for line in _resigned(lines_of(path), KEY)))
    done = runner.invoke(app, ["audit", "verify", str(path), "--witness", str(kept)])
    assert done.exit_code == 1 and "audit-witness" in done.output, done.output
