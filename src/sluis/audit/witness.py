"""Witnesses of an audit log (G10): copies of its signed checkpoints kept by other parties.

A seal proves a log was not cut or extended by someone *without* the party's key; it proves
nothing against the key holder, who can rewrite the whole log and sign it again. As in
Certificate Transparency, where monitors keep copies of a log's signed tree heads, the
defence is that someone else already holds a signed checkpoint: the rewritten log no longer
holds that checkpoint's record (its seq with its hash), and the key holder cannot disown a
checkpoint its own key signed.

A witness file is JSON lines, one checkpoint a line (``party``, ``seq``, ``hash``,
``signature``, ``fingerprint``, and ``seal: true`` for a seal). :func:`witness` adds the
log's latest checkpoint to it after checking that the log is consistent with every
checkpoint already witnessed, so a witness never countersigns a rewritten history.
Receipts and ``delivery.json`` carry a checkpoint too and serve as witnesses as they are
(:func:`sluis.audit.checkpoints.load_witnesses` reads all three).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sluis.atomic import fsync_dir
from sluis.audit.checkpoints import load_witnesses
from sluis.audit.record import AuditError, canonical
from sluis.audit.verify import VerifyReport, verify


def witness(
    log: Path,
    witness_file: Path,
    *,
    public_key: Ed25519PublicKey | Ed25519PrivateKey | None = None,
) -> tuple[dict[str, Any], VerifyReport]:
    """Add the latest signed checkpoint of ``log`` to ``witness_file`` (created if missing);
    return it and the verification report.

    The log is verified first (as still open: a witness may copy a checkpoint of a log in
    progress) against ``public_key`` and every checkpoint the file already holds; a log that
    fails, or holds no checkpoint, raises :class:`AuditError` and nothing is written. A
    checkpoint already in the file is not written twice.
    """
    witness_file = Path(witness_file)
    kept = load_witnesses(witness_file) if witness_file.exists() else []
    report = verify(log, public_key=public_key, witnesses=kept, still_open=True)
    if not report.ok:
        first = report.problems[0]
        raise AuditError(
            f"the log fails verification ({first}); a witness does not copy its checkpoint",
            rule="audit-tampered",
            file=str(log),
            line=first.line,
        )
    checkpoint = report.last_checkpoint
    if checkpoint is None:
        raise AuditError(
            "the log holds no checkpoint to witness",
            rule="audit-witness-format",
            file=str(log),
            hint="a run's log ends with a seal once it is closed",
        )
    if checkpoint not in kept:
        created = not witness_file.exists()
        witness_file.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(witness_file, flags, 0o644)
        try:
            os.write(fd, canonical(checkpoint) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(witness_file.parent)
    return checkpoint, report


__all__ = ["witness"]
