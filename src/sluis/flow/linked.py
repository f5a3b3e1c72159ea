"""The extraction of a flow linked at a trusted third party (B1, B2; 26/050).

Statbel, the pseudonymiser, selects the cohorts and their household members from its own
registers and sends KSZ and VDAB only the list of national numbers they must extract.
Each provider, in its own workspace and with its own engine, extracts exactly the columns
the spec asks of its tables for those persons over the window, and sends them encrypted
over SFTP. Statbel checks every received file against the sender's manifest and the
source contract, links the extracts with its own data, and the caller destroys the
received extracts as soon as the linked datasets are pseudonymised (`destroy_received`).

The cohort selection needs "not working, retired or studying" on the cohort date, which
the decision leaves to Statbel (§2): Statbel's yearly labour-market status comes from the
social-security data warehouse, which the synthetic registers hold only as ``dwh_position``,
so the selection reads the position of the one quarter that ends the day before the cohort
date and the enrolment registers (``SELECTION_TABLES``), and nothing else of them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir

from sluis.audit import open_log
from sluis.audit.log import AuditLog
from sluis.deliver.local_sftp import LocalServer
from sluis.engine import Engine, connect
from sluis.engine.resources import spill_root
from sluis.errors import SourceError
from sluis.extract import extract_dataset
from sluis.extract.population import PopulationFrames, last_day_of, population_frames
from sluis.flow.clock import StageClock
from sluis.flow.exchange import (
    Workspace,
    pack_extract,
    receive,
    send,
    serving,
    unpack_extract,
)
from sluis.retain import destroy, vault
from sluis.select import Sources
from sluis.select.population import population, status_snapshot
from sluis.sources.contract import CONTRACT
from sluis.spec.model import Spec

#: a provider's own engine: a filter and a sort that spill to disk, while the TTP's engine
#: keeps its frames in memory in the same process
PROVIDER_MEMORY = "2GB"

#: tables the trusted third party reads for the cohort selection only (see the module doc)
SELECTION_TABLES = frozenset({"dwh_position", "education_vl_enrolment", "education_fwb_enrolment"})

CheckSources = Callable[[Spec, Path, Path, frozenset[str]], None]


@dataclass
class Linked:
    """What the trusted third party holds after linking: the raw datasets (in the engine),
    the frames, and where the received extracts are until they are destroyed."""

    raw: dict[str, ir.Table]
    populations: dict[str, int]
    frames: PopulationFrames
    ttp: Workspace
    providers: list[str]
    received: dict[str, Path]  # provider -> its directory under the TTP's received/


def external_providers(spec: Spec) -> list[str]:
    """The providers other than the pseudonymiser: those that must send it their data."""
    return [
        name
        for name, party in spec.parties.items()
        if "provider" in party.roles and name != spec.pseudonymiser
    ]


def requested_columns(spec: Spec, table: str) -> list[str]:
    """The columns of ``table`` a spec names anywhere, with the table's person and time
    key first: exactly what a provider extracts (B1, data minimisation)."""
    contract = next(t for t in CONTRACT if t.name == table)
    named = {
        ref.split(".", 1)[1]
        for ds in spec.datasets.values()
        for v in ds.variables
        for ref in v.source
        if ref.split(".", 1)[0] == table
    }
    keys = [c.name for c in contract.columns if c.name in ("insz", "quarter_end")]
    return keys + [c.name for c in contract.columns if c.name in named and c.name not in keys]


def link(
    engine: Engine,
    spec: Spec,
    data: Path,
    work: Path,
    *,
    audit: AuditLog,
    clock: StageClock,
    check: CheckSources | None,
) -> Linked:
    """Select, exchange and extract: the raw datasets of ``spec`` linked at its pseudonymiser."""
    ttp_name = spec.pseudonymiser
    providers = external_providers(spec)
    spaces = {p: Workspace(p, work / p).make() for p in [ttp_name, *providers]}
    ttp = spaces[ttp_name]
    own = frozenset(spec.parties[ttp_name].tables)
    project = spec.slug
    _clear_leftovers(spaces, ttp, providers, audit, project)

    with clock("select"):
        chooser = Sources(engine, data, allowed=own | SELECTION_TABLES)
        chooser.keep("dwh_position", engine.materialise(status_snapshot(chooser, spec)))
        populations = {
            n: engine.materialise(population(chooser, spec, n)) for n in spec.populations
        }
    sizes = {n: engine.count(t) for n, t in populations.items()}
    audit.append("population-selected", {"populations": sizes})
    held = Sources(engine, data, allowed=own)
    with clock("frames"):
        frames = population_frames(engine, held, spec, populations)

    # the list of national numbers lives in a private folder (memory when it has room)
    # until it is encrypted to the providers: never in plaintext in the workspace (G9)
    shutil.rmtree(ttp.root / ".lists", ignore_errors=True)  # where an older sluis wrote it
    listing_name = f"insz-{project}.parquet"
    senders = {ttp_name: providers, **{p: [ttp_name] for p in providers}}
    received: dict[str, Path] = {}
    with serving(spaces, senders) as servers:
        with clock("send-lists"), vault.private_folder(ttp.root) as scratch:
            listing = scratch / listing_name
            engine.write_parquet(frames.subjects.select("insz"), listing, order_by=["insz"])
            for p in providers:
                send(
                    listing,
                    sender=ttp,
                    receiver=spaces[p],
                    server=servers[p],
                    audit=audit,
                    what="insz-list",
                )
        for p in providers:
            with clock(f"{p}:extract"):
                provide(
                    spec,
                    p,
                    data,
                    ws=spaces[p],
                    ttp=ttp,
                    server=servers[ttp_name],
                    list_name=f"{listing_name}.age",
                    check=check,
                )
    refused = ""
    try:
        for p in providers:
            with clock(f"{p}:receive"):
                try:
                    received[p] = accept(spec, p, ttp=ttp, audit=audit, project=project)
                except SourceError:
                    refused = p
                    raise
        tables = {t: received[p] for p in providers for t in spec.parties[p].tables}
        linked = Sources(engine, data, allowed=own, received=tables)
        raw = {}
        with clock("extract"):
            for name in spec.datasets:
                with engine.scratch() as keep:
                    dataset = extract_dataset(engine, linked, spec, name, None, frames, None)  # type: ignore[arg-type]
                    raw[name] = keep(engine.materialise(dataset))
    except BaseException:  # nothing is linked: no provider's data stays (B1)
        why = (
            f"the extract of {refused} was refused" if refused else "the run stopped while linking"
        )
        _destroy(ttp, providers, audit, project, why)
        raise
    engine.drop(frames.spells, frames.years, frames.quarters, frames.first, frames.moves)
    audit.append("linked", {"providers": providers, "datasets": sorted(raw)})
    return Linked(
        raw=raw, populations=sizes, frames=frames, ttp=ttp, providers=providers, received=received
    )


def _clear_leftovers(
    spaces: dict[str, Workspace],
    ttp: Workspace,
    providers: list[str],
    audit: AuditLog,
    project: str,
) -> None:
    """What a run that died (SIGKILL, power loss) left in the exchange: providers' data
    at the TTP is destroyed with a record; the parties' own sent copies are removed, so a
    new run's transfers are not refused as different files."""
    if (
        any((ttp.inbox / f"{p}-{project}.tar.age").exists() for p in providers)
        or (ttp.root / "received").exists()
    ):
        _destroy(ttp, providers, audit, project, "left by an earlier run that did not finish")
    for ws in spaces.values():
        for box in (ws.inbox, ws.outbox):
            for leftover in box.iterdir():
                leftover.unlink()


def provide(
    spec: Spec,
    party: str,
    data: Path,
    *,
    ws: Workspace,
    ttp: Workspace,
    server: LocalServer,
    list_name: str,
    check: CheckSources | None,
) -> None:
    """One provider's part: read the list, extract the asked columns for the listed
    persons over the window, send them to the trusted third party, destroy the list and
    the plaintext extract. Its own engine and audit log: nothing is shared with the TTP."""
    plain = ws.root / ".work"
    shutil.rmtree(plain, ignore_errors=True)
    plain.mkdir(mode=0o700)
    with open_log(ws.audit_log, party=party, store=ws.keys) as log:
        sent = False
        try:
            project = spec.slug
            tables = list(spec.parties[party].tables)
            first = last_day_of(min(spec.window.lookback.values(), default=spec.window.start))
            last = last_day_of(spec.window.end)
            ids_file = receive(
                list_name, receiver=ws, sender=ttp.party, audit=log, out=plain / "insz.parquet"
            )
            if check is not None:
                check(spec, data, ws.root, frozenset(tables))
            out = plain / f"{party}-{project}"
            out.mkdir()
            files, rows = {}, {}
            spill = spill_root(ws.root)
            with connect(memory_limit=PROVIDER_MEMORY, temp_directory=spill) as engine:
                mine = Sources(engine, data, allowed=frozenset(tables))
                ids = engine.read_parquet(ids_file)
                for table in tables:
                    t = mine[table]
                    cut = t.semi_join(ids, "insz").filter(t.quarter_end.between(first, last))
                    cut = cut.select(*requested_columns(spec, table))
                    files[table] = out / f"{table}.parquet"
                    engine.write_parquet(cut, files[table], order_by=["insz", "quarter_end"])
                    rows[table] = engine.count(engine.read_parquet(files[table]))
            log.append("extracted", {"for": ttp.party, "decision": spec.decision.id, "rows": rows})
            archive = pack_extract(out, party=party, decision=spec.decision.id, tables=files)
            send(archive, sender=ws, receiver=ttp, server=server, audit=log, what="extract")
            sent = True
        finally:  # the list is the TTP's data: it does not outlive the provider's part
            destroy(
                [plain, ws.inbox / list_name],
                root=ws.root,
                audit=log,
                reason="the extract is sent; the list and the plaintext extract are no longer "
                "needed"
                if sent
                else "the provider's run stopped",
                party_of_data=ttp.party,
            )


def accept(spec: Spec, party: str, *, ttp: Workspace, audit: AuditLog, project: str) -> Path:
    """Receive, unpack and check one provider's extract at the TTP; returns the directory
    of its tables. A refused extract is recorded and stops the run; the caller destroys
    it with every other provider's (B1)."""
    from sluis.sources.check import check_sources

    name = f"{party}-{project}.tar.age"
    tmp = ttp.root / "received" / party
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True, mode=0o700)
    try:
        archive = receive(name, receiver=ttp, sender=party, audit=audit, out=tmp / "extract.tar")
        manifest = unpack_extract(archive, tmp / "files", party=party)
        root = Path(manifest["root"])
        asked = {t: requested_columns(spec, t) for t in spec.parties[party].tables}
        sent = {f["table"] for f in manifest["files"].values()}
        if sent != set(asked):
            raise SourceError(
                f"{party} sent tables {', '.join(sorted(sent)) or 'none'}; the spec asks "
                f"{', '.join(sorted(asked))}",
                rule="extract-tables",
                file=str(ttp.inbox / name),
            )
        report = check_sources(root, tmp / "quarantine", tables=set(asked), columns=asked)
        if not report.ok:
            first = report.findings[0]
            raise SourceError(
                f"the extract of {party} breaks the source contract "
                f"({report.total_findings:,} findings; first: {first})",
                rule="extract-contract",
                file=f"{name}: {Path(first.file).name}" if first.file else name,
                hint=f"ask {party} to correct and send the extract again",
            )
    except SourceError as err:
        audit.append("refused", {"from": party, "file": name, "rule": err.rule or ""})
        raise
    return root


def destroy_received(linked: Linked, audit: AuditLog, project: str) -> None:
    """Destroy every provider's extract at the TTP, one record per provider (B1, G9)."""
    _destroy(
        linked.ttp,
        linked.providers,
        audit,
        project,
        "linked and pseudonymised: the source data is destroyed right after (B1)",
    )


def _destroy(
    ttp: Workspace, providers: list[str], audit: AuditLog, project: str, reason: str
) -> None:
    for p in providers:
        destroy(
            [ttp.root / "received" / p, ttp.inbox / f"{p}-{project}.tar.age"],
            root=ttp.root,
            audit=audit,
            reason=reason,
            party_of_data=p,
        )
    shutil.rmtree(ttp.root / "received", ignore_errors=True)  # empty by now
