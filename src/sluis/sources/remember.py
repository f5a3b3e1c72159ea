"""The remembered sources check (G2, X2; issue 23): a run re-checks a register only when one
of its files changed, and "changed" is decided by content, not by size and modification
time alone.

A full-scale check reads billions of rows, so ``sluis run`` remembers a passed check in the
workspace (``sources-checked.json``) with, for every file it read, its size, modification
time and a content digest. A later run re-checks exactly the tables with a file that is new,
gone, or differs in any of the three, and says which file changed and why.

The digest is cheap and bounded per file, whatever its size: SHA-256 of the whole file up to
:data:`SMALL_FILE`; above it, of the size, the Parquet footer (the file's metadata: schema,
row groups, column-chunk offsets, sizes and min/max statistics) and :data:`SAMPLE_BLOCKS`
blocks of :data:`SAMPLE_BLOCK` bytes spread evenly over the rest. It catches a file written
again (the footer changes) and an edit in place that touches a sampled block; an edit of a
few bytes between the samples of a large file, keeping its size and modification time, can
only be caught by ``--paranoid``, which compares a SHA-256 of every byte.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from sluis.atomic import write_text
from sluis.errors import SourceError
from sluis.files import sha256_file
from sluis.sources.check import check_sources
from sluis.sources.contract import CONTRACT
from sluis.sources.file_schema import table_files

#: the file in the workspace that remembers the last passed check
STAMP = "sources-checked.json"
#: the stamp's layout; a stamp of another version is no memory at all
STAMP_VERSION = 2
#: files up to this size are digested whole
SMALL_FILE = 1 << 20
#: blocks sampled from a larger file, and their size: 1 MiB read per file
SAMPLE_BLOCKS = 64
SAMPLE_BLOCK = 16 << 10
#: the most of a Parquet footer that is read (a footer is a few MB at full scale)
FOOTER_MAX = 64 << 20
_CHUNK = 1 << 20
#: why a paranoid run re-checks a large file that a cheap run remembered
NO_FULL_DIGEST = "no full digest remembered"


def sample_digest(path: Path) -> str:
    """The cheap digest of one file (see the module docstring): SHA-256 of its size and of
    the byte ranges :func:`sample_ranges` names, about ``SMALL_FILE`` plus its footer."""
    h = hashlib.sha256(b"sluis-sample-digest-v1\0")
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        for start, length in _ranges(fh, size):
            _hash_range(fh, h, start, length)
    return h.hexdigest()


def sample_ranges(path: Path) -> list[tuple[int, int]]:
    """The (start, length) byte ranges the cheap digest reads: the whole of a small file;
    of a larger one its footer and ``SAMPLE_BLOCKS`` blocks spread evenly before it."""
    with open(path, "rb") as fh:
        return _ranges(fh, os.fstat(fh.fileno()).st_size)


def _ranges(fh, size: int) -> list[tuple[int, int]]:
    if size <= SMALL_FILE:
        return [(0, size)]
    footer = _footer_length(fh, size)
    body = size - footer
    ranges = [(body, footer)]
    for i in range(SAMPLE_BLOCKS if body > 0 else 0):
        start = i * max(body - SAMPLE_BLOCK, 0) // (SAMPLE_BLOCKS - 1)
        ranges.append((start, min(SAMPLE_BLOCK, body - start)))
    return ranges


#: SHA-256 of every byte (``--paranoid``): the same digest a package's manifest holds
full_digest = sha256_file


def _footer_length(fh, size: int) -> int:
    """Bytes at the end of a Parquet file holding its metadata, length and magic; the last
    64 KiB when the file does not end like Parquet (the check will say it is unreadable)."""
    fh.seek(max(size - 8, 0))
    tail = fh.read(8)
    if len(tail) == 8 and tail[4:] == b"PAR1":
        return min(int.from_bytes(tail[:4], "little") + 8, size, FOOTER_MAX)
    return min(size, 64 << 10)


def _hash_range(fh, h, start: int, length: int) -> None:
    fh.seek(start)
    while length > 0:
        chunk = fh.read(min(length, _CHUNK))
        if not chunk:
            break
        h.update(chunk)
        length -= len(chunk)


@dataclass(frozen=True)
class Change:
    """A file that differs from the remembered check, and how."""

    table: str
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} ({self.reason})"


@dataclass(frozen=True)
class Remembered:
    """What :func:`check_remembered` did: the tables it checked again and why."""

    checked: tuple[str, ...]
    changes: tuple[Change, ...]
    #: tables checked for the first time in this workspace (or against other data)
    first: tuple[str, ...]
    paranoid: bool

    def as_record(self) -> dict:
        """The audit record's fields."""
        return {
            "checked": list(self.checked),
            "changed": [{"file": c.file, "reason": c.reason} for c in self.changes],
            "paranoid": self.paranoid,
        }


def check_remembered(
    data: Path,
    workspace: Path,
    tables: Collection[str],
    *,
    paranoid: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Remembered:
    """Check ``tables`` of ``data`` against the contract unless the check in ``workspace``
    remembers them unchanged; raise :class:`~sluis.errors.SourceError` when they break it.

    Each changed file is named to ``notify`` (and in the error) before its table is
    re-checked. The digests are taken before the check, so a file changed during it is
    seen as changed on the next run. With ``paranoid``, every byte of every file is read
    and compared with the full digest remembered (a stamp without one counts as changed).
    """
    data = Path(data)
    workspace = Path(workspace)
    stamp_path = workspace / STAMP
    old = _load(stamp_path, data)
    now = {
        table.name: _table_files(data, table, paranoid)
        for table in CONTRACT
        if table.name in tables
    }
    changes: list[Change] = []
    first: list[str] = []
    for name, files in now.items():
        if name not in old:
            first.append(name)
        else:
            changes += _compare(name, old[name], files, paranoid)
    recheck = sorted(set(first) | {c.table for c in changes})
    say = notify or (lambda message: None)
    for change in changes:
        if change.reason == NO_FULL_DIGEST:
            say(f"{change.file}: {NO_FULL_DIGEST} (--paranoid); re-checking")
        else:
            say(
                f"{change.file} changed since the last sources check ({change.reason}); re-checking"
            )
    workspace.mkdir(parents=True, exist_ok=True)
    if recheck:
        quarantine = workspace / "quarantine"
        report = check_sources(data, quarantine, tables=set(recheck))
        if not report.ok:
            head = report.findings[0] if report.findings else None
            changed = (
                f"changed since the last check: {', '.join(map(str, changes))}; " if changes else ""
            )
            raise SourceError(
                f"the registers break the source contract ({changed}"
                f"{report.total_findings:,} findings; bad rows quarantined in {quarantine})"
                + (f"; first: {head}" if head else ""),
                rule="sources-invalid",
                file=str(data),
                hint=f"sluis sources check {data} lists every finding",
            )
    if recheck or paranoid:
        # unchanged tables keep their entries; a paranoid run has verified every byte of
        # its tables, so they get its entries (with the full digests)
        merged = old | {n: now[n] for n in now if paranoid or n in recheck}
        stamp = {"version": STAMP_VERSION, "data": str(data.resolve()), "tables": merged}
        write_text(stamp_path, json.dumps(stamp, indent=1, sort_keys=True) + "\n")
    return Remembered(tuple(recheck), tuple(changes), tuple(first), paranoid)


def _table_files(data: Path, table, paranoid: bool) -> dict[str, dict]:
    """Size, modification time and digests of every file of one table, by relative path."""
    found, _ = table_files(data, table)
    files = {}
    for path in found:
        st = path.stat()
        entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sample": sample_digest(path)}
        if paranoid:
            entry["sha256"] = full_digest(path)
        files[str(path.relative_to(data))] = entry
    return files


def _compare(table: str, old: dict, now: dict, paranoid: bool) -> list[Change]:
    """How the files of one table differ from what was remembered.

    The cheap digest samples a large file, so a new modification time alone also counts as
    a change; with ``paranoid`` every byte is compared, and only content counts (a small
    file's cheap digest already covers every byte)."""
    changes = []
    for rel in sorted(set(old) | set(now)):
        before, after = old.get(rel), now.get(rel)
        if before is None:
            changes.append(Change(table, rel, "new file"))
        elif after is None:
            changes.append(Change(table, rel, "file removed"))
        elif before.get("size") != after["size"]:
            changes.append(Change(table, rel, "size"))
        elif before.get("sample") != after["sample"]:
            changes.append(Change(table, rel, "content"))
        elif paranoid:
            if "sha256" in before:
                if before["sha256"] != after["sha256"]:
                    changes.append(Change(table, rel, "content"))
            elif after["size"] > SMALL_FILE:
                changes.append(Change(table, rel, NO_FULL_DIGEST))
        elif before.get("mtime_ns") != after["mtime_ns"]:
            changes.append(Change(table, rel, "modification time"))
    return changes


def _load(stamp_path: Path, data: Path) -> dict[str, dict]:
    """The remembered tables, or nothing: no stamp, another layout or other data."""
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stamp, dict) or stamp.get("version") != STAMP_VERSION:
        return {}
    if stamp.get("data") != str(data.resolve()):
        return {}
    tables = stamp.get("tables")
    return tables if isinstance(tables, dict) else {}


__all__ = [
    "NO_FULL_DIGEST",
    "SAMPLE_BLOCK",
    "SAMPLE_BLOCKS",
    "SMALL_FILE",
    "STAMP",
    "Change",
    "Remembered",
    "check_remembered",
    "full_digest",
    "sample_digest",
    "sample_ranges",
]
