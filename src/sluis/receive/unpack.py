"""Open a delivered package as its researcher (G8, G11, G9): check, decrypt, unpack, verify.

Opening a package by hand (``age -d``, ``tar x``, ``sha256sum -c``) leaves its files
readable by everyone under a default umask, unpacks whatever paths the archive names, and
skips the check that the file is the one the provider sent. `receive` does it in one step
that either succeeds whole or leaves nothing:

1. the encrypted file's SHA-256 and size must be those of the sender's receipt (signed with
   the sender's audit key, checked against the key the researcher was given) or of a
   checksum the researcher was given;
2. it is decrypted with the researcher's private key (age, the key the spec names);
3. the tar is unpacked by sluis, not by ``tarfile.extractall``: only regular files and
   directories under the package's one top-level directory, no absolute path, no ``..``,
   no link, no duplicate; directories 0700 and files 0600 whatever the umask;
4. every file must match the BagIt manifests (`sluis.deliver.verify_package`);
5. the package is renamed to its final name only then. Everything before lives in a
   temporary sibling directory that is removed (plaintext overwritten first) on any
   failure, so a refused package leaves nothing.

The opened package carries ``sluis-received.json`` (outside ``data/``, so the manifests
do not list it): the digests of the encrypted file and of the archive, and the
researcher's public key. The researcher's destruction certificate
(`sluis.retain.certificate`) quotes them, and the provider matches them with its register.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import stat
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyrage

from sluis.atomic import disk_full, fsync_dir, is_disk_full
from sluis.deliver import read_bag_info, verify_package
from sluis.deliver.documents import DDI_NS
from sluis.deliver.encrypt import load_identity
from sluis.deliver.receipt import ReceiptError, load_private_key, openssh_public, verify_receipt
from sluis.errors import SluisError
from sluis.files import CHUNK, sha256_file, shred_file
from sluis.receive.fetch import SftpSource, fetch

#: the record `receive` leaves in the opened package (outside the manifests)
RECEIVED = "sluis-received.json"
_DDI = f"{{{DDI_NS}}}"


class ReceiveError(SluisError):
    """A package the researcher must not open: not the file the sender sent, not for this
    key, an unsafe archive, a file that does not match the manifest, an existing target."""


@dataclass(frozen=True)
class Received:
    """What arrived: the package, its decision, datasets and rows, and its deadline."""

    path: Path
    package: str
    decision: str
    recipient: str
    deadline: dt.date | None
    datasets: dict[str, int]
    files: int
    payload_bytes: int
    encrypted_sha256: str
    archive_sha256: str
    checked_against: str  # "receipt" or "checksum"


def receive(
    source: Path | SftpSource,
    key: Path,
    out: Path | None = None,
    *,
    receipt: Path | None = None,
    sender_key: str | Path | None = None,
    sha256: str | None = None,
    workdir: Path | None = None,
) -> Received:
    """Check, decrypt, unpack and verify the package ``source`` into ``out``.

    ``source`` is a local ``.tar.age`` file or an SFTP location (fetched with its host key
    pinned). ``key`` is the researcher's private key (OpenSSH ed25519, or an age identity).
    The file is checked against ``receipt`` with the sender's public key ``sender_key``, or
    against ``sha256``; one of the two is required. ``out`` defaults to the package's name
    in the current directory (in ``workdir`` for an SFTP source) and must not exist or be
    empty. Raises :class:`ReceiveError` (or a fetch error) and leaves nothing on failure.
    """
    remote_name = (
        PurePosixPath(source.remote_path).name
        if isinstance(source, SftpSource)
        else Path(source).name
    )
    name = remote_name.removesuffix(".tar.age")
    if name == remote_name or not name:
        raise ReceiveError(
            "a delivered package is a file named <package>.tar.age",
            rule="receive-name",
            file=remote_name,
        )
    expected = _expected(remote_name, receipt, sender_key, sha256)
    out = Path(out) if out is not None else Path(workdir or Path.cwd()) / name
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".receiving", dir=out.parent))
    os.chmod(tmp, 0o700)
    try:
        sealed = tmp / remote_name
        if isinstance(source, SftpSource):
            fetch(source, sealed)
        else:
            sealed = Path(source)
            if not sealed.is_file():
                raise ReceiveError("no such file", rule="receive-source", file=str(sealed))
        encrypted_sha = _check_file(sealed, expected)
        archive = _decrypt(sealed, Path(key), tmp / "archive.tar")
        archive_sha = sha256_file(archive)
        package = tmp / "package"
        _unpack(archive, name, package)
        shred_file(archive)
        problems = verify_package(package)
        if problems:
            raise ReceiveError(
                f"{len(problems)} file(s) do not match the manifest; first: {problems[0]}",
                rule="receive-manifest",
                file=str(sealed),
                hint="ask the provider to send the package again; nothing was kept",
            )
        received = _describe(package, name, encrypted_sha, archive_sha, expected["against"])
        _write_record(package, received, Path(key))
        fsync_dir(package)
        if out.is_dir():
            out.rmdir()  # empty (checked above): rename needs it gone or empty
        os.rename(package, out)
        fsync_dir(out.parent)
    except BaseException:
        _discard(tmp)
        raise
    _discard(tmp)
    return _moved(received, out)


def _expected(
    file_name: str, receipt: Path | None, sender_key: str | Path | None, sha256: str | None
) -> dict[str, Any]:
    """What the encrypted file must be: from the sender's signed receipt or a checksum."""
    if receipt is not None:
        if sender_key is None:
            raise ReceiveError(
                "a receipt is checked against the sender's public key: give --sender-key",
                rule="receive-unchecked",
                file=str(receipt),
            )
        try:
            data = verify_receipt(Path(receipt), sender_key)
        except ReceiptError as err:
            raise ReceiveError(
                f"the receipt does not verify: {err.message}",
                rule="receive-receipt",
                file=str(receipt),
                hint="ask the provider for its receipt and its audit public key again",
            ) from None
        if data.get("file") != file_name:
            raise ReceiveError(
                f"the receipt is for {data.get('file')!r}, not {file_name!r}",
                rule="receive-receipt",
                file=str(receipt),
            )
        return {"sha256": str(data.get("sha256")), "size": data.get("size"), "against": "receipt"}
    if sha256 is not None:
        digest = sha256.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ReceiveError(f"{sha256!r} is not a SHA-256 (64 hex digits)", rule="bad-sha256")
        return {"sha256": digest, "size": None, "against": "checksum"}
    raise ReceiveError(
        "nothing to check the package against: give the sender's receipt (--receipt with "
        "--sender-key) or its SHA-256 (--sha256)",
        rule="receive-unchecked",
        file=file_name,
    )


def _check_target(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ReceiveError("exists and is not a directory", rule="receive-target", file=str(out))
    if out.is_dir() and any(out.iterdir()):
        raise ReceiveError(
            "the target directory is not empty",
            rule="receive-target",
            file=str(out),
            hint="give another --out, or destroy the earlier copy first "
            "(sluis retain destroy --package DIR --key KEY)",
        )


def _check_file(sealed: Path, expected: dict[str, Any]) -> str:
    size = sealed.stat().st_size
    digest = sha256_file(sealed)
    if digest != expected["sha256"] or (expected["size"] is not None and size != expected["size"]):
        raise ReceiveError(
            f"the file's SHA-256 is {digest} ({size} bytes), the {expected['against']} says "
            f"{expected['sha256']}"
            + (f" ({expected['size']} bytes)" if expected["size"] is not None else "")
            + ": it is not the file the provider sent",
            rule="receive-checksum",
            file=str(sealed),
            hint="fetch it again; if it still differs, tell the provider: nothing was opened",
        )
    return digest


def _decrypt(sealed: Path, key: Path, out: Path) -> Path:
    identity = load_identity(key)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.close(fd)
    try:
        pyrage.decrypt_file(str(sealed), str(out), [identity])
    except (pyrage.DecryptError, OSError) as exc:
        # pyrage reports a damaged payload chunk as an OSError ("decryption error")
        if is_disk_full(exc):
            raise disk_full(exc, out) from None
        raise ReceiveError(
            f"cannot decrypt with {key.name}: the package is not for this key, or damaged ({exc})",
            rule="receive-decrypt",
            file=str(sealed),
        ) from exc
    os.chmod(out, 0o600)
    return out


def _unpack(archive: Path, name: str, dest: Path) -> None:
    """Write the tar's files under ``dest`` (the package root), refusing anything unsafe."""
    dest.mkdir(mode=0o700)
    os.chmod(dest, 0o700)
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:") as tar:
            _write_members(tar, name, dest, seen)
    except tarfile.TarError as exc:
        raise ReceiveError(f"not a tar archive ({exc})", rule="receive-archive") from exc
    if "." not in seen:
        raise ReceiveError(
            f"the archive has no directory {name}/", rule="receive-archive", file=str(archive)
        )


def _write_members(tar: tarfile.TarFile, name: str, dest: Path, seen: set[str]) -> None:
    """Each member as a new owner-only file or directory (0600, 0700), in archive order."""
    for member in tar:
        rel = _member_path(member, name)
        if rel in seen:
            raise _unsafe(member.name, "appears twice")
        seen.add(rel)
        if rel == ".":
            continue
        target = dest / rel
        if not target.parent.is_dir() or target.parent.is_symlink():
            raise _unsafe(member.name, "its directory is not an earlier entry")
        if member.isdir():
            target.mkdir(mode=0o700)
            os.chmod(target, 0o700)
            continue
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            src = tar.extractfile(member)
            assert src is not None  # a regular file (checked by _member_path)
            shutil.copyfileobj(src, fh, CHUNK)
            fh.flush()
            os.fsync(fh.fileno())


def _member_path(member: tarfile.TarInfo, name: str) -> str:
    """The member's path relative to the package root; refuses links, devices, absolute
    paths, ``..`` and anything outside ``<name>/``."""
    if not (member.isreg() or member.isdir()):
        raise _unsafe(member.name, "only regular files and directories are allowed")
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or "\\" in member.name:
        raise _unsafe(member.name, "an absolute path or '..'")
    if not path.parts or path.parts[0] != name:
        raise _unsafe(member.name, f"outside the package directory {name}/")
    rest = path.parts[1:]
    if any(part in ("", ".") for part in rest):
        raise _unsafe(member.name, "an empty or '.' path component")
    return "/".join(rest) if rest else "."


def _unsafe(member: str, why: str) -> ReceiveError:
    return ReceiveError(
        f"unsafe archive entry {member!r}: {why}; nothing was unpacked",
        rule="receive-unsafe-archive",
        hint="a sluis package holds only its own files: tell the provider",
    )


def _describe(
    package: Path, name: str, encrypted_sha: str, archive_sha: str, against: str
) -> Received:
    info = read_bag_info(package / "bag-info.txt")
    deadline = info.get("Sluis-Retention-Deadline", "")
    files = [p for p in (package / "data").rglob("*") if p.is_file()]
    return Received(
        path=package,
        package=name,
        decision=info.get("Sluis-Decision", ""),
        recipient=info.get("Sluis-Recipient", ""),
        deadline=dt.date.fromisoformat(deadline) if deadline else None,
        datasets=_datasets(package / "data" / "codebook" / "ddi-codebook.xml"),
        files=len(files),
        payload_bytes=sum(p.stat().st_size for p in files),
        encrypted_sha256=encrypted_sha,
        archive_sha256=archive_sha,
        checked_against=against,
    )


def _datasets(ddi: Path) -> dict[str, int]:
    """Each dataset's rows, as the codebook states them (``fileDscr/fileTxt``)."""
    if not ddi.is_file():
        return {}
    rows = {}
    for txt in ET.parse(ddi).getroot().iter(f"{_DDI}fileTxt"):
        name = txt.findtext(f"{_DDI}fileName") or ""
        count = txt.findtext(f"{_DDI}dimensns/{_DDI}caseQnty") or "0"
        rows[name] = int(count)
    return rows


def _write_record(package: Path, received: Received, key: Path) -> None:
    record = {
        "kind": "sluis-received",
        "version": 1,
        "package": received.package,
        "decision": received.decision,
        "encrypted_sha256": received.encrypted_sha256,
        "archive_sha256": received.archive_sha256,
        "checked_against": received.checked_against,
        "researcher_public_key": researcher_public_key(key),
        "retention_deadline": received.deadline.isoformat() if received.deadline else None,
    }
    fd = os.open(package / RECEIVED, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def researcher_public_key(key: Path) -> str | None:
    """The ``ssh-ed25519 AAAA...`` line of a researcher's OpenSSH private key; None for an
    age identity (which cannot sign a destruction certificate)."""
    try:
        return openssh_public(load_private_key(key).public_key())
    except (SluisError, OSError, ValueError):
        return None


def read_record(package: Path) -> dict[str, Any]:
    """The ``sluis-received.json`` of a package `receive` opened."""
    path = Path(package) / RECEIVED
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReceiveError(
            f"not a package opened by sluis receive (cannot read {RECEIVED}: {exc})",
            rule="receive-record",
            file=str(path),
            hint="open packages with sluis receive; it records what the certificate quotes",
        ) from None
    if not isinstance(data, dict) or data.get("kind") != "sluis-received":
        raise ReceiveError(f"{RECEIVED} is not a receive record", rule="receive-record")
    return data


def _moved(received: Received, out: Path) -> Received:
    return Received(**{**received.__dict__, "path": out})


def _discard(tmp: Path) -> None:
    """Remove the temporary directory, overwriting its plaintext files first."""
    if not tmp.is_dir():
        return
    for root, _dirs, files in os.walk(tmp):
        for f in files:
            p = Path(root, f)
            if stat.S_ISREG(p.lstat().st_mode) and not p.name.endswith(".tar.age"):
                with contextlib.suppress(OSError):
                    shred_file(p)
    shutil.rmtree(tmp, ignore_errors=True)
