"""Benchmark of the small-cell risk analysis (G5) against sdcMicro, whole process against
whole process, as a user measures it (issue 19 item 6).

Each measurement runs the ``sluis`` console script as a user would, ``sluis scra FILE --keys
... --out DIR``, and times it from process start to exit, report written (like
``/usr/bin/time``): wall seconds, CPU seconds (user + system) and peak RSS of that process
(``os.wait4``). One untimed warm-up run first fills the on-disk caches a fresh install
fills on its first run (numba's compiled kernels, Jinja's compiled templates, Python's
compiled bytecode).

Bytecode: an installed sluis has its modules compiled (pip compiles them at install, or
Python on the first run). This development environment sets ``PYTHONDONTWRITEBYTECODE``,
under which every run compiles sluis's forty-odd modules from source again (about 0.1 s
of CPU). The measured runs therefore keep their bytecode under ``DATA/pycache``
(``PYTHONPYCACHEPREFIX``; the source tree is not written to), as a user's install does;
``--compile-each-run`` measures the development environment's way instead.

Data: the shared generator (../shared/reference/scra/gen_microdata.py) at 100k, 1M and 5M
records, with a missing naturalisation_year recoded to 0 (the reference figures' definition,
what sdcMicro was given), key sets K4 and K8.

sdcMicro is not installable on this machine (no CRAN access, no Debian package
r-cran-sdcmicro), so it is not re-run: its figures are the whole-R-process times recorded
with the reference data (shared/reference/scra/README.md, sdcMicro 5.8.1 on this machine
class, recorded for issue 7 before 2026-11-23).

    .venv/bin/python bench/scra.py                          # everything (5M runs once)
    .venv/bin/python bench/scra.py --sizes 100000,1000000   # without 5M

Prints one line per task as it goes, then a table with medians (of 5 runs; 1 run at 5M),
the sdcMicro figure, the ratio, issue 19's goal of 20× sdcMicro's whole process and whether
it holds, and the load average before and after (the machine is shared: quote the load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parents[1] / "shared" / "reference" / "scra" / "gen_microdata.py"
SLUIS = Path(sys.executable).parent / "sluis"  # the console script of this venv
K8 = [
    "birth_year",
    "sex",
    "country_class",
    "region",
    "arrival_quarter",
    "naturalised",
    "naturalisation_year",
    "household_size",
]
KEYS = {"K4": K8[:4], "K8": K8}
#: the options of each task after FILE --keys ... (sdcMicro: measure_risk with the weight,
#: suda2 with its defaults, localSuppression k = 5 with its wildcard semantics)
TASK_OPTIONS = {
    "risk": ["--weight", "weight"],
    "suda2": ["--weight", "weight", "--suda"],
    "suppress": ["--weight", "weight", "--suppress", "--suppression", "sdcmicro", "-k", "5"],
}

SDCMICRO_SOURCE = (
    "sdcMicro 5.8.1, whole R process, recorded on this machine class with the reference data "
    "(shared/reference/scra/README.md, issue 7, before 2026-11-23); not re-run: sdcMicro is "
    "not installable here"
)
# (seconds, MiB) of the whole R process
SDCMICRO = {
    ("risk", 100_000, "K8"): (4.8, 190),
    ("risk", 1_000_000, "K8"): (10.5, 699),
    ("risk", 5_000_000, "K8"): (62.4, 2471),
    ("risk", 5_000_000, "K4"): (37.5, 1752),
    ("suda2", 1_000_000, "K8"): (20.6, 744),
    ("suppress", 100_000, "K4"): (22.0, None),
    ("suppress", 100_000, "K8"): (600.0, None),  # did not finish in 600 s
    ("suppress", 1_000_000, "K4"): (21.0, None),
}
#: issue 19: sluis's whole process at least this many times faster than sdcMicro's
GOAL_FACTOR = 20
GOAL_TASKS = {
    ("risk", 1_000_000, "K8"),
    ("risk", 5_000_000, "K8"),
    ("suda2", 1_000_000, "K8"),
    ("suppress", 1_000_000, "K4"),
}
PLAN = [
    ("risk", (100_000, 1_000_000, 5_000_000), ("K4", "K8")),
    ("suda2", (100_000, 1_000_000), ("K4", "K8")),
    ("suppress", (100_000, 1_000_000), ("K4", "K8")),
]


def generate(n: int, directory: Path) -> Path:
    """``microdata_N.parquet`` from the shared generator's chunks (no pandas needed), with a
    missing naturalisation year recoded to 0 as in the reference figures."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from sluis.scra.reference import reference_microdata

    path = directory / f"microdata_{n}_recoded.parquet"
    if path.exists():
        return path
    table = reference_microdata(GENERATOR, n)
    index = table.schema.get_field_index("naturalisation_year")
    table = table.set_column(
        index, "naturalisation_year", pc.fill_null(table["naturalisation_year"], 0)
    )
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    return path


def command(task: str, path: Path, keyset: str, out: Path) -> list[str]:
    """The command line a user types for ``task``."""
    keys = ",".join(KEYS[keyset])
    return [str(SLUIS), "scra", str(path), "--keys", keys, *TASK_OPTIONS[task], "--out", str(out)]


def environment(data: Path, compile_each_run: bool) -> dict[str, str]:
    """The measured process's environment: this one, with its bytecode kept under
    ``data/pycache`` unless ``compile_each_run`` (see the module docstring)."""
    env = dict(os.environ)
    if not compile_each_run:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(data / "pycache")
    return env


def measure(task: str, path: Path, keyset: str, env: dict[str, str]) -> dict:
    """One whole process: wall and CPU seconds, peak RSS, and the figures of its report."""
    out = Path(tempfile.mkdtemp(prefix="sluis-scra-bench-"))
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command(task, path, keyset, out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode not in (0, 1):  # 1: a threshold does not hold (expected)
            sys.exit(f"sluis scra exited {proc.returncode}: {errors}")
        result = json.loads((out / "scra.json").read_text())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "seconds": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        # the stages of scra.json's timings ("measures" holds the SUDA2 time)
        "in_process": sum(v for k, v in result["seconds"].items() if not k.startswith("suda2")),
        **figures(task, result),
    }


def figures(task: str, result: dict) -> dict:
    """The figures a reader compares with sdcMicro's (from ``scra.json``)."""
    before = result["key_sets"][0]["before"]
    if task == "risk":
        return {
            "cells": before["cells"],
            "viol5": before["records_below"]["5"],
            "risk": before["global_risk"],
        }
    if task == "suda2":
        return {
            "with_score": before["suda"]["records_with_score"],
            "dis_sum": before["suda"]["dis_sum"],
        }
    after = result["key_sets"][0]["after"]
    return {
        "suppressed": result["treatment"]["suppressed_values"],
        "violations_after": after["records_below"]["5"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,5000000")
    parser.add_argument("--tasks", default="risk,suda2,suppress")
    parser.add_argument("--data", type=Path, default=Path("/tmp/sluis-scra-bench"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--compile-each-run",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE as set: every run compiles sluis from source",
    )
    args = parser.parse_args()
    if not GENERATOR.exists():
        sys.exit(f"the shared generator is not at {GENERATOR}")
    if not SLUIS.exists():
        sys.exit(f"no sluis console script at {SLUIS}: run ./dev first")
    sizes = [int(s) for s in args.sizes.split(",")]
    tasks = args.tasks.split(",")
    paths = {n: generate(n, args.data) for n in sizes}
    env = environment(args.data, args.compile_each_run)
    measure("suda2", paths[min(sizes)], "K4", env)  # warm-up: numba, Jinja, bytecode
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    rows = []
    for task, task_sizes, keysets in PLAN:
        if task not in tasks:
            continue
        for n in task_sizes:
            if n not in paths:
                continue
            for keyset in keysets:
                runs = 1 if n >= 5_000_000 else args.runs
                results = [measure(task, paths[n], keyset, env) for _ in range(runs)]
                row = {
                    key: statistics.median(r[key] for r in results)
                    for key in ("seconds", "cpu", "in_process")
                }
                row["rss_mib"] = max(r["rss_mib"] for r in results)
                extra = {
                    k: v
                    for k, v in results[0].items()
                    if k not in ("seconds", "cpu", "rss_mib", "in_process")
                }
                rows.append((task, n, keyset, row, runs, extra))
                print(
                    f"  {task} {n:,} {keyset}: {row['seconds']:.2f} s wall, {row['cpu']:.2f} s "
                    f"CPU, {row['rss_mib']:,.0f} MiB",
                    flush=True,
                )
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    print()
    print(f"sdcMicro: {SDCMICRO_SOURCE}.")
    bytecode = (
        "compiled from source in every run (PYTHONDONTWRITEBYTECODE)"
        if args.compile_each_run
        else f"cached under {args.data / 'pycache'} by the warm-up run, as an install has it"
    )
    print(f"sluis's bytecode: {bytecode}.")
    print(
        f"Load average (1, 5, 15 min) before {', '.join(load_before)}, after "
        f"{', '.join(load_after)} on {os.cpu_count()} CPUs."
    )
    print()
    print(
        "| task | N | keys | sluis wall s | CPU s | in-process s | peak MiB | sdcMicro s / MiB "
        f"| ratio (wall) | goal {GOAL_FACTOR}× | holds | figures |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for task, n, keyset, row, runs, extra in rows:
        seconds = row["seconds"]
        ref = SDCMICRO.get((task, n, keyset))
        ref_text = "" if ref is None else f"{ref[0]:g}" + (f" / {ref[1]:,}" if ref[1] else "")
        ratio = "" if ref is None else f"{ref[0] / seconds:,.1f}×"
        if (task, n, keyset) == ("suppress", 100_000, "K8"):
            ref_text, ratio = "> 600 (did not finish)", f"> {ref[0] / seconds:,.0f}×"
        goal_text = holds = ""
        if ref is not None and (task, n, keyset) in GOAL_TASKS:
            goal = ref[0] / GOAL_FACTOR
            goal_text = f"≤ {goal:.2f} s"
            ok = seconds <= goal and extra.get("violations_after", 0) == 0
            holds = "yes" if ok else "NO"
        shown = ", ".join(
            f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v:,}" for k, v in extra.items()
        )
        runs_text = "" if runs > 1 else " (1 run)"
        print(
            f"| {task} | {n:,} | {keyset} | {seconds:.2f}{runs_text} | {row['cpu']:.2f} | "
            f"{row['in_process']:.2f} | {row['rss_mib']:,.0f} | {ref_text} | {ratio} | "
            f"{goal_text} | {holds} | {shown} |"
        )


if __name__ == "__main__":
    main()
