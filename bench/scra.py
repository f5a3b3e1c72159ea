"""Benchmark of the small-cell risk analysis (G5) against sdcMicro's figures.

Data: the shared generator (../shared/reference/scra/gen_microdata.py) at 100k, 1M and 5M
records, missing naturalisation_year recoded to 0, key sets K4 and K8. Each measurement runs
in a fresh Python process and times the whole job from reading the Parquet file to the
result (read, encode, measure); peak RSS is the child's high-water mark (VmHWM). One untimed warm-up
run first loads the numba kernels into their on-disk cache.

    .venv/bin/python bench/scra.py                 # everything (5M runs once per task)
    .venv/bin/python bench/scra.py --sizes 100000  # a quick look

Prints a table with medians (of 3 runs; 1 run at 5M), peak RSS, the sdcMicro figure and the
ratio, and the goal of issue 7 where there is one.
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

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parents[1] / "shared" / "reference" / "scra" / "gen_microdata.py"
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

# sdcMicro 5.8.1 on this kind of machine: (seconds, MiB) from the reference README / issue 7
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
# goals of issue 7: (seconds, MiB)
GOALS = {
    ("risk", 5_000_000, "K8"): (3.0, 2048),
    ("suda2", 1_000_000, "K8"): (5.0, None),
    ("suppress", 100_000, "K8"): (10.0, None),
    ("suppress", 1_000_000, "K4"): (5.0, None),
}
PLAN = [
    ("risk", (100_000, 1_000_000, 5_000_000), ("K4", "K8")),
    ("suda2", (100_000, 1_000_000), ("K4", "K8")),
    ("suppress", (100_000, 1_000_000), ("K4", "K8")),
]


def generate(n: int, directory: Path) -> Path:
    """``microdata_N.parquet`` from the shared generator's chunks (no pandas needed)."""
    import pyarrow.parquet as pq

    from sluis.scra.reference import reference_microdata

    path = directory / f"microdata_{n}.parquet"
    if path.exists():
        return path
    table = reference_microdata(GENERATOR, n)
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    return path


def one(task: str, path: Path, keyset: str) -> dict:
    """Run one task in this process; returns seconds, peak RSS and figures."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from sluis.scra import encode_keys, frequencies, global_risk, individual_risk
    from sluis.scra.suda import suda2
    from sluis.scra.suppress import local_suppression, wildcard_frequencies

    keys = KEYS[keyset]
    start = time.perf_counter()
    table = pq.read_table(path, columns=[*keys, "weight"])
    if "naturalisation_year" in keys:
        index = table.schema.get_field_index("naturalisation_year")
        table = table.set_column(
            index, "naturalisation_year", pc.fill_null(table["naturalisation_year"], 0)
        )
    codes = encode_keys(table, keys)
    info: dict = {}
    if task == "risk":
        freq = frequencies(codes, table["weight"].to_numpy())
        g = global_risk(individual_risk(freq.fk, freq.Fk))
        info = {"cells": freq.n_cells, "viol5": freq.records_below(5), "risk": g.global_risk}
    elif task == "suda2":
        s = suda2(codes)
        info = {"with_score": s.records_with_score, "dis_sum": s.dis_sum}
    elif task == "suppress":
        sup = local_suppression(codes, 5)
        info = {"suppressed": sup.total}
    seconds = time.perf_counter() - start
    if task == "suppress":  # the check is not timed
        fk, _ = wildcard_frequencies(codes, sup.suppressed)
        info["violations_after"] = int((fk < 5).sum())
    rss_mib = _peak_rss_mib()
    return {"seconds": seconds, "rss_mib": rss_mib, **info}


def _peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Unlike ``ru_maxrss`` it starts afresh at
    ``exec``, so the parent's memory (the data it generated) is not counted."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(task: str, path: Path, keyset: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", task, str(path), keyset],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("TASK", "FILE", "KEYS"))
    parser.add_argument("--sizes", default="100000,1000000,5000000")
    parser.add_argument("--tasks", default="risk,suda2,suppress")
    parser.add_argument("--data", type=Path, default=Path("/tmp/sluis-scra-bench"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.one:
        task, file, keyset = args.one
        print(json.dumps(one(task, Path(file), keyset)))
        return
    if not GENERATOR.exists():
        sys.exit(f"the shared generator is not at {GENERATOR}")
    sizes = [int(s) for s in args.sizes.split(",")]
    tasks = args.tasks.split(",")
    paths = {n: generate(n, args.data) for n in sizes}
    measure("suda2", paths[min(sizes)], "K4")  # warm-up: numba kernels into the cache
    rows = []
    for task, task_sizes, keysets in PLAN:
        if task not in tasks:
            continue
        for n in task_sizes:
            if n not in paths:
                continue
            for keyset in keysets:
                runs = 1 if n >= 5_000_000 else args.runs
                results = [measure(task, paths[n], keyset) for _ in range(runs)]
                seconds = statistics.median(r["seconds"] for r in results)
                rss = max(r["rss_mib"] for r in results)
                extra = {k: v for k, v in results[0].items() if k not in ("seconds", "rss_mib")}
                rows.append((task, n, keyset, seconds, rss, runs, extra))
                print(f"  {task} {n:,} {keyset}: {seconds:.2f} s, {rss:,.0f} MiB", flush=True)
    header = (
        "| task | N | keys | sluis s | peak MiB | sdcMicro s / MiB | ratio (time) | goal | "
        "holds | figures |"
    )
    print()
    print(header)
    print("|---|---:|---|---:|---:|---:|---:|---|---|---|")
    for task, n, keyset, seconds, rss, runs, extra in rows:
        ref = SDCMICRO.get((task, n, keyset))
        goal = GOALS.get((task, n, keyset))
        ref_text = "" if ref is None else f"{ref[0]:g}" + (f" / {ref[1]:,}" if ref[1] else "")
        ratio = "" if ref is None else f"{ref[0] / seconds:,.0f}× faster"
        if (task, n, keyset) == ("suppress", 100_000, "K8"):
            ref_text, ratio = "> 600 (did not finish)", f"> {ref[0] / seconds:,.0f}× faster"
        goal_text = ""
        if goal is not None:
            goal_text = f"≤ {goal[0]:g} s" + (f", ≤ {goal[1]:,} MiB" if goal[1] else "")
        holds = ""
        if goal is not None:
            ok = seconds <= goal[0] and (goal[1] is None or rss <= goal[1])
            ok = ok and extra.get("violations_after", 0) == 0
            holds = "yes" if ok else "NO"
        figures = ", ".join(
            f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v:,}" for k, v in extra.items()
        )
        runs_text = "" if runs > 1 else " (1 run)"
        print(
            f"| {task} | {n:,} | {keyset} | {seconds:.2f}{runs_text} | {rss:,.0f} | {ref_text} | "
            f"{ratio} | {goal_text} | {holds} | {figures} |"
        )


if __name__ == "__main__":
    main()
