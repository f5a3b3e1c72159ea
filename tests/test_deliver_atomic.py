"""Atomicity of `sluis deliver` (G8, X2): the delivery process is killed (SIGKILL) while
it writes the exports, while it packs and encrypts, and while it uploads to a real OpenSSH
server. After every kill nothing under a final name is incomplete (the package verifies,
the encrypted file decrypts to the package, the remote file is the local one, no
``delivery.json``), the audit log verifies, and a plain rerun (no ``--force``) carries on
and ends with a delivery the researcher can open and check against the manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluis.audit import load_checkpoint, verify
from sluis.audit.signing import signing_key
from sluis.deliver import verify_package
from sluis.deliver.encrypt import decrypt, pack
from sluis.deliver.receipt import verify_receipt
from sluis.flow import run_spec
from sluis.flow.deliver import SftpTarget, deliver
from sluis.retain import vault
from sluis.synth import generate
from sshd import SshServer, running_sshd, sshd_missing

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
KEY = ROOT / "specs" / "demo-keys" / "uantwerpen-1"
NAME = "25-074-uantwerpen-20261201"
SEALED = f"{NAME}.tar.age"
pytestmark = pytest.mark.slow

_missing = sshd_missing() or (None if shutil.which("age") else "the age tool is not installed")
if _missing:
    pytestmark = [pytestmark, pytest.mark.skip(reason=f"{_missing} (./dev test installs it)")]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 25/074 phase-1 workspace on a tiny synthetic Belgium, ready to deliver."""
    data = tmp_path_factory.mktemp("belgium") / "sources"
    generate(data, scale=0.002, seed=5, workers=1)
    work = tmp_path_factory.mktemp("run")
    summary = run_spec(SPEC, data, phase=1, work=work)
    assert summary.scra_ok, "the thresholds must hold, or the delivery refuses"
    return work


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def _command(work: Path, server: SshServer, remote: Path) -> list[str]:
    return [
        sys.executable, "-m", "sluis.cli.app", "deliver", str(SPEC), "--work", str(work),
        "--date", "2026-12-01", "--sftp-host", server.host, "--sftp-port", str(server.port),
        "--sftp-user", server.username, "--client-key", str(server.client_key),
        "--host-key", server.host_key, "--remote-dir", str(remote),
    ]  # fmt: skip


def _target(server: SshServer, remote: Path) -> SftpTarget:
    return SftpTarget(
        server.host, server.port, server.username, server.client_key, server.host_key, str(remote)
    )


def _kill_when(command: list[str], when: Callable[[], str | None], timeout: float = 60) -> str:
    """Start ``command``, poll ``when`` every millisecond or two and SIGKILL the process as
    soon as it names what it saw; returns that, or "" when the process ended first."""
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            seen = when()
            if seen:
                os.kill(proc.pid, signal.SIGKILL)
                assert proc.wait(timeout=30) == -signal.SIGKILL, "ended before the kill"
                return seen
            time.sleep(0.001)
        assert proc.poll() is not None, f"no kill point within {timeout} s"
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        return ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _temporaries(folder: Path, pattern: str) -> list[Path]:
    try:
        return sorted(folder.glob(pattern))
    except OSError:
        return []


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_final_names(work: Path, remote: Path, scratch: Path, *, done: bool = False) -> None:
    """Everything under a final name is complete; ``delivery.json`` only when ``done``."""
    delivery = work / "ksz" / "delivery"
    finals = {p.name for p in delivery.iterdir() if not p.name.startswith(".")}
    assert finals <= {NAME, f"{NAME}.tar", SEALED, f"{NAME}.receipt.json", "delivery.json"}
    assert ("delivery.json" in finals) == done, finals
    package = delivery / NAME
    tar = b""
    if package.exists():  # sealed at rest once delivered (G9): read through the vault
        home = work / "ksz"
        with vault.opened(package, store=home / "keys", purpose="package", work=home) as plain:
            assert verify_package(plain) == [], "the package under its final name is incomplete"
            shutil.rmtree(scratch / NAME, ignore_errors=True)
            shutil.copytree(plain, scratch / NAME)
        tar = pack(scratch / NAME, scratch / f"{NAME}.tar").read_bytes()
    if (delivery / f"{NAME}.tar").exists():  # the plaintext archive between pack and encrypt
        assert (delivery / f"{NAME}.tar").read_bytes() == tar
    if (delivery / SEALED).exists():
        assert decrypt(delivery / SEALED, KEY) == tar, "the encrypted file is not the package"
    if (remote / SEALED).exists():
        sent = (remote / SEALED).read_bytes()
        assert sent == (delivery / SEALED).read_bytes(), "the remote file is not complete"
    if (delivery / f"{NAME}.receipt.json").exists():
        receipt = json.loads((delivery / f"{NAME}.receipt.json").read_text())
        assert receipt["sha256"] == _sha256((remote / SEALED).read_bytes())
    # a killed delivery leaves its log unsealed (open); a completed one ends with a seal
    report = verify(work / "ksz" / "audit.log", still_open=not done)
    assert report.ok, report.first_problem


def test_g8_x2_killed_delivery_leaves_no_half_written_file_and_a_rerun_completes(
    run: Path, sshd: SshServer, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    shutil.copytree(run, work)
    remote = sshd.root / tmp_path.name
    remote.mkdir()
    delivery = work / "ksz" / "delivery"
    command = _command(work, sshd, remote)
    killed: list[str] = []

    def exporting() -> str | None:
        for tmp in _temporaries(delivery, f".{NAME}.*.tmp"):
            if tmp.is_dir() and any(p.is_file() for p in (tmp / "data").rglob("*")):
                return f"exports: {tmp.name}"
        return None

    def encrypting() -> str | None:
        for tmp in _temporaries(delivery, f".{SEALED}.*.tmp"):
            return f"encrypt: {tmp.name}"
        if (delivery / f"{NAME}.tar").exists():
            return f"encrypt: {NAME}.tar in place"
        return None

    def uploading() -> str | None:
        partial = remote / f".{SEALED}.partial"
        try:
            if partial.stat().st_size > 0:
                return f"upload: {partial.name}, {partial.stat().st_size} bytes"
        except FileNotFoundError:
            pass
        return None

    # 1. while the exports are written: only the temporary package directory exists
    seen = _kill_when(command, exporting)
    assert seen, "the exports were never caught"
    killed.append(seen)
    assert not (delivery / NAME).exists()
    _check_final_names(work, remote, tmp_path)

    # 2. while encrypting (a plain rerun, without --force, gets there); when the poll
    # comes too late the run is killed in the upload, and the kill is tried again without
    # the encrypted file
    for _attempt in range(3):
        seen = _kill_when(command, lambda: encrypting() or uploading())
        assert seen, "the rerun ended without a kill"
        killed.append(seen)
        _check_final_names(work, remote, tmp_path)
        if seen.startswith("encrypt"):
            break
        (delivery / SEALED).unlink()
    assert killed[-1].startswith("encrypt"), killed

    # 3. while uploading: only the remote .partial name exists
    seen = _kill_when(command, uploading)
    assert seen, "the upload was never caught"
    killed.append(seen)
    assert not (remote / SEALED).exists()
    _check_final_names(work, remote, tmp_path)
    sealed = _sha256((delivery / SEALED).read_bytes())

    # 4. a plain rerun completes
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _check_final_names(work, remote, tmp_path, done=True)
    # the same encrypted file (age draws fresh keys each time), so its partial upload counts
    assert _sha256((delivery / SEALED).read_bytes()) == sealed, "encrypted again"
    assert json.loads((delivery / "delivery.json").read_text())["package"].endswith(NAME)
    assert not _temporaries(delivery, ".*.tmp"), "a killed run's temporaries are left"
    assert not _temporaries(remote, ".*")
    plain = decrypt(remote / SEALED, KEY)
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        tar.extractall(tmp_path / "opened", filter="data")
    assert verify_package(tmp_path / "opened" / NAME) == []
    public = signing_key(work / "ksz" / "keys", "ksz").public_key()
    assert verify_receipt(delivery / f"{NAME}.receipt.json", public)
    checkpoint = load_checkpoint(tmp_path / "opened" / NAME / "data" / "audit-checkpoint.json")
    report = verify(work / "ksz" / "audit.log", public_key=public, checkpoint=checkpoint)
    assert report.ok, report.first_problem

    # 5. killed after the remote rename, before the receipt and delivery.json: a rerun
    # finds the remote file, checks that it is this one and completes without sending again
    (delivery / f"{NAME}.receipt.json").unlink()
    (delivery / "delivery.json").unlink()
    before = (remote / SEALED).stat()
    summary = deliver(SPEC, work, created=dt.date(2026, 12, 1), target=_target(sshd, remote))
    after = (remote / SEALED).stat()
    assert summary.resumed_from == summary.encrypted_bytes, "sent again"
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    _check_final_names(work, remote, tmp_path, done=True)
    assert verify(work / "ksz" / "audit.log", public_key=public).ok
    print("killed:", *killed, sep="\n  ")


def test_x2_g10_an_interrupted_audit_append_stops_the_rerun_until_repaired(
    run: Path, tmp_path: Path
) -> None:
    """A kill in the middle of an audit append leaves an incomplete last line: the rerun
    refuses with a clear error before writing anything (cutting bytes off a log is the
    operator's decision, G10); after ``repair()`` it completes and the log verifies."""
    from sluis.audit import AuditError, open_log

    work = tmp_path / "work"
    shutil.copytree(run, work)
    log = work / "ksz" / "audit.log"
    with log.open("ab") as fh:
        fh.write(b'{"seq":99,"time":"2026')
    with pytest.raises(AuditError) as err:
        deliver(SPEC, work, created=dt.date(2026, 12, 1))
    assert err.value.rule == "audit-partial-line"
    assert not (work / "ksz" / "delivery").exists()
    with open_log(log, party="ksz", store=work / "ksz" / "keys") as audit:
        assert audit.repair() == 22
    deliver(SPEC, work, created=dt.date(2026, 12, 1))
    home = work / "ksz"
    sealed = home / "delivery" / NAME
    with vault.opened(sealed, store=home / "keys", purpose="package", work=home) as package:
        assert verify_package(package) == []
    assert verify(log).ok
    assert b'"event":"repaired"' in log.read_bytes()
