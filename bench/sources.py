"""Benchmark of ``sluis sources check`` (issue 20 item 3, S4, X2): wall time and peak RSS
of the whole process tree, on the registers at ``--data``.

    .venv/bin/python bench/sources.py --data /work/trajbench-data/be-0.1            # median of 3
    .venv/bin/python bench/sources.py --data /work/bigdata/be-1.0 --repeat 1

Runs the real command as a steward would, a fresh process per run, with the quarantine in
--out (never next to the data, which may be read-only) and removed after each run. Prints
each run, the median wall time, the largest peak RSS and the load average before and
after (the machine is shared: quote it with the figures). Goal at scale 1.0 (issue 20):
finishes, <= 4 GiB, <= 5 minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from synth import tree_rss


def run_once(data: Path, quarantine: Path) -> tuple[float, int, int]:
    """One check: wall seconds, peak RSS of the process tree (bytes), exit code."""
    exe = Path(sys.executable).with_name("sluis")
    cmd = [str(exe), "sources", "check", str(data), "--quarantine", str(quarantine)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode not in (0, 1):  # 1: the registers break the contract, still measured
        last = errors.strip().splitlines()[-1:] or ["(no message)"]
        raise SystemExit(f"sluis sources check {data} failed ({proc.returncode}): {last[0]}")
    return seconds, peak, proc.returncode


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the registers to check")
    parser.add_argument("--repeat", type=int, default=3, help="runs (median reported)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/sluis-bench-sources"))
    args = parser.parse_args()
    print(f"sluis sources check {args.data} on {os.cpu_count()} cores, load before {_load()}")
    print("| run | wall s | peak RSS GiB | exit |")
    print("| --- | ---: | ---: | ---: |")
    results = []
    for i in range(args.repeat):
        quarantine = args.out / f"quarantine-{i}"
        try:
            seconds, peak, code = run_once(args.data, quarantine)
        finally:
            shutil.rmtree(quarantine, ignore_errors=True)  # bad rows: full national numbers
        results.append((seconds, peak))
        print(f"| {i + 1} | {seconds:.1f} | {peak / 2**30:.2f} | {code} |", flush=True)
    times = [r[0] for r in results]
    print(
        f"\nmedian {statistics.median(times):.1f} s (min {min(times):.1f}, max {max(times):.1f}), "
        f"peak RSS {max(r[1] for r in results) / 2**30:.2f} GiB, load after {_load()}"
    )


if __name__ == "__main__":
    main()
