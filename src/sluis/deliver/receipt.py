"""Signed transfer receipts: what was delivered, where, and that the sender vouches for it
(G8, G10).

After an upload has been verified (remote size and SHA-256), the sender writes a JSON
receipt (file name, size, SHA-256, remote path, the server's pinned host key fingerprint,
time) and signs it with its Ed25519 key. Anyone with the sender's public key can later
check that the receipt is unchanged: a flipped byte, an edited field, an added or removed
field all break the signature.

The signature covers the canonical JSON of every field except ``signature`` (keys
sorted, no whitespace, UTF-8), so re-indenting the file does not break it, but any change
of a value does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sluis.atomic import write_text
from sluis.errors import SluisError

ALGORITHM = "ed25519"


class ReceiptError(SluisError):
    """A receipt that cannot be read, or whose signature does not hold."""


def load_private_key(source: Ed25519PrivateKey | Path | str) -> Ed25519PrivateKey:
    """An Ed25519 private key from a key object or a file (OpenSSH or PEM, unencrypted)."""
    if isinstance(source, Ed25519PrivateKey):
        return source
    path = Path(source)
    data = path.read_bytes()
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ReceiptError(
            f"not an unencrypted private key ({exc})", rule="receipt-key", file=str(path)
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ReceiptError("the signing key must be Ed25519", rule="receipt-key", file=str(path))
    return key


def load_public_key(source: Ed25519PublicKey | Ed25519PrivateKey | Path | str) -> Ed25519PublicKey:
    """An Ed25519 public key from a key object, an ``ssh-ed25519 AAAA...`` line, PEM text,
    or a file holding either."""
    if isinstance(source, Ed25519PublicKey):
        return source
    if isinstance(source, Ed25519PrivateKey):
        return source.public_key()
    is_text = isinstance(source, str) and source.lstrip().startswith(("ssh-", "-----"))
    text = source if is_text else Path(source).read_text()
    try:
        if text.lstrip().startswith("ssh-"):
            key = serialization.load_ssh_public_key(text.strip().encode())
        else:
            key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise ReceiptError(f"not a public key ({exc})", rule="receipt-key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ReceiptError("the receipt's public key must be Ed25519", rule="receipt-key")
    return key


def openssh_public(key: Ed25519PublicKey) -> str:
    """``ssh-ed25519 AAAA...`` text of a public key."""
    return key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def canonical(data: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the fields without ``signature``, canonical JSON."""
    body = {k: v for k, v in data.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sign_receipt(
    data: Mapping[str, Any], private_key: Ed25519PrivateKey | Path | str
) -> dict[str, Any]:
    """Return ``data`` with a ``signature`` field: algorithm, signer's public key, value."""
    key = load_private_key(private_key)
    signature = key.sign(canonical(data))
    signed = {k: v for k, v in data.items() if k != "signature"}
    signed["signature"] = {
        "algorithm": ALGORITHM,
        "public_key": openssh_public(key.public_key()),
        "value": base64.b64encode(signature).decode("ascii"),
    }
    return signed


def write_receipt(
    path: Path, data: Mapping[str, Any], private_key: Ed25519PrivateKey | Path | str
) -> Path:
    """Sign ``data`` and write it to ``path`` atomically as indented JSON."""
    signed = sign_receipt(data, private_key)
    return write_text(Path(path), json.dumps(signed, indent=2, sort_keys=True) + "\n")


def countersign_receipt(
    path: Path, fields: Mapping[str, Any], private_key: Ed25519PrivateKey | Path | str
) -> dict[str, Any]:
    """Add ``fields`` to the receipt at ``path`` and sign it again with the same key.

    The receipt must verify under that key first: only the sender extends its own receipt.
    A delivery adds the audit checkpoint written after its last record (G10), which does
    not exist yet when the upload writes the receipt."""
    key = load_private_key(private_key)
    data = verify_receipt(path, key.public_key())
    data.update(fields)
    write_receipt(path, data, key)
    return sign_receipt(data, key)


def verify_receipt(
    path: Path, public_key: Ed25519PublicKey | Ed25519PrivateKey | Path | str
) -> dict[str, Any]:
    """Check a receipt's signature against the sender's public key; return its fields.

    The key is the one the verifier trusts, never the one written in the receipt (that
    one only says which key signed). Any change to the receipt raises `ReceiptError`.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sig = data["signature"]
        value = base64.b64decode(sig["value"], validate=True)
        algorithm = sig["algorithm"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReceiptError(
            f"not a readable signed receipt ({exc})", rule="receipt-format", file=str(path)
        ) from exc
    if algorithm != ALGORITHM:
        raise ReceiptError(
            f"unknown signature algorithm {algorithm!r}", rule="receipt-signature", file=str(path)
        )
    key = load_public_key(public_key)
    try:
        key.verify(value, canonical(data))
    except InvalidSignature as exc:
        raise ReceiptError(
            "the receipt's signature does not hold: it was changed or signed by another key",
            rule="receipt-signature",
            file=str(path),
        ) from exc
    return data
