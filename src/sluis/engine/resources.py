"""What the engine may use of the machine: its memory limit and its spill directory (X1, X3).

The limit is set from the machine, not a constant: DuckDB was allowed 8 GB whatever the
machine had, so a full-scale run took most of a 24 GiB machine and one on a smaller machine
failed instead of spilling. The engine spills what does not fit to a directory inside the
workspace (never the system's temporary directory: at full scale the spilled rows are
gigabytes keyed by national number), removes it when it closes, and the next command on the
workspace removes what a killed run left.

Spark (issue 21) will need the same two settings under its own names: the executor and
driver memory (``spark.executor.memory``, ``spark.driver.memory``) from :func:`memory_limit`
and its scratch space (``spark.local.dir``) in :func:`spill_root`; the stale-directory sweep
applies unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from sluis.errors import UsageError

#: spill directories are named ``sluis-engine-<pid>-<random>``
SPILL_PREFIX = "sluis-engine-"
#: the workspace folder that holds the engines' spill directories
SPILL_FOLDER = ".engine"
#: the smallest limit sluis sets or accepts: below it DuckDB cannot hold a sort's runs
MIN_BYTES = 256 * 2**20
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def machine_memory() -> tuple[int, int]:
    """(total, available) bytes of the machine's memory, from ``/proc/meminfo`` (Linux);
    elsewhere the physical memory, taken as all available."""
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        total = int(info["MemTotal"].split()[0]) * 1024
        available = int(info.get("MemAvailable", info["MemTotal"]).split()[0]) * 1024
        return total, available
    except (OSError, KeyError, ValueError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return total, total


def memory_limit(requested: str | int | None = None) -> int:
    """The engine's memory limit in bytes: ``requested`` (``--memory``: '4GB', '3GiB',
    '512M', bytes) when given, else a quarter of the machine's memory and at most half of
    what is available now (other processes, the SCRA after the engine, Python's own
    objects need the rest), never below :data:`MIN_BYTES`. What does not fit spills."""
    if requested is not None:
        limit = parse_bytes(requested)
        if limit < MIN_BYTES:
            raise UsageError(
                f"--memory {requested}: at least {MIN_BYTES // 2**20} MiB",
                rule="memory-too-small",
            )
        return limit
    total, available = machine_memory()
    return max(MIN_BYTES, min(total // 4, available // 2))


def parse_bytes(text: str | int) -> int:
    """Bytes of a size such as '4GB', '4 GiB', '512m' or '1073741824' (binary units: the
    limit is compared with the engine's own, which counts in GiB)."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if m is None:
        raise UsageError(
            f"--memory {text!r}: give a size such as 4GB, 3GiB or 512MB", rule="bad-memory"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def spill_root(workspace: Path) -> Path:
    """Where the engines of a command on ``workspace`` spill (owner-only)."""
    root = Path(workspace) / SPILL_FOLDER
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def remove_stale_spills(root: Path, *, owned: bool = False) -> list[Path]:
    """Remove the spill directories in ``root`` of sluis processes that are gone: one
    killed with SIGKILL (or a machine that lost power) cannot remove its own, and at full
    scale they hold gigabytes of raw rows keyed by national number (X3).

    With ``owned`` (the caller holds the workspace's lock, so no other sluis command uses
    ``root``) every directory but this process's own is stale, also one whose pid another
    process has since been given; otherwise one whose process still runs is left alone."""
    removed = []
    if not root.is_dir():
        return removed
    for spill in root.glob(f"{SPILL_PREFIX}*-*"):
        pid = spill.name.removeprefix(SPILL_PREFIX).split("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        if not owned and _alive(int(pid)):
            continue
        shutil.rmtree(spill, ignore_errors=True)
        removed.append(spill)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (another user's)
    return True
