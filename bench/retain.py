"""Benchmark of sealing at rest (G9, B10; issue 18 item 2): what crypto-shredding costs a run.

On a synthetic Belgium of the given scale, runs 25/074 phase 1 (timed; the run seals its
staged extract, the treated files and the suppressions from a private folder as it writes
them, stage ``seal``) and delivers it once (which seals only the plaintext package), then
measures the vault alone, ``--repeat`` times:

- seal: encrypting the run's output (staged extract, treated files, suppressions) from a
  private plaintext copy into the workspace, as ``sluis run`` does at its end;
- open: decrypting the treated files into the private temporary folder, as a delivery
  does before it builds its package.

Prints the medians, MB/s, and the cost as a share of the run's time (goal: under 10%).

Usage: .venv/bin/python bench/retain.py [--scale 0.01] [--repeat 5] [--dir /tmp/...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from sluis.flow import run_spec  # noqa: E402
from sluis.flow.deliver import deliver  # noqa: E402
from sluis.retain import vault  # noqa: E402
from sluis.retain.hold import SEALED  # noqa: E402
from sluis.synth import generate  # noqa: E402

SPEC = ROOT / "specs" / "25-074.yaml"
MB = 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="sluis-bench-retain-"))
    sources = base / f"sources-{args.scale}"
    if not (sources / ".complete").exists():
        generate(sources, scale=args.scale, seed=1, force=True)
        (sources / ".complete").touch()
    work = base / "work"
    shutil.rmtree(work, ignore_errors=True)
    t = time.perf_counter()
    ran = run_spec(SPEC, sources, phase=1, work=work, check=False)
    run_s = time.perf_counter() - t
    t = time.perf_counter()
    deliver(SPEC, work, created=dt.date(2026, 12, 1))
    deliver_s = time.perf_counter() - t
    home, store = work / "ksz", work / "ksz" / "keys"
    folders = [(home / f, p) for f, p in SEALED]
    key_id = vault.held_key(home / "staged")
    assert key_id, "the run sealed nothing"
    sealed_bytes = sum(p.stat().st_size for f, _ in folders for p in vault.sealed_files(f))

    seal, opening = [], []
    for _ in range(args.repeat):
        with vault.private_folder(home) as plain:
            for folder, purpose in folders:  # plaintext copies to seal again
                with vault.opened(folder, store=store, purpose=purpose, work=home) as opened:
                    shutil.copytree(opened, plain / purpose)
            target = base / "sealed"
            shutil.rmtree(target, ignore_errors=True)
            t = time.perf_counter()
            for _, purpose in folders:
                vault.seal_copy(
                    plain / purpose, target / purpose, store=store, key_id=key_id, purpose=purpose
                )
            seal.append(time.perf_counter() - t)
        t = time.perf_counter()
        with vault.opened(home / "scra" / "staged", store=store, purpose="treated", work=home):
            pass
        opening.append(time.perf_counter() - t)
    shutil.rmtree(base / "sealed", ignore_errors=True)
    treated = sum(p.stat().st_size for p in vault.sealed_files(home / "scra" / "staged"))
    seal_s, open_s = statistics.median(seal), statistics.median(opening)
    in_run = ran.seconds.get("seal", 0.0)
    print(f"scale {args.scale}: run {run_s:.1f} s (its seal stage {in_run:.2f} s), ", end="")
    print(f"deliver {deliver_s:.1f} s")
    files = sum(len(vault.sealed_files(f)) for f, _ in folders)
    print(f"sealed by the run: {sealed_bytes / MB:.1f} MB in {files} files")
    print(f"seal (median of {args.repeat}): {seal_s:.3f} s, {sealed_bytes / MB / seal_s:.0f} MB/s")
    print(f"open treated (median): {open_s:.3f} s, {treated / MB / open_s:.0f} MB/s")
    share = 100 * seal_s / (run_s - in_run)
    print(
        f"cost: sealing = {share:.1f}% of the run without it ({run_s - in_run:.1f} s); goal < 10%"
    )
    sys.exit(0 if share < 10 else 1)


if __name__ == "__main__":
    main()
