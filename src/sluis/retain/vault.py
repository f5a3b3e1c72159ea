"""Sealing at rest, for crypto-shredding (G9, B10; issue 18 item 2).

Everything sluis keeps for a delivery between commands (the staged extract, the SCRA's
treated files, the plaintext package) is stored encrypted under a **data key** of its own,
a random 256-bit key in the party's key store (owner-only, like the project and audit
keys). Destroying the delivery destroys that key first: every copy of the sealed files, on
a backup or on flash and copy-on-write storage that does not really erase, becomes
unreadable at once, whatever happens to the blocks afterwards.

A sealed file is ``<name>.sealed`` beside where ``<name>`` was::

    header  b"SLUISV1\\n" | key id (16 bytes) | file nonce (8 random bytes) | chunk size (4)
    chunks  AES-256-GCM of each chunk of the plaintext (1 MiB; the last may be shorter or
            empty), nonce = file nonce | chunk counter (4 bytes, big-endian)

The associated data of every chunk is the header, the file's purpose and path (``treated
/panel.parquet``), the chunk counter and a last-chunk flag: a chunk moved to another
position or file, a file renamed or swapped, and a file cut off after any chunk all fail to
decrypt (the cut file's new last chunk was sealed with the flag unset).

During a command the plaintext lives only in a private temporary folder
(:func:`opened`): in ``/dev/shm`` (memory, never on disk) when it has room, else in the
workspace's ``.vault-tmp`` (0700). It is removed when the command ends; a command killed
with ``kill -9`` cannot remove it, so every :func:`opened` first removes the folders of
processes that no longer run, as the engine does with its spill directories.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sluis import keystore
from sluis.atomic import atomic_path, fsync_dir
from sluis.errors import SluisError
from sluis.files import overwrite

MAGIC = b"SLUISV1\n"
SUFFIX = ".sealed"
CHUNK = 1 << 20
KEY_ID_BYTES = 16
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + 8 + 4
TAG_BYTES = 16
#: a data key in the party's key store: ``data-<key id>.vault-key``
KEY_PREFIX, KEY_SUFFIX = "data-", ".vault-key"
_KEY_HEADER = "sluis data key v1"
#: where the private temporary folders go when /dev/shm has no room
WORK_TMP = ".vault-tmp"
SHM = Path("/dev/shm")
#: names another memory file system for the private folders (see :func:`memory_root`)
MEMORY_ENV = "SLUIS_VAULT_MEMORY"


class VaultError(SluisError):
    """A sealed file that cannot be opened: its data key is destroyed or missing, the file
    was changed, cut off, renamed or is not a sealed file."""


# ---------------------------------------------------------------- data keys


def key_file(store: Path, key_id: str) -> Path:
    """Where data key ``key_id`` (32 hex digits) lives in ``store``."""
    if len(key_id) != 2 * KEY_ID_BYTES or not all(c in "0123456789abcdef" for c in key_id):
        raise VaultError(f"not a data key id: {key_id!r}", rule="vault-key-id")
    return Path(store) / f"{KEY_PREFIX}{key_id}{KEY_SUFFIX}"


def new_data_key(store: Path) -> str:
    """Create a fresh data key in ``store`` (0700, the file 0600, written atomically) and
    return its id."""
    store = keystore.open_store(store, VaultError)
    key_id = secrets.token_hex(KEY_ID_BYTES)
    text = f"{_KEY_HEADER}\nid {key_id}\nkey {secrets.token_hex(32)}\n"
    keystore.write_once(store, key_file(store, key_id), text.encode("ascii"))
    return key_id


def load_data_key(store: Path, key_id: str) -> bytes:
    """The 32 bytes of data key ``key_id``; a :class:`VaultError` when it is gone (destroyed:
    the data it sealed cannot be read any more)."""
    path = key_file(store, key_id)
    if not path.is_file():
        raise VaultError(
            f"the data key {key_id} is not in the key store: the data it sealed was destroyed "
            "or the store is another one",
            rule="vault-key-missing",
            file=str(path),
        )
    keystore.check_private(Path(store), "key store", VaultError)
    keystore.check_private(path, "data key", VaultError)
    fields = dict(line.split(" ", 1) for line in path.read_text(encoding="ascii").splitlines()[1:])
    if fields.get("id") != key_id or len(fields.get("key", "")) != 64:
        raise VaultError("not a sluis data key file", rule="vault-key-format", file=str(path))
    return bytes.fromhex(fields["key"])


def destroy_data_key(store: Path, key_id: str) -> bool:
    """Overwrite, unlink and make the removal durable (fsync of the store); False when the
    key was already gone (a rerun of a killed destruction)."""
    path = key_file(store, key_id)
    if not path.exists():
        return False
    overwrite(path, path.stat().st_size)
    path.unlink()
    fsync_dir(path.parent)
    return True


# ---------------------------------------------------------------- files


def _aad(header: bytes, label: str, index: int, last: bool) -> bytes:
    return header + label.encode() + b"\0" + index.to_bytes(4, "big") + bytes([last])


def seal_file(src: Path, dst: Path, *, key: bytes, key_id: str, label: str) -> None:
    """Encrypt ``src`` into ``dst`` (atomically, 0600), chunk by chunk; ``label`` (purpose and
    relative path) is bound into every chunk."""
    header = MAGIC + bytes.fromhex(key_id) + secrets.token_bytes(8) + CHUNK.to_bytes(4, "big")
    aead, nonce = AESGCM(key), header[len(MAGIC) + KEY_ID_BYTES : -4]
    with open(src, "rb") as fh, atomic_path(dst, mode=0o600) as tmp, open(tmp, "wb") as out:
        out.write(header)
        index, chunk = 0, fh.read(CHUNK)
        while True:
            following = fh.read(CHUNK) if chunk else b""
            last = not following
            seal = aead.encrypt(
                nonce + index.to_bytes(4, "big"), chunk, _aad(header, label, index, last)
            )
            out.write(seal)
            if last:
                break
            index, chunk = index + 1, following


def key_id_of(sealed: Path) -> str:
    """The id of the data key that sealed ``sealed`` (from its header)."""
    with open(sealed, "rb") as fh:
        header = fh.read(HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise VaultError("not a sealed file", rule="vault-format", file=str(sealed))
    return header[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex()


def open_file(sealed: Path, dst: Path, *, key: bytes, label: str) -> None:
    """Decrypt ``sealed`` into ``dst`` (0600); a :class:`VaultError` naming the file when a
    chunk fails to authenticate (changed, reordered, renamed, cut off, another key)."""
    with open(sealed, "rb") as fh, open(dst, "wb", opener=_private_opener) as out:
        header = fh.read(HEADER_BYTES)
        if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
            raise VaultError("not a sealed file", rule="vault-format", file=str(sealed))
        size = int.from_bytes(header[-4:], "big") + TAG_BYTES
        aead, nonce = AESGCM(key), header[len(MAGIC) + KEY_ID_BYTES : -4]
        index, chunk = 0, fh.read(size)
        while True:
            following = fh.read(size)
            last = not following
            try:
                out.write(
                    aead.decrypt(
                        nonce + index.to_bytes(4, "big"), chunk, _aad(header, label, index, last)
                    )
                )
            except InvalidTag:
                raise VaultError(
                    f"chunk {index} does not authenticate: the sealed file was changed, cut "
                    "off, renamed or sealed under another key",
                    rule="vault-tampered",
                    file=str(sealed),
                ) from None
            if last:
                return
            index, chunk = index + 1, following


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


# ---------------------------------------------------------------- directories


def sealed_files(folder: Path) -> list[Path]:
    """The sealed files under ``folder``, sorted."""
    folder = Path(folder)
    return sorted(folder.rglob(f"*{SUFFIX}")) if folder.is_dir() else []


def _unsealed(folder: Path) -> list[Path]:
    """The plaintext files under ``folder`` that have no sealed twin (a twin is complete:
    it is renamed into place only when written)."""
    return sorted(
        p
        for p in Path(folder).rglob("*")
        if p.is_file() and p.suffix != SUFFIX and not p.with_name(p.name + SUFFIX).exists()
    )


def is_sealed(folder: Path) -> bool:
    return bool(sealed_files(folder))


def held_key(*folders: Path) -> str | None:
    """The data key id sealing any of ``folders`` (they share one), or None."""
    for folder in folders:
        for path in sealed_files(folder):
            return key_id_of(path)
    return None


def seal_tree(folder: Path, *, store: Path, key_id: str, purpose: str) -> list[Path]:
    """Seal every plaintext file under ``folder`` in place (``x`` becomes ``x.sealed``) and
    overwrite and remove the plaintext. Idempotent: a rerun after a kill reseals what was
    left in plaintext. Returns the sealed files."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    key = load_data_key(store, key_id)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != SUFFIX):
        label = f"{purpose}/{path.relative_to(folder).as_posix()}"
        seal_file(path, path.with_name(path.name + SUFFIX), key=key, key_id=key_id, label=label)
        overwrite(path, path.stat().st_size)
        path.unlink()
    for parent in {p.parent for p in sealed_files(folder)}:
        fsync_dir(parent)
    return sealed_files(folder)


def seal_copy(src: Path, dst: Path, *, store: Path, key_id: str, purpose: str) -> list[Path]:
    """Seal every file under the plaintext folder ``src`` (a :func:`private_folder`) into
    ``dst`` (``src/x`` becomes ``dst/x.sealed``, folders 0700): unlike :func:`seal_tree`
    the plaintext never enters ``dst``, so nothing of it reaches the workspace's blocks.
    ``src`` is left as it is (its private folder goes when the command ends). Returns the
    sealed files; none when ``src`` does not exist (an SCRA that treated nothing)."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        return []
    key = load_data_key(store, key_id)
    dst.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src)
        target = dst / rel.parent / (rel.name + SUFFIX)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        seal_file(path, target, key=key, key_id=key_id, label=f"{purpose}/{rel.as_posix()}")
    for parent in {p.parent for p in sealed_files(dst)}:
        fsync_dir(parent)
    return sealed_files(dst)


@contextmanager
def opened(folder: Path, *, store: Path, purpose: str, work: Path) -> Iterator[Path]:
    """``with opened(dir, ...) as plain:`` the plaintext of the sealed folder ``dir`` in a
    private temporary folder, removed on exit; ``dir`` itself when it holds nothing sealed
    (a folder sealed by no one: a run of an older sluis, a test's own extract). ``work``
    is the party's workspace, whose ``.vault-tmp`` is used when memory has no room."""
    folder = Path(folder)
    sealed = sealed_files(folder)
    if not sealed:
        yield folder
        return
    need = sum(p.stat().st_size for p in sealed)
    with private_folder(work, need=need) as plain:
        keys: dict[str, bytes] = {}
        for path in sealed:
            rel = path.relative_to(folder)
            name = rel.with_name(rel.name.removesuffix(SUFFIX))
            key_id = key_id_of(path)
            key = keys.get(key_id) or keys.setdefault(key_id, load_data_key(store, key_id))
            (plain / name).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            open_file(path, plain / name, key=key, label=f"{purpose}/{name.as_posix()}")
        for path in _unsealed(folder):  # a sealing killed half-way left these
            (plain / path.relative_to(folder)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, plain / path.relative_to(folder))
        yield plain


@contextmanager
def private_folder(work: Path, *, need: int = 0) -> Iterator[Path]:
    """A new folder only its owner can enter, in /dev/shm when it has room for ``need``
    bytes twice over, else in ``work/.vault-tmp``; removed on exit. Folders left by killed
    processes are removed first."""
    bases = sweep_private(work)
    base = bases[0] if _room(bases[0].parent, 2 * need) else bases[1]
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def memory_root() -> Path:
    """Where private folders go when there is room: /dev/shm, or the memory file system
    named by ``$SLUIS_VAULT_MEMORY`` (an operator's own tmpfs; a path that does not exist
    sends every private folder to the workspace's ``.vault-tmp``)."""
    return Path(os.environ.get(MEMORY_ENV) or SHM)


def sweep_private(work: Path) -> list[Path]:
    """Remove the private folders of processes that no longer run (a command killed with
    ``kill -9`` cannot remove its own), in memory and in ``work/.vault-tmp``; returns both
    bases, memory first. Every command that writes or opens the party's data calls it
    first, so a killed command's plaintext lives until the next command at the latest."""
    bases = [memory_root() / f"sluis-vault-{os.getuid()}", Path(work) / WORK_TMP]
    for base in bases:
        sweep(base)
    return bases


def _room(path: Path, need: int) -> bool:
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize > need


def sweep(base: Path) -> None:
    """Remove the private folders in ``base`` of processes that no longer run."""
    if not base.is_dir():
        return
    for folder in base.iterdir():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
