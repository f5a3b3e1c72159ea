"""The delivery register (G9, G10; issue 18 item 1): what a party has delivered or holds,
to whom, until when, and whether it is destroyed.

The register is ``<work>/<party>/register.jsonl``, kept by the party that delivers (KSZ for
25/074, Statbel for 26/050). It is append-only: each line is one event about one entry
(a delivery, named by its package, e.g. ``25-074-uantwerpen-20261201``, or a key the
party holds, e.g. ``key:26-050``). The events:

``delivered``
    written by ``sluis deliver``: decision, recipient, researchers (name, public key and
    its fingerprint), the archive's SHA-256, the audit checkpoint the delivery carried,
    the deadline from the spec, the files held at rest and the data key sealing them;
``key-held``
    a key the party keeps (the TTP's pseudonymisation key, 26/050 §26) and its deadline;
``destruction-requested``
    written before anything is destroyed, so a killed destruction is completed by a
    rerun;
``destroyed``
    every file's name, size and SHA-256 and the destroyed key's identifier, written only
    when every file is gone;
``certificate-confirmed``
    a researcher's signed destruction certificate, checked by ``sluis retain confirm``;
``enclave-held``
    written by ``sluis enclave build``: the enclave's data (and the phase-2 run's staged
    extract) sealed at rest, the data key and the deadline, so that ``sluis retain
    destroy`` reaches them (entry ``<project>-enclave``, kind ``enclave``);
``release-registered``
    an enclave release (``sluis enclave release``): the release's manifest digest, the
    audit checkpoint it carried, the deadline; anonymous results, listed and never
    destroyed (entry ``<project>-enclave-<release id>``, kind ``release``).

Every event is first an audit record in the party's log (same event name, same facts),
then a register line that carries that record's ``seq`` and ``hash``: the register is a
readable index of the log, and ``sluis audit verify`` covers what it says. An event that
reached the log but not the register whole (a kill between or during the writes) is
copied over by the next :func:`append`.

:func:`entries` folds the events into one :class:`Entry` per delivery with its state on a
given day (``today``: :func:`sluis.retain.clock.today`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sluis.atomic import fsync_dir
from sluis.audit.log import AuditLog
from sluis.errors import SluisError

#: the register's events; open the party's audit log with ``events=EVENTS``
EVENTS: frozenset[str] = frozenset(
    {
        "delivered",
        "key-held",
        "destruction-requested",
        "destroyed",
        "certificate-confirmed",
        "enclave-held",
        "release-registered",
    }
)

#: the file name of the register in the party's workspace
FILE = "register.jsonl"


class RegisterError(SluisError):
    """A register that cannot be read, an unknown entry, an event the register does not
    know."""


@dataclass
class Entry:
    """The state of one delivery (or held key) folded from its events."""

    delivery: str
    #: delivery | key | enclave (the enclave's data) | release (an enclave release)
    kind: str = "delivery"
    decision: str = ""
    recipient: str = ""
    researchers: list[dict[str, str]] = field(default_factory=list)
    archive_sha256: str = ""
    audit_checkpoint: dict[str, Any] | None = None
    deadline: dt.date | None = None
    paragraph: str = ""
    delivered: dt.date | None = None
    #: delivered (a key, the enclave's data: held; a release: released) |
    #: destruction-requested | destroyed | overdue (a release is never overdue)
    state: str = "delivered"
    #: files held at rest, relative to the party's workspace
    files: list[str] = field(default_factory=list)
    key_id: str = ""
    #: the key store holding ``key_id`` and the party's audit signing key (a usable path:
    #: the register records it relative to the workspace when it is inside)
    key_store: str = ""
    reason: str = ""
    destroyed: dict[str, Any] | None = None
    certificate: dict[str, Any] | None = None
    #: days from ``today`` to the deadline (negative: overdue); None without a deadline
    days_left: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON values (dates as ``YYYY-MM-DD``), for ``--json``."""
        out = dict(self.__dict__)
        for name in ("deadline", "delivered"):
            out[name] = out[name].isoformat() if out[name] else None
        return out


def register_path(home: Path) -> Path:
    """The register of the party whose workspace is ``home`` (``<work>/<party>``)."""
    return Path(home) / FILE


def append(
    home: Path,
    event: str,
    delivery: str,
    data: Mapping[str, Any] | None = None,
    *,
    audit: AuditLog,
) -> dict[str, Any]:
    """Record ``event`` about ``delivery``: first in ``audit`` (the party's log, opened with
    ``events=EVENTS``), then as a register line carrying that record's seq and hash.
    Returns the line as written. ``data`` holds small facts (no national number: the log
    refuses one)."""
    if event not in EVENTS:
        raise RegisterError(
            f"unknown register event {event!r}",
            rule="register-event",
            hint="one of " + ", ".join(sorted(EVENTS)),
        )
    facts = {"delivery": delivery, **(data or {})}
    record = audit.append(event, facts)
    path = register_path(home)
    with _locked(path) as fd:
        _catch_up(path, fd, audit.path, upto=record.seq)
        line = _line(record.seq, record.hash, record.time, event, facts)
        _write(fd, line)
    return line


def entries(home: Path, *, today: dt.date) -> list[Entry]:
    """Every entry of the register in ``home``, folded, with its state on ``today``:
    overdue first (most overdue first), then by deadline, then by name. An entry whose
    deadline has passed and that is not destroyed is ``overdue``."""
    folded: dict[str, Entry] = {}
    for line in _lines(register_path(home)):
        name = line["delivery"]
        entry = folded.setdefault(name, Entry(delivery=name))
        _fold(entry, line)
    for entry in folded.values():
        if entry.key_store:  # recorded relative to the workspace when inside it
            entry.key_store = str(Path(home) / entry.key_store)
        if entry.deadline is not None:
            entry.days_left = (entry.deadline - today).days
            if entry.state in ("delivered", "held") and entry.days_left < 0:
                entry.state = "overdue"
    return sorted(folded.values(), key=_order)


def entry(home: Path, delivery: str, *, today: dt.date) -> Entry:
    """The entry of ``delivery``; a :class:`RegisterError` naming the register when it has
    none."""
    for found in entries(home, today=today):
        if found.delivery == delivery:
            return found
    raise RegisterError(
        f"the register has no delivery {delivery!r}",
        rule="register-unknown",
        file=str(register_path(home)),
        hint="sluis retain list --work W shows what it holds",
    )


def lines(home: Path) -> list[dict[str, Any]]:
    """The register's events in order, as written (for a rerun that needs an earlier
    event's facts)."""
    return _lines(register_path(home))


def _order(entry: Entry) -> tuple:
    overdue = entry.state == "overdue"
    far = dt.date.max
    return (not overdue, entry.state == "destroyed", entry.deadline or far, entry.delivery)


#: the events that open an entry, and the kind of entry each opens
_HELD = {
    "delivered": "delivery",
    "key-held": "key",
    "enclave-held": "enclave",
    "release-registered": "release",
}
#: the state an entry of each kind starts in
_STATE = {"delivery": "delivered", "key": "held", "enclave": "held", "release": "released"}


def _fold(entry: Entry, line: dict[str, Any]) -> None:
    event = line["event"]
    if event in _HELD:
        entry.kind = _HELD[event]
        entry.decision = line.get("decision", "")
        entry.recipient = line.get("recipient", "")
        entry.researchers = list(line.get("researchers", []))
        entry.archive_sha256 = line.get("archive_sha256", "")
        entry.audit_checkpoint = line.get("audit_checkpoint")
        entry.deadline = _date(line.get("deadline"))
        entry.paragraph = line.get("paragraph", "")
        entry.delivered = _date(line.get("date"))
        entry.files = list(line.get("files", []))
        entry.key_id = line.get("key_id", "")
        entry.key_store = line.get("key_store", "")
        if entry.state != "destroyed":
            entry.state = _STATE[entry.kind]
    elif event == "destruction-requested":
        if entry.state != "destroyed":
            entry.state = "destruction-requested"
        entry.reason = line.get("reason", "")
    elif event == "destroyed":
        entry.state = "destroyed"
        entry.destroyed = {k: v for k, v in line.items() if k not in ("delivery", "event")}
    elif event == "certificate-confirmed":
        entry.certificate = {k: v for k, v in line.items() if k not in ("delivery", "event")}


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def _line(seq: int, hash_: str, time: str, event: str, facts: Mapping[str, Any]) -> dict:
    return {"audit_seq": seq, "audit_hash": hash_, "time": time, "event": event, **facts}


def _lines(path: Path) -> list[dict[str, Any]]:
    """The register's events; an incomplete last line (a kill mid-write) is skipped, any
    other unreadable line is an error naming it."""
    if not path.is_file():
        return []
    raw = path.read_bytes()
    out = []
    lines = raw.split(b"\n")
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            if number == len(lines):  # the last, unterminated line
                continue
            raise RegisterError(
                "not a JSON line", rule="register-format", file=str(path), line=number
            ) from None
        if not isinstance(line, dict) or not isinstance(line.get("delivery"), str):
            raise RegisterError(
                "a register line without a delivery",
                rule="register-format",
                file=str(path),
                line=number,
            )
        out.append(line)
    return out


def _catch_up(path: Path, fd: int, log: Path, *, upto: int) -> None:
    """Copy register events that reached the audit log but not the register (a kill
    between the two writes) before record ``upto``."""
    have = {line.get("audit_hash") for line in _lines(path)}
    if not log.is_file():
        return
    for text in log.read_bytes().splitlines():
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("event") not in EVENTS:
            continue
        if record.get("seq", upto) >= upto or record.get("hash") in have:
            continue
        data = record.get("data") or {}
        if not isinstance(data.get("delivery"), str):
            continue  # an event of the same name about something else (the TTP's destruction)
        _write(fd, _line(record["seq"], record["hash"], record["time"], record["event"], data))


def _write(fd: int, line: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode())
    os.fsync(fd)


class _locked:
    """The register open for appending under an exclusive ``flock``; an unterminated last
    line (a kill mid-write) is cut off first so the next line stays whole."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> int:
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        if created:
            fsync_dir(self.path.parent)
        data = os.pread(self.fd, os.fstat(self.fd).st_size, 0)
        if data and not data.endswith(b"\n"):
            # a kill mid-write left part of a line: it was never a whole event, and the
            # audit log, which holds the event, gives it back through _catch_up
            os.ftruncate(self.fd, data.rfind(b"\n") + 1)
            os.fsync(self.fd)
        return self.fd

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
