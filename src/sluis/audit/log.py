"""The append-only audit log of one party (G10): JSON lines, hash-chained, with signed
checkpoints.

Every line is the canonical JSON of one record (``seq``, ``time``, ``party``, ``event``,
``data``, ``prev``, ``hash``; see :mod:`sluis.audit.record` and docs/audit.md). An append
opens nothing new: the file is open with ``O_APPEND``; the record is written as one full
line with a single ``write`` and fsynced before ``append`` returns. Appenders in one process
are serialised by a lock per file, appenders in several processes by ``flock``; each picks
up what the others wrote before it appends.

Opening a log verifies it; a log that fails verification is never appended to (a broken
chain must be looked at, not extended). A crash in the middle of a write can leave an
incomplete last line: verification reports it, ``append`` refuses to continue, and
:meth:`AuditLog.repair` cuts the fragment off and records that it did so (its length and
SHA-256) as a ``repaired`` event. Repair is explicit because cutting bytes off a log is what
tampering looks like; the operator decides.

Never a national number: ``append`` refuses any value that holds an 11-digit number passing
the INSZ check-digit rule (:func:`sluis.audit.record.find_insz`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sluis.atomic import fsync_dir
from sluis.audit.record import (
    EVENTS,
    GENESIS,
    MAX_LINE_BYTES,
    AuditError,
    canonical,
    check_data,
    check_event,
    check_party,
    line_hash,
    record_hash,
    sha256_hex,
)
from sluis.audit.signing import fingerprint, public_key_openssh, sign_checkpoint
from sluis.audit.verify import verify_bytes

#: events only the log itself writes
RESERVED_EVENTS = frozenset({"checkpoint", "repaired"})

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(path.resolve()), threading.Lock())


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(moment: dt.datetime) -> str:
    """``2026-11-23T10:15:02.123456Z``: UTC, microseconds."""
    if moment.tzinfo is None:
        raise AuditError("the audit clock gave a time without a time zone", rule="audit-time")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Record:
    """One record of the log, as written."""

    seq: int
    time: str
    party: str
    event: str
    data: dict[str, Any]
    prev: str
    hash: str
    line: bytes = field(repr=False)


class AuditLog:
    """The audit log of ``party`` at ``path`` (created if missing, parent directories too).

    ``key`` signs the checkpoints (:func:`sluis.audit.signing.signing_key`). A checkpoint
    follows every ``checkpoint_every`` records (0: only on demand), and :meth:`close` ends
    the log with a seal (a checkpoint signed as "closed here") unless it already ends with
    one. ``events`` extends the vocabulary
    (:data:`sluis.audit.record.EVENTS`). ``clock`` returns an aware datetime (tests and
    reproducible runs fix it). Use as a context manager, or call :meth:`close`.

    Example::

        key = signing_key(workspace / "keys", "ksz")
        with AuditLog(workspace / "audit.jsonl", party="ksz", key=key) as log:
            log.append("run-started", {"spec": "25-074", "spec_sha256": digest})
            ...
            manifest["audit_checkpoint"] = log.checkpoint()
    """

    def __init__(
        self,
        path: Path,
        *,
        party: str,
        key: Ed25519PrivateKey,
        checkpoint_every: int = 100,
        events: Iterable[str] = (),
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditError(
                "the audit signing key is not an Ed25519 private key", rule="key-format"
            )
        if checkpoint_every < 0:
            raise AuditError("checkpoint_every is 0 (on demand) or more", rule="audit-usage")
        self.path = Path(path)
        self.party = check_party(party)
        self.checkpoint_every = checkpoint_every
        self.events = EVENTS | frozenset(events)
        for name in self.events:
            check_event(name, self.events)
        self._key = key
        self._fingerprint = fingerprint(key)
        self._public_key = public_key_openssh(key)
        self._clock = clock or utc_now
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_for(self.path)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o640)
        if created:
            fsync_dir(self.path.parent)
        self._size = -1  # bytes of the file as last read; -1: not read yet
        try:
            with self._locked():
                pass  # reads and verifies the log
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise

    # ------------------------------------------------------------------ state

    def _load(self) -> None:
        """Read and verify the whole log; set where the next record continues."""
        content = self.path.read_bytes()
        # an unsealed end is no fault here: another process may be appending, or a run crashed
        report = verify_bytes(content, public_key=self._key, name=str(self.path), still_open=True)
        broken = [p for p in report.problems if p.rule != "audit-partial-line"]
        if broken:
            first = broken[0]
            raise AuditError(
                f"the audit log fails verification ({first}); it is not appended to",
                rule="audit-tampered",
                file=str(self.path),
                line=first.line,
                hint=f"inspect it with: sluis audit verify {self.path}",
            )
        self._size = len(content)
        self._complete = report.complete_bytes
        self._partial = report.partial_bytes
        self._seq = report.last_seq
        self._prev = report.last_line_hash
        self._last_hash = report.last_hash
        self._last_event = report.last_event
        self._since_checkpoint = report.after_checkpoint
        self._checkpoint = report.last_checkpoint
        self._sealed = report.sealed

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._fd is None:
                raise AuditError("the audit log is closed", rule="audit-usage", file=str(self.path))
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if os.fstat(self._fd).st_size != self._size:
                    self._load()  # first use, or another process appended
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _refuse_partial(self) -> None:
        if self._partial:
            raise AuditError(
                f"the audit log ends with an incomplete line ({self._partial} bytes): an "
                "append was interrupted; nothing is appended after it",
                rule="audit-partial-line",
                file=str(self.path),
                line=self._seq + 1,
                hint="AuditLog.repair() cuts the fragment off and records that it did",
            )

    # ------------------------------------------------------------------ writing

    def append(self, event: str, data: Mapping[str, Any] | None = None) -> Record:
        """Append one event with its small facts; returns the record as written.

        Refuses an unknown event, the reserved events (``checkpoint``, ``repaired``), data
        that is not a JSON object of JSON values, data holding a national number, and a
        line over 16 KiB. Writes a checkpoint afterwards when ``checkpoint_every`` records
        have followed the last one.
        """
        check_event(event, self.events)
        if event in RESERVED_EVENTS:
            raise AuditError(
                f"the {event} event is written by the log itself",
                rule="audit-event",
                hint="call checkpoint() or repair()",
            )
        facts = check_data({} if data is None else data)
        with self._locked():
            self._refuse_partial()
            record = self._write(event, facts)
            if self.checkpoint_every and self._since_checkpoint >= self.checkpoint_every:
                self._write_checkpoint()
        return record

    def checkpoint(self) -> dict[str, Any]:
        """Sign the log as it is now and return :meth:`current_checkpoint`.

        Writes a ``checkpoint`` record whose data holds the seq and hash of the last record,
        the Ed25519 signature over them (with the party), the key's fingerprint and public
        key. When the log already ends with a checkpoint, nothing is written. Call this just
        before a manifest is written, and put the result into it.
        """
        with self._locked():
            self._refuse_partial()
            if self._seq == 0:
                raise AuditError(
                    "the audit log is empty: there is nothing to checkpoint",
                    rule="audit-usage",
                    file=str(self.path),
                )
            if self._last_event != "checkpoint":
                self._write_checkpoint()
            assert self._checkpoint is not None
            return dict(self._checkpoint)

    @property
    def sealed(self) -> bool:
        """True when the log ends with a seal (:meth:`close` writes one)."""
        with self._locked():
            return self._sealed

    def current_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint in the log: ``party``, ``seq`` and ``hash`` of the record it
        covers, ``signature`` (hex) and ``fingerprint`` of the public key; None before the
        first. It may not cover the latest records; :meth:`checkpoint` makes one that does.
        """
        with self._locked():
            return dict(self._checkpoint) if self._checkpoint else None

    def repair(self) -> int:
        """Cut an incomplete last line (an interrupted append) off the log and record that in
        a ``repaired`` event (removed bytes and their SHA-256); returns the bytes removed
        (0 when there was nothing to repair). Refuses a log that fails verification
        otherwise."""
        with self._locked():
            if not self._partial:
                return 0
            with self.path.open("rb") as fh:
                fh.seek(self._complete)
                fragment = fh.read()
            os.truncate(self.path, self._complete)
            os.fsync(self._fd)  # type: ignore[arg-type]
            self._size, self._partial = self._complete, 0
            self._write(
                "repaired",
                {"removed_bytes": len(fragment), "removed_sha256": sha256_hex(fragment)},
            )
            self._write_checkpoint(seal=True)  # the repair is the key holder's act: sealed
            return len(fragment)

    def close(self) -> None:
        """End with a seal (unless the log is empty, already ends with one, or ends with an
        incomplete line) and close the file. Closing twice is harmless.

        The seal is a checkpoint signed as "closed here": ``verify`` fails on a log that does
        not end with one (unless told it is still open), so records appended by someone
        without the key, or cut off the end, are errors, not warnings."""
        if self._fd is None:
            return
        try:
            with self._locked():
                if self._seq and not self._partial and not self._sealed:
                    self._write_checkpoint(seal=True)
        finally:
            with self._lock:
                fd, self._fd = self._fd, None
                if fd is not None:
                    os.close(fd)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r}, party={self.party!r})"

    # ------------------------------------------------------------------ internals

    def _write(self, event: str, data: dict[str, Any]) -> Record:
        fields: dict[str, Any] = {
            "seq": self._seq + 1,
            "time": format_time(self._clock()),
            "party": self.party,
            "event": event,
            "data": data,
            "prev": self._prev,
        }
        fields["hash"] = record_hash(fields)
        line = canonical(fields)
        if len(line) > MAX_LINE_BYTES:
            raise AuditError(
                f"the record is {len(line)} bytes, over {MAX_LINE_BYTES}: the data of an "
                "event is a few small facts",
                rule="audit-data",
                hint="log a digest and the file name of large content",
            )
        assert self._fd is not None
        buffer = line + b"\n"
        written = os.write(self._fd, buffer)  # one write; O_APPEND puts it at the end
        self._size += written
        if written != len(buffer):
            self._partial = written
            raise AuditError(
                f"only {written} of {len(buffer)} bytes of the record were written (disk full?)",
                rule="audit-write",
                file=str(self.path),
            )
        os.fsync(self._fd)
        self._complete = self._size
        self._seq += 1
        self._prev = line_hash(line)
        self._last_hash = fields["hash"]
        self._last_event = event
        self._since_checkpoint = 0 if event == "checkpoint" else self._since_checkpoint + 1
        self._sealed = event == "checkpoint" and data.get("seal") is True
        return Record(line=line, **fields)

    def _write_checkpoint(self, *, seal: bool = False) -> None:
        assert self._last_hash is not None
        seq, hash_ = self._seq, self._last_hash
        signature = sign_checkpoint(self._key, self.party, seq, hash_, seal=seal)
        data: dict[str, Any] = {
            "seq": seq,
            "hash": hash_,
            "signature": signature,
            "fingerprint": self._fingerprint,
            "public_key": self._public_key,
        }
        if seal:
            data["seal"] = True
        self._write("checkpoint", data)
        self._checkpoint = {
            "party": self.party,
            "seq": seq,
            "hash": hash_,
            "signature": signature,
            "fingerprint": self._fingerprint,
        }
        if seal:
            self._checkpoint["seal"] = True


def open_log(
    path: Path, *, party: str, store: Path, checkpoint_every: int = 100, **kwargs: Any
) -> AuditLog:
    """The audit log of ``party`` at ``path``, signing with the party's key in ``store``."""
    from sluis.audit.signing import signing_key

    return AuditLog(
        path,
        party=party,
        key=signing_key(store, party),
        checkpoint_every=checkpoint_every,
        **kwargs,
    )


__all__ = ["GENESIS", "RESERVED_EVENTS", "AuditLog", "Record", "format_time", "open_log"]
