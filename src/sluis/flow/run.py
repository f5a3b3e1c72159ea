"""Run a spec from the source registers to a staged, pseudonymised, coarsened and
risk-checked extract (G1, G3, G4, G5, G6, G7; A1-A15 for 25/074).

Workspaces (ARCHITECTURE "parties"): everything keyed by national number stays in the
pseudonymiser's workspace ``<work>/<pseudonymiser>/``: its key store (``keys/``, owner-only)
and nothing else on disk; the raw datasets live only inside the engine. What is written is
already pseudonymised and coarsened: ``staged/<dataset>.parquet`` (checked against the
spec's rules and refused if finer), then the SCRA's treated copy in ``scra/staged/`` with
its report. ``run.json`` and ``run.html`` summarise the run.

Sealed from the first write (G9, issue 18; docs/retention.md "When"): the run makes its
data key, the engine writes the staged extract into a private folder
(:func:`sluis.retain.vault.private_folder`: memory, else ``.vault-tmp``), the SCRA reads
that copy and writes its treated files and suppressions there too, and everything is
sealed into ``.run.partial/`` and renamed into place when complete. Only the SCRA's
reports and ``run.json`` (aggregates) are plain.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial as bind
from pathlib import Path
from typing import Any

import ibis

from sluis.atomic import disk_full, fsync_dir, is_disk_full, write_text
from sluis.audit import open_log
from sluis.coarsen import check_coarsened, coarsen_dataset
from sluis.engine import connect
from sluis.engine.resources import spill_root
from sluis.errors import SluisError, UsageError
from sluis.extract import build_frames, extract_dataset
from sluis.flow.clock import Progress, StageClock
from sluis.flow.linked import destroy_received, external_providers, link
from sluis.flow.lock import command_line, workspace_lock
from sluis.pseudo import distinct_ids, load_key, new_key, pseudonymise, sequence_numbers
from sluis.pseudo.keys import key_path
from sluis.retain import register, vault
from sluis.retain.hold import SEALED, check_key_kept, hold_key
from sluis.retain.register import EVENTS as REGISTER_EVENTS
from sluis.select import Sources, select_samples
from sluis.select.sample import draw, seed_key
from sluis.sources.remember import Remembered
from sluis.spec.load import read_document
from sluis.spec.model import Pseudonym, Spec


@dataclass
class RunSummary:
    """What a run did: sizes, the datasets written, time per stage.

    ``spec_sha256``, ``phase``, ``phase_mode`` and ``party`` bind the run's output to the
    spec that made it (G1, A5): ``sluis deliver`` refuses another spec and an enclave
    phase, reading them from ``run.json``."""

    decision: str
    phase: int
    data: str
    work: str
    spec_sha256: str
    key_fingerprint: str
    #: the phase's mode in the spec: "delivery", or "enclave" (its data never leave)
    phase_mode: str = ""
    #: the pseudonymiser whose workspace (``<work>/<party>/``) holds the output
    party: str = ""
    populations: dict[str, int] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    persons: int = 0
    family_members: int = 0
    datasets: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: peak resident memory of the process so far, after each stage (MiB)
    peak_rss_mib: dict[str, int] = field(default_factory=dict)
    scra_ok: bool | None = None
    scra_dir: str = ""
    #: the providers whose data was linked at the pseudonymiser (empty: one party)
    providers: list[str] = field(default_factory=list)
    #: the key store the run signed the audit log with, when not the workspace's own
    #: (``--key-store``): ``sluis deliver`` appends to the same log with the same key
    key_store: str = ""

    @property
    def succeeded(self) -> bool:
        """The run's verdict: a delivery phase needs the SCRA's thresholds to hold; an
        enclave phase does not (its data never leave; its outputs are checked instead)."""
        return bool(self.scra_ok) or self.phase_mode == "enclave"

    @property
    def person_quarters(self) -> int:
        return self.datasets.get("panel", {}).get("rows", 0)


def run_spec(
    spec_path: Path,
    data: Path,
    *,
    phase: int,
    work: Path,
    key_store: Path | None = None,
    progress: Progress | None = None,
    force: bool = False,
    check: bool = True,
    paranoid: bool = False,
    notify: Callable[[str], None] | None = None,
    wait: bool = False,
    memory: str | None = None,
) -> RunSummary:
    """Run phase ``phase`` of the spec at ``spec_path`` on the registers in ``data``.

    ``work`` must not hold the output of an earlier run unless ``force`` (the pseudonymiser's
    key store in it is kept). A key store given as ``key_store`` must hold the project's
    key; the default store in ``work`` gets one on the first run. Outputs appear only when
    complete: the staged extract is written under a temporary name and renamed at the end.
    With ``check``, the sources check is remembered by content digests (``paranoid``: of
    every byte) and ``notify`` hears which file changed since it was last passed.
    ``memory`` ('4GB') bounds the engine, which spills past it into the workspace; by
    default the limit comes from the machine (:func:`sluis.engine.resources.memory_limit`).

    The run holds the workspace's lock (:mod:`sluis.flow.lock`): another command on
    ``work`` is refused, or with ``wait`` waited for. A full disk is a one-line
    :class:`~sluis.atomic.DiskFull`; a failed or killed run leaves no staged extract under
    its final name, and a rerun with ``force`` gives the same bytes (X3).
    """
    work = Path(work)
    replacing: list[Path] = []
    with workspace_lock(work, command_line(), wait=wait, notify=notify):
        try:
            return _run_locked(
                spec_path,
                data,
                phase=phase,
                work=work,
                key_store=key_store,
                progress=progress,
                force=force,
                check=check,
                paranoid=paranoid,
                notify=notify,
                replacing=replacing,
                memory=memory,
            )
        except BaseException as err:
            # the half-written extract goes at once: it is personal data and takes space;
            # so do the staged extract and SCRA of a run that failed after replacing the
            # earlier output (no output without its run.json, which is written last)
            for partial in work.glob(f"*/{PARTIAL}"):
                drop_partial(partial)
            for output in replacing:
                shutil.rmtree(output, ignore_errors=True)
            if isinstance(err, Exception) and not isinstance(err, SluisError) and is_disk_full(err):
                raise disk_full(err, getattr(err, "filename", None) or work) from None
            raise


#: the run's sealed output while it is written (``staged/`` and ``scra/`` in it are renamed
#: into place when complete), with :data:`PARTIAL_KEY` naming the run's new data key
PARTIAL = ".run.partial"
PARTIAL_KEY = "data-key.json"


def _run_locked(
    spec_path: Path,
    data: Path,
    *,
    phase: int,
    work: Path,
    key_store: Path | None,
    progress: Progress | None,
    force: bool,
    check: bool,
    paranoid: bool,
    notify: Callable[[str], None] | None,
    replacing: list[Path],
    memory: str | None = None,
) -> RunSummary:
    """:func:`run_spec` once the workspace is locked; ``replacing`` hears the outputs once
    the earlier ones are removed (the caller removes them when the run fails)."""
    from sluis.spec import load_spec

    spec = load_spec(spec_path)
    if phase not in spec.phases:
        raise UsageError(
            f"spec {spec.decision.id} has phases {', '.join(map(str, spec.phases))}, not {phase}"
        )
    tick = progress or (lambda stage, done, total: None)
    work = Path(work)
    party = spec.pseudonymiser
    project = spec.slug
    staged = work / party / "staged"
    scra_dir = work / party / "scra"
    outputs = [staged, scra_dir, work / "run.json", work / "run.html"]
    if any(p.exists() for p in outputs) and not force:
        raise UsageError(
            "the workspace holds the output of an earlier run",
            rule="work-exists",
            file=str(work),
            hint="give another --work or --force to replace that output (keys are kept)",
        )
    check_key_kept(work / party, project)  # a destroyed key is never made again (26/050 §26)
    if key_store is None:
        store = work / party / "keys"
        if not key_path(store, project).exists():
            new_key(store, project, forbidden=[staged, scra_dir])
    else:
        store = Path(key_store)
    key = load_key(store, project, forbidden=[staged, scra_dir])
    with open_log(
        work / party / "audit.log", party=party, store=store, events=REGISTER_EVENTS
    ) as audit:
        hold_key(
            work / party, spec=spec, project=project, key_file=key_path(store, project), audit=audit
        )
        summary = RunSummary(
            decision=spec.decision.id,
            phase=phase,
            data=str(data),
            work=str(work),
            spec_sha256=read_document(spec_path).sha256,
            key_fingerprint=key.fingerprint,
            key_store="" if key_store is None else str(Path(key_store).resolve()),
            phase_mode=spec.phases[phase].mode,
            party=party,
        )
        clock = StageClock(summary.seconds, summary.peak_rss_mib, tick)
        audit.append(
            "run-started",
            {
                "decision": spec.decision.id,
                "phase": phase,
                "phase_mode": summary.phase_mode,
                "spec_sha256": summary.spec_sha256,
            },
        )
        linked = external_providers(spec)
        checker = bind(_check_sources, paranoid=paranoid, notify=notify)
        if check:
            with clock("check"):
                remembered = checker(
                    spec, Path(data), work / party, frozenset(spec.parties[party].tables)
                )
            audit.append("sources-checked", {"data": str(data), **remembered.as_record()})
        home = work / party
        partial = home / PARTIAL
        drop_partial(partial)  # a killed run's sealed output, and its data key
        vault.sweep_private(home)  # and its plaintext (a killed run cannot remove it)
        with ExitStack() as private:
            with connect(memory_limit=memory, temp_directory=spill_root(home)) as engine:
                if linked:
                    joined = link(
                        engine,
                        spec,
                        Path(data),
                        work,
                        audit=audit,
                        clock=clock,
                        check=checker if check else None,
                    )
                    raw = joined.raw
                    summary.providers = joined.providers
                    summary.populations = joined.populations
                    summary.persons = engine.count(joined.frames.cohorts)
                    summary.family_members = engine.count(joined.frames.subjects) - summary.persons
                else:
                    raw = _sampled(engine, spec, Path(data), phase, audit, clock, summary)
                try:
                    audit.append(
                        "key-used", {"project": project, "key_fingerprint": key.fingerprint}
                    )
                    with clock("pseudonymise"), engine.scratch() as keep:
                        pseudonymised = {
                            n: keep(t) for n, t in _pseudonymise(engine, spec, raw, key).items()
                        }
                        _drop_replaced(engine, raw, pseudonymised)
                    audit.append("pseudonymised", {"datasets": sorted(pseudonymised)})
                finally:  # right after linking, and also when pseudonymisation fails (B1)
                    if linked:
                        with clock("destroy"):
                            destroy_received(joined, audit, project)
                with clock("coarsen"):
                    coarse = {}
                    for name, table in pseudonymised.items():
                        # a person-year's EU is that of its year (eu4, birth5 and their recodes)
                        year = "year" if spec.datasets[name].unit == "person_year" else None
                        coarse[name] = engine.materialise(
                            coarsen_dataset(engine, table, spec, name, reference_year=year)
                        )
                        check_coarsened(engine, coarse[name], spec, name, party=party)
                    _drop_replaced(engine, pseudonymised, coarse)
                with clock("write"):
                    for name, table in coarse.items():
                        summary.datasets[name] = {
                            "rows": engine.count(table),
                            "columns": len(table.columns),
                        }
                    # the run's data key, before its first byte is written: the extract goes
                    # to a private folder (memory when it has room) and is sealed from there
                    with _writing(partial):
                        key_id = start_partial(partial, store)
                    plain = private.enter_context(
                        vault.private_folder(home, need=2 * _plain_bytes(summary.datasets))
                    )
                    (plain / "staged").mkdir(mode=0o700)
                    for name, table in coarse.items():
                        engine.write_parquet(
                            table,
                            plain / "staged" / f"{name}.parquet",
                            order_by=_row_order(table.columns),
                        )
                audit.append("coarsened", {"datasets": summary.datasets})
            # the engine is closed: its memory is free for the SCRA
            with clock("scra"):
                from sluis.scra.driver import run_spec_scra

                # an enclave phase's data never leave (A5): the SCRA measures their risk for
                # the output reviewers but treats nothing; output control protects the enclave
                result = run_spec_scra(
                    spec,
                    plain / "staged",
                    plain / "scra",
                    treat=summary.phase_mode != "enclave",
                    design_weight=_design_weight(spec, summary.populations, summary.persons),
                    shown_as=staged,
                )
                summary.scra_ok = result.ok
                summary.scra_dir = str(scra_dir)
            with clock("seal"), _writing(partial):
                seal_output(plain, partial, store=store, key_id=key_id, scra_dir=scra_dir)
        replace_output(home, partial, outputs, store=store, key_id=key_id, replacing=replacing)
        audit.append("scra-result", {"ok": result.ok, "report": str(scra_dir / "scra.json")})
    write_text(work / "run.json", json.dumps(asdict(summary), indent=2, sort_keys=True) + "\n")
    return summary


@contextmanager
def _writing(where: Path) -> Iterator[None]:
    """Name ``where`` in an :class:`OSError` that names no file (a write that failed on a
    full disk raises one without), so the run's one-line error says which folder (X2)."""
    try:
        yield
    except OSError as err:
        if not err.filename:
            err.filename = str(where)
        raise


def _plain_bytes(datasets: dict[str, dict[str, int]]) -> int:
    """An upper bound of the staged extract's size in Parquet (8 bytes a value; Parquet's
    encodings make it smaller), to choose memory or the workspace for the private folder
    (which holds it and the SCRA's treated copy)."""
    return sum(8 * d["rows"] * d["columns"] for d in datasets.values())


def start_partial(partial: Path, store: Path) -> str:
    """Make the run's data key in ``store`` and the folder its sealed output is gathered
    in, which names the key first: a run killed before it renamed its output into place
    leaves the key's id there, and the next run destroys it (:func:`drop_partial`)."""
    partial.mkdir(mode=0o700)
    key_id = vault.new_data_key(store)
    write_text(
        partial / PARTIAL_KEY,
        json.dumps({"key_id": key_id, "key_store": str(Path(store).resolve())}) + "\n",
    )
    return key_id


def drop_partial(partial: Path) -> None:
    """Remove a run's unfinished sealed output and destroy the data key it names (nothing
    else was sealed under it: the key is made for the run, and registered only by a
    delivery of the finished run)."""
    if not partial.exists():
        return
    marker = partial / PARTIAL_KEY
    if marker.is_file():
        try:
            made = json.loads(marker.read_text(encoding="utf-8"))
            vault.destroy_data_key(Path(made["key_store"]), made["key_id"])
        except (ValueError, KeyError, SluisError):
            pass  # a marker cut off by a kill: its key was not made yet
    shutil.rmtree(partial, ignore_errors=True)


def seal_output(plain: Path, partial: Path, *, store: Path, key_id: str, scra_dir: Path) -> None:
    """Seal the run's plaintext output in the private folder ``plain`` (``staged/`` and the
    SCRA's ``scra/``) into ``partial``, under the purposes of
    :data:`sluis.retain.hold.SEALED`; the SCRA's reports (aggregates: ``scra.json``,
    ``scra.html``, ``recipient/``) are copied plain, ``scra.json`` naming ``scra_dir``,
    where the treated files will be, rather than the private folder."""
    for folder, purpose in SEALED:
        vault.seal_copy(
            plain / folder, partial / folder, store=store, key_id=key_id, purpose=purpose
        )
    treated = {Path(f).name for f, _ in SEALED if f.startswith("scra/")}
    for path in sorted((plain / "scra").rglob("*")):
        rel = path.relative_to(plain / "scra")
        if rel.parts[0] in treated or not path.is_file():
            continue
        (partial / "scra" / rel).parent.mkdir(parents=True, exist_ok=True)
        try:  # file by file: copytree hides a full disk in a shutil.Error
            shutil.copyfile(path, partial / "scra" / rel)
        except OSError as err:
            err.filename = str(partial / "scra" / rel)  # the write failed, not the read
            raise
    report = partial / "scra" / "scra.json"
    data = _moved(
        json.loads(report.read_text(encoding="utf-8")), str(plain / "scra"), str(scra_dir)
    )
    write_text(report, json.dumps(data, indent=2, default=str) + "\n")


def _moved(data: Any, private: str, public: str) -> Any:
    """``data`` (a parsed report) with every path under the private folder ``private``
    (``out``, the treated files) named under ``public``, where the sealed files are: the
    private folder is gone when the run ends, and its name differs from run to run (X3)."""
    if isinstance(data, dict):
        return {k: _moved(v, private, public) for k, v in data.items()}
    if isinstance(data, list):
        return [_moved(v, private, public) for v in data]
    if isinstance(data, str) and (data == private or data.startswith(private + "/")):
        return public + data[len(private) :]
    return data


def replace_output(
    home: Path,
    partial: Path,
    outputs: list[Path],
    *,
    store: Path,
    key_id: str,
    replacing: list[Path],
) -> None:
    """Put the run's complete sealed output in place of the earlier run's: ``run.json``
    goes first (no output without it), then the earlier data key when no delivery or
    enclave build in the register holds it (their packages and data are sealed under it
    until their deadline), then the earlier output; ``partial``'s folders are renamed into
    place."""
    earlier = vault.held_key(*(home / f for f, _ in SEALED))
    for old in sorted(outputs, key=lambda p: p.suffix not in (".json", ".html")):
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
    if earlier and earlier != key_id and not held_in_register(home, earlier):
        vault.destroy_data_key(store, earlier)
    replacing.extend(home / f for f in ("staged", "scra"))
    for name in ("staged", "scra"):
        (partial / name).rename(home / name)
    fsync_dir(home)
    shutil.rmtree(partial)


def held_in_register(home: Path, key_id: str) -> bool:
    """Whether any entry of the party's register (a delivery, the enclave's data) names
    data key ``key_id``: its data then live until that entry's destruction."""
    return any(line.get("key_id") == key_id for line in register.lines(home))


def _sampled(
    engine, spec: Spec, data: Path, phase: int, audit, clock: StageClock, summary: RunSummary
) -> dict:
    """The raw datasets of a sampled flow (25/074): populations, samples, the phase's
    persons, their panel and family frames, then every dataset, at one party."""
    sources = Sources(engine, data)
    with clock("select"):
        selection = select_samples(engine, sources, spec)
        summary.populations = {n: engine.count(t) for n, t in selection.populations.items()}
    with clock("sample"):
        persons = _phase_persons(engine, spec, selection.persons, phase, summary.populations)
        counts = engine.to_arrow(persons.group_by("sample").aggregate(n=persons.count()))
        names = list(spec.samples)
        summary.samples = {
            names[int(flag) - 1]: n
            for flag, n in zip(counts["sample"].to_pylist(), counts["n"].to_pylist(), strict=True)
        }
        summary.persons = engine.count(persons)
    audit.append(
        "population-selected",
        {
            "populations": summary.populations,
            "samples": summary.samples,
            "persons": summary.persons,
        },
    )
    with clock("frames"):
        frames = build_frames(engine, sources, persons, spec.window.start, spec.window.end)
        family = frames.partner.select("subject").union(frames.children.select("subject"))
        summary.family_members = engine.count(
            family.distinct().anti_join(persons, family.subject == persons.insz)
        )
    raw = {}
    with clock("extract"):
        for i, name in enumerate(spec.datasets):
            with engine.scratch() as keep:
                dataset = extract_dataset(engine, sources, spec, name, selection, frames, persons)
                raw[name] = keep(engine.materialise(dataset))
            clock.tick("extract", i + 1, len(spec.datasets))
    return raw


def _drop_replaced(engine, old: dict, new: dict) -> None:
    """Free the tables of one stage once the next stage has made its own (a dataset a
    stage leaves unchanged is the same table and stays)."""
    carried = {t.get_name() for t in new.values()}
    engine.drop(*[t for t in old.values() if t.get_name() not in carried])


def _check_sources(
    spec: Spec,
    data: Path,
    workspace: Path,
    tables: frozenset[str],
    *,
    paranoid: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Remembered:
    """The provider's tables against the source contract (G2, X2): a run never starts on
    registers that break it. A passed check is remembered in the workspace with a content
    digest of every file it read (``--paranoid``: of every byte), so a table is scanned
    again only when one of its files changed, and ``notify`` hears which (a full-scale
    check reads billions of rows; :mod:`sluis.sources.remember`)."""
    from sluis.sources.remember import check_remembered

    return check_remembered(data, workspace, tables, paranoid=paranoid, notify=notify)


#: columns that identify a row of every dataset the flow writes, in sort order
ROW_KEYS = ("person_seq", "quarter", "year", "job", "partner_seq", "child_seq")


def _row_order(columns: list[str]) -> list[str]:
    """The sort order of a staged file: its identifying columns, which are unique per row,
    so the order (and the bytes) depend only on the data. Sorting on every column gave the
    same order at many times the cost (the sort key held all 77 panel columns)."""
    keys = [c for c in ROW_KEYS if c in columns]
    return keys or list(columns)


def _design_weight(spec: Spec, populations: dict[str, int], persons: int) -> float | None:
    """Persons of the population each delivered person stands for, when a sample is
    delivered: the sampled populations' size over the persons of the phase."""
    if not spec.samples or not persons:
        return None
    top = {s.population for s in spec.samples.values()}
    top = {p for p in top if spec.populations[p].subset_of is None}
    if not top <= populations.keys():
        return None
    return sum(populations[p] for p in top) / persons


def recorded_design_weight(spec: Spec, work: Path) -> float | None:
    """The design weight of the run in ``work`` as its ``run.json`` records it (None when
    there is none, or the run is not a sample): what ``sluis scra --spec --staged`` needs to
    measure a sample's staged extract as the run did."""
    record = Path(work) / "run.json"
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    populations = {str(k): int(v) for k, v in (data.get("populations") or {}).items()}
    return _design_weight(spec, populations, int(data.get("persons") or 0))


def phase_size(spec: Spec, phase: int, populations: dict[str, int]) -> int | None:
    """The number of persons phase ``phase`` draws (A4): the spec's ``persons``, or, with
    ``sized_to``, the same share of the population found as ``persons`` is of the
    population's expected size (at least 1, at most ``persons``); None for all sampled
    persons."""
    p = spec.phases[phase]
    if p.persons is None:
        return None
    if p.sized_to is None:
        return p.persons
    expected = spec.populations[p.sized_to].expected
    if not expected:
        return p.persons
    return min(p.persons, max(1, round(p.persons * populations[p.sized_to] / expected)))


def _phase_persons(engine, spec: Spec, persons, phase: int, populations: dict[str, int]):
    """All sampled persons, or the phase's random draw of at most ``persons`` of them (A4)."""
    limit = phase_size(spec, phase, populations)
    if limit is None:
        return persons
    first_seed = next(iter(spec.samples.values())).seed if spec.samples else 0
    key = seed_key(spec.decision.id, f"phase-{phase}", first_seed)
    chosen = draw(engine, persons, ibis.literal(limit), key)
    return engine.materialise(persons.semi_join(chosen, "insz"))


def _pseudonymise(engine, spec: Spec, raw: dict, key) -> dict:
    """One mapping per key domain over every identifier any dataset carries (persons,
    partners, children, reference persons), so numbers agree across all tables (G3)."""
    columns: dict[str, list] = {"person": [], "household": []}
    for name in raw:
        for v in spec.datasets[name].variables:
            if isinstance(v.coarsen, Pseudonym):
                columns[v.coarsen.domain].append((name, v.name))
    mappings = {}
    for domain, cols in columns.items():
        if cols:
            ids = distinct_ids(*[raw[d][c] for d, c in cols])
            mappings[domain] = sequence_numbers(engine, engine.materialise(ids), key, domain)
    out = {}
    for name, table in raw.items():
        replace = {
            v.name: mappings[v.coarsen.domain]
            for v in spec.datasets[name].variables
            if isinstance(v.coarsen, Pseudonym)
        }
        out[name] = engine.materialise(pseudonymise(engine, table, replace)) if replace else table
    return out
