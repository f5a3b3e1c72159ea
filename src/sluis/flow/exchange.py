"""Parties' workspaces and the files they send each other (B1, G8, G10, G11).

Each party of a flow has its own directory: ``keys/`` (owner-only: its age identity, its
SSH client key, its audit signing key and, for the pseudonymiser only, the project key),
``audit.log``, ``inbox/`` (what its SFTP server receives) and ``outbox/`` (what it sent,
encrypted). A file between parties travels as the delivery does: encrypted with age to the
receiving party's key, uploaded over SFTP with a pinned host key to a temporary name,
checked by reading back its SHA-256, renamed; both sides record it in their audit log.

An extract a provider sends is a tar of ``<table>.parquet`` files and ``manifest.json``
(party, decision, and per file its table, columns, rows and SHA-256). The receiver
refuses an extract whose files do not match their manifest, or that breaks the source
contract for the columns the spec asks of that party (`sluis.sources.check`).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pyrage

from sluis.atomic import write_text
from sluis.audit.log import AuditLog
from sluis.deliver import sha256_file
from sluis.deliver.encrypt import decrypt, encrypt, pack
from sluis.deliver.local_sftp import LocalServer, local_sftp, read_ssh_key
from sluis.deliver.transfer import upload
from sluis.errors import SourceError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Workspace:
    """One party's directory."""

    party: str
    root: Path

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def make(self) -> Workspace:
        """Create the directories (keys owner-only) and the party's keys on first use."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.keys.mkdir(mode=0o700, exist_ok=True)
        self.keys.chmod(0o700)
        for d in (self.inbox, self.outbox):
            d.mkdir(exist_ok=True)
        self.age_recipient()
        self.ssh_public()
        return self

    @property
    def age_identity(self) -> Path:
        return self.keys / "age-identity.txt"

    def age_recipient(self) -> str:
        """The party's age public key (``age1...``); the identity is made on first use."""
        if not self.age_identity.exists():
            identity = pyrage.x25519.Identity.generate()
            write_text(
                self.age_identity,
                f"# sluis party {self.party}\n{identity}\n",
                mode=0o600,
            )
        line = next(
            ln
            for ln in self.age_identity.read_text().splitlines()
            if ln.startswith("AGE-SECRET-KEY-")
        )
        return str(pyrage.x25519.Identity.from_str(line).to_public())

    @property
    def ssh_key(self) -> Path:
        return self.keys / "ssh_ed25519"

    def ssh_public(self) -> str:
        """The party's SSH client public key (OpenSSH); the key is made on first use."""
        return read_ssh_key(self.ssh_key).export_public_key().decode().strip()


@contextmanager
def serving(
    parties: dict[str, Workspace], senders: dict[str, list[str]]
) -> Iterator[dict[str, LocalServer]]:
    """Each receiving party's SFTP server on its inbox, open to the SSH keys of the parties
    that send to it (``senders``: receiver -> senders), for the length of the block. On a
    real deployment these are the parties' own servers; the embedded flow runs them
    in-process (asyncssh), the tests also against OpenSSH."""
    with ExitStack() as stack:
        servers = {}
        for receiver, names in senders.items():
            ws = parties[receiver]
            keys = "\n".join(parties[n].ssh_public() for n in names) + "\n"
            servers[receiver] = stack.enter_context(
                local_sftp(ws.inbox, ws.keys / "sftp", username=receiver, client_public=keys)
            )
        yield servers


def send(
    file: Path,
    *,
    sender: Workspace,
    receiver: Workspace,
    server: LocalServer,
    audit: AuditLog,
    what: str,
) -> str:
    """Encrypt ``file`` to ``receiver`` and upload it to its server; returns the SHA-256 of
    the encrypted file (what the receiver's inbox holds)."""
    encrypted = sender.outbox / f"{file.name}.age"
    encrypt(file, [receiver.age_recipient()], encrypted)
    upload(
        encrypted,
        server.host,
        server.port,
        server.username,
        sender.ssh_key,
        server.host_public_key,
        "/",
    )
    digest = sha256_file(encrypted)
    audit.append(
        "sent",
        {
            "to": receiver.party,
            "what": what,
            "file": encrypted.name,
            "bytes": encrypted.stat().st_size,
            "sha256": digest,
        },
    )
    return digest


def receive(name: str, *, receiver: Workspace, sender: str, audit: AuditLog, out: Path) -> Path:
    """Decrypt ``inbox/<name>`` with the receiver's identity into ``out``."""
    encrypted = receiver.inbox / name
    if not encrypted.is_file():
        raise SourceError(
            f"nothing received from {sender}: {name} is not in the inbox",
            rule="not-received",
            file=str(encrypted),
        )
    audit.append(
        "received",
        {"from": sender, "file": name, "bytes": encrypted.stat().st_size,
         "sha256": sha256_file(encrypted)},
    )  # fmt: skip
    return Path(decrypt(encrypted, receiver.age_identity, out))  # type: ignore[arg-type]


def pack_extract(directory: Path, *, party: str, decision: str, tables: dict[str, Path]) -> Path:
    """Write ``manifest.json`` for the extract files in ``directory`` and tar it."""
    files = {}
    for table, path in sorted(tables.items()):
        meta = pq.read_metadata(path)
        files[path.name] = {
            "table": table,
            "columns": meta.schema.names,
            "rows": meta.num_rows,
            "sha256": sha256_file(path),
        }
    manifest = {"party": party, "decision": decision, "files": files}
    write_text(directory / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return pack(directory)


def unpack_extract(archive: Path, out: Path, *, party: str) -> dict:
    """Unpack a provider's extract into ``out`` and check every file against its manifest;
    returns the manifest. A missing, extra or altered file is refused, naming the party and
    the file."""
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    roots = [p for p in out.iterdir() if p.is_dir()]
    if len(roots) != 1 or not (roots[0] / MANIFEST).is_file():
        raise SourceError(
            f"the extract of {party} has no {MANIFEST}",
            rule="extract-manifest",
            file=str(archive),
        )
    root = roots[0]
    manifest = json.loads((root / MANIFEST).read_text())
    listed = set(manifest.get("files", {}))
    present = {p.name for p in root.iterdir() if p.name != MANIFEST}
    extra = sorted(present - listed)
    if extra:
        raise SourceError(
            f"{party} sent {extra[0]}, which its manifest does not list",
            rule="extract-checksum",
            file=str(root / extra[0]),
        )
    for name, facts in sorted(manifest["files"].items()):
        path = root / name
        if not path.is_file():
            raise SourceError(
                f"{party}'s manifest lists {name}, which is not in the extract",
                rule="extract-checksum",
                file=str(path),
            )
        if sha256_file(path) != facts["sha256"]:
            raise SourceError(
                f"{party}'s file {name} does not match the SHA-256 of its manifest: altered "
                "or damaged on the way",
                rule="extract-checksum",
                file=str(path),
                hint=f"ask {party} to send the extract again",
            )
    manifest["root"] = str(root)
    return manifest
