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
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sluis.atomic import write_text
from sluis.audit import load_checkpoint, open_log, signing_key
from sluis.deliver import build_package, package_name, scan_package, sha256_file, verify_package
from sluis.deliver.encrypt import encrypt, pack, recipients_of
from sluis.deliver.transfer import upload
from sluis.errors import SluisError, UsageError
from sluis.spec import load_spec
from sluis.spec.load import read_document


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


class DeliveryRefused(SluisError):
    """A delivery the rules do not allow (thresholds, privacy scan)."""


def deliver(
    spec_path: Path,
    work: Path,
    *,
    created: dt.date,
    target: SftpTarget | None = None,
    force: bool = False,
) -> DeliverySummary:
    """Package, scan, encrypt and (with ``target``) send the treated extract of the run in
    ``work`` of the spec at ``spec_path``."""
    import time

    spec = load_spec(spec_path)
    party = next(p for p, x in spec.parties.items() if "pseudonymiser" in x.roles)
    home = Path(work) / party
    scra_dir = home / "scra"
    result = scra_dir / "scra.json"
    if not result.exists():
        raise UsageError(
            "no SCRA result in the workspace", file=str(result), hint="run `sluis run` first"
        )
    if not json.loads(result.read_text()).get("ok"):
        raise DeliveryRefused(
            "the spec's disclosure thresholds do not hold for this extract (SCRA)",
            rule="scra-failed",
            file=str(result),
            hint=f"read {scra_dir / 'scra.html'}; nothing was delivered",
        )
    seconds: dict[str, float] = {}
    store = home / "keys"
    out = home / "delivery"
    name = package_name(spec, created)
    # An interrupted delivery (killed, crashed) left its package complete under its final
    # name but no delivery.json for it: a rerun carries on without --force. The package is
    # rebuilt with the checkpoint it carries, so it comes out byte for byte the same (X3)
    # and the encrypted file and a partial upload of it can be reused.
    earlier = None if force else _unfinished(out, name)
    _remove_leftovers(out, name)
    with open_log(home / "audit.log", party=party, store=store) as audit:
        t = time.perf_counter()
        checkpoint = earlier or audit.checkpoint()
        info = build_package(
            spec,
            read_document(spec_path).sha256,
            scra_dir / "staged",
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
                signing_key=signing_key(store, party),
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
    summary.seconds = {k: round(v, 2) for k, v in seconds.items()}
    write_text(out / "delivery.json", json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _unfinished(out: Path, name: str) -> dict | None:
    """The checkpoint in the package ``out/name`` when an earlier run built it completely
    but did not finish the delivery (no ``delivery.json`` names it); None otherwise."""
    package = out / name
    done = out / "delivery.json"
    if not package.is_dir() or verify_package(package):
        return None
    if done.exists() and Path(json.loads(done.read_text()).get("package", "")).name == name:
        return None  # delivered: a new delivery of the same name needs --force
    try:
        return load_checkpoint(package / "data" / "audit-checkpoint.json")
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
