"""The tamper-evident audit log (G10): every extraction, pseudonymisation, delivery, release
and destruction is an event in an append-only, hash-chained JSON-lines log, with checkpoints
signed by the party's Ed25519 key; :func:`verify` finds any edit, deletion, insertion,
reordering or truncation (the last against an external checkpoint) and says where.

Never a national number in the log. See docs/audit.md.
"""

from __future__ import annotations

from sluis.audit.checkpoints import load_checkpoint, load_witnesses
from sluis.audit.log import RESERVED_EVENTS, AuditLog, Record, open_log
from sluis.audit.record import EVENTS, GENESIS, AuditError, canonical, find_insz
from sluis.audit.signing import (
    fingerprint,
    load_public_key,
    public_key_openssh,
    public_key_raw,
    signing_key,
    signing_key_path,
)
from sluis.audit.verify import Problem, VerifyReport, verify
from sluis.audit.witness import witness

__all__ = [
    "EVENTS",
    "GENESIS",
    "RESERVED_EVENTS",
    "AuditError",
    "AuditLog",
    "Problem",
    "Record",
    "VerifyReport",
    "canonical",
    "find_insz",
    "fingerprint",
    "load_checkpoint",
    "load_public_key",
    "load_witnesses",
    "open_log",
    "public_key_openssh",
    "public_key_raw",
    "signing_key",
    "signing_key_path",
    "verify",
    "witness",
]
