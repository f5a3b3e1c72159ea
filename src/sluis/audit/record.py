"""The audit log's record format (G10): canonical JSON, the hash chain, the event vocabulary,
the checkpoint message and the rule that keeps national numbers out of the log.

One place for the format, so that the writer (:mod:`sluis.audit.log`) and the verifier
(:mod:`sluis.audit.verify`) cannot drift apart. See docs/audit.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from sluis.domain.insz import is_valid_insz
from sluis.errors import SluisError

#: ``prev`` of the first record: there is no previous line
GENESIS = "0" * 64

#: the fields of a record, in the order a reader meets them (the line itself is sorted)
FIELDS: tuple[str, ...] = ("seq", "time", "party", "event", "data", "prev", "hash")

#: the events of a provisioning run; extend per log with ``AuditLog(events=...)``
EVENTS: frozenset[str] = frozenset(
    {
        "run-started",
        "sources-checked",
        "population-selected",
        "key-used",
        "pseudonymised",
        "coarsened",
        "scra-result",
        "package-built",
        "encrypted",
        "extracted",
        "sent",
        "received",
        "refused",
        "linked",
        "released",
        "destroyed",
        # the enclave (A5, issue 17): its data, jobs, their checks and reviews
        "enclave-built",
        "job-submitted",
        "job-run",
        "job-checked",
        "output-reviewed",
        "output-rejected",
        # the delivery register's (sluis.retain.register)
        "delivered",
        "key-held",
        "destruction-requested",
        "certificate-confirmed",
        "enclave-held",
        "release-registered",
        "checkpoint",
        "repaired",
    }
)

#: a checkpoint's signature covers this JSON object (canonical form), never the whole line
CHECKPOINT_TYPE = "sluis-audit-checkpoint/1"
#: the type a seal signs instead: a seal (the checkpoint ``close`` writes) says "the log was
#: closed here", which a plain checkpoint cannot be turned into without the key
SEAL_TYPE = "sluis-audit-seal/1"

#: a line longer than this is refused: the data of an event is a few small facts
MAX_LINE_BYTES = 16 * 1024

_EVENT_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_PARTY = re.compile(r"[a-z0-9][a-z0-9-]*")
_ELEVEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")
# hexadecimal digests and fingerprints (16, 32, 40, 64, 128 hex digits as one token) may hold
# eleven digits in a row by chance; they are not national numbers, so they are not scanned
_HEX_TOKEN = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{64}|[0-9a-fA-F]{40}"
    r"|[0-9a-fA-F]{32}|[0-9a-fA-F]{16})(?![0-9A-Za-z])"
)


class AuditError(SluisError):
    """An audit log that cannot be written or read as asked (G10)."""


def canonical(obj: Any) -> bytes:
    """The canonical JSON of ``obj``: keys sorted, no spaces, UTF-8 (not ASCII-escaped),
    no NaN or infinity. A record's line is exactly ``canonical(record)``."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """``hash`` of a record: SHA-256 of the canonical JSON of the record without ``hash``."""
    return sha256_hex(canonical({k: v for k, v in record.items() if k != "hash"}))


def line_hash(line: bytes) -> str:
    """``prev`` of the next record: SHA-256 of this line's exact bytes, without its newline."""
    return sha256_hex(line)


def checkpoint_message(party: str, seq: int, hash_: str, *, seal: bool = False) -> bytes:
    """The bytes a checkpoint signs: the party, and the seq and hash of the last record before
    the checkpoint (that hash commits to every earlier line through ``prev``); a seal signs
    the same with another type, so that a cut after a plain checkpoint cannot pass for a
    closed log."""
    kind = SEAL_TYPE if seal else CHECKPOINT_TYPE
    return canonical({"hash": hash_, "party": party, "seq": seq, "type": kind})


def check_party(party: str) -> str:
    """A party id as used in file names: lower-case letters, digits and dashes (``ksz``,
    ``statbel``, ``uantwerpen``)."""
    if not isinstance(party, str) or not _PARTY.fullmatch(party) or find_insz(party):
        raise AuditError(
            f"invalid party id {party!r}: use lower-case letters, digits and dashes",
            rule="audit-party",
            hint="e.g. ksz, statbel, uantwerpen",
        )
    return party


def check_event(event: str, vocabulary: frozenset[str]) -> str:
    if not isinstance(event, str) or not _EVENT_NAME.fullmatch(event):
        raise AuditError(
            f"invalid event name {event!r}: lower-case words joined by dashes",
            rule="audit-event",
        )
    if event not in vocabulary:
        raise AuditError(
            f"unknown audit event {event!r}",
            rule="audit-event",
            hint="use one of " + ", ".join(sorted(vocabulary)) + ", or pass events=... to "
            "AuditLog to extend the vocabulary",
        )
    return event


def find_insz(value: Any, where: str = "data") -> str | None:
    """The path (``data.files[2]``) of the first value under ``value`` that holds a national
    number, or None.

    A string holds one when a run of exactly 11 digits in it passes the INSZ check-digit rule
    (either century); hexadecimal digest tokens are skipped. An integer holds one when it has
    11 digits and passes the rule (an INSZ stored as a number). Keys are scanned like values.
    Ten-digit integers (an INSZ of the 2000s with its leading zero lost) are not flagged: they
    are common counts (a billion person-quarters) and would be refused one time in fifty.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(abs(value))
        return where if len(text) == 11 and is_valid_insz(text) else None
    if isinstance(value, float):
        return find_insz(repr(value), where) if math.isfinite(value) else None
    if isinstance(value, str):
        text = _HEX_TOKEN.sub(" ", value)
        if any(is_valid_insz(m) for m in _ELEVEN_DIGITS.findall(text)):
            return where
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            hit = find_insz(key, f"{where} (a key)") or find_insz(item, f"{where}.{key}")
            if hit:
                return hit
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            hit = find_insz(item, f"{where}[{i}]")
            if hit:
                return hit
    return None


def check_data(data: Any) -> dict[str, Any]:
    """``data`` as a JSON object of small facts: string keys; strings, numbers, booleans,
    null, lists and objects; no NaN; never a national number."""
    if not isinstance(data, Mapping):
        raise AuditError(
            f"audit data must be a JSON object (a mapping), not {type(data).__name__}",
            rule="audit-data",
        )
    _check_json(data, "data")
    try:
        encoded = canonical(data)
    except (UnicodeEncodeError, ValueError) as err:
        raise AuditError(
            f"data cannot be written as UTF-8 JSON: {err}", rule="audit-data"
        ) from None
    hit = find_insz(data)
    if hit:
        raise AuditError(
            f"{hit} holds a national number (11 digits that pass the INSZ check); "
            "a national number never goes into the audit log",
            rule="audit-insz",
            hint="log counts, digests, file names or sequence numbers instead",
        )
    return json.loads(encoded)


def _check_json(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditError(f"{where} is {value}, not a JSON number", rule="audit-data")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditError(
                    f"{where} has a key {key!r} that is not a string", rule="audit-data"
                )
            _check_json(item, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    raise AuditError(
        f"{where} is a {type(value).__name__}, which JSON cannot hold",
        rule="audit-data",
        hint="convert it to a string, number, list or object",
    )
