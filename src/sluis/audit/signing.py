"""The party's audit signing key (G10): an Ed25519 key that signs the log's checkpoints.

``signing_key(store, party)`` creates the key once in the party's key store (the directory
that also holds the pseudonymiser's project keys, owner-only 0700) and loads it afterwards.
Like a project key it is never replaced: a replaced key would make every earlier checkpoint
unverifiable against the published public key. The public key is what an auditor needs; it
is exported raw (32 bytes) or as an OpenSSH line (``ssh-ed25519 AAAA...``), and identified by
its OpenSSH fingerprint (``SHA256:...``, what ``ssh-keygen -l`` prints).

Ed25519 signatures are deterministic (RFC 8032): the same key and checkpoint give the same
signature, so a checkpoint of a reproducible log is itself reproducible (X3).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sluis.audit.record import AuditError, check_party, checkpoint_message
from sluis.keystore import check_private, open_store, write_once

_SUFFIX = ".audit-ed25519.pem"


def signing_key_path(store: Path, party: str) -> Path:
    """Where the audit signing key of ``party`` lives in ``store``."""
    return Path(store) / f"{check_party(party)}{_SUFFIX}"


def signing_key(store: Path, party: str) -> Ed25519PrivateKey:
    """The audit signing key of ``party``: created on first use (PKCS#8 PEM, file 0600, store
    0700), loaded afterwards, never replaced. Refuses a store or key file that group or others
    can read, and a file that is not an Ed25519 private key."""
    store = open_store(store, AuditError)
    path = signing_key_path(store, party)
    if not path.exists():
        _create(store, path)
    check_private(path, "audit signing key", AuditError)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(
            "not an Ed25519 private key in PEM format", rule="key-format", file=str(path)
        )
    return key


def _create(store: Path, path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_once(store, path, pem)  # if another process created it first, load theirs


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 bytes of the public key."""
    return _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_openssh(key: Ed25519PrivateKey | Ed25519PublicKey, comment: str = "") -> str:
    """The public key as one OpenSSH line, ``ssh-ed25519 AAAA... [comment]``."""
    line = (
        _public(key)
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode("ascii")
    )
    return f"{line} {comment}" if comment else line


def fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The OpenSSH fingerprint of the public key, ``SHA256:<base64>`` as ``ssh-keygen -l``."""
    blob = base64.b64decode(public_key_openssh(key).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from an OpenSSH line, a PEM public key, 64 hex digits or 32 raw
    bytes (what :func:`public_key_openssh` and :func:`public_key_raw` export)."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    text = raw.strip()
    key: object = None
    try:
        if text.startswith(b"ssh-"):
            key = serialization.load_ssh_public_key(b" ".join(text.split()[:2]))
        elif text.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(text)
        elif len(text) == 64:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.decode("ascii")))
        elif len(raw) == 32:
            key = Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, UnicodeDecodeError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError(
            "not an Ed25519 public key",
            rule="key-format",
            hint="give an OpenSSH line (ssh-ed25519 AAAA...), a PEM public key, 64 hex "
            "digits or the 32 raw bytes",
        )
    return key


def sign_checkpoint(
    key: Ed25519PrivateKey, party: str, seq: int, hash_: str, *, seal: bool = False
) -> str:
    """The hexadecimal Ed25519 signature of :func:`~sluis.audit.record.checkpoint_message`
    (of a seal when ``seal``)."""
    return key.sign(checkpoint_message(party, seq, hash_, seal=seal)).hex()


def checkpoint_signature_ok(
    public_key: Ed25519PublicKey,
    party: str,
    seq: int,
    hash_: str,
    signature: str,
    *,
    seal: bool = False,
) -> bool:
    """True when ``signature`` (hex) signs the checkpoint (or seal) ``(party, seq, hash_)``."""
    try:
        message = checkpoint_message(party, seq, hash_, seal=seal)
        public_key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
