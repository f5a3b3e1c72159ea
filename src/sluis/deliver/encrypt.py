"""The package as one archive, encrypted to the named researchers only (G8, G11, X3).

A delivery leaves the provider as a single file: a deterministic tar of the package
directory (`pack`), encrypted in the age format (https://age-encryption.org/v1) to the
public keys of the researchers the spec names (`encrypt`). Only the holders of those
private keys can read it; neither the provider, the pseudonymiser nor the SFTP host can.

The tar is byte-reproducible (X3): entries in sorted order, fixed mtime, owner, group and
modes, POSIX (pax) format with extended headers only where ustar cannot hold a name or size
(and then without timestamps). The age file is not reproducible by design: age draws a
fresh file key and ephemeral keys for every encryption. Both files are written under a
temporary name and renamed into place, so no half-written archive ever carries the final
name. Encryption streams through pyrage's `encrypt_file` (the Rust age crate reads and
writes in 64 KiB chunks), so memory stays flat whatever the package size.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import pyrage

from sluis.atomic import atomic_path
from sluis.errors import SluisError

#: The time every archive entry carries (2000-01-01T00:00:00Z): fixed so the tar is
#: reproducible, and not 0 so that tools do not mistake it for "no time".
MTIME = 946_684_800
FILE_MODE = 0o644
DIR_MODE = 0o755
OWNER = "root"
_COPY_CHUNK = 4 * 1024 * 1024


class EncryptionError(SluisError):
    """A package that cannot be packed, a recipient key that is not usable, or a file that
    cannot be decrypted with the given identity (G11)."""


def recipients_of(spec: object) -> list[str]:
    """The public keys of the researchers a spec names (``spec.recipient.researchers``); a
    researcher the spec gives no key is not a recipient."""
    researchers = spec.recipient.researchers  # type: ignore[attr-defined]
    return [r.public_key for r in researchers if r.public_key]


def pack(package_dir: Path, out: Path | None = None) -> Path:
    """Write a deterministic tar of ``package_dir`` and return its path.

    Every entry sits under the directory's own name (``<name>/manifest-sha256.txt``,
    ``<name>/data/...``). The same directory contents give the same bytes, whatever the
    files' times, owners or the order the file system lists them in (X3). Only regular
    files and directories are allowed; a symlink or device is refused. ``out`` defaults
    to ``<package_dir>.tar`` next to the directory.
    """
    package_dir = Path(package_dir)
    if not package_dir.is_dir():
        raise EncryptionError(
            "package directory does not exist", rule="deliver-pack", file=str(package_dir)
        )
    out = Path(out) if out is not None else package_dir.with_name(package_dir.name + ".tar")
    entries = list(_entries(package_dir))
    with atomic_path(out, mode=0o600) as tmp, tmp.open("wb") as fh:  # plaintext: owner only
        written = 0
        for arcname, path in entries:
            info = tarfile.TarInfo(arcname)
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = OWNER
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = DIR_MODE
                info.size = 0
            else:
                info.type = tarfile.REGTYPE
                info.mode = FILE_MODE
                info.size = path.stat().st_size
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            fh.write(header)
            written += len(header)
            if info.type == tarfile.REGTYPE:
                with path.open("rb") as src:
                    copied = _copy(src, fh, info.size)
                if copied != info.size:
                    raise EncryptionError(
                        "file changed size while it was packed",
                        rule="deliver-pack",
                        file=str(path),
                    )
                pad = -info.size % tarfile.BLOCKSIZE
                fh.write(b"\0" * pad)
                written += info.size + pad
        # End of archive: two zero blocks, then padding to a whole record, as tar does.
        end = 2 * tarfile.BLOCKSIZE
        end += -(written + end) % tarfile.RECORDSIZE
        fh.write(b"\0" * end)
    return out


def _entries(root: Path) -> Iterable[tuple[str, Path]]:
    """(archive name, path) of the root directory and everything under it, sorted by the
    archive name's UTF-8 bytes so the order never depends on the file system."""
    found: list[tuple[bytes, str, Path]] = []
    base = root.name
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise EncryptionError(
                    "only regular files and directories can be packed (found a link or "
                    "special file)",
                    rule="deliver-pack",
                    file=str(path),
                )
            arcname = f"{base}/{path.relative_to(root).as_posix()}"
            found.append((arcname.encode("utf-8", "surrogateescape"), arcname, path))
    found.sort()
    yield f"{base}/", root
    for _key, arcname, path in found:
        yield (arcname + "/" if path.is_dir() else arcname), path


def _copy(src: BinaryIO, dst: BinaryIO, size: int) -> int:
    copied = 0
    while copied < size:
        chunk = src.read(min(_COPY_CHUNK, size - copied))
        if not chunk:
            break
        dst.write(chunk)
        copied += len(chunk)
    if src.read(1):
        copied += 1
    return copied


def parse_recipient(key: str) -> object:
    """A pyrage recipient from an ``ssh-ed25519 AAAA... [comment]`` or ``age1...`` key."""
    text = key.strip()
    try:
        if text.startswith("ssh-ed25519 "):
            return pyrage.ssh.Recipient.from_str(" ".join(text.split()[:2]))
        if text.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(text)
    except pyrage.RecipientError as exc:
        raise EncryptionError(
            f"not a valid public key ({exc}): {text[:40]}...", rule="deliver-recipient"
        ) from exc
    raise EncryptionError(
        f"a researcher's key must be ssh-ed25519 or an age X25519 key (age1...): {text[:40]}",
        rule="deliver-recipient",
        hint="put the researcher's ssh-ed25519 public key or age1 key in the spec",
    )


def encrypt(archive: Path, recipients: Sequence[str], out: Path) -> Path:
    """Encrypt ``archive`` in the age format to ``recipients`` and write it to ``out``.

    Only the holders of the recipients' private keys can decrypt (G11). The output is
    written under a temporary name in ``out``'s directory and renamed when complete.
    """
    archive, out = Path(archive), Path(out)
    if not recipients:
        raise EncryptionError(
            "no recipients: the spec names no researcher to encrypt to",
            rule="deliver-recipient",
            file=str(archive),
        )
    parsed = [parse_recipient(key) for key in recipients]
    if not archive.is_file():
        raise EncryptionError("archive does not exist", rule="deliver-encrypt", file=str(archive))
    with atomic_path(out) as tmp:
        try:
            pyrage.encrypt_file(str(archive), str(tmp), parsed)
        except pyrage.EncryptError as exc:
            raise EncryptionError(
                f"encryption failed: {exc}", rule="deliver-encrypt", file=str(archive)
            ) from exc
    return out


def load_identity(identity_file: Path) -> object:
    """A pyrage identity from an OpenSSH ed25519 private key or an age identity file."""
    identity_file = Path(identity_file)
    data = identity_file.read_bytes()
    if b"AGE-SECRET-KEY-" in data:
        line = next(
            ln for ln in data.decode().splitlines() if ln.strip().startswith("AGE-SECRET-KEY-")
        )
        return pyrage.x25519.Identity.from_str(line.strip())
    try:
        return pyrage.ssh.Identity.from_buffer(data)
    except pyrage.IdentityError as exc:
        raise EncryptionError(
            f"not a usable private key ({exc})", rule="deliver-identity", file=str(identity_file)
        ) from exc


def decrypt(path: Path, identity_file: Path, out: Path | None = None) -> bytes | Path:
    """Decrypt an age file with a researcher's private key (for tests and the demo).

    Returns the plaintext bytes, or writes it atomically to ``out`` and returns ``out``.
    A key that is not one of the recipients raises `EncryptionError`.
    """
    path = Path(path)
    identity = load_identity(identity_file)
    try:
        if out is None:
            return pyrage.decrypt(path.read_bytes(), [identity])
        with atomic_path(Path(out), mode=0o600) as tmp:
            pyrage.decrypt_file(str(path), str(tmp), [identity])
        return Path(out)
    except pyrage.DecryptError as exc:
        raise EncryptionError(
            f"cannot decrypt with {Path(identity_file).name}: not a recipient or damaged ({exc})",
            rule="deliver-decrypt",
            file=str(path),
        ) from exc
