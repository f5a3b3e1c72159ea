"""The researcher's destruction of a delivered package and its signed certificate (G9, G11,
A14, B10).

Both decisions oblige the recipient to destroy its copy (25/074 §30, 26/050 §25). The
provider cannot see the researcher's disk, so the researcher proves what it destroyed:

- :func:`destroy_package` (at the researcher) reads every file of a package `sluis
  receive` opened, records its path, size and SHA-256, overwrites it and unlinks it, then
  writes a **destruction certificate**: JSON naming the package, the digests of the
  archive and of the encrypted file it came in (from ``sluis-received.json``), every
  destroyed file, the time, and the researcher's public key, signed with the researcher's
  ssh-ed25519 private key: the key the package was encrypted to, so the signer is one of
  the people who could read it;
- :func:`confirm` (at the provider) checks the signature, that the key is one of the
  researchers the register names for that delivery, that the package and archive digest are
  the register's, and that no certificate was confirmed for it before; then it appends
  ``certificate-confirmed`` to the register and the audit log (`sluis.retain.register`).

The signature covers the canonical JSON of every field but ``signature`` (keys sorted, no
whitespace), so any change of a value breaks it. A certificate proves that the holder of
the key destroyed these files at that time; it cannot prove that no other copy exists (a
researcher who copied the data elsewhere): docs/retention.md.

A killed destruction is completed by running it again: the file list is written (unsigned)
before anything is destroyed and the package is renamed out of the way, so a rerun finds
both and finishes the job before signing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sluis.atomic import fsync_dir, write_text
from sluis.audit import fingerprint, open_log
from sluis.deliver.receipt import canonical, load_private_key, openssh_public
from sluis.errors import SluisError
from sluis.files import sha256_file, shred_file
from sluis.receive import read_record
from sluis.retain import register

KIND = "sluis-destruction-certificate"
VERSION = 1
ALGORITHM = "ed25519"
#: the fields a certificate holds besides ``signature``, and their JSON types
FIELDS: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "version": int,
    "package": str,
    "decision": str,
    "archive_sha256": str,
    "encrypted_sha256": str,
    "destroyed_at": str,
    "researcher_public_key": str,
    "files": list,
}


class CertificateError(SluisError):
    """A certificate that cannot be made, read or verified, or that the provider refuses:
    forged, altered, replayed, for another package or by another researcher."""


def destroy_package(
    package: Path,
    key: Path,
    *,
    certificate: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Destroy the package directory ``package`` (opened by `sluis receive`) and write its
    certificate signed with ``key``, the researcher's ssh-ed25519 private key.

    Returns the certificate's path (default ``<package>.destruction.json`` beside it) and
    its content. The key must be the one the package was opened with. A rerun after a kill
    completes the destruction from the file list written before it began."""
    package = Path(package)
    signer = _signing_key(key)
    plan_path = _plan_path(package)
    if plan_path.is_file():
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
    else:
        plan = _plan(package, signer, now)
        write_text(plan_path, json.dumps(plan, indent=2, sort_keys=True) + "\n", mode=0o600)
    if plan["researcher_public_key"] != openssh_public(signer.public_key()):
        raise CertificateError(
            "the destruction was begun with another researcher's key",
            rule="destroy-key",
            file=str(plan_path),
        )
    doomed = _doomed_path(package)
    if package.is_dir():
        os.rename(package, doomed)  # gone from its name at once; a rerun finds it here
        fsync_dir(package.parent)
    if doomed.is_dir():
        for item in plan["files"]:
            shred_file(doomed / item["path"])
        shutil.rmtree(doomed)
        fsync_dir(package.parent)
    target = (
        Path(certificate) if certificate else package.with_name(package.name + ".destruction.json")
    )
    signed = sign(plan, signer)
    write_text(target, json.dumps(signed, indent=2, sort_keys=True) + "\n")
    plan_path.unlink()
    fsync_dir(package.parent)
    return target, signed


def _signing_key(key: Path) -> Ed25519PrivateKey:
    try:
        return load_private_key(Path(key))
    except SluisError as err:
        raise CertificateError(
            f"the certificate is signed with the researcher's ssh-ed25519 private key: "
            f"{err.message}",
            rule="destroy-key",
            file=str(key),
        ) from None
    except OSError as err:
        raise CertificateError(f"cannot read the key ({err})", rule="destroy-key") from None


def _plan(package: Path, signer: Ed25519PrivateKey, now: dt.datetime | None) -> dict[str, Any]:
    """The certificate's content before signing: every file's path, size and SHA-256."""
    if not package.is_dir():
        raise CertificateError(
            "no such package directory", rule="destroy-package", file=str(package)
        )
    try:
        record = read_record(package)
    except SluisError as err:
        raise CertificateError(
            f"{err.message}: without it the certificate cannot name the delivered archive",
            rule="destroy-not-received",
            file=str(package),
            hint=err.hint,
        ) from None
    public = openssh_public(signer.public_key())
    if record.get("researcher_public_key") != public:
        raise CertificateError(
            "this key is not the one the package was opened with: the certificate must be "
            "signed by a researcher the package was encrypted to",
            rule="destroy-key",
            file=str(package),
            hint="give the private key you used with sluis receive",
        )
    files = []
    for path in sorted(p for p in package.rglob("*") if not p.is_dir()):
        if path.is_symlink() or not path.is_file():
            raise CertificateError(
                "not a regular file: a package holds only files and directories",
                rule="destroy-package",
                file=str(path),
            )
        files.append(
            {
                "path": path.relative_to(package).as_posix(),
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {
        "kind": KIND,
        "version": VERSION,
        "package": str(record.get("package", "")),
        "decision": str(record.get("decision", "")),
        "archive_sha256": str(record.get("archive_sha256", "")),
        "encrypted_sha256": str(record.get("encrypted_sha256", "")),
        "destroyed_at": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "researcher_public_key": public,
        "files": files,
    }


def sign(body: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``body`` with a ``signature`` over its canonical JSON."""
    signed = {k: v for k, v in body.items() if k != "signature"}
    signed["signature"] = {
        "algorithm": ALGORITHM,
        "value": base64.b64encode(key.sign(canonical(signed))).decode("ascii"),
    }
    return signed


def read_certificate(data: bytes, *, source: str = "certificate") -> dict[str, Any]:
    """Parse a certificate and check its signature against the key it names; return its
    fields. Whether that key may sign for the package is :func:`confirm`'s question.
    Anything else than a well-formed certificate with a valid signature raises
    :class:`CertificateError` (rule ``certificate-format`` or ``certificate-signature``)."""
    try:
        cert = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _format(source, f"not JSON ({exc})") from None
    if not isinstance(cert, dict):
        raise _format(source, "not a JSON object")
    unknown = set(cert) - set(FIELDS) - {"signature"}
    if unknown:
        raise _format(source, "unknown field(s) " + ", ".join(sorted(unknown)))
    for name, kind in FIELDS.items():
        if not isinstance(cert.get(name), kind) or isinstance(cert.get(name), bool):
            raise _format(
                source, f"field {name!r} missing or not a {getattr(kind, '__name__', kind)}"
            )
    if cert["kind"] != KIND or cert["version"] != VERSION:
        raise _format(source, f"not a {KIND} version {VERSION}")
    for item in cert["files"]:
        if not (
            isinstance(item, dict)
            and set(item) == {"path", "bytes", "sha256"}
            and isinstance(item["path"], str)
            and isinstance(item["bytes"], int)
            and isinstance(item["sha256"], str)
        ):
            raise _format(source, "a file entry is not {path, bytes, sha256}")
    sig = cert.get("signature")
    try:
        if not isinstance(sig, dict) or sig.get("algorithm") != ALGORITHM:
            raise ValueError("no ed25519 signature")
        value = base64.b64decode(sig["value"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise _format(source, f"unreadable signature ({exc})") from None
    key = _researcher_key(cert["researcher_public_key"], source)
    try:
        key.verify(value, canonical(cert))
    except InvalidSignature:
        raise CertificateError(
            "the signature does not hold: the certificate was changed, or not signed by the "
            "key it names",
            rule="certificate-signature",
            file=source,
        ) from None
    return cert


def _researcher_key(line: str, source: str) -> Ed25519PublicKey:
    """The ``ssh-ed25519 AAAA...`` key a certificate names. Parsed here, never as a file
    name: a certificate comes from outside and must not make the provider read a path."""
    parts = line.split()
    if len(parts) != 2 or parts[0] != "ssh-ed25519":
        raise _format(source, "the researcher's public key is not 'ssh-ed25519 AAAA...'")
    try:
        key = serialization.load_ssh_public_key(line.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise _format(source, f"the researcher's public key does not parse ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise _format(source, "the researcher's public key is not Ed25519")
    return key


def _format(source: str, why: str) -> CertificateError:
    return CertificateError(
        f"not a destruction certificate: {why}", rule="certificate-format", file=source
    )


def check_against(cert: Mapping[str, Any], entry: Any, *, source: str) -> None:
    """Refuse a verified certificate the register ``entry`` does not allow: another package,
    another archive, a key that is not one of the delivery's researchers, or a delivery
    whose certificate was already confirmed (a replay)."""
    if cert["package"] != entry.delivery:
        raise CertificateError(
            f"the certificate is for {cert['package']!r}, not {entry.delivery!r}",
            rule="certificate-package",
            file=source,
        )
    if not entry.archive_sha256 or cert["archive_sha256"] != entry.archive_sha256:
        raise CertificateError(
            f"the certificate's archive SHA-256 {cert['archive_sha256'][:16]}... is not the "
            f"delivered one {entry.archive_sha256[:16]}...: it destroyed another package",
            rule="certificate-digest",
            file=source,
        )
    named = {_key_body(r.get("public_key", "")) for r in entry.researchers}
    if _key_body(cert["researcher_public_key"]) not in named - {""}:
        raise CertificateError(
            "the certificate is signed by a key that is not one of the researchers the "
            f"delivery {entry.delivery} was encrypted to",
            rule="certificate-researcher",
            file=source,
            hint="only a named researcher of the spec can certify the destruction (G11)",
        )
    if entry.certificate:
        raise CertificateError(
            f"a destruction certificate of {entry.delivery} was already confirmed "
            f"(at {entry.certificate.get('time', '?')}): this one is a replay",
            rule="certificate-replayed",
            file=source,
        )


def _key_body(line: str) -> str:
    """``ssh-ed25519 AAAA...`` without a comment, for comparing keys."""
    return " ".join(str(line).split()[:2])


def confirm(certificate: Path, work: Path, *, today: dt.date, party: str | None = None) -> dict:
    """Import a researcher's certificate at the provider: verify it against the register in
    ``work`` and append ``certificate-confirmed`` (register and audit log). Returns the
    register line. Refusals are :class:`CertificateError` naming the rule."""
    certificate = Path(certificate)
    try:
        raw = certificate.read_bytes()
    except OSError as exc:
        raise CertificateError(
            f"cannot read the certificate ({exc.strerror})",
            rule="certificate-format",
            file=str(certificate),
        ) from None
    cert = read_certificate(raw, source=str(certificate))
    home = _home_of(Path(work), cert["package"], party, today)
    entry = register.entry(home, cert["package"], today=today)
    check_against(cert, entry, source=str(certificate))
    facts = {
        "certificate_sha256": hashlib.sha256(raw).hexdigest(),
        "researcher": fingerprint(_researcher_key(cert["researcher_public_key"], str(certificate))),
        "archive_sha256": cert["archive_sha256"],
        "destroyed_at": cert["destroyed_at"],
        "files": len(cert["files"]),
        "bytes": sum(item["bytes"] for item in cert["files"]),
    }
    # the store that signs the party's log: the one the delivery recorded, else the run's
    store = Path(entry.key_store) if entry.key_store else _store(Path(work), home)
    with open_log(
        home / "audit.log", party=home.name, store=store, events=register.EVENTS
    ) as audit:
        return register.append(home, "certificate-confirmed", cert["package"], facts, audit=audit)


def _home_of(work: Path, package: str, party: str | None, today: dt.date) -> Path:
    """The workspace of the party whose register holds ``package``."""
    homes = [work / party] if party else sorted(p.parent for p in work.glob(f"*/{register.FILE}"))
    for home in homes:
        if any(e.delivery == package for e in register.entries(home, today=today)):
            return home
    raise CertificateError(
        f"no register in {work} holds the delivery {package!r}",
        rule="certificate-package",
        file=str(work),
        hint="confirm at the party that delivered it (sluis retain list --work W)",
    )


def _store(work: Path, home: Path) -> Path:
    """The key store the run signed the party's audit log with: ``run.json``'s
    ``key_store`` or the party's own ``keys``."""
    run = work / "run.json"
    try:
        store = json.loads(run.read_text(encoding="utf-8")).get("key_store")
    except (OSError, ValueError, AttributeError):
        store = None
    return Path(store) if store else home / "keys"


def _plan_path(package: Path) -> Path:
    return package.with_name(f".{package.name}.destruction-plan.json")


def _doomed_path(package: Path) -> Path:
    return package.with_name(f".{package.name}.destroying")
