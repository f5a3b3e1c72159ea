"""Benchmark of the enclave (A5): what the sandbox adds to a job's start, and (the checks'
part) how long the automatic checks take on a large table.

    .venv/bin/python bench/enclave.py            # as root, with bubblewrap installed

Sandbox start: a job whose script does nothing (``pass``), run through
:func:`sluis.enclave.sandbox.run_sandboxed` exactly as a submitted job is (bubblewrap,
prlimit, setpriv, the venv's Python), ten times after one untimed warm-up; beside it the
same script in a plain ``python`` process, so the difference is the sandbox's own cost.
Goal (issue 17): median under 0.5 s.

Prints a table a person can paste into a note.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sluis.enclave.sandbox import Limits, run_sandboxed

RUNS = 10
#: issue 17's goal for the median sandboxed start, seconds
START_GOAL = 0.5


def _sandboxed_start(root: Path) -> float:
    """Seconds from calling the sandbox to the end of a job that does nothing."""
    code, data = root / "code", root / "data"
    for folder in (code, data):
        folder.mkdir(exist_ok=True)
    (code / "job.py").write_text("pass\n")
    limits = Limits(wall_seconds=60, memory_mib=1024, output_mib=10, processes=16)
    started = time.perf_counter()
    outcome = run_sandboxed(
        ["/code/job.py"],
        language="python",
        code=code,
        data=data,
        output=root / "output",
        logs=root / "logs",
        library=None,
        limits=limits,
    )
    seconds = time.perf_counter() - started
    if outcome.state != "finished":
        raise SystemExit(f"the empty job did not finish: {outcome}")
    return seconds


def _plain_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-B", "-c", "pass"], check=True)
    return time.perf_counter() - started


def sandbox_rows() -> list[tuple[str, float, str]]:
    """(what, median seconds, goal) for the sandboxed and the plain start."""
    with tempfile.TemporaryDirectory(prefix="sluis-bench-enclave-") as tmp:
        root = Path(tmp)
        _sandboxed_start(root)  # warm-up: page cache, bwrap's first mount namespace
        sandboxed = [_sandboxed_start(root) for _ in range(RUNS)]
    _plain_start()
    plain = [_plain_start() for _ in range(RUNS)]
    return [
        (
            f"sandboxed job start (median of {RUNS})",
            statistics.median(sandboxed),
            f"< {START_GOAL}",
        ),
        (f"plain python start (median of {RUNS})", statistics.median(plain), "-"),
    ]


def main() -> None:
    rows = sandbox_rows()
    width = max(len(what) for what, _, _ in rows)
    print(f"{'measure':<{width}}  {'seconds':>8}  goal")
    for what, seconds, goal in rows:
        print(f"{what:<{width}}  {seconds:>8.3f}  {goal}")


if __name__ == "__main__":
    main()
