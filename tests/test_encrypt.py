"""The package archive and its encryption to the named researchers (G8, G11, X3).

Researchers decrypt with the real ``age`` command-line tool, as they would at home, and
every file is checked against the package's BagIt manifest."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from sluis.deliver.encrypt import (
    EncryptionError,
    decrypt,
    encrypt,
    pack,
    parse_recipient,
    recipients_of,
)
from sluis.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
KEYS = ROOT / "specs" / "demo-keys"
AGE = shutil.which("age")
needs_age = pytest.mark.skipif(
    AGE is None, reason="the age CLI is not installed (apt-get install age)"
)


def public_key(private: Path) -> str:
    """The OpenSSH public key of a private key file (asyncssh: unlike ssh-keygen it does
    not refuse a key file that a fresh clone checked out group-readable)."""
    import asyncssh

    return asyncssh.read_private_key(str(private)).export_public_key().decode().strip()


def make_package(root: Path, name: str = "25-074-phase1") -> Path:
    """A tiny BagIt-style package: data files and manifest-sha256.txt."""
    pkg = root / name
    files = {
        "data/persons.csv": b"seq,sex,age_class\n1,1,20-24\n2,2,25-29\n",
        "data/panel/quarters.parquet": os.urandom(70_000),
        "data/codebook.html": "<p>codebook \u00e9</p>".encode(),
        "README.md": b"# package\n",
    }
    for rel, content in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    lines = [
        f"{hashlib.sha256(content).hexdigest()}  {rel}"
        for rel, content in sorted(files.items())
        if rel.startswith("data/")
    ]
    (pkg / "manifest-sha256.txt").write_text("\n".join(lines) + "\n")
    (pkg / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    return pkg


def check_against_manifest(tar_bytes: bytes, name: str) -> int:
    """Every file the manifest names is in the archive with that SHA-256; returns count."""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        manifest = tar.extractfile(members[f"{name}/manifest-sha256.txt"]).read().decode()
        checked = 0
        for line in manifest.splitlines():
            digest, rel = line.split("  ", 1)
            data = tar.extractfile(members[f"{name}/{rel}"]).read()
            assert hashlib.sha256(data).hexdigest() == digest, rel
            checked += 1
    return checked


def test_x3_pack_is_byte_reproducible(tmp_path: Path) -> None:
    pkg = make_package(tmp_path / "a")
    first = pack(pkg, tmp_path / "first.tar").read_bytes()
    # Same contents, other times, modes and creation order: the same bytes.
    other = tmp_path / "b" / pkg.name
    for path in sorted(pkg.rglob("*"), reverse=True):
        if path.is_file():
            target = other / path.relative_to(pkg)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            os.utime(target, (1_700_000_000, 1_700_000_000))
            target.chmod(0o600)
    second = pack(other, tmp_path / "second.tar").read_bytes()
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {
        (946_684_800, 0, 0, "root", "root")
    }
    assert all(not m.pax_headers for m in members)
    assert check_against_manifest(first, pkg.name) == 3


def test_g8_pack_refuses_links_and_writes_nothing(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (pkg / "data" / "link").symlink_to("/etc/passwd")
    with pytest.raises(EncryptionError, match="regular files") as info:
        pack(pkg)
    assert info.value.rule == "deliver-pack"
    assert not pkg.with_name(pkg.name + ".tar").exists()
    assert [p.name for p in tmp_path.iterdir()] == [pkg.name]


@needs_age
def test_g11_researcher_decrypts_with_age_cli_and_files_match_manifest(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    spec = load_spec(ROOT / "specs" / "25-074.yaml")
    recipients = recipients_of(spec)
    assert recipients and all(r.startswith("ssh-ed25519 ") for r in recipients)
    archive = pack(pkg)
    out = encrypt(archive, recipients, tmp_path / "delivery.tar.age")
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    plain = subprocess.run(
        [AGE, "-d", "-i", str(KEYS / "uantwerpen-1"), str(out)], check=True, capture_output=True
    ).stdout
    assert plain == archive.read_bytes()
    assert check_against_manifest(plain, pkg.name) == 3
    # The library decrypts the same way (for the demo).
    assert decrypt(out, KEYS / "uantwerpen-1") == plain


@needs_age
def test_g11_only_named_researchers_can_decrypt(tmp_path: Path) -> None:
    archive = pack(make_package(tmp_path))
    out = encrypt(archive, [public_key(KEYS / "uantwerpen-1")], tmp_path / "p.age")
    for outsider in ("kuleuven-1", "kuleuven-2"):
        run = subprocess.run([AGE, "-d", "-i", str(KEYS / outsider), str(out)], capture_output=True)
        assert run.returncode != 0
        assert run.stdout == b""
        with pytest.raises(EncryptionError, match="not a recipient") as info:
            decrypt(out, KEYS / outsider)
        assert info.value.rule == "deliver-decrypt"


@needs_age
def test_g11_every_named_researcher_decrypts_including_x25519(tmp_path: Path) -> None:
    """26/050 names two researchers; an age X25519 key works the same as ssh-ed25519."""
    identity = tmp_path / "x25519.key"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    age_pub = next(
        ln.split(": ", 1)[1]
        for ln in identity.read_text().splitlines()
        if ln.startswith("# public key: ")
    )
    spec = load_spec(ROOT / "specs" / "26-050.yaml")
    recipients = [*recipients_of(spec), age_pub]
    archive = pack(make_package(tmp_path))
    out = encrypt(archive, recipients, tmp_path / "p.age")
    for key in (KEYS / "kuleuven-1", KEYS / "kuleuven-2", identity):
        plain = subprocess.run(
            [AGE, "-d", "-i", str(key), str(out)], check=True, capture_output=True
        ).stdout
        assert plain == archive.read_bytes()
    with pytest.raises(EncryptionError):
        decrypt(out, KEYS / "uantwerpen-1")
    out2 = tmp_path / "plain.tar"
    assert decrypt(out, identity, out2) == out2
    assert out2.read_bytes() == archive.read_bytes()


def test_g11_bad_recipient_keys_are_refused(tmp_path: Path) -> None:
    archive = pack(make_package(tmp_path))
    for key, match in [
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "ssh-ed25519 or an age X25519"),
        ("ssh-ed25519 AAAAnotbase64", "not a valid public key"),
        ("age1notakey", "not a valid public key"),
    ]:
        with pytest.raises(EncryptionError, match=match) as info:
            parse_recipient(key)
        assert info.value.rule == "deliver-recipient"
    with pytest.raises(EncryptionError, match="no recipients"):
        encrypt(archive, [], tmp_path / "p.age")
    assert not (tmp_path / "p.age").exists()
