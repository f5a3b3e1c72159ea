"""Atomic writes: a temporary name in the same directory, fsync, rename, fsync the directory.

A reader (or a failed run) never sees a half-written file: either the old file or the new
one is there (ARCHITECTURE "Writes are atomic")."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sluis.errors import SluisError


class DiskFull(SluisError):
    """A write failed for want of space (ENOSPC, or a quota: EDQUOT): the user frees space
    and runs the command again; what was being written was removed (X2, X3)."""


#: the errors of a full disk or an exhausted quota
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` says the disk (or quota) is full: an ``OSError`` with ENOSPC or
    EDQUOT, or an engine's I/O error that quotes the system's message (DuckDB raises its
    own exception type with the text, not an ``OSError``)."""
    if isinstance(err, OSError):
        return err.errno in _NO_SPACE
    text = str(err)
    return any(os.strerror(code) in text for code in _NO_SPACE)


def no_space_left(path: Path, *, below: int = 1 << 20) -> bool:
    """Whether the file system of ``path`` has less than ``below`` bytes free for us: for
    a library that reports a failed write without the system's error."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < below


def disk_full(err: BaseException, path: Path | str | None = None) -> DiskFull:
    """The one-line error for a full disk while writing ``path`` (default: the file the
    system names, as a temporary name is no use to the user)."""
    where = path or getattr(err, "filename", None) or "?"
    return DiskFull(
        "no space left on the device while writing; nothing was left half-written",
        rule="disk-full",
        file=str(where),
        hint="free space (or give another --work) and run the command again",
    )


@contextmanager
def atomic_path(path: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    The caller (or an engine such as DuckDB's COPY) writes to the yielded path. On an
    exception the temporary file is removed and ``path`` is left as it was; a full disk
    becomes :class:`DiskFull` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        if is_disk_full(err):
            raise disk_full(err, path) from None
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except Exception as err:
        if not isinstance(err, SluisError) and is_disk_full(err):
            raise disk_full(err, path) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: Path, text: str, *, mode: int = 0o644) -> Path:
    """Write UTF-8 ``text`` with Unix newlines to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"), mode=mode)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
