"""Benchmark of the 26/050 flow: wall time and peak RSS per party and stage of
``sluis run specs/26-050.yaml`` (Statbel as trusted third party; KSZ and VDAB extract for
Statbel's list of persons and send over the in-process SFTP server).

    .venv/bin/python bench/flow_26050.py --scales 0.1 --repeat 3
    .venv/bin/python bench/flow_26050.py --scales 1.0 --repeat 1 --no-check

Data: a synthetic Belgium per scale in --data-root (generated first when missing, seed 1;
not timed). Each run is a fresh process (``sluis run ... --force`` in the same workspace
<--work-root>/run-26-050-<scale>; a workspace whose last run did not finish is removed
first), timed from start to exit; its peak RSS is that process's
own (wait4), the per-stage figures come from its run.json (the process's peak RSS so far
after each stage). Every party runs in the one process, so a party's peak is the process
peak at the end of its stages; the "rise" column says how much a stage raised that peak.

The sources check (Statbel's own tables in stage "check", each provider's inside its
"<provider>:extract") is remembered per workspace: when checking, a first run does it and is
reported on its own, then --repeat timed runs reuse it. At full scale the check runs out of
memory (known issue): run scale 1.0 with --no-check. Goal at scale 1.0: <= 5 minutes and
<= 6 GiB.

The floor (issue 20, ``bench/floor.py``): a hand-written single-pass DuckDB extract of the
cohorts' and their household members' source rows (every party's tables), run in the same
session before each timed run (interleaved, so both see the same load); the ratio of
sluis's whole run without the SCRA (and with it) to the floor's median is printed. Goal:
within 2x without the SCRA, 3x with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from floor import report_floor, run_floor
from registers import ROOT, SLUIS, ensure_data

SPEC = ROOT / "specs" / "26-050.yaml"
TTP = "statbel"
PROVIDERS = ["ksz", "vdab"]  # the order of the spec; run.json's "providers" wins when present
GOAL_SECONDS, GOAL_MIB = 300, 6 * 1024
#: stages that are not part of the extract-and-stage work the floor is compared with
#: the flow's stage order (run.json sorts its keys); "<p>" is each provider in turn
ORDER = [
    "check",
    "select",
    "frames",
    "send-lists",
    "<p>:extract",
    "<p>:receive",
    "extract",
    "pseudonymise",
    "destroy",
    "coarsen",
    "write",
    "scra",
]


def rss_mib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def last_events(work: Path, parties: list[str]) -> dict[str, str]:
    """The last audit event of each party's log: where a run that died had got to."""
    out = {}
    for p in parties:
        log = work / p / "audit.log"
        if log.exists():
            lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
            events = [json.loads(ln) for ln in lines[-3:]]
            out[p] = ", ".join(f"{e['event']} ({e['time']})" for e in events)
    return out


def one_run(data: Path, work: Path, check: bool) -> dict:
    """One ``sluis run`` in its own process: wall time, its peak RSS, its run.json."""
    if work.exists() and not (work / "run.json").exists():
        # an earlier run died there: its transfers are still in the parties' in- and
        # outboxes, and --force does not replace them (the next run refuses: transfer-exists)
        print(f"removing {work}: an earlier run there did not finish", flush=True)
        shutil.rmtree(work)
    (work / "run.json").unlink(missing_ok=True)
    cmd = [str(SLUIS), "run", str(SPEC), "--data", str(data), "--work", str(work), "--force"]
    cmd += [] if check else ["--no-check"]
    log = work.parent / f"{work.name}.log"
    work.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        samples: list[tuple[float, int]] = []  # (seconds since start, RSS MiB), every second
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append((time.perf_counter() - start, rss_mib(proc.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stopped: list[int] = []

        def forward(signum: int, _frame: object) -> None:
            # a benchmark stopped from outside stops its run too, and says where it was
            stopped.append(signum)
            proc.send_signal(signum)

        handlers = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss // 1024
    if proc.returncode not in (0, 1) or not (work / "run.json").exists():
        how = (
            f"killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"exit code {proc.returncode}"
        )
        top = max(samples, key=lambda s: s[1], default=(0.0, 0))
        if stopped:
            how += f" (the benchmark got signal {stopped[0]} from outside and passed it on)"
        print(f"\n!! sluis run failed after {wall:.1f} s: {how}; peak RSS {peak:,} MiB")
        print(f"   command: {' '.join(cmd)}")
        print(f"   highest sampled RSS {top[1]:,} MiB at {top[0]:.0f} s; last samples (s, MiB):")
        print("   " + ", ".join(f"({t:.0f}, {m:,})" for t, m in samples[-10:]))
        for party, events in last_events(work, [TTP, *PROVIDERS]).items():
            print(f"   last audit events of {party}: {events}")
        print(f"   output (tail of {log}):")
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print("\n".join("   | " + ln for ln in tail))
        if stopped:
            sys.exit(128 + stopped[0])
        return {"wall": wall, "peak_mib": peak, "summary": None, "failed": how}
    summary = json.loads((work / "run.json").read_text())
    return {"wall": wall, "peak_mib": peak, "summary": summary, "exit": proc.returncode}


def stage_order(stages: list[str], providers: list[str]) -> list[str]:
    ordered = []
    for s in ORDER:
        ordered += [s.replace("<p>", p) for p in providers] if "<p>" in s else [s]
    known = [s for s in ordered if s in stages]
    return known + sorted(s for s in stages if s not in known)


def party_of(stage: str, providers: list[str]) -> str:
    """Whose work a stage is: a provider's extract is the provider's; receiving and checking
    a provider's extract, and everything else, is the trusted third party's."""
    party, _, step = stage.partition(":")
    return party if step == "extract" and party in providers else TTP


def provider_rows(work: Path, providers: list[str]) -> dict[str, dict[str, int]]:
    """Rows each provider extracted per table: its last "extracted" audit event."""
    out = {}
    for p in providers:
        log = work / p / "audit.log"
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            if '"extracted"' in line:
                event = json.loads(line)
                if event.get("event") == "extracted":
                    out[p] = event["data"]["rows"]
    return out


def report(scale: float, work: Path, first: dict | None, timed: list[dict], check: bool) -> None:
    s = timed[-1]["summary"]
    providers = s.get("providers") or PROVIDERS
    n = len(timed)
    print(f"\n## 26/050 at scale {scale} ({n} timed run(s); median)")
    print(f"workspace {work}; sources check: ", end="")
    if not check:
        print("skipped (--no-check; at full scale the check runs out of memory, known issue)")
    elif first is not None:
        fs = first["summary"]["seconds"]
        own = fs.get("check", 0.0)
        print(
            f"done by a first, untimed run ({first['wall']:.1f} s wall, peak "
            f"{first['peak_mib']:,} MiB): {TTP} check {own:.1f} s; "
            + ", ".join(
                f"{p}:extract incl. its check {fs.get(f'{p}:extract', 0):.1f} s" for p in providers
            )
            + "; the timed runs reuse it (stage 'check' is then the stamp comparison only)"
        )
    else:
        print("remembered from an earlier run in this workspace")
    pops = s["populations"]
    print(
        "cohorts: "
        + ", ".join(f"{k} {v:,}" for k, v in pops.items())
        + f" (sum {sum(pops.values()):,}); cohort persons {s['persons']:,}; "
        f"household members {s['family_members']:,}"
    )
    rows = provider_rows(work, providers)
    for p, tables in rows.items():
        print(f"sent by {p}: " + ", ".join(f"{t} {r:,} rows" for t, r in tables.items()))
    print(
        "staged datasets: "
        + ", ".join(f"{k} {d['rows']:,} rows x {d['columns']}" for k, d in s["datasets"].items())
        + f"; rows in all {sum(d['rows'] for d in s['datasets'].values()):,}"
    )
    stages = stage_order(list(s["seconds"]), providers)
    med = {
        st: statistics.median(r["summary"]["seconds"].get(st, 0.0) for r in timed) for st in stages
    }
    peak = {st: max(r["summary"]["peak_rss_mib"].get(st, 0) for r in timed) for st in stages}
    print("\n| party | stage | seconds | peak RSS so far (MiB) | rise (MiB) |")
    print("|---|---|---:|---:|---:|")
    before = {}
    prev = 0
    for st in stages:
        before[st], prev = prev, max(prev, peak[st])
    for party in [TTP, *providers]:
        mine = [st for st in stages if party_of(st, providers) == party]
        for st in mine:
            rise = max(0, peak[st] - before[st])
            print(f"| {party} | {st} | {med[st]:.1f} | {peak[st]:,} | {rise:,} |")
        secs = statistics.median(
            sum(r["summary"]["seconds"].get(st, 0.0) for st in mine) for r in timed
        )
        top = max((peak[st] for st in mine), default=0)
        print(f"| **{party}** | **all its stages** | **{secs:.1f}** | **{top:,}** | |")
    wall = statistics.median(r["wall"] for r in timed)
    top = max(r["peak_mib"] for r in timed)
    inside = statistics.median(sum(r["summary"]["seconds"].values()) for r in timed)
    print(f"| | outside the stages (start-up, keys, run.json) | {wall - inside:.1f} | | |")
    print(f"| **whole process** | | **{wall:.1f}** | **{top:,}** | |")
    walls = ", ".join(f"{r['wall']:.1f}" for r in timed)
    peaks = ", ".join(f"{r['peak_mib']:,}" for r in timed)
    print(
        f"\nper run: wall {walls} s; peak RSS {peaks} MiB; SCRA ok: "
        + ", ".join(str(r["summary"]["scra_ok"]) for r in timed)
    )
    if scale >= 1.0:
        ok_t, ok_m = wall <= GOAL_SECONDS, top <= GOAL_MIB
        verdict = "MEETS" if ok_t and ok_m else "MISSES"
        print(
            f"goal at scale {scale}: <= {GOAL_SECONDS} s and <= {GOAL_MIB:,} MiB: {verdict} "
            f"(time {wall:.1f} s {'ok' if ok_t else 'over'}, "
            f"memory {top:,} MiB {'ok' if ok_m else 'over'})"
            + ("" if check else "; without the sources check")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per scale below 1.0")
    parser.add_argument("--data-root", type=Path, default=Path("/work/data"))
    parser.add_argument(
        "--work-root",
        type=Path,
        help="where the workspaces run-26-050-<scale> go (default: --data-root)",
    )
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="skip the sources check (needed at full scale: it runs out of memory there)",
    )
    args = parser.parse_args()
    failed = False
    for scale in args.scales:
        data = ensure_data(args.data_root, scale)
        work = (args.work_root or args.data_root) / f"run-26-050-{scale}"
        check = not args.no_check
        count = 1 if scale >= 1.0 else args.repeat
        first = None
        if check and scale < 1.0:
            first = one_run(data, work, check=True)
            if first["summary"] is None:
                failed = True
                continue
        runs, floors = [], []
        for _ in range(count):
            floors.append(run_floor(SPEC, data, work.parent / f"floor-26-050-{scale}"))
            runs.append(one_run(data, work, check=check))
            if runs[-1]["summary"] is None:
                break
        if not runs or runs[-1]["summary"] is None:
            failed = True
            continue
        report(scale, work, first, runs, check)
        report_floor(floors, runs)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
