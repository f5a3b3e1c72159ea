"""Deliver a run's risk-checked extract (G8, G10, G11): build the package, scan it, encrypt
it to the spec's researchers, send it over SFTP, and record every step in the party's audit
log.

Nothing leaves unless the run's SCRA says the spec's thresholds hold and the privacy scan
finds nothing. Files appear under their final names only when complete (the package is
built under a temporary name, the archive and its encryption are renamed into place, the
upload goes to a temporary remote name). The plaintext package stays in the
pseudonymiser's workspace; only the encrypted archive travels.

A run that was killed is simply run again: it removes what the killed run left under
temporary names, reuses a complete package that no ``delivery.json`` names yet (rebuilt
byte for byte with the checkpoint it carries) and the encrypted file the audit log records
for it, so an interrupted upload resumes and a file already renamed on the server is
recognised rather than refused.

A package is bound to its run (G1, A5): ``run.json`` records the digest of the spec the run
used, its phase and the phase's mode, and a delivery is refused with another spec, for an
enclave phase (25/074 phase 2, decision §4 and §29: the full samples never leave KSZ), after
the spec's retention deadline, or for a run that recorded none of this (an older sluis).
Every refusal removes what the delivery built (the plaintext archive first, then the package
directory, then the encrypted file) and is recorded as a ``refused`` event in the party's
audit log. After the delivery's last record (``sent``, or ``encrypted`` without an upload)
the log is checkpointed again and that signed checkpoint goes into ``delivery.json`` and the
receipt: the checkpoint inside the package is signed before the package exists, so it cannot
cover the records of its own delivery.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sluis.atomic import disk_full, is_disk_full, write_text
from sluis.audit import load_checkpoint, open_log, signing_key
from sluis.audit.log import AuditLog
from sluis.deliver import build_package, package_name, scan_package, sha256_file, verify_package
from sluis.deliver.encrypt import EncryptionError, encrypt, pack, recipients_of
from sluis.deliver.receipt import countersign_receipt
from sluis.deliver.transfer import upload
from sluis.errors import SluisError
from sluis.flow.binding import (
    DeliveryRefused,
    check_binding,
    check_recipients,
    check_scra,
    run_record,
)
from sluis.flow.lock import command_line, workspace_lock
from sluis.retain.clock import today as clock_today
from sluis.retain.hold import hold_delivery
from sluis.retain.register import EVENTS as REGISTER_EVENTS
from sluis.retain.vault import opened
from sluis.spec import load_spec
from sluis.spec.load import read_document
from sluis.spec.model import Spec


@dataclass(frozen=True)
class SftpTarget:
    """Where the recipient receives: an SFTP server with a pinned host key."""

    host: str
    port: int
    username: str
    client_key: Path
    host_key: str
    remote_dir: str


@dataclass
class DeliverySummary:
    decision: str
    package: str
    files: int
    payload_bytes: int
    rows: dict[str, int]
    archive_sha256: str
    encrypted: str
    encrypted_bytes: int
    recipients: list[str]
    remote_path: str = ""
    receipt: str = ""
    resumed_from: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    #: a signed checkpoint of the audit log after the delivery's last record (G10): give
    #: ``delivery.json`` to ``sluis audit verify LOG --checkpoint`` to prove none was cut
    audit_checkpoint: dict[str, Any] | None = None


def deliver(
    spec_path: Path,
    work: Path,
    *,
    created: dt.date | None = None,
    target: SftpTarget | None = None,
    force: bool = False,
    wait: bool = False,
    notify: Callable[[str], None] | None = None,
    today: dt.date | None = None,
) -> DeliverySummary:
    """Package, scan, encrypt and (with ``target``) send the treated extract of the run in
    ``work`` of the spec at ``spec_path``.

    Raises :class:`DeliveryRefused` when the rules forbid the delivery (see the module
    docstring); nothing the refused delivery built is left, and the refusal is in the audit
    log. The delivery holds the workspace's lock (:mod:`sluis.flow.lock`): a run or another
    delivery on ``work`` is refused, or with ``wait`` waited for (``notify`` hears who
    holds it). A full disk is a one-line :class:`~sluis.atomic.DiskFull`; what was built
    under temporary names is removed by the next delivery. ``today`` (default: the retention
    clock's, :func:`sluis.retain.clock.today`) decides the deadline; ``created``, the
    package date, defaults to it. A delivery is sealed at rest and registered
    (:func:`sluis.retain.hold.hold_delivery`)."""
    work = Path(work)
    today = clock_today(today)
    created = created or today
    with workspace_lock(work, command_line(), wait=wait, notify=notify):
        try:
            return _deliver_locked(
                spec_path, work, created=created, target=target, force=force, today=today
            )
        except Exception as err:
            if not isinstance(err, SluisError) and is_disk_full(err):
                raise disk_full(err, getattr(err, "filename", None) or work) from None
            raise


def _deliver_locked(
    spec_path: Path,
    work: Path,
    *,
    created: dt.date,
    target: SftpTarget | None,
    force: bool,
    today: dt.date,
) -> DeliverySummary:
    """:func:`deliver` once the workspace is locked."""
    spec = load_spec(spec_path)
    digest = read_document(spec_path).sha256
    work = Path(work)
    run = run_record(work, spec)
    party = str(run.get("party") or spec.pseudonymiser)
    home = work / party
    # the store the run signed the audit log with: the workspace's, or its --key-store
    store = Path(run["key_store"]) if run.get("key_store") else home / "keys"
    scra_dir = home / "scra"
    out = home / "delivery"
    name = package_name(spec, created)
    try:
        check_binding(spec, Path(spec_path), digest, run, work, max(created, today))
        check_scra(scra_dir)
        check_recipients(spec, Path(spec_path))
    except DeliveryRefused as err:
        _record_refusal(home / "audit.log", party, store, err, name)
        raise
    seconds: dict[str, float] = {}
    # An interrupted delivery (killed, crashed) left its package complete under its final
    # name but no delivery.json for it: a rerun carries on without --force. The package is
    # rebuilt with the checkpoint it carries, so it comes out byte for byte the same (X3)
    # and the encrypted file and a partial upload of it can be reused.
    earlier = None if force else _unfinished(out, name, store=store, home=home)
    _remove_leftovers(out, name)
    had_out = out.is_dir()
    archive = out / f"{name}.tar"
    # an earlier delivery's encrypted file and receipt are its evidence: a refusal of this
    # one removes only those it wrote itself
    earlier_files = {p for p in _sent_files(out, name) if p.exists()}
    with open_log(home / "audit.log", party=party, store=store, events=REGISTER_EVENTS) as audit:
        try:
            summary = _build_and_send(
                spec,
                digest,
                home,
                out,
                name,
                audit,
                created,
                target,
                force,
                earlier,
                seconds,
                store=store,
            )
        except (DeliveryRefused, EncryptionError) as err:
            refusal = (
                err
                if isinstance(err, DeliveryRefused)
                else DeliveryRefused(err.message, rule=err.rule, file=err.file, hint=err.hint)
            )
            refusal.hint = (refusal.hint + "; " if refusal.hint else "") + "nothing was delivered"
            _remove_built(out, name, keep=earlier_files, remove_dir=not had_out)
            _append_refusal(audit, refusal, name)
            raise refusal from (None if err is refusal else err)
        finally:
            archive.unlink(missing_ok=True)  # the plaintext archive is never kept
        # a checkpoint after the delivery's last record: the one in the package is older
        summary.audit_checkpoint = audit.checkpoint()
        if summary.receipt:
            countersign_receipt(
                Path(summary.receipt),
                {"audit_checkpoint": summary.audit_checkpoint},
                signing_key(store, party),
            )
        hold_delivery(
            home,
            store=store,
            audit=audit,
            spec=spec,
            package=Path(summary.package),
            archive_sha256=summary.archive_sha256,
            sent=Path(summary.encrypted),
            created=created,
            checkpoint=summary.audit_checkpoint,
        )
    summary.seconds = {k: round(v, 2) for k, v in seconds.items()}
    write_text(out / "delivery.json", json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _build_and_send(
    spec: Spec,
    digest: str,
    home: Path,
    out: Path,
    name: str,
    audit: AuditLog,
    created: dt.date,
    target: SftpTarget | None,
    force: bool,
    earlier: dict | None,
    seconds: dict[str, float],
    *,
    store: Path,
) -> DeliverySummary:
    """Build, scan, pack, encrypt and send; each step in the audit log (signed with the
    party's key in ``store``)."""
    scra_dir = home / "scra"
    t = time.perf_counter()
    checkpoint = earlier or audit.checkpoint()
    # the treated files are sealed from the run's first write: the delivery reads them
    # through the vault, in a private temporary folder
    with opened(scra_dir / "staged", store=store, purpose="treated", work=home) as treated:
        info = build_package(
            spec,
            digest,
            treated,
            scra_dir,
            out,
            created=created,
            checkpoint=checkpoint,
            force=force or earlier is not None,
        )
    seconds["package"] = time.perf_counter() - t
    t = time.perf_counter()
    findings = scan_package(info.path, spec)
    seconds["privacy scan"] = time.perf_counter() - t
    if findings:
        raise DeliveryRefused(
            f"the privacy scan found {len(findings)} problem(s); first: {findings[0]}",
            rule="privacy-scan",
            file=str(info.path),
        )
    audit.append(
        "package-built",
        {
            "package": info.name,
            "files": len(info.files),
            "payload_bytes": info.payload_bytes,
            "manifest_sha256": sha256_file(info.path / "manifest-sha256.txt"),
        },
    )
    t = time.perf_counter()
    archive = pack(info.path, out / f"{info.name}.tar")
    archive_sha = sha256_file(archive)
    sealed = out / f"{info.name}.tar.age"
    if not _sealed_before(home / "audit.log", sealed, archive_sha):
        sealed = encrypt(archive, recipients_of(spec), sealed)
    archive.unlink()  # the plaintext archive is not kept; the package directory is
    seconds["encrypt"] = time.perf_counter() - t
    audit.append(
        "encrypted",
        {
            "archive_sha256": archive_sha,
            "file": sealed.name,
            "sha256": sha256_file(sealed),
            "recipients": len(recipients_of(spec)),
        },
    )
    summary = DeliverySummary(
        decision=spec.decision.id,
        package=str(info.path),
        files=len(info.files),
        payload_bytes=info.payload_bytes,
        rows=info.rows,
        archive_sha256=archive_sha,
        encrypted=str(sealed),
        encrypted_bytes=sealed.stat().st_size,
        recipients=[r.name for r in spec.recipient.researchers if r.public_key],
    )
    if target is not None:
        t = time.perf_counter()
        sent = upload(
            sealed,
            target.host,
            target.port,
            target.username,
            target.client_key,
            target.host_key,
            target.remote_dir,
            signing_key=signing_key(store, audit.party),
            receipt=out / f"{info.name}.receipt.json",
        )
        seconds["send"] = time.perf_counter() - t
        summary.remote_path = sent.remote_path
        summary.receipt = str(sent.receipt or "")
        summary.resumed_from = sent.resumed_from
        audit.append(
            "sent",
            {
                "remote_path": sent.remote_path,
                "sha256": sent.sha256,
                "size_mb": sent.size // 10**6,
                "host_key": sent.host_key_fingerprint,
            },
        )
    return summary


def _record_refusal(
    log: Path, party: str, store: Path, refusal: DeliveryRefused, package: str
) -> None:
    """A refusal in the party's audit log, when the party keeps one in this workspace (a
    spec naming another party creates no workspace, key or log for it)."""
    if not log.is_file():
        return
    with open_log(log, party=party, store=store) as audit:
        _append_refusal(audit, refusal, package)


def _append_refusal(audit: AuditLog, refusal: DeliveryRefused, package: str) -> None:
    # the rule and where: never the message, which may quote data (G10: no national number)
    audit.append("refused", {"stage": "deliver", "rule": refusal.rule, "package": package})


def _sent_files(out: Path, name: str) -> tuple[Path, Path]:
    """The encrypted file of package ``name`` and its receipt."""
    return out / f"{name}.tar.age", out / f"{name}.receipt.json"


def _remove_built(out: Path, name: str, *, keep: set[Path], remove_dir: bool) -> None:
    """Remove what a refused delivery built, plaintext first: the archive, the package
    directory (and any temporaries of it), then the encrypted file and its receipt unless
    they are in ``keep`` (an earlier delivery's); the delivery directory too when this
    delivery created it and it is now empty."""
    (out / f"{name}.tar").unlink(missing_ok=True)
    _remove_leftovers(out, name)
    package = out / name
    if package.is_dir() and not package.is_symlink():
        shutil.rmtree(package)
    for path in _sent_files(out, name):
        if path not in keep:
            path.unlink(missing_ok=True)
    if remove_dir and out.is_dir() and not any(out.iterdir()):
        out.rmdir()


def _unfinished(out: Path, name: str, *, store: Path, home: Path) -> dict | None:
    """The checkpoint in the package ``out/name`` when an earlier run built it completely
    but did not finish the delivery (no ``delivery.json`` names it); None otherwise. A run
    killed after sealing the package (and before ``delivery.json``) left it sealed: it is
    read through the vault."""
    package = out / name
    done = out / "delivery.json"
    if not package.is_dir():
        return None
    if done.exists() and Path(json.loads(done.read_text()).get("package", "")).name == name:
        return None  # delivered: a new delivery of the same name needs --force
    try:
        with opened(package, store=store, purpose="package", work=home) as plain:
            if verify_package(plain):
                return None
            return load_checkpoint(plain / "data" / "audit-checkpoint.json")
    except (SluisError, OSError, ValueError):
        return None


def _remove_leftovers(out: Path, name: str) -> None:
    """Remove what a killed run of this package left under temporary names: the package
    directory being built (plaintext personal data), the archive and its encryption being
    written, a package being replaced. A normal failure removes them itself."""
    for pattern in (f".{name}.*.tmp", f".{name}.*.old", ".delivery.json.*.tmp"):
        for path in out.glob(pattern) if out.is_dir() else ():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


def _sealed_before(log: Path, sealed: Path, archive_sha: str) -> bool:
    """Whether ``sealed`` is the encryption of the archive with SHA-256 ``archive_sha`` as
    an earlier run recorded it in the audit log (the provider cannot decrypt to check)."""
    if not sealed.is_file():
        return False
    digest = sha256_file(sealed)
    for line in log.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # an incomplete last line
        if not isinstance(record, dict) or not isinstance(record.get("data"), dict):
            continue
        data = record["data"]
        if (
            record.get("event") == "encrypted"
            and data.get("file") == sealed.name
            and data.get("archive_sha256") == archive_sha
            and data.get("sha256") == digest
        ):
            return True
    return False
