"""Where the time of ``sluis synth`` goes: one chunk of 100,000 people, phase by phase.

Runs the three phases of one full-size chunk in this process, exactly as a worker of
``sluis synth`` does (simulate the demography and keep its tables; INSZ numbers, the part-2
registers and their Parquet parts; the ADI poverty flag), and prints the CPU seconds of
each phase and the functions with the most own CPU time. CPU time (not wall time) is
measured so that a profile taken on a shared, loaded machine still explains a benchmark
result; times 103 chunks over 2 cores it is the floor of a full-scale run (S4).

    .venv/bin/python bench/synth_profile.py [--top 25] [--save chunk.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from sluis.synth.adi import poverty_thresholds
from sluis.synth.run import (
    PEOPLE_PER_CHUNK,
    _finish,
    _poverty,
    _simulate,
    chunk_count,
    overflow_offsets,
)
from sluis.synth.targets import targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, help="write the cProfile data here")
    args = parser.parse_args()
    chunks = chunk_count(1.0)
    scale = 1.0 / chunks
    people = targets().population[:, 0].sum() * scale
    print(f"one chunk of {people:,.0f} people in 2000 (PEOPLE_PER_CHUNK {PEOPLE_PER_CHUNK:,})")
    tmp = Path(tempfile.mkdtemp(prefix="sluis-synth-profile-"))
    profile = cProfile.Profile(time.process_time)
    cpu: dict[str, float] = {}
    try:
        started = time.process_time()
        profile.enable()
        counts, _ = _simulate((1, 0, scale, 1, str(tmp)))
        profile.disable()
        cpu["simulate (demography, part-1 tables, frame)"] = time.process_time() - started
        started = time.process_time()
        offsets = np.zeros_like(counts, dtype=np.int64)
        profile.enable()
        _, histogram, _ = _finish((1, 0, offsets, overflow_offsets(counts[None])[0], str(tmp)))
        profile.disable()
        cpu["registers (INSZ, part 2, Parquet)"] = time.process_time() - started
        started = time.process_time()
        profile.enable()
        _poverty((0, poverty_thresholds(histogram), str(tmp)))
        profile.disable()
        cpu["income (ADI poverty flag)"] = time.process_time() - started
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for phase, seconds in cpu.items():
        print(f"{phase:<46} {seconds:>7.1f} CPU s")
    total = sum(cpu.values())
    floor = total * chunks / 2
    print(f"{'total':<46} {total:>7.1f} CPU s  (x {chunks} chunks / 2 cores = {floor:,.0f} s)")
    print()
    if args.save:
        profile.dump_stats(args.save)
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
