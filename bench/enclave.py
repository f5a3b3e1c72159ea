"""Benchmark of the enclave (A5): what the sandbox adds to a job's start, and (the checks'
part) how long the automatic checks take on a large table.

    .venv/bin/python bench/enclave.py            # as root, with bubblewrap installed

Sandbox start: a job whose script does nothing (``pass``), run through
:func:`sluis.enclave.sandbox.run_sandboxed` exactly as a submitted job is (bubblewrap,
prlimit, setpriv, the venv's Python), ten times after one untimed warm-up; beside it the
same script in a plain ``python`` process, so the difference is the sandbox's own cost.
Goal (issue 17): median under 0.5 s.

Checks: :func:`sluis.enclave.checks.check_outputs` on a 100,000-cell count table and a
100,000-cell magnitude table written with the helper library (CSV and sidecar read, every
table rule, differencing against a released table of the same shape), median of five
after one warm-up. Goal (issue 17): under 2 s each.

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


# ---------------------------------------------------------------- output checks (A5, B11)

#: cells of the table the checks bench, and issue 17's goal for checking it, seconds
CHECK_CELLS = 100_000
CHECK_GOAL = 2.0


def _check_seconds(kind: str, root: Path, runs: int) -> list[float]:
    """Seconds of :func:`sluis.enclave.checks.check_outputs` on a ``kind`` table of
    :data:`CHECK_CELLS` cells (400 municipalities by 250 ages) written with the helper
    library, against a release of the same table 20 persons a cell larger (differencing
    runs in full); reading the CSV and its sidecar is part of the time."""
    import importlib.util

    import numpy as np

    from sluis.enclave.checks import Thresholds, check_outputs

    library = Path(__file__).resolve().parents[1] / "src/sluis/enclave/researcher"
    spec = importlib.util.spec_from_file_location("sluis_output", library / "sluis_output.py")
    assert spec is not None and spec.loader is not None
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    rng = np.random.default_rng(1)
    n = rng.integers(10, 500, CHECK_CELLS)
    top1 = rng.integers(100, 1000, CHECK_CELLS)
    table: dict[str, list] = {
        "municipality": [f"m{i // 250:04d}" for i in range(CHECK_CELLS)],
        "age": [i % 250 for i in range(CHECK_CELLS)],
    }
    if kind == "count":
        table["n"] = n.tolist()
    else:
        table |= {
            "total": (top1 * 3 + n * 1000).tolist(),
            "n": n.tolist(),
            "top1": top1.tolist(),
            "top2": (top1 // 2).tolist(),
        }
    new, releases = root / kind / "new", root / kind / "releases"
    helper.table(table, "t", kind=kind, output=new)
    helper.table(table | {"n": (n + 20).tolist()}, "t", kind=kind, output=releases / "r1/outputs")
    files = sorted(new.iterdir())
    times = []
    for _ in range(runs + 1):  # the first run warms up (imports, page cache)
        started = time.perf_counter()
        report = check_outputs(files, new, thresholds=Thresholds(), released=releases)
        times.append(time.perf_counter() - started)
    if report.verdict != "pass":
        raise SystemExit(f"the bench table did not pass: {report.to_json()}")
    return times[1:]


def check_rows(runs: int = 5) -> list[tuple[str, float, str]]:
    """(what, median seconds, goal) for checking a count and a magnitude table."""
    with tempfile.TemporaryDirectory(prefix="sluis-bench-checks-") as tmp:
        return [
            (
                f"check a {CHECK_CELLS:,}-cell {kind} table (median of {runs})",
                statistics.median(_check_seconds(kind, Path(tmp), runs)),
                f"< {CHECK_GOAL}",
            )
            for kind in ("count", "magnitude")
        ]


def main() -> None:
    rows = sandbox_rows() + check_rows()
    width = max(len(what) for what, _, _ in rows)
    print(f"{'measure':<{width}}  {'seconds':>8}  goal")
    for what, seconds, goal in rows:
        print(f"{what:<{width}}  {seconds:>8.3f}  {goal}")


if __name__ == "__main__":
    main()
