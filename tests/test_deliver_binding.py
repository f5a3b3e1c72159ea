"""A delivery goes only where its authorisation sends it (issue 23): the package is bound to
the run's spec (digest) and phase (G1, A5), the spec's retention deadline holds, a refusal
leaves nothing behind and is in the audit log (G8, G11, X2), and the delivery's records are
covered by a signed checkpoint that delivery.json and the receipt carry (G10).

One 25/074 phase-1 run on a tiny synthetic Belgium serves every test (each on a copy of its
workspace); the enclave phase needs a run of its own."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sluis.audit import load_checkpoint, public_key_openssh, signing_key, verify
from sluis.deliver.receipt import verify_receipt
from sluis.domain.insz import is_valid_insz
from sluis.flow import run_spec
from sluis.flow.deliver import DeliveryRefused, SftpTarget, deliver
from sluis.flow.retain import opened_held
from sluis.retain import vault
from sluis.spec.load import SpecError
from sluis.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
OTHER = ROOT / "specs" / "26-050.yaml"
DAY = dt.date(2026, 12, 1)
NAME = "25-074-uantwerpen-20261201"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sources = tmp_path_factory.mktemp("belgium") / "sources"
    generate(sources, scale=0.002, seed=5, workers=1)
    return sources


@pytest.fixture(scope="module")
def run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 25/074 phase-1 workspace, ready to deliver."""
    work = tmp_path_factory.mktemp("run")
    assert run_spec(SPEC, data, phase=1, work=work).scra_ok
    return work


@pytest.fixture
def work(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "work"
    shutil.copytree(run, copy)
    return copy


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sluis.cli.app", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _events(work: Path) -> list[dict]:
    log = work / "ksz" / "audit.log"
    return [json.loads(line) for line in log.read_text().splitlines()]


def _assert_refused_and_nothing_left(work: Path, rule: str) -> None:
    """No file of the package anywhere under delivery/, the refusal in the audit log (after
    every record of the run) and the log intact."""
    delivery = work / "ksz" / "delivery"
    left = sorted(p.name for p in delivery.iterdir()) if delivery.exists() else []
    assert left == [], left
    events = _events(work)
    refused = [e for e in events if e["event"] == "refused"]
    assert [e["data"] for e in refused] == [{"stage": "deliver", "rule": rule, "package": NAME}]
    assert not {"package-built", "encrypted", "sent"} & {e["event"] for e in events}
    report = verify(work / "ksz" / "audit.log")
    assert report.ok, report.first_problem


def test_g1_deliver_refuses_a_spec_other_than_the_runs(work: Path, tmp_path: Path) -> None:
    """The run's spec with its researcher's key swapped for 26/050's: the data would be
    encrypted to another decision's recipient. Refused in one line, exit 1, nothing built."""
    theirs = next(
        line.split("public_key: ", 1)[1]
        for line in OTHER.read_text().splitlines()
        if "public_key: " in line
    )
    ours = next(
        line.split("public_key: ", 1)[1]
        for line in SPEC.read_text().splitlines()
        if "public_key: " in line
    )
    swapped = tmp_path / "25-074.yaml"
    swapped.write_text(SPEC.read_text().replace(ours, theirs))
    done = _cli("deliver", swapped, "--work", work, "--date", DAY.isoformat())
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"{swapped}: spec-mismatch: the run used spec 25/074 (digest " in done.stderr
    recorded = json.loads((work / "run.json").read_text())["spec_sha256"]
    assert recorded[:12] in done.stderr
    _assert_refused_and_nothing_left(work, "spec-mismatch")


def test_a5_deliver_refuses_an_enclave_phase(data: Path, tmp_path: Path) -> None:
    """25/074 phase 2 is the enclave (decision §4 and §29): the full samples are analysed at
    KSZ and never leave it. A phase-2 run records its mode; its delivery is refused."""
    work = tmp_path / "phase2"
    summary = run_spec(SPEC, data, phase=2, work=work)
    record = json.loads((work / "run.json").read_text())
    assert (record["phase"], record["phase_mode"]) == (2, "enclave") == (2, summary.phase_mode)
    done = _cli("deliver", SPEC, "--work", work, "--date", DAY.isoformat())
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "enclave-phase: phase 2 of 25/074 is an enclave phase (§29)" in done.stderr
    _assert_refused_and_nothing_left(work, "enclave-phase")


def test_g1_deliver_refuses_a_date_past_the_retention_deadline(work: Path) -> None:
    """25/074 §30: the data are destroyed by 2029-10-31; a delivery dated after it is
    refused (the day itself is still within)."""
    late = dt.date(2029, 11, 1)
    with pytest.raises(DeliveryRefused) as err:
        deliver(SPEC, work, created=late)
    assert err.value.rule == "past-deadline"
    assert "2029-11-01 is after the spec's retention deadline 2029-10-31 (§30)" in str(err.value)
    delivery = work / "ksz" / "delivery"
    assert not delivery.exists()
    refused = [e["data"] for e in _events(work) if e["event"] == "refused"]
    assert refused == [
        {"stage": "deliver", "rule": "past-deadline", "package": "25-074-uantwerpen-20291101"}
    ]


def test_x2_a_run_that_records_no_binding_is_refused_with_a_hint_to_rerun(work: Path) -> None:
    """A run of an older sluis wrote no phase mode: it cannot be bound, and the operator is
    told to rerun (X2: a one-line located error, not a delivery on trust)."""
    record = work / "run.json"
    old = json.loads(record.read_text())
    del old["phase_mode"]
    record.write_text(json.dumps(old))
    with pytest.raises(DeliveryRefused) as err:
        deliver(SPEC, work, created=DAY)
    assert err.value.rule == "run-unbound" and err.value.file == str(record)
    assert "phase_mode missing" in err.value.message
    assert err.value.hint is not None and "sluis run" in err.value.hint
    assert "\n" not in str(err.value)
    _assert_refused_and_nothing_left(work, "run-unbound")


def test_g5_no_delivery_when_the_thresholds_do_not_hold(work: Path) -> None:
    """The run's SCRA says the spec's thresholds do not hold: refused, nothing built, the
    refusal logged (moved here from test_flow_25074, whose run is of the enclave phase)."""
    result = work / "ksz" / "scra" / "scra.json"
    scra = json.loads(result.read_text())
    scra["ok"] = False
    result.write_text(json.dumps(scra))
    with pytest.raises(DeliveryRefused) as err:
        deliver(SPEC, work, created=DAY)
    assert err.value.rule == "scra-failed"
    _assert_refused_and_nothing_left(work, "scra-failed")


def _unusable_key() -> str:
    """An ssh-ed25519 key of the right shape whose 32 bytes are not a point of the curve:
    it cannot be encrypted to."""
    prefix = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
    return "ssh-ed25519 " + base64.b64encode(prefix + b"\x01" * 31 + b"\x02").decode()


def test_g11_a_bad_recipient_key_gets_nothing_built(work: Path, data: Path, tmp_path: Path) -> None:
    """A researcher's key that cannot be encrypted to (the corpus case left the package and
    its plaintext tar in delivery/): the spec is refused where it is loaded, by the run and
    by the delivery, so nothing is extracted, built or encrypted. (The delivery checks the
    keys again before it builds anything; the privacy-scan test covers a refusal after the
    package exists.)"""
    ours = next(
        line.split("public_key: ", 1)[1]
        for line in SPEC.read_text().splitlines()
        if "public_key: " in line
    )
    spec = tmp_path / "25-074.yaml"
    spec.write_text(SPEC.read_text().replace(ours, _unusable_key()))
    with pytest.raises(SpecError) as err:
        run_spec(spec, data, phase=1, work=tmp_path / "bad-run")
    assert [p.rule for p in err.value.problems] == ["bad-public-key"]
    assert not (tmp_path / "bad-run").exists()
    with pytest.raises(SpecError):
        deliver(spec, work, created=DAY)
    assert not (work / "ksz" / "delivery").exists()


def test_g8_a_privacy_scan_refusal_removes_the_package(work: Path) -> None:
    """A national number in the treated extract (as a bug upstream would leave it): the
    scan refuses, and the package it was found in is gone from delivery/. The treated
    files are sealed from the run's first write (G9): the bug's value is sealed in too."""
    home = work / "ksz"
    sealed = home / "scra" / "staged" / f"panel.parquet{vault.SUFFIX}"
    key_id = vault.key_id_of(sealed)
    with opened_held(home / "scra" / "staged") as plain:
        table = pq.read_table(plain / "panel.parquet")
    column = "household_size"
    assert pa.types.is_int64(table.schema.field(column).type)
    insz = 99092700170
    assert is_valid_insz(str(insz))
    values = table[column].to_pylist()
    values[0] = insz
    index = table.schema.get_field_index(column)
    table = table.set_column(index, table.schema.field(column), pa.array(values, pa.int64()))
    with vault.private_folder(home) as scratch:
        pq.write_table(table, scratch / "panel.parquet")
        key = vault.load_data_key(home / "keys", key_id)
        label = "treated/panel.parquet"
        vault.seal_file(scratch / "panel.parquet", sealed, key=key, key_id=key_id, label=label)
    with pytest.raises(DeliveryRefused) as err:
        deliver(SPEC, work, created=DAY)
    assert err.value.rule == "privacy-scan" and "insz" in str(err.value)
    assert str(insz) not in str(err.value)
    _assert_refused_and_nothing_left(work, "privacy-scan")
    assert str(insz) not in (work / "ksz" / "audit.log").read_text()


def test_g10_the_delivery_carries_a_checkpoint_covering_its_last_record(
    work: Path, tmp_path: Path
) -> None:
    """The package's checkpoint is signed before the package exists, so package-built,
    encrypted and sent come after it; delivery.json and the signed receipt carry a later
    one that covers `sent`. `sluis audit verify --checkpoint delivery.json` proves a cut of
    those records, which the package's checkpoint cannot."""
    from sluis.deliver.local_sftp import local_sftp

    with local_sftp(tmp_path / "inbox", tmp_path / "keys") as s:
        target = SftpTarget(s.host, s.port, s.username, s.client_key, s.host_public_key, "/")
        summary = deliver(SPEC, work, created=DAY, target=target)
    events = _events(work)
    seq = {e["event"]: e["seq"] for e in events}
    assert summary.audit_checkpoint is not None
    assert summary.audit_checkpoint["seq"] == seq["sent"] > seq["encrypted"] > seq["package-built"]
    delivery = work / "ksz" / "delivery"
    # the package is sealed at rest once delivered (G9): read it through the vault
    home = work / "ksz"
    with vault.opened(delivery / NAME, store=home / "keys", purpose="package", work=home) as plain:
        inside = shutil.copy(plain / "data" / "audit-checkpoint.json", tmp_path / "package.json")
    package = load_checkpoint(inside)
    assert package["seq"] < seq["package-built"]
    assert load_checkpoint(delivery / "delivery.json") == summary.audit_checkpoint
    key = signing_key(work / "ksz" / "keys", "ksz")
    receipt = verify_receipt(Path(summary.receipt), key.public_key())
    assert receipt["audit_checkpoint"] == summary.audit_checkpoint

    log = work / "ksz" / "audit.log"
    public = tmp_path / "ksz.pub"
    public.write_text(public_key_openssh(key) + "\n")
    done = _cli("audit", "verify", log, "--checkpoint", delivery / "delivery.json",
                "--public-key", public)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"external checkpoint at seq {seq['sent']}" in done.stdout
    # cut the delivery's records off the end: the package's checkpoint does not see it
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[: seq["package-built"] - 1]))
    assert _cli("audit", "verify", log, "--checkpoint", inside).returncode == 0
    done = _cli("audit", "verify", log, "--checkpoint", Path(summary.receipt))
    assert done.returncode == 1 and "audit-truncated" in done.stdout, done.stdout
