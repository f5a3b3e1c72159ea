"""What a party holds after a delivery, sealed and in the register (G9, G10; issue 18).

``sluis deliver`` calls :func:`hold_delivery` once the delivery is complete: the run's
staged extract and the SCRA's treated files are sealed already (``sluis run`` seals them
from its first write), the plaintext package is sealed under the same run's data key
(:mod:`sluis.retain.vault`), and a ``delivered`` event names them with the
decision, recipient, researchers, archive digest, audit checkpoint and deadline.
:func:`hold_key` puts a project key the party keeps into the register with the same
deadline (26/050 §26: the key can re-identify the data, so it lives no longer than they
do). :func:`check_key_kept` refuses a run with a key the register says was destroyed.

Deliveries of one run share the run's data key: they are copies of the same data, and
destroying one of them destroys that data (the others can no longer be opened either).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from sluis.audit.log import AuditLog
from sluis.errors import SluisError
from sluis.retain import register, vault
from sluis.spec.model import Spec

#: what is sealed at rest for a delivery: folder (relative to the party's workspace) and the
#: purpose bound into its sealed files
SEALED = (("staged", "staged"), ("scra/staged", "treated"), ("scra/suppressions", "suppressions"))

#: what the enclave (issue 17) seals at rest besides :data:`SEALED`: its data, which jobs
#: see only through :func:`sluis.retain.vault.opened`
ENCLAVE_SEALED: tuple[tuple[str, str], ...] = (("enclave/data", "enclave-data"),)


def enclave_entry(project: str) -> str:
    """The register's name for the enclave data of ``project`` (``25-074-enclave``)."""
    return f"{project}-enclave"


def release_entry(project: str, release: str) -> str:
    """The register's name for enclave release ``release`` (``25-074-enclave-r0001``)."""
    return f"{enclave_entry(project)}-{release}"


def key_entry(project: str) -> str:
    """The register's name for the project key of ``project``."""
    return f"key:{project}"


def hold_delivery(
    home: Path,
    *,
    store: Path,
    audit: AuditLog,
    spec: Spec,
    package: Path,
    archive_sha256: str,
    sent: Path,
    created: dt.date,
    checkpoint: dict[str, Any] | None,
) -> str:
    """Seal what the party keeps of delivery ``package`` and register it; returns the id of
    the data key that seals it (the run's, reused by a second delivery of the same run)."""
    home = Path(home)
    folders = [(home / f, purpose) for f, purpose in (*SEALED, *ENCLAVE_SEALED)]
    folders.append((package, "package"))
    key_id = vault.held_key(*(f for f, _ in folders)) or vault.new_data_key(store)
    for folder, purpose in folders:
        vault.seal_tree(folder, store=store, key_id=key_id, purpose=purpose)
    held = [f for f, _ in (*SEALED, *ENCLAVE_SEALED) if (home / f).exists()]
    held += [package.relative_to(home).as_posix(), sent.relative_to(home).as_posix()]
    register.append(
        home,
        "delivered",
        package.name,
        {
            "decision": spec.decision.id,
            "recipient": spec.recipient.party,
            "researchers": [
                {
                    "name": r.name,
                    "public_key": r.public_key,
                    "fingerprint": fingerprint(r.public_key),
                }
                for r in spec.recipient.researchers
                if r.public_key
            ],
            "archive_sha256": archive_sha256,
            "audit_checkpoint": checkpoint,
            "deadline": spec.retention.deadline.isoformat() if spec.retention.deadline else None,
            "paragraph": spec.retention.paragraph or "",
            "date": created.isoformat(),
            "files": held,
            "key_id": key_id,
            # relative when in the workspace, so a moved or copied workspace keeps its own
            "key_store": _where(home, Path(store)),
        },
        audit=audit,
    )
    return key_id


def _researchers(spec: Spec) -> list[dict[str, str]]:
    return [
        {"name": r.name, "public_key": r.public_key, "fingerprint": fingerprint(r.public_key)}
        for r in spec.recipient.researchers
        if r.public_key
    ]


def _deadline(spec: Spec) -> dict[str, Any]:
    deadline = spec.retention.deadline
    return {
        "deadline": deadline.isoformat() if deadline else None,
        "paragraph": spec.retention.paragraph or "",
    }


def enclave_key(home: Path, *, store: Path) -> str:
    """The data key of an enclave phase's workspace ``home``: the one already sealing its
    staged extract or enclave data (a rebuild keeps it), else a new one in ``store``."""
    folders = [Path(home) / f for f, _ in (*SEALED, *ENCLAVE_SEALED)]
    return vault.held_key(*folders) or vault.new_data_key(store)


def seal_enclave(home: Path, *, store: Path, key_id: str) -> None:
    """Seal what an enclave phase keeps at rest (the staged extract, the SCRA's files, the
    enclave's data) under data key ``key_id``. Idempotent, like
    :func:`sluis.retain.vault.seal_tree`."""
    for folder, purpose in (*SEALED, *ENCLAVE_SEALED):
        vault.seal_tree(Path(home) / folder, store=store, key_id=key_id, purpose=purpose)


def hold_enclave(
    home: Path,
    *,
    store: Path,
    audit: AuditLog,
    spec: Spec,
    key_id: str,
    checkpoint: str,
    created: dt.date,
) -> str:
    """Register the enclave's data (sealed under ``key_id`` by :func:`seal_enclave`) with
    the spec's deadline, so that ``sluis retain destroy`` reaches them; returns the entry's
    name. ``checkpoint`` is the data's (over the plaintext, as jobs record it)."""
    home = Path(home)
    name = enclave_entry(spec.slug)
    held = [f for f, _ in (*SEALED, *ENCLAVE_SEALED) if (home / f).exists()]
    register.append(
        home,
        "enclave-held",
        name,
        {
            "decision": spec.decision.id,
            "recipient": spec.recipient.party,
            "researchers": _researchers(spec),
            "data_checkpoint": checkpoint,
            **_deadline(spec),
            "date": created.isoformat(),
            "files": held,
            "key_id": key_id,
            "key_store": _where(home, Path(store)),
        },
        audit=audit,
    )
    return name


def hold_release(
    home: Path,
    *,
    audit: AuditLog,
    spec: Spec,
    release: Path,
    manifest_sha256: str,
    checkpoint: dict[str, Any] | None,
    job: str,
    created: dt.date,
) -> str:
    """Put enclave release ``release`` (a folder in ``home``) into the register: decision,
    recipient, researchers, the manifest's SHA-256, the audit checkpoint it carried and the
    spec's deadline. Released results are anonymous and are never destroyed with the data
    (docs/retention.md); the register lists them. Returns the entry's name."""
    name = release_entry(spec.slug, Path(release).name)
    register.append(
        home,
        "release-registered",
        name,
        {
            "decision": spec.decision.id,
            "recipient": spec.recipient.party,
            "researchers": _researchers(spec),
            "archive_sha256": manifest_sha256,
            "audit_checkpoint": checkpoint,
            **_deadline(spec),
            "date": created.isoformat(),
            "files": [_where(home, Path(release))],
            "job": job,
        },
        audit=audit,
    )
    return name


def hold_key(home: Path, *, spec: Spec, project: str, key_file: Path, audit: AuditLog) -> None:
    """Put the project key at ``key_file`` into the register (once) with the spec's
    deadline."""
    name = key_entry(project)
    if any(line["delivery"] == name for line in register.lines(home)):
        return
    path = Path(key_file)
    register.append(
        home,
        "key-held",
        name,
        {
            "decision": spec.decision.id,
            "recipient": "",
            "deadline": spec.retention.deadline.isoformat() if spec.retention.deadline else None,
            "paragraph": spec.retention.paragraph or "",
            "date": None,
            "files": [_where(home, path)],
        },
        audit=audit,
    )


def _where(home: Path, path: Path) -> str:
    """``path`` relative to ``home`` when inside it, else absolute."""
    home, path = Path(home).resolve(), Path(path).resolve()
    return path.relative_to(home).as_posix() if path.is_relative_to(home) else str(path)


def check_key_kept(home: Path, project: str) -> None:
    """Refuse to run with the project key of ``project`` when the register says it was
    destroyed: a new key would give other sequence numbers, and the decision's data must
    not be made again after its deadline."""
    for line in register.lines(home):
        if line["delivery"] == key_entry(project) and line["event"] == "destroyed":
            raise KeyDestroyed(
                f"the key of project {project} was destroyed on {line.get('day', '?')} "
                f"({line.get('reason', 'its retention deadline')}): the data it made can no "
                "longer be re-identified, and no new run of this decision is allowed",
                rule="key-destroyed",
                file=str(register.register_path(home)),
                hint="a new authorisation gets a new project id and key",
            )


class KeyDestroyed(SluisError):
    """A run of a project whose key the register says was destroyed."""


def fingerprint(public_key: str) -> str:
    """``SHA256:...`` of an OpenSSH public key (as ``ssh-keygen -l`` prints it); an age
    recipient is its own fingerprint."""
    parts = public_key.split()
    if len(parts) >= 2 and parts[0].startswith("ssh-"):
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except ValueError:
            return ""
        return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return public_key
