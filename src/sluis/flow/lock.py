"""One command at a time per workspace (X3): ``sluis run`` and ``sluis deliver`` take an
exclusive lock on ``<work>/.sluis.lock`` for as long as they run.

Two commands on the same workspace would replace each other's staged extract, package or
audit records half-way. The lock is ``flock(2)`` on an open file: the kernel releases it
when the holder's process ends in any way (exit, crash, ``kill -9``), so a killed run never
leaves it stuck and there is no stale-lock cleanup to get wrong. The lock file itself stays
(removing it would let two processes lock two different files of the same name); it holds
the holder's pid and command line, so the one refused can say who holds the workspace.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sluis.engine.resources import SPILL_FOLDER, remove_stale_spills
from sluis.errors import UsageError

#: the lock file's name in the workspace root
LOCK_NAME = ".sluis.lock"


class WorkspaceBusy(UsageError):
    """Another sluis command holds the workspace (CLI exit 2)."""


@contextmanager
def workspace_lock(
    work: Path,
    command: str,
    *,
    wait: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the exclusive lock of workspace ``work`` (created if missing) while the block
    runs; yields the lock file's path.

    Without ``wait``, a workspace another process holds is refused at once with
    :class:`WorkspaceBusy` naming the holder; with ``wait``, ``notify`` hears who holds it
    and the call blocks until the holder ends."""
    work = Path(work)
    created = not work.exists()
    try:
        work.mkdir(parents=True, exist_ok=True)
        path = work / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise UsageError(
            f"cannot create the workspace lock: {err.strerror}", rule="work-lock", file=str(work)
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise WorkspaceBusy(
                    f"the workspace is in use by {holder}",
                    rule="work-busy",
                    file=str(work),
                    hint="wait for it to end or give --wait",
                ) from None
            if notify is not None:
                notify(f"waiting for {holder} to release the workspace {work}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {command}\n".encode(), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only its holder is unnamed
        sweep_spills(work)
        try:
            yield path
        except BaseException:
            if created:
                _remove_if_only_lock(work, path)
            raise
    finally:
        os.close(fd)  # releases the lock


def sweep_spills(work: Path) -> list[Path]:
    """Remove the engine spill directories a killed command left in the workspace (its
    parties' ``.engine`` folders): the lock is held, so no other command uses them, and
    they hold raw rows keyed by national number (X3)."""
    roots = [work / SPILL_FOLDER, *work.glob(f"*/{SPILL_FOLDER}")]
    return [gone for root in roots for gone in remove_stale_spills(root, owned=True)]


def _remove_if_only_lock(work: Path, path: Path) -> None:
    """A command that created the workspace and failed before writing anything in it
    leaves nothing behind, not even the lock file (while still holding the lock)."""
    try:
        if [p.name for p in work.iterdir()] == [LOCK_NAME]:
            path.unlink()
            work.rmdir()
    except OSError:
        pass


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says: ``pid N (command)``; the holder writes this
    right after taking the lock, so a reader may rarely see it empty."""
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        raw = ""
    lines = raw.strip().splitlines()
    text = "".join(c for c in lines[0] if c.isprintable()) if lines else ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return "another sluis process"
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def command_line() -> str:
    """This process's command as a user typed it, for the lock file (one line)."""
    args = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["sluis"]
    if args[0] in ("-c", "python", "python3") or args[0].endswith(".py"):
        args[0] = "sluis"
    return " ".join(args).replace("\n", " ")[:300]
