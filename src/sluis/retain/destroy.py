"""Destroy files and record what was destroyed (G9, G10, B1).

A destruction record names every file with its size and SHA-256, taken just before the
file is removed, so an auditor can later match it with what was received (the sender's
manifest, the transfer's read-back) without the data itself. Files are overwritten with
zeros before they are unlinked: on the flash and copy-on-write storage of today this does
not guarantee the blocks are gone, so a real deployment also keeps such data on an
encrypted volume; the record is what the law asks for.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sluis.atomic import fsync_dir
from sluis.audit.log import AuditLog
from sluis.files import overwrite, sha256_file


@dataclass(frozen=True)
class Destroyed:
    """One destroyed file: its name relative to the party's workspace, size and digest."""

    name: str
    bytes: int
    sha256: str


def destroy(
    paths: Iterable[Path], *, root: Path, audit: AuditLog, reason: str, party_of_data: str
) -> list[Destroyed]:
    """Destroy every file under ``paths`` (files or directories) and append one
    ``destroyed`` record to ``audit``. ``root`` is the workspace the names are relative to;
    ``party_of_data`` is whose data it was (``ksz``), ``reason`` why it goes now."""
    files: list[Path] = []
    dirs: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file())
            dirs.append(path)
        elif path.exists():
            files.append(path)
    done = []
    for f in files:
        digest, size = sha256_file(f), f.stat().st_size
        overwrite(f, size)
        f.unlink()
        done.append(Destroyed(str(f.relative_to(root)), size, digest))
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    for parent in {f.parent for f in files if f.parent.exists()}:
        fsync_dir(parent)
    audit.append(
        "destroyed",
        {
            "of": party_of_data,
            "reason": reason,
            "files": [{"name": d.name, "bytes": d.bytes, "sha256": d.sha256} for d in done],
        },
    )
    return done
