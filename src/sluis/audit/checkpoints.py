"""Audit checkpoints kept outside the log (G10): the one in a delivery's manifest, receipt
or ``delivery.json``, and those a witness file holds.

Reading them is apart from :mod:`sluis.audit.verify`, which checks a log against them: a
checkpoint file comes from another party and may be anything, so its shape is checked here
before verification trusts any of its fields."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sluis.audit.record import AuditError

#: the fields of an external checkpoint (``AuditLog.current_checkpoint``)
CHECKPOINT_FIELDS: tuple[str, ...] = ("party", "seq", "hash", "signature", "fingerprint")


def check_checkpoint_shape(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """An external checkpoint as a plain dict, or :class:`AuditError` naming what is off."""
    if not isinstance(checkpoint, Mapping) or not set(CHECKPOINT_FIELDS) <= set(checkpoint):
        raise AuditError(
            "not an audit checkpoint: it needs " + ", ".join(CHECKPOINT_FIELDS),
            rule="audit-checkpoint-format",
        )
    cp = {k: checkpoint[k] for k in CHECKPOINT_FIELDS}
    if checkpoint.get("seal") is True:
        cp["seal"] = True
    if not (isinstance(cp["seq"], int) and not isinstance(cp["seq"], bool) and cp["seq"] >= 1):
        raise AuditError(
            "the checkpoint's seq is not a positive integer", rule="audit-checkpoint-format"
        )
    if not all(isinstance(cp[k], str) for k in ("party", "hash", "signature", "fingerprint")):
        raise AuditError(
            "the checkpoint's party, hash, signature and fingerprint are strings",
            rule="audit-checkpoint-format",
        )
    return cp


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The external checkpoint in a JSON file: either the checkpoint itself or a manifest that
    holds one (under ``audit_checkpoint``, or any nested object with the checkpoint fields)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditError(
            "no such checkpoint file", rule="audit-checkpoint-format", file=str(path)
        ) from None
    except OSError as err:
        raise AuditError(
            f"cannot read the checkpoint file: {err.strerror}",
            rule="audit-checkpoint-format",
            file=str(path),
        ) from None
    except (UnicodeDecodeError, ValueError) as err:
        raise AuditError(
            f"not a JSON file: {err}", rule="audit-checkpoint-format", file=str(path)
        ) from None
    found = _find_checkpoint(document)
    if found is None:
        raise AuditError(
            "no audit checkpoint in this file (an object with "
            + ", ".join(CHECKPOINT_FIELDS)
            + ")",
            rule="audit-checkpoint-format",
            file=str(path),
            hint="give a manifest of a delivery, or the JSON of AuditLog.current_checkpoint()",
        )
    try:
        return check_checkpoint_shape(found)
    except AuditError as err:
        err.file = str(path)
        raise


def _find_checkpoint(document: Any) -> Mapping[str, Any] | None:
    if isinstance(document, Mapping):
        if "audit_checkpoint" in document and isinstance(document["audit_checkpoint"], Mapping):
            return document["audit_checkpoint"]
        if set(CHECKPOINT_FIELDS) <= set(document):
            return document
        children: Any = document.values()
    elif isinstance(document, list):
        children = document
    else:
        return None
    for child in children:
        found = _find_checkpoint(child)
        if found is not None:
            return found
    return None


def load_witnesses(path: Path) -> list[dict[str, Any]]:
    """Every audit checkpoint a witness kept in ``path``: a witness file (JSON lines, one
    checkpoint a line, as :func:`witness` writes), or any JSON document holding checkpoints
    (a receipt, ``delivery.json``, a manifest, a list). A file without one is an error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuditError(
            "no such witness file", rule="audit-witness-format", file=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise AuditError(
            f"cannot read the witness file: {err}", rule="audit-witness-format", file=str(path)
        ) from None
    documents: list[Any] = []
    try:
        documents.append(json.loads(text))
    except ValueError:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(json.loads(line))
            except ValueError as err:
                raise AuditError(
                    f"not a JSON line: {err.msg}",
                    rule="audit-witness-format",
                    file=str(path),
                    line=number,
                ) from None
    found: list[Mapping[str, Any]] = []
    for document in documents:
        _all_checkpoints(document, found)
    if not found:
        raise AuditError(
            "no audit checkpoint in this witness file",
            rule="audit-witness-format",
            file=str(path),
            hint="give a file written by sluis audit witness, a receipt or a delivery.json",
        )
    try:
        return [check_checkpoint_shape(cp) for cp in found]
    except AuditError as err:
        err.rule, err.file = "audit-witness-format", str(path)
        raise


def _all_checkpoints(document: Any, found: list[Mapping[str, Any]]) -> None:
    if isinstance(document, Mapping):
        if set(CHECKPOINT_FIELDS) <= set(document):
            found.append(document)
            return
        children: Any = document.values()
    elif isinstance(document, list):
        children = document
    else:
        return
    for child in children:
        _all_checkpoints(child, found)
