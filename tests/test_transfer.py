"""SFTP delivery to a real OpenSSH server: pinned host key, temporary name, resume after a
cut connection, size and SHA-256 verification, signed receipts (G8, X2)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from sluis.deliver.receipt import ReceiptError, verify_receipt
from sluis.deliver.transfer import TransferError, TransferResult, upload
from sshd import SshServer, running_sshd, sshd_missing

pytestmark = pytest.mark.skipif(sshd_missing() is not None, reason=str(sshd_missing()))

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def target(sshd: SshServer, tmp_path: Path) -> str:
    """An empty remote directory for one test (the server runs on this machine)."""
    path = sshd.root / tmp_path.name
    path.mkdir()
    return str(path)


def package_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def send(sshd: SshServer, local: Path, remote_dir: str, **kwargs: Any) -> TransferResult:
    return upload(
        local, sshd.host, sshd.port, sshd.username, sshd.client_key, sshd.host_key, remote_dir,
        **kwargs,
    )  # fmt: skip


def client_public(sshd: SshServer) -> Path:
    return sshd.client_key.with_name(sshd.client_key.name + ".pub")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_g8_upload_verifies_and_writes_a_signed_receipt(
    sshd: SshServer, target: str, tmp_path: Path
) -> None:
    local = package_file(tmp_path / "25-074.tar.age", 3 * MiB + 17)
    result = send(sshd, local, target)
    remote = Path(target) / local.name
    assert sorted(p.name for p in Path(target).iterdir()) == [local.name]
    assert remote.read_bytes() == local.read_bytes()
    assert result.sha256 == sha256(local)
    assert (result.size, result.resumed_from, result.bytes_sent) == (
        local.stat().st_size,
        0,
        result.size,
    )
    assert result.remote_path == str(remote)
    assert result.host_key_fingerprint.startswith("SHA256:")
    receipt = verify_receipt(result.receipt, client_public(sshd))
    assert receipt["file"] == local.name
    assert receipt["size"] == result.size
    assert receipt["sha256"] == result.sha256
    assert receipt["remote_path"] == str(remote)
    assert receipt["host_key_fingerprint"] == result.host_key_fingerprint
    assert receipt["sent_at"].endswith("+00:00")

    # A rerun finds the complete file, verifies it, and changes nothing.
    again = send(sshd, local, target)
    assert again.already_complete and again.bytes_sent == 0
    # Another file under the same name is never overwritten.
    (tmp_path / "other").mkdir()
    other = package_file(tmp_path / "other" / local.name, 1000)
    with pytest.raises(TransferError) as info:
        send(sshd, other, target)
    assert info.value.rule == "transfer-exists"
    assert remote.read_bytes() == local.read_bytes()


def test_g8_a_host_key_other_than_the_pinned_one_is_refused(
    sshd: SshServer, target: str, tmp_path: Path
) -> None:
    local = package_file(tmp_path / "p.age", 1000)
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with pytest.raises(TransferError, match="not the pinned") as info:
        upload(local, sshd.host, sshd.port, sshd.username, sshd.client_key, impostor, target)
    assert info.value.rule == "transfer-host-key"
    assert list(Path(target).iterdir()) == []
    assert not local.with_name("p.age.receipt.json").exists()


def test_g8_interrupted_transfer_resumes_from_the_remote_size(
    sshd: SshServer, target: str, tmp_path: Path
) -> None:
    size = 40 * MiB + 12345
    local = package_file(tmp_path / "big.tar.age", size)
    block, requests = 64 * 1024, 8
    cut = {"done": False}

    def cut_mid_file(done: int, total: int) -> None:
        if done >= 16 * MiB and not cut["done"]:
            cut["done"] = True
            assert sshd.cut_connections() > 0  # the server side of the session dies

    with pytest.raises(TransferError) as info:
        send(sshd, local, target, block_size=block, max_requests=requests, progress=cut_mid_file)
    assert info.value.rule == "transfer-interrupted"
    assert "rerun" in info.value.hint
    partial = Path(target) / ".big.tar.age.partial"
    # Only the temporary name exists; never a final name half-written.
    assert [p.name for p in Path(target).iterdir()] == [partial.name]
    found = partial.stat().st_size
    assert 16 * MiB <= found < size
    with local.open("rb") as fh:
        assert partial.read_bytes() == fh.read(found)
    assert not local.with_name("big.tar.age.receipt.json").exists()

    result = send(sshd, local, target, block_size=block, max_requests=requests)
    assert result.partial_found == found
    # Resumed, not restarted: only the requests that could have been in flight are redone.
    assert found - block * requests <= result.resumed_from <= found
    assert result.resumed_from > 0
    assert result.bytes_sent == size - result.resumed_from < size - 15 * MiB
    assert [p.name for p in Path(target).iterdir()] == [local.name]
    assert sha256(Path(target) / local.name) == sha256(local) == result.sha256
    assert (
        verify_receipt(result.receipt, client_public(sshd))["resumed_from"] == result.resumed_from
    )


def test_g8_a_partial_file_that_does_not_verify_is_removed(
    sshd: SshServer, target: str, tmp_path: Path
) -> None:
    local = package_file(tmp_path / "p.age", 4 * MiB)
    data = bytearray(local.read_bytes()[: 3 * MiB])
    data[10] ^= 0xFF  # corrupted early: the resume check near the end cannot see it
    partial = Path(target) / ".p.age.partial"
    partial.write_bytes(bytes(data))
    with pytest.raises(TransferError, match="SHA-256") as info:
        send(sshd, local, target, block_size=64 * 1024, max_requests=4)
    assert info.value.rule == "transfer-hash"
    assert list(Path(target).iterdir()) == []
    result = send(sshd, local, target)  # the rerun uploads from the start and verifies
    assert result.resumed_from == 0 and result.sha256 == sha256(local)


def test_g8_a_partial_file_of_another_file_is_not_resumed(
    sshd: SshServer, target: str, tmp_path: Path
) -> None:
    local = package_file(tmp_path / "p.age", 4 * MiB)
    (Path(target) / ".p.age.partial").write_bytes(os.urandom(3 * MiB))
    result = send(sshd, local, target, block_size=64 * 1024, max_requests=4)
    assert result.partial_found == 3 * MiB and result.resumed_from == 0
    assert sha256(Path(target) / "p.age") == sha256(local)


def test_g8_receipt_tampering_is_detected(sshd: SshServer, target: str, tmp_path: Path) -> None:
    local = package_file(tmp_path / "p.age", 1000)
    result = send(sshd, local, target)
    public = client_public(sshd)
    text = result.receipt.read_text()
    verify_receipt(result.receipt, public.read_text())  # the key as text works too
    data = json.loads(text)
    tampered = tmp_path / "tampered.json"
    for field, value in [("size", 999), ("sha256", "0" * 64), ("remote_path", "/elsewhere")]:
        tampered.write_text(json.dumps({**data, field: value}))
        with pytest.raises(ReceiptError) as info:
            verify_receipt(tampered, public)
        assert info.value.rule == "receipt-signature"
    tampered.write_text(json.dumps({k: v for k, v in data.items() if k != "host"}))
    with pytest.raises(ReceiptError):
        verify_receipt(tampered, public)
    # Re-indenting does not matter; a key other than the sender's does.
    tampered.write_text(json.dumps(data))
    verify_receipt(tampered, public)
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with pytest.raises(ReceiptError, match="signed by another key"):
        verify_receipt(result.receipt, other)


def test_x2_clear_errors_for_auth_connection_and_remote_failures(
    sshd: SshServer, target: str, tmp_path: Path
) -> None:
    local = package_file(tmp_path / "p.age", 1000)
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    with pytest.raises(TransferError, match="refused the client key") as info:
        upload(local, sshd.host, sshd.port, sshd.username, stranger, sshd.host_key, target)
    assert info.value.rule == "transfer-auth"
    with pytest.raises(TransferError, match="cannot read the client key") as info:
        upload(
            local, sshd.host, sshd.port, sshd.username, tmp_path / "nokey", sshd.host_key, target
        )
    assert info.value.rule == "transfer-auth"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(TransferError, match="connection refused") as info:
        upload(local, "127.0.0.1", closed_port, "x", sshd.client_key, sshd.host_key, target)
    assert info.value.rule == "transfer-connect"

    with pytest.raises(TransferError, match="does not exist") as info:
        send(sshd, local, target + "/missing")
    assert info.value.rule == "transfer-remote"

    with pytest.raises(TransferError) as info:
        send(sshd, local, "/proc/self")  # not writable, even for root
    assert info.value.rule.startswith("transfer-remote")
    assert not local.with_name("p.age.receipt.json").exists()
