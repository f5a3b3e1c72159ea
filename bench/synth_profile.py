"""Where the time of ``sluis synth`` goes: one chunk of 100,000 people, phase by phase.

Runs the stages of one full-size chunk in this process (demography, the quarterly frame,
the part-2 registers, writing Parquet) and prints their wall times and the functions with
the most own time in the registers, so a benchmark result can be explained (issue 4).

    .venv/bin/python bench/synth_profile.py [--top 15]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np

from sluis.synth.panel import build_panel
from sluis.synth.part2 import registers
from sluis.synth.population import Chunk
from sluis.synth.run import PEOPLE_PER_CHUNK, chunk_count, write_part
from sluis.synth.targets import targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    scale = 1.0 / chunk_count(1.0)
    people = targets().population[:, 0].sum() * scale
    print(f"one chunk of {people:,.0f} people in 2000 (PEOPLE_PER_CHUNK {PEOPLE_PER_CHUNK:,})")
    rng = np.random.Generator(np.random.PCG64(1))
    times = {}
    started = time.perf_counter()
    sim = Chunk(rng, scale)
    sim.run()
    times["demography"] = time.perf_counter() - started
    started = time.perf_counter()
    panel = build_panel(sim, rng)
    times["quarterly frame"] = time.perf_counter() - started
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    part = registers(panel, np.random.Generator(np.random.PCG64(2)), 0)
    profile.disable()
    times["part-2 registers"] = time.perf_counter() - started
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, table in part.tables.items():
            write_part(table, name, Path(tmp) / f"{name}.parquet")
        write_part(part.adi, "adi", Path(tmp) / "adi.parquet")
    times["writing part 2"] = time.perf_counter() - started
    for stage, seconds in times.items():
        print(f"{stage:<20} {seconds:>7.1f} s")
    print(f"{'total':<20} {sum(times.values()):>7.1f} s  (x {chunk_count(1.0)} chunks / 2 cores)")
    print()
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
