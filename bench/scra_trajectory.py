"""Benchmark of the trajectory parts of the SCRA alone (G5, issue 19): the longitudinal
measure before, the trajectory treatment, the measure after and the explanation rows, in
one process on a staged person-quarter file, as ``further._trajectories`` and the driver
call them; each run in a fresh process.

    .venv/bin/python bench/scra_trajectory.py STAGED/ksz.parquet --runs 3

STAGED: a flow run's staged extract (``bench/scra_stage.py`` keeps 26/050's under
``<data>/stage-26-050-<scale>/statbel/staged``). Checks: sep, rva_status, ocmw_support,
m 4, k 5 (26/050's spec). Printed per run: wall and CPU seconds of each part, the peak RSS
above the input table (VmHWM after reading the columns, reset), bytes per window of that
peak, the figures (windows, at risk, values suppressed, rounds) and a digest of the
suppressed cells and of the explanation rows, then the medians and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ONE_RUN = r"""
import hashlib, json, os, sys, time
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sluis.scra.further import _trajectory_explanations
from sluis.scra.longitudinal import longitudinal_risk
from sluis.scra.plan import TrajectoryPlan
from sluis.scra.trajectory import treat_trajectories

def status(key):
    text = open("/proc/self/status").read()
    return int(text.split(key + ":")[1].split()[0]) * 1024

states = ["sep", "rva_status", "ocmw_support"]
table = pq.read_table(sys.argv[1], columns=["person_seq", "quarter", *states])
lg = TrajectoryPlan("person_seq", "quarter", tuple(states), 4, 5)
args = dict(person="person_seq", quarter="quarter", states=states, m=4, k=5)
base = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset VmHWM
parts, cpu = {}, {}
for name in ("measure before", "treatment", "measure after", "explanations"):
    t0, c0 = time.perf_counter(), time.process_time()
    if name == "measure before":
        before = longitudinal_risk(table, **args)
    elif name == "treatment":
        result = treat_trajectories(table, **args)
    elif name == "measure after":
        after = longitudinal_risk(result.table, **args)
    else:
        rows = _trajectory_explanations(table, result, lg)
    parts[name], cpu[name] = time.perf_counter() - t0, time.process_time() - c0
digest = hashlib.sha256()
for v in states:
    digest.update(np.asarray(result.table.column(v).is_null()).tobytes())
for column in rows.columns:
    digest.update(pa.array(column.to_pylist(), column.type).to_string().encode())
print(json.dumps({
    "wall": parts, "cpu": cpu, "peak_above_input": status("VmHWM") - base,
    "windows": before.windows, "at_risk": before.windows_at_risk,
    "persons_at_risk": before.persons_at_risk, "suppressed": result.suppressed,
    "rounds": result.rounds, "after_at_risk": after.windows_at_risk,
    "digest": digest.hexdigest()[:16],
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("staged", help="a staged ksz.parquet of 26/050")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", ONE_RUN, args.staged],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        run = json.loads(out.splitlines()[-1])
        runs.append(run)
        total, total_cpu = sum(run["wall"].values()), sum(run["cpu"].values())
        print(
            f"run {i + 1}: {total:.2f} s wall, {total_cpu:.2f} s CPU, peak "
            f"{run['peak_above_input'] / 2**20:.0f} MiB above the input "
            f"({run['peak_above_input'] / run['windows']:.1f} B/window); "
            + ", ".join(f"{k} {v:.2f}/{run['cpu'][k]:.2f}" for k, v in run["wall"].items())
            + f"; load {os.getloadavg()[0]:.1f}"
        )
    first = runs[0]
    print(
        f"{first['windows']:,} windows, {first['at_risk']:,} at risk "
        f"({first['persons_at_risk']:,} persons); {first['suppressed']:,} values suppressed "
        f"in {first['rounds']} rounds; at risk after {first['after_at_risk']}; "
        f"digest {first['digest']} ({len({r['digest'] for r in runs})} distinct)"
    )
    med = statistics.median
    print(
        f"median of {len(runs)}: wall {med(sum(r['wall'].values()) for r in runs):.2f} s, "
        f"CPU {med(sum(r['cpu'].values()) for r in runs):.2f} s, peak "
        f"{med(r['peak_above_input'] for r in runs) / 2**20:.0f} MiB above the input; "
        f"load average {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
