"""Verify an audit log (G10): every edit, deletion, insertion, reordering or truncation is
found and located by line number and seq.

What each check catches (docs/audit.md has the full table):

- a line that is not canonical JSON of a well-formed record: a byte changed by hand;
- ``hash`` not matching the record's content: a record edited without re-hashing;
- ``prev`` not matching the previous line's bytes: a line edited (even re-hashed), deleted,
  inserted or moved; ``seq`` not following the previous seq says which;
- a checkpoint whose seq and hash are not those of the record before it, whose public key
  does not match its fingerprint or the given key, or whose signature does not verify: a
  chain rewritten and re-hashed from some record on;
- an incomplete last line: an interrupted append, or a cut in the middle of a line;
- against an external checkpoint (from a manifest): the log ends before the checkpointed
  record (truncation), or that record differs (rewrite).
- an empty file (:func:`verify` only; an appender starts from one): a log emptied, or
  never written by the run that should have written it.

- a log that does not end with its seal (``AuditLog.close`` writes one): lines cut off the
  end, or a record appended without the party's key (a warning when ``still_open``); a
  second signing key in one log: a forger's seal;
- against witnessed checkpoints (kept by other parties): a log rewritten and re-signed by
  the key holder, or cut back to an earlier seal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sluis.audit.checkpoints import check_checkpoint_shape
from sluis.audit.record import (
    EVENTS,
    FIELDS,
    GENESIS,
    AuditError,
    canonical,
    line_hash,
    record_hash,
)
from sluis.audit.signing import checkpoint_signature_ok, fingerprint, load_public_key

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
_PARTY = re.compile(r"[a-z0-9][a-z0-9-]*")
_CHECKPOINT_DATA = frozenset({"seq", "hash", "signature", "fingerprint", "public_key"})
_SEAL_DATA = _CHECKPOINT_DATA | {"seal"}


@dataclass(frozen=True)
class Problem:
    """One finding: where (line number, seq when known), a stable rule id and what is wrong."""

    line: int | None
    seq: int | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.rule}: {self.message}"


@dataclass
class VerifyReport:
    """The result of :func:`verify`: ``ok`` when there is no problem (warnings allowed)."""

    path: str
    lines: int = 0
    records: int = 0
    checkpoints: int = 0
    last_seq: int = 0
    after_checkpoint: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: fingerprints of the keys that sign the log's checkpoints, in order of appearance
    fingerprints: list[str] = field(default_factory=list)
    #: "given" (checked against the key the caller gave), "log" (against the key written
    #: in the log itself) or None (no signature to check)
    key_source: str | None = None
    #: the external checkpoint that was checked, if any
    external: dict[str, Any] | None = None
    #: the last checkpoint in the log, in the form of ``AuditLog.current_checkpoint``
    last_checkpoint: dict[str, Any] | None = None
    #: seals (checkpoints ``close`` writes) in the log, and whether its last record is one
    seals: int = 0
    sealed: bool = False
    #: the log was verified as still open: an unsealed end is a warning, not a problem
    still_open: bool = False
    #: the witnessed checkpoints that were checked
    witnesses: list[dict[str, Any]] = field(default_factory=list)
    # where an appender continues: the last complete line and what follows it
    last_line_hash: str = GENESIS
    last_hash: str | None = None
    last_event: str | None = None
    complete_bytes: int = 0
    partial_bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(
    path: Path,
    public_key: Ed25519PublicKey | Ed25519PrivateKey | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    *,
    witnesses: Iterable[Mapping[str, Any]] = (),
    still_open: bool = False,
) -> VerifyReport:
    """Verify the audit log at ``path``; see the module docstring for what is checked.

    ``public_key``: the party's published key; every checkpoint signature must verify under
    it (without it, signatures are checked against the key the log itself names, which only
    proves the log is consistent, not who signed it). ``checkpoint``: an external checkpoint
    (``AuditLog.current_checkpoint()`` as a manifest carries it) the log must still contain.
    ``witnesses``: checkpoints other parties kept
    (:func:`sluis.audit.checkpoints.load_witnesses`); the log must hold each one's record at
    its seq with its hash, which catches a log rewritten and re-signed by the key holder.
    A log must end with a seal (``audit-unsealed``) unless ``still_open``.
    A missing or unreadable file raises :class:`AuditError`; tampering never raises. An
    empty file is a problem (``audit-empty``), not a valid log of 0 records.
    """
    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise AuditError("no such audit log", rule="audit-missing", file=str(path)) from None
    except OSError as err:
        raise AuditError(
            f"cannot read the audit log: {err.strerror}", rule="audit-missing", file=str(path)
        ) from None
    report = verify_bytes(
        content,
        public_key=public_key,
        checkpoint=checkpoint,
        witnesses=witnesses,
        still_open=still_open,
        name=str(path),
    )
    if not report.records and not report.problems:
        # a party's log is written by the run or delivery that made it: an empty one was
        # emptied (or never written), and "valid" would hide that
        report.problems.append(
            Problem(
                None,
                None,
                "audit-empty",
                "the log holds no record: a run or a delivery writes to it, so it was "
                "emptied or never written",
            )
        )
    return report


def verify_bytes(
    content: bytes,
    *,
    public_key: Ed25519PublicKey | Ed25519PrivateKey | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    witnesses: Iterable[Mapping[str, Any]] = (),
    still_open: bool = False,
    name: str = "<log>",
) -> VerifyReport:
    """:func:`verify` on the bytes of a log."""
    given = public_key.public_key() if isinstance(public_key, Ed25519PrivateKey) else public_key
    given_fp = fingerprint(given) if given is not None else None
    external = check_checkpoint_shape(checkpoint) if checkpoint is not None else None
    witnessed = [check_checkpoint_shape(w) for w in witnesses]
    report = VerifyReport(path=name, external=external, still_open=still_open)
    report.witnesses = witnessed
    report.key_source = "given" if given is not None else None

    pieces = content.split(b"\n")
    partial = pieces.pop()  # b"" when the file ends with a newline (or is empty)
    report.lines = len(pieces)
    report.complete_bytes = len(content) - len(partial)
    report.partial_bytes = len(partial)

    keys: dict[str, Ed25519PublicKey] = {}  # fingerprint -> key, as the log names them
    by_seq: dict[int, tuple[int, str, str]] = {}  # seq -> (line, hash, party)
    prev_line = GENESIS
    prev: dict[str, Any] | None = None  # the previous record, when it parsed
    expected_seq: int | None = 1
    last_time = ""
    last_cp_seq = 0

    def problem(line: int, seq: int | None, rule: str, message: str) -> None:
        report.problems.append(Problem(line, seq, rule, message))

    for number, raw in enumerate(pieces, start=1):
        record = _parse(raw)
        this_line = line_hash(raw)
        if isinstance(record, str):
            problem(number, None, "audit-format", record)
            prev, expected_seq, prev_line = None, None, this_line
            report.sealed = False
            continue
        seq = record["seq"]
        report.records += 1
        report.last_seq = seq
        report.last_event = record["event"]
        if record["hash"] != record_hash(record):
            problem(
                number,
                seq,
                "audit-hash",
                "the record's hash does not match its content: the record was edited",
            )
        if record["prev"] != prev_line:
            before = f"line {number - 1}" if number > 1 else "the start of the log"
            problem(
                number,
                seq,
                "audit-prev",
                f"prev does not match {before}: "
                + (
                    "the first line is not the log's first record (lines removed or "
                    "inserted at the start)"
                    if number == 1
                    else "a line was edited, removed, inserted or moved between them"
                ),
            )
        if expected_seq is not None and seq != expected_seq:
            if seq > expected_seq:
                what = (
                    f"record {expected_seq} is missing"
                    if seq == expected_seq + 1
                    else (f"records {expected_seq}-{seq - 1} are missing")
                )
            else:
                what = "the records are out of order, or a record was inserted"
            problem(number, seq, "audit-seq", f"seq is {seq}, expected {expected_seq}: {what}")
        if record["time"] < last_time:
            report.warnings.append(
                Problem(number, seq, "audit-time", f"time {record['time']} is before {last_time}")
            )
        last_time = max(last_time, record["time"])
        if record["event"] not in EVENTS:
            report.warnings.append(
                Problem(
                    number,
                    seq,
                    "audit-event",
                    f"event {record['event']!r} is not in "
                    "the standard vocabulary (an extended log?)",
                )
            )
        report.sealed = False
        if record["event"] == "checkpoint":
            report.checkpoints += 1
            last_cp_seq = seq
            before = len(report.problems)
            _check_checkpoint(record, prev, number, given, given_fp, keys, report)
            if record["data"].get("seal") is True:
                report.seals += 1
                report.sealed = len(report.problems) == before
        by_seq.setdefault(seq, (number, record["hash"], record["party"]))
        prev, expected_seq, prev_line = record, seq + 1, this_line

    report.last_line_hash = prev_line
    report.last_hash = prev["hash"] if prev is not None else None
    report.after_checkpoint = report.last_seq - last_cp_seq if report.records else 0
    report.fingerprints = list(keys)
    if given is None and keys:
        report.key_source = "log"

    if partial:
        problem(
            report.lines + 1,
            None,
            "audit-partial-line",
            f"the last line is incomplete ({len(partial)} bytes without a newline): an "
            "interrupted append, or the log was cut in the middle of a line",
        )
    if external is not None:
        _check_external(external, by_seq, report, given, given_fp, keys)
    for witness in witnessed:
        _check_external(witness, by_seq, report, given, given_fp, keys, kind="witnessed")
    if report.records and not report.sealed and not partial:
        _check_sealed(report, by_seq.get(last_cp_seq, (0,))[0])
    if given is None and keys:
        report.warnings.append(
            Problem(
                None,
                None,
                "audit-key",
                "signatures were checked against the key named in the log itself "
                f"({', '.join(keys)}); give the party's public key (--public-key) to prove "
                "who signed",
            )
        )
    return report


def _check_sealed(report: VerifyReport, last_cp_line: int) -> None:
    """A log ends with a seal (``close`` writes one): else it was cut, extended by someone
    without the key, or is still being written (or its run crashed)."""
    if report.last_event == "checkpoint" and report.after_checkpoint == 0:
        what = "ends with a plain checkpoint, not a seal"
    elif report.checkpoints:
        what = (
            f"ends {report.after_checkpoint} record(s) after its last checkpoint "
            f"(line {last_cp_line})"
        )
    else:
        what = "has no checkpoint"
    if report.still_open:
        report.warnings.append(
            Problem(
                None,
                None,
                "audit-unsealed",
                f"the log {what}: verified as still open, so records after the last "
                "signature are not proven (a witness or a later seal proves them)",
            )
        )
        return
    report.problems.append(
        Problem(
            report.lines,
            report.last_seq,
            "audit-unsealed",
            f"the log {what}, but a closed log ends with a seal: records were cut off "
            "the end or appended without the party's key (or the run writing it crashed, "
            "or it is still open: then verify with --open)",
        )
    )


def _parse(raw: bytes) -> dict[str, Any] | str:
    """The record on a line, or what is wrong with the line."""
    try:
        text = raw.decode("utf-8")
        record = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return "not a JSON line" if raw else "an empty line"
    if not isinstance(record, dict) or set(record) != set(FIELDS):
        return "not an audit record (fields: " + ", ".join(FIELDS) + ")"
    try:
        again = canonical(record)
    except ValueError:
        again = b""
    if again != raw:
        return "not in canonical JSON form (sorted keys, no spaces): the line was edited"
    seq, time, party = record["seq"], record["time"], record["party"]
    if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1):
        return "seq is not a positive integer"
    if not (isinstance(time, str) and _TIME.fullmatch(time)):
        return "time is not a UTC ISO-8601 time"
    if not (isinstance(party, str) and _PARTY.fullmatch(party)):
        return "party is not a party id"
    if not isinstance(record["event"], str) or not isinstance(record["data"], dict):
        return "event is not a string or data is not an object"
    if not all(
        isinstance(record[k], str) and _HEX64.fullmatch(record[k]) for k in ("prev", "hash")
    ):
        return "prev or hash is not 64 hexadecimal digits"
    return record


def _check_checkpoint(
    record: dict[str, Any],
    prev: dict[str, Any] | None,
    number: int,
    given: Ed25519PublicKey | None,
    given_fp: str | None,
    keys: dict[str, Ed25519PublicKey],
    report: VerifyReport,
) -> None:
    seq, data = record["seq"], record["data"]

    def problem(rule: str, message: str) -> None:
        report.problems.append(Problem(number, seq, rule, message))

    if set(data) != _CHECKPOINT_DATA and (set(data) != _SEAL_DATA or data["seal"] is not True):
        problem(
            "audit-checkpoint",
            "a checkpoint's data holds "
            + ", ".join(sorted(_CHECKPOINT_DATA))
            + " (and a seal's seal: true)",
        )
        return
    seal = data.get("seal") is True
    if prev is None or data["seq"] != prev["seq"] or data["hash"] != prev["hash"]:
        problem(
            "audit-checkpoint",
            f"the checkpoint covers seq {data['seq']} with hash {str(data['hash'])[:12]}..., "
            "which is not the record before it",
        )
    try:
        key = load_public_key(str(data["public_key"]))
    except AuditError:
        problem("audit-key", "the checkpoint's public key is not an Ed25519 key")
        return
    fp = fingerprint(key)
    if fp != data["fingerprint"]:
        problem(
            "audit-key",
            f"the checkpoint's fingerprint {data['fingerprint']} is not that "
            f"of its public key ({fp})",
        )
        return
    if keys and fp not in keys and given is None:
        # a party's key is never replaced (signing.py): a second key in one log is a forger's
        # seal over records it added, not a rotation
        problem(
            "audit-key",
            f"the signing key changes to {fp} (the log's earlier checkpoints are signed by "
            f"{next(iter(keys))}): records were added by someone without the party's key",
        )
    keys.setdefault(fp, key)
    if given is not None and fp != given_fp:
        problem(
            "audit-key", f"the checkpoint is signed by key {fp}, not by the given key {given_fp}"
        )
        return
    if not checkpoint_signature_ok(
        given or key,
        record["party"],
        data["seq"],
        data["hash"],
        str(data["signature"]),
        seal=seal,
    ):
        problem(
            "audit-signature",
            f"the {'seal' if seal else 'checkpoint'}'s signature does not verify: the records "
            "it covers or the checkpoint itself were changed",
        )
        return
    report.last_checkpoint = {
        "party": record["party"],
        "seq": data["seq"],
        "hash": data["hash"],
        "signature": data["signature"],
        "fingerprint": data["fingerprint"],
    }
    if seal:
        report.last_checkpoint["seal"] = True


def _check_external(
    cp: dict[str, Any],
    by_seq: dict[int, tuple[int, str, str]],
    report: VerifyReport,
    given: Ed25519PublicKey | None,
    given_fp: str | None,
    keys: dict[str, Ed25519PublicKey],
    kind: str = "external",
) -> None:
    seq = cp["seq"]
    seal = cp.get("seal") is True

    def problem(line: int | None, rule: str, message: str) -> None:
        report.problems.append(Problem(line, seq, rule, message))

    what = f"the {kind} checkpoint"
    if seq not in by_seq:
        if seq > report.last_seq:
            problem(
                report.lines + 1,
                "audit-truncated",
                f"the log ends at seq {report.last_seq} (line {report.lines}) but {what} "
                f"covers seq {seq}: records after line {report.lines} were cut off",
            )
        else:
            problem(None, "audit-checkpoint", f"the log has no record seq {seq} of {what}")
    else:
        line, hash_, party = by_seq[seq]
        if hash_ != cp["hash"] or party != cp["party"]:
            problem(
                line,
                "audit-witness" if kind == "witnessed" else "audit-checkpoint",
                f"the record differs from {what}'s (party, hash): the log was rewritten up "
                "to here"
                + (" (and re-signed: only the key holder can)" if kind == "witnessed" else ""),
            )
    key = given if given is not None else keys.get(cp["fingerprint"])
    if given is not None and cp["fingerprint"] != given_fp:
        problem(
            None,
            "audit-key",
            f"{what} is signed by key {cp['fingerprint']}, not by the given key {given_fp}",
        )
    elif key is None:
        problem(
            None,
            "audit-key",
            f"{what} is signed by key {cp['fingerprint']}, which signs no "
            "checkpoint in the log; give the party's public key (--public-key)",
        )
    elif not checkpoint_signature_ok(key, cp["party"], seq, cp["hash"], cp["signature"], seal=seal):
        problem(None, "audit-signature", f"{what}'s signature does not verify")
