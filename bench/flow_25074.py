"""Benchmark of the 25/074 flow (issue 6): wall time and peak RSS per stage of
``sluis run specs/25-074.yaml --phase 2`` (the full samples and their family members).

    .venv/bin/python bench/flow_25074.py                 # scale 0.1 (median of 3) and 1.0 (one run)
    .venv/bin/python bench/flow_25074.py --scales 0.1 --repeat 3

Data: a synthetic Belgium per scale in --data-root (generated first when missing; not timed).
Each run is a fresh process (``sluis run ... --force``), timed from start to exit; the
per-stage figures come from its run.json (peak RSS so far after each stage). The sources
check is remembered per workspace, so runs after the first skip it: the first run's check
time is printed separately. Goal at scale 1.0, phase 2: <= 3 minutes and <= 4 GiB.

The floor (issue 20, ``bench/floor.py``): a hand-written single-pass DuckDB extract of the
same subjects' source rows, run in the same session before each sluis run (interleaved, so
both see the same load); the ratio of sluis's whole run without the SCRA (and with it) to
the floor's median is printed. Goal: within 2x without the SCRA, 3x with it.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from floor import report_floor, run_floor
from registers import ROOT, SLUIS, ensure_data

SPEC = ROOT / "specs" / "25-074.yaml"
#: stages that are not part of the extract-and-stage work the floor is compared with


def one_run(data: Path, work: Path, check: bool = True) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [
            str(SLUIS),
            "run",
            str(SPEC),
            "--data",
            str(data),
            "--phase",
            "2",
            "--work",
            str(work),
            "--force",
            *([] if check else ["--no-check"]),
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"sluis run failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((work / "run.json").read_text())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall": wall, "peak_mib": max(peak, before) // 1024, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per scale below 1.0")
    parser.add_argument("--data-root", type=Path, default=Path("/work/data"))
    parser.add_argument(
        "--work-root",
        type=Path,
        help="where the workspace and the floor's output go (default: --data-root)",
    )
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="skip the sources check (it is remembered per workspace; timed separately)",
    )
    args = parser.parse_args()
    for scale in args.scales:
        data = ensure_data(args.data_root, scale)
        root = args.work_root or args.data_root
        work = root / f"run-25-074-{scale}"
        count = 1 if scale >= 1.0 else args.repeat
        floors, runs = [], []
        for _ in range(count):
            floors.append(run_floor(SPEC, data, root / f"floor-25-074-{scale}"))
            runs.append(one_run(data, work, check=not args.no_check))
        first = runs[0]["summary"]
        timed = runs[1:] if len(runs) > 1 else runs
        floors = floors[1:] if len(floors) > 1 else floors
        s = timed[-1]["summary"]
        print(f"\n## 25/074 phase 2 at scale {scale} ({len(timed)} timed run(s); median)")
        print(
            f"persons {s['persons']:,}, family members {s['family_members']:,}, "
            f"person-quarter rows {s['datasets']['panel']['rows']:,}, "
            f"rows in all datasets {sum(d['rows'] for d in s['datasets'].values()):,}"
        )
        print(
            f"first run's sources check: {first['seconds'].get('check', 0):.1f} s "
            "(later runs reuse it)"
        )
        print("| stage | seconds | peak RSS so far (MiB) |")
        print("|---|---:|---:|")
        for stage in s["seconds"]:
            secs = statistics.median(r["summary"]["seconds"][stage] for r in timed)
            rss = max(r["summary"]["peak_rss_mib"][stage] for r in timed)
            print(f"| {stage} | {secs:.1f} | {rss:,} |")
        wall = statistics.median(r["wall"] for r in timed)
        peak = max(r["peak_mib"] for r in timed)
        print(f"| **whole process** | **{wall:.1f}** | **{peak:,}** |")
        report_floor(floors, timed)


if __name__ == "__main__":
    main()
