"""Benchmark of the SCRA stage alone, with trajectories and l-diversity enforced (G5, issue 19
"Tests and figures"): the spec-driven small-cell risk analysis of a flow's staged extract,
timed as its own process, as a data steward re-runs it.

    .venv/bin/python bench/scra_stage.py --scale 0.1 --runs 3 --data D --no-check   # both flows
    .venv/bin/python bench/scra_stage.py --scale 0.1 --flows 26-050 --runs 0 --profile --data D
    .venv/bin/python bench/scra_stage.py --scale 1.0 --flows 26-050 --runs 1 --data D --no-check

A separate script from ``bench/scra.py``: that one times ``sluis scra FILE --keys`` on the
shared generator's flat files against sdcMicro; this one needs a synthetic Belgium and a
flow run, and times a whole spec's SCRA (every dataset, the treatments after local
suppression, the final measure, the information loss).

Steps, per scale and flow (the data and the flow runs are cached under ``--data`` and
reused; none of them is timed):

1. ``<data>/be-<scale>``: a synthetic Belgium (``sluis synth --scale S --seed 1``);
2. ``<data>/stage-<decision>-<scale>``: ``sluis run`` of the spec once (26/050; 25/074
   phase 1, the delivered sample), for its staged extract ``<party>/staged`` (a delivered
   run's extract may be sealed: ``sluis scra`` opens it through the vault, as a user's does);
3. the SCRA stage alone, ``--runs`` times, each a fresh process: 26/050 as a user runs it,
   ``sluis scra --spec specs/26-050.yaml --staged W/statbel/staged --out DIR``. 25/074
   phase 1 is a sample, and the flow gives its SCRA the design weight (population / persons
   drawn: k and l hold on the estimated population frequency, a window's k is
   ceil(5 / weight) = 1 on the sample); ``sluis scra --spec`` has no option for it and
   would treat the sample (306 persons at scale 0.1) as the population, so the stage is run
   as the flow runs it (``run_spec_scra(..., design_weight=W)``, :data:`SAMPLE_STAGE`, in a
   fresh ``python``, W from run.json).

Each timed run: wall seconds from start to exit, CPU seconds (user + system, ``wait4``),
and the peak RSS of the process tree (the largest sum of VmRSS over the process and its
descendants, sampled every 0.1 s, and never below ``wait4``'s own peak). Printed: the
median (and each run), the parts ``scra.json``'s ``seconds`` time, the trajectory and
l-diversity treatments' figures (windows or cells at risk before, values changed per
variable, rounds, left), and the goal of issue 19 (at scale 1.0, the 26/050 stage in at
most 60 s and 2 GiB). ``--profile`` adds one untimed run under cProfile and prints the
functions of ``sluis.scra`` with the most cumulative time.
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
import threading
import time
from pathlib import Path

from registers import ROOT, SLUIS, ensure_data

PYTHON = SLUIS.parent / "python"
#: decision -> (spec, phase of its `sluis run`: None for the whole population, timed as
#: `sluis scra --spec`; a sample phase is timed as the flow calls it, SAMPLE_STAGE)
FLOWS = {
    "26-050": (ROOT / "specs" / "26-050.yaml", None),
    "25-074": (ROOT / "specs" / "25-074.yaml", 1),
}
#: issue 19: the whole SCRA stage of 26/050 at full scale
GOAL_SECONDS, GOAL_MIB = 60, 2 * 1024
#: the flow's call for a sample (what `sluis run` does in its stage "scra")
SAMPLE_STAGE = """
import sys
from pathlib import Path
from sluis.flow.retain import opened_held
from sluis.scra.driver import run_spec_scra
from sluis.spec import load_spec
spec, staged, out, weight = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
with opened_held(staged) as plain:
    result = run_spec_scra(load_spec(spec), plain, out, design_weight=weight, shown_as=staged)
sys.exit(0 if result.ok else 1)
"""


def tree_rss_mib(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in MiB (0 once it has gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total // 1024


def timed(cmd: list[str], log: Path) -> dict:
    """Run ``cmd`` to its end: wall and CPU seconds, peak RSS of its process tree, exit code."""
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], tree_rss_mib(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: a threshold does not hold, still a finished stage
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        sys.exit(f"{' '.join(cmd)}\nexited {code} after {wall:.1f} s:\n{tail}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mib": max(peak[0], usage.ru_maxrss // 1024),
        "exit": code,
    }


def staged_extract(data: Path, root: Path, decision: str, scale: float, check: bool) -> dict:
    """The flow's staged extract at ``scale``: ``sluis run`` once (not timed), then reused."""
    spec, phase = FLOWS[decision]
    work = root / f"stage-{decision}-{scale}"
    if not (work / "run.json").exists():
        if work.exists():  # an earlier run there did not finish
            shutil.rmtree(work)
        work.mkdir(parents=True)
        cmd = [str(SLUIS), "run", str(spec), "--data", str(data), "--work", str(work)]
        cmd += ["--force", *(["--phase", str(phase)] if phase else [])]
        cmd += [] if check else ["--no-check"]
        print(f"sluis run {decision} at scale {scale} (not timed) ...", flush=True)
        run = timed(cmd, root / f"stage-{decision}-{scale}.log")
        print(f"  {run['wall']:.1f} s, peak {run['peak_mib']:,} MiB", flush=True)
    summary = json.loads((work / "run.json").read_text())
    staged = Path(summary["scra_dir"]).parent / "staged"
    return {"spec": spec, "staged": staged, "summary": summary, "work": work}


def design_weight(spec: Path, summary: dict) -> float:
    """The flow's design weight of a sample phase (as ``sluis.flow.run`` computes it): the
    sampled populations that are no other's subset, over the persons delivered."""
    from sluis.spec import load_spec

    loaded = load_spec(spec)
    top = {s.population for s in loaded.samples.values()}
    top = {p for p in top if loaded.populations[p].subset_of is None}
    return sum(summary["populations"][p] for p in top) / summary["persons"]


def stage_command(decision: str, extract: dict, out: Path) -> list[str]:
    """The SCRA stage alone on the staged extract (see the module docstring)."""
    spec, staged = str(extract["spec"]), str(extract["staged"])
    if FLOWS[decision][1] is None:
        return [str(SLUIS), "scra", "--spec", spec, "--staged", staged, "--out", str(out)]
    weight = design_weight(extract["spec"], extract["summary"])
    script = out.parent / "sample_stage.py"  # a file, not -c: cProfile runs files only
    script.write_text(SAMPLE_STAGE)
    return [str(PYTHON), str(script), spec, staged, str(out), repr(weight)]


def one_stage(decision: str, extract: dict, root: Path, profile: Path | None = None) -> dict:
    """One SCRA stage in a fresh process; its ``scra.json`` read back."""
    out = Path(tempfile.mkdtemp(prefix=f"scra-stage-{decision}-", dir=root))
    try:
        cmd = stage_command(decision, extract, out / "scra")
        if profile is not None:  # the same command under cProfile
            head = ["-m", "cProfile", "-o", str(profile)]
            cmd = [str(PYTHON), *head, *(cmd[1:] if cmd[0] == str(PYTHON) else cmd)]
        result = timed(cmd, root / f"scra-stage-{decision}.log")
        result["scra"] = json.loads((out / "scra" / "scra.json").read_text())
        result["command"] = cmd
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return result


#: the parts of scra.json's "seconds", in the driver's order ("<dataset>: <part>" summed)
PARTS = [
    "measures",
    "treatment",
    "l-diversity and trajectories",
    "rebuild attacks",
    "treated again",
    "longitudinal",
    "information loss",
]


def parts(seconds: dict[str, float]) -> dict[str, float]:
    """scra.json's seconds per part, summed over the datasets."""
    out = dict.fromkeys(PARTS, 0.0)
    for name, value in seconds.items():
        part = name.split(": ", 1)[-1]
        if part.startswith("suda2"):
            continue  # inside "measures"
        out[part] = out.get(part, 0.0) + value
    return out


def report(decision: str, scale: float, extract: dict, runs: list[dict]) -> None:
    med = statistics.median
    s = extract["summary"]
    rows = {name: d["rows"] for name, d in s["datasets"].items()}
    print(f"\n## SCRA stage of {decision} at scale {scale} (median of {len(runs)})")
    print(
        f"staged extract {extract['staged']}: " + ", ".join(f"{n} {r:,}" for n, r in rows.items())
    )
    print(f"rows in all {sum(rows.values()):,}; the flow's own stage 'scra' took "
          f"{s['seconds'].get('scra', 0):.1f} s in its run")  # fmt: skip
    cmd = runs[0]["command"]
    shown = [cmd[0], "SAMPLE_STAGE.py", *cmd[2:]] if cmd[0] == str(PYTHON) else cmd
    print("command: " + " ".join(shown))
    wall, cpu = med(r["wall"] for r in runs), med(r["cpu"] for r in runs)
    peak = max(r["peak_mib"] for r in runs)
    walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
    peaks = ", ".join(f"{r['peak_mib']:,}" for r in runs)
    print(
        f"whole process: **{wall:.1f} s** wall, {cpu:.1f} s CPU, peak RSS **{peak:,} MiB** "
        f"(runs: {walls} s; {peaks} MiB); thresholds hold: "
        + ", ".join(str(r["scra"]["ok"]) for r in runs)
    )
    print("\n| part (scra.json seconds, summed over datasets) | seconds |")
    print("|---|---:|")
    per = [parts(r["scra"]["seconds"]) for r in runs]
    for name in per[0]:
        print(f"| {name} | {med(p.get(name, 0.0) for p in per):.1f} |")
    inside = med(sum(p.values()) for p in per)
    print(
        f"| outside them (start-up, opening the extract, report, writing) | {wall - inside:.1f} |"
    )
    largest = sorted(runs[-1]["scra"]["seconds"].items(), key=lambda kv: -kv[1])[:8]
    print("\nlargest timed parts (last run): " + ", ".join(f"{k} {v:.1f} s" for k, v in largest))
    print("\n| treatment | on | at risk before | values changed | rounds | left |")
    print("|---|---|---:|---|---:|---:|")
    for t in runs[-1]["scra"]["further"]:
        changed = ", ".join(f"{v} {n:,}" for v, n in t["per_variable"].items()) or "none"
        unit = "windows" if t["kind"] == "trajectories" else "cells"
        print(
            f"| {t['kind']} ({t['what']}) | {t['dataset']} | {t['before']:,} {unit} | "
            f"{changed} | {t['rounds']} | {t['after']:,} |"
        )
    for lc in runs[-1]["scra"]["longitudinal"]:
        b, a = lc["before"], lc["after"] or {}
        print(
            f"trajectories {lc['dataset']} ({', '.join(b['state_variables'])}; m {b['m']}, "
            f"k {b['k']}): {b['windows']:,} windows, {b['windows_at_risk']:,} at risk before "
            f"({b['persons_at_risk']:,} persons), {a.get('windows_at_risk', '-')} after"
        )
    if decision == "26-050" and scale >= 1.0:
        ok = wall <= GOAL_SECONDS and peak <= GOAL_MIB
        print(
            f"goal (issue 19): <= {GOAL_SECONDS} s and <= {GOAL_MIB:,} MiB: "
            f"{'MEETS' if ok else 'MISSES'} ({wall:.1f} s, {peak:,} MiB)"
        )


def print_profile(path: Path, top: int = 25) -> None:
    """The functions of sluis.scra (and what they call) with the most cumulative time."""
    import pstats

    print(f"\ncProfile (one untimed run, {path}): cumulative seconds, sluis.scra functions")
    stats = pstats.Stats(str(path))
    rows = [
        (ct, nc, f"{Path(file).name}:{line}:{name}")
        for (file, line, name), (_, nc, _, ct, _) in stats.stats.items()  # type: ignore[attr-defined]
        if "sluis/scra" in file or "sluis/flow/retain" in file
    ]
    for ct, nc, where in sorted(rows, reverse=True)[:top]:
        print(f"  {ct:8.2f} s  {nc:>7} calls  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--flows", nargs="+", default=list(FLOWS), choices=list(FLOWS))
    parser.add_argument("--runs", type=int, default=3, help="timed SCRA stages per flow")
    parser.add_argument(
        "--data", type=Path, default=Path("out/bench-scra-stage"), help="cache root (synth, runs)"
    )
    parser.add_argument("--no-check", action="store_true", help="sluis run --no-check")
    parser.add_argument("--profile", action="store_true", help="one more run under cProfile")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    data = ensure_data(args.data, args.scale)
    for decision in args.flows:
        extract = staged_extract(data, args.data, decision, args.scale, not args.no_check)
        runs = []
        for i in range(args.runs):
            runs.append(one_stage(decision, extract, args.data))
            r = runs[-1]
            print(f"  {decision} run {i + 1}: {r['wall']:.1f} s, {r['peak_mib']:,} MiB, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        if runs:  # --runs 0 --profile: the profile alone
            saved = args.data / f"scra-stage-{decision}-{args.scale}.json"
            saved.write_text(json.dumps({"extract": extract, "runs": runs}, default=str))
            report(decision, args.scale, extract, runs)
        if args.profile:
            path = args.data / f"scra-stage-{decision}-{args.scale}.prof"
            one_stage(decision, extract, args.data, profile=path)
            print_profile(path)


if __name__ == "__main__":
    main()
