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
from ibis import dtype as ibis_dtype

from sluis import __version__
from sluis.domain.insz import make_insz_array
from sluis.errors import UsageError
from sluis.sources.contract import CONTRACT, DATE_MAX, DATE_MIN
from sluis.sources.contract import table as contract_table
from sluis.synth.adi import add_poverty, poverty_thresholds
from sluis.synth.bookkeeping import FIRST_BIRTH
from sluis.synth.municipal import context_table, empty_counts
from sluis.synth.panel import Panel, build_panel
from sluis.synth.part2 import registers
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
#: the National Register tables of part 1, written from the demography's logs
PART1_TABLES = ("person", "nationality", "residence", "household", "civil_status",
                "legal_cohabitation", "residence_reason")  # fmt: skip


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


#: day counters per birth day and sex: 001-997 odd for men, 002-998 even for women
SLOTS = 499
#: the year of each day, and of each counter key (register, day, sex)
_DAY_YEAR = np.arange(DAY_MIN, DAY_MAX + 1).astype("datetime64[D]").astype("datetime64[Y]")
_DAY_YEAR = _DAY_YEAR.astype(np.int64) - (DATE_MIN.year - 1970)
N_YEARS = int(_DAY_YEAR.max()) + 1
KEY_YEAR = ((np.arange(2)[:, None, None] * N_YEARS + _DAY_YEAR[None, :, None]) * 2
            + np.arange(2)[None, None, :]).reshape(-1)  # fmt: skip


def _counter_key(register_bis: np.ndarray, birth: np.ndarray, sex: np.ndarray) -> np.ndarray:
    return (register_bis.astype(np.int64) * N_DAYS + (birth - DAY_MIN)) * 2 + (sex - 1)


def overflow_offsets(counts: np.ndarray) -> np.ndarray:
    """Where each chunk starts in each (register, year, sex) pool of overflow numbers.

    ``counts`` holds, per chunk (rows), the people per counter key. People beyond the 499th
    of a day and sex (in chunk order) overflow; see :func:`day_counters`.
    """
    offsets = np.cumsum(counts, axis=0) - counts
    over = np.maximum(0, offsets + counts - np.maximum(offsets, SLOTS))
    per_year = np.stack([np.bincount(KEY_YEAR, weights=o, minlength=4 * N_YEARS) for o in over])
    per_year = per_year.astype(np.int64)
    return np.cumsum(per_year, axis=0) - per_year


def day_counters(
    key: np.ndarray, offsets: np.ndarray, year_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counter slot (0-498) and overflow day code of one chunk's people.

    The n-th person of a birth day and sex gets slot n. When a day's counters run out, the
    register writes month and day as 00 and, when those run out too, increments the day
    digits (REFERENCE.md §2): the overflow day code is 0, 1, ... for those people, -1 for
    everyone else. People are numbered in order of key, then of their chunk-local number.
    """
    order = np.lexsort((np.arange(len(key)), key))
    sorted_key = key[order]
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key)) - np.searchsorted(sorted_key, sorted_key, side="left")
    slot = offsets[key] + rank
    overflow = np.full(len(key), -1, dtype=np.int64)
    idx = np.flatnonzero(slot >= SLOTS)
    if len(idx):
        ykey = KEY_YEAR[key[idx]]
        o = np.lexsort((rank[idx], key[idx], ykey))
        sorted_y = ykey[o]
        position = np.empty(len(idx), dtype=np.int64)
        position[o] = np.arange(len(idx)) - np.searchsorted(sorted_y, sorted_y, side="left")
        number = year_offsets[ykey] + position
        slot[idx] = number % SLOTS
        overflow[idx] = number // SLOTS
        if overflow.max() > 31:
            raise UsageError(
                "more people born in one year than INSZ numbers for that year",
                rule="insz-counter-exhausted",
                hint="use a smaller --scale",
            )
    return slot, overflow


def _rng(seed: int, chunk: int, stream: int = 0) -> np.random.Generator:
    """The random stream of one chunk: 0 for the demography, 1 for the registers of part 2."""
    key = (chunk,) if stream == 0 else (chunk, stream)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _simulate(args: tuple[int, int, float, int, str]) -> tuple[np.ndarray, int]:
    """Phase 1 for one chunk: simulate the demography; keep its tables as Feather files and
    its quarterly frame (:mod:`sluis.synth.panel`) for phase 2."""
    seed, chunk, scale, n_chunks, tmp = args
    rng = _rng(seed, chunk)
    sim = Chunk(rng, scale / n_chunks)
    sim.run()
    tables = build_tables(sim, chunk)
    folder = Path(tmp) / f".chunk-{chunk:05d}"
    folder.mkdir()
    for name, table in tables.items():
        feather.write_feather(table, folder / f"{name}.arrow", compression="uncompressed")
    panel = build_panel(sim, rng)
    np.savez(folder / "panel.npz", **{k: np.asarray(v) for k, v in vars(panel).items()})
    key = _counter_key(sim.P.bis, sim.P.birth, sim.P.sex)
    if sim.P.birth.min() < FIRST_BIRTH or key.max() >= 4 * N_DAYS:
        raise RuntimeError("a birth date falls before 1900 or after the window")
    counts = np.bincount(key, minlength=4 * N_DAYS).astype(np.int32)
    households = int(np.unique(tables["household"]["household_id"].to_numpy()).size)
    return counts, households


def _finish(
    args: tuple[int, int, np.ndarray, np.ndarray, str],
) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Phase 2 for one chunk: give people their INSZ, simulate the registers of part 2 and
    write the Parquet parts (ADI waits in the chunk folder for its poverty flag)."""
    seed, chunk, offsets, year_offsets, tmp = args
    folder = Path(tmp) / f".chunk-{chunk:05d}"
    person = feather.read_table(folder / "person.arrow")
    birth = person["birth_date"].cast(pa.int32()).to_numpy()
    sex = pc.cast(person["sex"], pa.int8()).to_numpy()
    bis = pc.equal(person["register"], "KSZ").to_numpy(zero_copy_only=False)
    key = _counter_key(bis, birth, sex)
    slot, overflow = day_counters(key, offsets, year_offsets)
    counter = 2 * slot + np.where(sex == 1, 1, 2)
    dates = birth.astype("datetime64[D]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    month = np.where(overflow >= 0, 0, month)
    dom = np.where(overflow >= 0, overflow, dom)
    insz = make_insz_array(year, month, dom, counter, bis)
    insz_arr = pa.array(insz, type=pa.string())
    with np.load(folder / "panel.npz") as saved:
        panel = Panel(**{k: saved[k] for k in saved.files})
    part2 = registers(panel, _rng(seed, chunk, 1), chunk)
    rows = {}
    for name in PERSON_COLUMNS:
        if name in PART1_TABLES:
            table = person if name == "person" else feather.read_table(folder / f"{name}.arrow")
        elif name in part2.tables:
            table = part2.tables.pop(name)
        else:
            continue
        table = _with_insz(table, name, insz_arr)
        target = Path(tmp) / name
        target.mkdir(exist_ok=True)
        write_part(table, name, target / f"part-{chunk:05d}.parquet")
        rows[name] = table.num_rows
    for path in folder.iterdir():
        path.unlink()
    adi = _with_insz(part2.adi, "adi", insz_arr)
    feather.write_feather(adi, folder / "adi.arrow", compression="zstd")
    rows["adi"] = adi.num_rows
    return rows, part2.income_histogram, part2.context_counts


def write_part(table: pa.Table, name: str, path: Path) -> None:
    """Write one Parquet part, zstd-compressed, with min/max statistics on the key columns
    only: statistics of every text column cost more than half the writing time, and readers
    prune row groups by person and date, not by code."""
    table = conform(table, name)
    keys = [k for k in contract_table(name).key if k in table.column_names]
    pq.write_table(table, path, compression="zstd", write_statistics=keys)


def conform(table: pa.Table, name: str) -> pa.Table:
    """``table`` in the contract's schema of table ``name`` (S1): exactly its columns, in
    its order, each of a type the contract accepts for the column. The generator keeps
    narrower storage where the contract allows it (an int8 count, a dictionary-encoded
    code: the files stay small); any other type is cast to the declared Arrow type, and a
    missing or extra column is a generator bug, refused before anything is written."""
    schema = contract_table(name).arrow_schema
    if sorted(table.column_names) != sorted(schema.names):
        raise ValueError(f"synthetic {name} has columns {table.column_names}, not {schema.names}")
    table = table.select(schema.names)
    for i, wanted in enumerate(schema):
        column = table.column(i)
        stored = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        declared = contract_table(name).column(wanted.name).types
        if not declared.accepts(ibis_dtype(stored)):
            table = table.set_column(i, wanted, column.cast(wanted.type))
    return table


def _with_insz(table: pa.Table, name: str, insz: pa.Array) -> pa.Table:
    """``table`` with its chunk-local person numbers replaced by INSZ numbers."""
    for col in PERSON_COLUMNS[name]:
        mapped = pc.take(insz, table[col])
        table = table.set_column(table.schema.get_field_index(col), col, mapped)
    return table


def _poverty(args: tuple[int, np.ndarray, str]) -> int:
    """Phase 3 for one chunk: add the at-risk-of-poverty flag to ADI and write it."""
    chunk, thresholds, tmp = args
    folder = Path(tmp) / f".chunk-{chunk:05d}"
    table = add_poverty(feather.read_table(folder / "adi.arrow"), thresholds)
    target = Path(tmp) / "adi"
    target.mkdir(exist_ok=True)
    write_part(table, "adi", target / f"part-{chunk:05d}.parquet")
    shutil.rmtree(folder)
    return table.num_rows


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
        year_offsets = overflow_offsets(counts)
        finish_jobs = [(seed, c, offsets[c], year_offsets[c], str(tmp)) for c in range(n_chunks)]
        histogram = 0
        counts = empty_counts()
        parts = []
        for part, hist, context in _map(_finish, finish_jobs, workers, "registers", progress):
            parts.append(part)
            histogram = histogram + hist
            counts += context
        thresholds = poverty_thresholds(histogram)
        poverty_jobs = [(c, thresholds, str(tmp)) for c in range(n_chunks)]
        list(_map(_poverty, poverty_jobs, workers, "income", progress))
        context = context_table(counts, scale)
        write_part(context, "municipal_context", tmp / "municipal_context.parquet")
        rows = {name: sum(p.get(name, 0) for p in parts) for name in PERSON_COLUMNS}
        rows["municipal_context"] = context.num_rows
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
