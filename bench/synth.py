"""Benchmark of ``sluis synth`` (S4): wall time and peak RSS of the whole process tree.

Runs the real command as a user would, at scale 0.01 and 0.1 (median of 3) and 1.0 (one
run), then prints rows and bytes per table and the calibration table (demography and labour
market, S3) of the largest run. Goal for the whole generator (issue 20): at most 15 minutes
and 6 GiB at scale 1.0 on a 2-core, 24 GiB machine.

Besides wall time it prints the CPU seconds of the process tree (user + system of the
command and its workers): on a shared machine the wall time follows the load, the CPU time
much less, so a change is judged by both. ``--reference DIR`` compares every file of the
largest run with the same file under ``DIR`` (a run of another version with the same seed
and scale) by SHA-256: a faster generator must write the same bytes (S2).

    .venv/bin/python bench/synth.py [--scales 0.01,0.1,1.0] [--runs N] [--out /tmp/sluis-bench]
                                    [--reference /path/to/be-0.1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from sluis.synth.calibration import calibration
from sluis.synth.calibration_labour import labour_checks


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def run_once(scale: float, out: Path) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (bytes) of the process tree and its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    exe = Path(sys.executable).with_name("sluis")
    cmd = [str(exe), "synth", "--scale", str(scale), "--seed", "1", "--out", str(out), "--force"]
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
    if proc.returncode != 0:
        last = errors.strip().splitlines()[-1:] or ["(no message)"]
        raise SystemExit(f"sluis synth --scale {scale} failed ({proc.returncode}): {last[0]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, peak, cpu


def digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        out[str(path.relative_to(root))] = h.hexdigest()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="0.01,0.1,1.0")
    parser.add_argument("--out", type=Path, default=Path("/tmp/sluis-bench"))
    parser.add_argument("--runs", type=int, help="runs per scale (default 3, 1 from 1.0)")
    parser.add_argument("--reference", type=Path, help="compare the largest run's files")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"sluis synth on {os.cpu_count()} cores, load average {load} at the start")
    print(
        f"{'scale':>6} {'runs':>4} {'wall s (median)':>16} {'min':>8} {'max':>8} "
        f"{'CPU s (median)':>15} {'peak RSS GiB':>13}"
    )
    last = None
    for scale in scales:
        runs = args.runs or (1 if scale >= 1.0 else 3)
        out = args.out / f"scale-{scale:g}"
        results = [run_once(scale, out) for _ in range(runs)]
        times = [r[0] for r in results]
        peak = max(r[1] for r in results) / 2**30
        print(
            f"{scale:>6g} {runs:>4} {statistics.median(times):>16.1f} "
            f"{min(times):>8.1f} {max(times):>8.1f} "
            f"{statistics.median(r[2] for r in results):>15.1f} {peak:>13.2f}",
            flush=True,
        )
        last = (scale, out)
    if last:
        scale, out = last
        if args.reference:
            mine, theirs = digests(out), digests(args.reference)
            same = sum(mine[k] == theirs.get(k) for k in mine)
            print(f"\n{same} of {len(mine)} files identical to {args.reference} ", end="")
            print(f"({len(theirs)} there){'' if same == len(mine) == len(theirs) else ': DIFFER'}")
        print(f"\nrows and bytes per table at scale {scale:g}")
        print(f"{'table':<26} {'rows':>15} {'MiB':>10} {'bytes/row':>10}")
        meta = json.loads((out / "_synth.json").read_text())
        for name, rows in meta["rows"].items():
            path = out / name if (out / name).is_dir() else out / f"{name}.parquet"
            files = [path] if path.is_file() else list(path.glob("*.parquet"))
            size = sum(f.stat().st_size for f in files)
            print(f"{name:<26} {rows:>15,} {size / 2**20:>10,.1f} {size / max(rows, 1):>10.2f}")
        print(f"\ncalibration at scale {scale:g} (S3)")
        print(f"{'figure':<34} {'period':<11} {'expected':>11} {'observed':>11} {'dev':>7}  ok")
        for c in calibration(out, scale) + labour_checks(out, scale):
            print(
                f"{c.name:<48} {c.period:<11} {c.value_text(c.expected):>11} "
                f"{c.value_text(c.observed):>11} {c.deviation_text:>8}  {'yes' if c.ok else 'NO'}"
            )
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
