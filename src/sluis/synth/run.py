"""``sluis synth``: write the synthetic Belgium in the source contract (S1-S4).

The country is cut into chunks of about 250,000 people of 2000, each a small, complete
Belgium with its own random stream (``SeedSequence(seed).spawn``), so the output depends on
seed and scale only, never on the number of processes (S2). Chunks run in parallel in
bounded memory (S4), in two phases:

1. simulate the chunk and keep its tables with chunk-local person numbers;
2. once every chunk's people are known, hand out INSZ day counters in chunk order (the
   register gives the n-th person born on a day the n-th counter), and write Parquet.

Everything is written to a temporary sibling directory that is renamed into place at the end,
so a failed or interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq

from sluis import __version__
from sluis.domain.insz import make_insz_array
from sluis.errors import UsageError
from sluis.sources.contract import CONTRACT, DATE_MAX, DATE_MIN
from sluis.synth.population import Chunk
from sluis.synth.state import day
from sluis.synth.tables import build_tables
from sluis.synth.targets import targets

PEOPLE_PER_CHUNK = 100_000
MIN_SCALE, MAX_SCALE = 0.0001, 2.0
DAY_MIN, DAY_MAX = day(DATE_MIN), day(DATE_MAX)
N_DAYS = DAY_MAX - DAY_MIN + 1
#: columns holding persons, per table: swapped for INSZ numbers in phase 2
PERSON_COLUMNS = {t.name: [c.name for c in t.columns if c.type == "insz"] for t in CONTRACT}


@dataclass
class SynthSummary:
    """What a run wrote, for the terminal summary and the run's ``_synth.json``."""

    out: Path
    scale: float
    seed: int
    chunks: int
    persons: int
    households: int
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0


def chunk_count(scale: float, people_per_chunk: int = PEOPLE_PER_CHUNK) -> int:
    """How many chunks a scale is cut into: a function of the scale only (S2)."""
    people = targets().population[:, 0].sum() * scale
    return max(1, int(np.ceil(people / people_per_chunk)))


def _counter_key(register_bis: np.ndarray, birth: np.ndarray, sex: np.ndarray) -> np.ndarray:
    return (register_bis.astype(np.int64) * N_DAYS + (birth - DAY_MIN)) * 2 + (sex - 1)


def _simulate(args: tuple[int, int, float, int, str]) -> tuple[np.ndarray, int]:
    """Phase 1 for one chunk: simulate, and keep the tables as Feather files."""
    seed, chunk, scale, n_chunks, tmp = args
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk,))))
    sim = Chunk(rng, scale / n_chunks)
    sim.run()
    tables = build_tables(sim, chunk)
    folder = Path(tmp) / f".chunk-{chunk:05d}"
    folder.mkdir()
    for name, table in tables.items():
        feather.write_feather(table, folder / f"{name}.arrow", compression="uncompressed")
    key = _counter_key(sim.P.bis, sim.P.birth, sim.P.sex)
    if key.min() < 0 or key.max() >= 4 * N_DAYS:
        raise RuntimeError("a birth date falls outside the contract's date range")
    counts = np.bincount(key, minlength=4 * N_DAYS).astype(np.int32)
    households = int(np.unique(tables["household"]["household_id"].to_numpy()).size)
    return counts, households


def _finish(args: tuple[int, np.ndarray, str]) -> dict[str, int]:
    """Phase 2 for one chunk: give people their INSZ, write the Parquet parts."""
    chunk, offsets, tmp = args
    folder = Path(tmp) / f".chunk-{chunk:05d}"
    person = feather.read_table(folder / "person.arrow")
    birth = person["birth_date"].cast(pa.int32()).to_numpy()
    sex = pc.cast(person["sex"], pa.int8()).to_numpy()
    bis = pc.equal(person["register"], "KSZ").to_numpy(zero_copy_only=False)
    key = _counter_key(bis, birth, sex)
    order = np.lexsort((np.arange(len(key)), key))
    sorted_key = key[order]
    first = np.searchsorted(sorted_key, sorted_key, side="left")
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key)) - first
    slot = offsets[key] + rank
    counter = 2 * slot + np.where(sex == 1, 1, 2)
    if counter.max(initial=0) > 998:
        raise UsageError(
            "more people born on one day than INSZ day counters (499 per sex)",
            rule="insz-counter-exhausted",
            hint="use a smaller --scale",
        )
    dates = birth.astype("datetime64[D]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    insz = make_insz_array(year, month, dom, counter, bis)
    insz_arr = pa.array(insz, type=pa.string())
    rows = {}
    for name, columns in PERSON_COLUMNS.items():
        table = person if name == "person" else feather.read_table(folder / f"{name}.arrow")
        for col in columns:
            local = table[col]
            mapped = pc.take(insz_arr, local)
            table = table.set_column(table.schema.get_field_index(col), col, mapped)
        target = Path(tmp) / name
        target.mkdir(exist_ok=True)
        pq.write_table(table, target / f"part-{chunk:05d}.parquet", compression="zstd")
        rows[name] = table.num_rows
    shutil.rmtree(folder)
    return rows


def _check_arguments(out: Path, scale: float, force: bool) -> None:
    if not (MIN_SCALE <= scale <= MAX_SCALE) or not np.isfinite(scale):
        raise UsageError(
            f"--scale {scale} is outside {MIN_SCALE}..{MAX_SCALE} (1.0 = all of Belgium)",
            rule="bad-scale",
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a directory", rule="bad-output")
    if out.exists() and any(out.iterdir()) and not force:
        raise UsageError(
            f"{out} is not empty", rule="output-not-empty", hint="use --force to replace it"
        )
    existing = out.resolve().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{existing} is not a directory", rule="bad-output")
    if not os.access(existing, os.W_OK):
        raise UsageError(f"cannot write in {existing}", rule="output-not-writable")


def generate(
    out: Path,
    *,
    scale: float,
    seed: int,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    people_per_chunk: int = PEOPLE_PER_CHUNK,
) -> SynthSummary:
    """Generate the synthetic Belgium at ``scale`` with ``seed`` into ``out``.

    ``progress(phase, done, total)`` is called as chunks finish. The output depends on
    ``seed``, ``scale`` and ``people_per_chunk`` only, never on ``workers``.
    """
    out = Path(out)
    _check_arguments(out, scale, force)
    started = time.perf_counter()
    n_chunks = chunk_count(scale, people_per_chunk)
    workers = max(1, min(workers or os.cpu_count() or 1, n_chunks))
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        jobs = [(seed, c, scale, n_chunks, str(tmp)) for c in range(n_chunks)]
        results = list(_map(_simulate, jobs, workers, "simulate", progress))
        counts = np.stack([r[0] for r in results])
        offsets = np.cumsum(counts, axis=0) - counts
        finish_jobs = [(c, offsets[c], str(tmp)) for c in range(n_chunks)]
        parts = list(_map(_finish, finish_jobs, workers, "write", progress))
        rows = {name: sum(p[name] for p in parts) for name in PERSON_COLUMNS}
        summary = SynthSummary(
            out=out,
            scale=scale,
            seed=seed,
            chunks=n_chunks,
            persons=rows["person"],
            households=sum(r[1] for r in results),
            rows=rows,
        )
        meta = {
            "generator": f"sluis {__version__}",
            "scale": scale,
            "seed": seed,
            "chunks": n_chunks,
            "persons": summary.persons,
            "households": summary.households,
            "rows": rows,
        }
        (tmp / "_synth.json").write_text(json.dumps(meta, indent=2) + "\n")
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = [p for p in out.rglob("*") if p.is_file()]
    summary.files = len(files)
    summary.bytes = sum(p.stat().st_size for p in files)
    summary.seconds = time.perf_counter() - started
    return summary


def _map(fn, jobs, workers: int, phase: str, progress):
    if progress:
        progress(phase, 0, len(jobs))
    if workers == 1:
        for i, job in enumerate(jobs):
            yield fn(job)
            if progress:
                progress(phase, i + 1, len(jobs))
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, result in enumerate(pool.map(fn, jobs)):
            yield result
            if progress:
                progress(phase, i + 1, len(jobs))


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished directory into place; an old one is removed only afterwards."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old)
