"""Whole-file helpers every stage needs the same way: a file's SHA-256, and overwriting a
plaintext file with zeros before it is unlinked.

One home so that a package, a received copy, a destruction certificate and an enclave
review all hash the same bytes the same way, and every destruction overwrites alike (G11)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: bytes read or written at a time: whole files are never held in memory
CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def overwrite(path: Path, size: int) -> None:
    """Write ``size`` zero bytes over ``path`` and fsync, so that the plaintext is gone
    from the file's blocks before it is unlinked."""
    zeros = bytes(min(size, CHUNK))
    with path.open("r+b") as fh:
        left = size
        while left > 0:
            n = min(left, CHUNK)
            fh.write(zeros[:n])
            left -= n
        fh.flush()
        os.fsync(fh.fileno())


def shred_file(path: Path) -> None:
    """Overwrite a regular file with zeros, then unlink it. A missing file was already
    shredded (a rerun after a kill); a link or a directory is left alone, as overwriting
    through a link would destroy what it points at."""
    if path.is_symlink() or not path.is_file():
        return
    overwrite(path, path.stat().st_size)
    path.unlink()
