"""Destroy a delivery by crypto-shredding (G9, G10; issue 18 item 2).

The order makes a killed destruction safe to rerun and never claims more than was done:

1. ``destruction-requested`` goes into the register and the audit log first, with the
   inventory: every file held for the delivery with its size and SHA-256 (of the file as
   stored, sealed), and the id of the data key that seals them. A rerun reads this
   inventory rather than taking a new one of what is left.
2. The data key is destroyed (overwritten, unlinked, the key store fsynced): from here on
   every copy of the sealed files, wherever it is, is unreadable.
3. Every file is overwritten and unlinked, its directory fsynced.
4. Only when none of the inventory's files is left, ``destroyed`` is recorded (the
   inventory, the key id, the reason, the day), the log is checkpointed, and a destruction
   record signed by that checkpoint is written to ``destruction/<delivery>.json``.

Destruction before the deadline needs a reason (the data is no longer needed, §21 of
25/074); on or after the deadline it is what the decision requires.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluis.atomic import fsync_dir, write_text
from sluis.audit.log import AuditLog
from sluis.deliver import sha256_file
from sluis.errors import SluisError
from sluis.files import overwrite
from sluis.retain import register, vault

#: test hook: seconds to pause after each destroyed file (a kill -9 test needs the time)
PAUSE_ENV = "SLUIS_TEST_DESTROY_PAUSE"
#: where the signed destruction records go in the party's workspace
RECORDS = "destruction"


class DestructionRefused(SluisError):
    """A destruction the rules do not allow now: before the deadline without a reason, or of
    an entry already destroyed."""


@dataclass
class Shredded:
    """What one destruction did."""

    delivery: str
    key_id: str
    key_destroyed: bool
    files: list[dict[str, Any]]
    record: Path
    resumed: bool


def check_allowed(entry: register.Entry, *, today: dt.date, reason: str | None) -> None:
    """Refuse destroying ``entry`` when it is destroyed already, an enclave release
    (anonymous results), or before its deadline without a reason."""
    if entry.kind == "release":
        raise DestructionRefused(
            f"{entry.delivery} is an enclave release: anonymous results, not data; the "
            "register lists it and sluis does not destroy it",
            rule="release-not-data",
            hint="see docs/retention.md, 'Enclave releases'",
        )
    if entry.state == "destroyed":
        raise DestructionRefused(
            f"{entry.delivery} was destroyed already", rule="already-destroyed"
        )
    early = entry.deadline is not None and today < entry.deadline
    if early and not (reason or entry.reason):
        raise DestructionRefused(
            f"{entry.delivery} is due on {entry.deadline.isoformat()}, not yet on "
            f"{today.isoformat()}: destroying it earlier needs a reason",
            rule="early-destruction",
            hint="add --reason 'the research is finished' (it goes into the audit log)",
        )


def shred(
    home: Path,
    delivery: str,
    *,
    store: Path,
    audit: AuditLog,
    today: dt.date,
    reason: str | None = None,
) -> Shredded:
    """Destroy ``delivery`` of the party whose workspace is ``home`` (its key in ``store``),
    recording each step in ``audit`` and the register (see the module docstring). A rerun
    after a kill completes the destruction the first run requested."""
    entry = register.entry(home, delivery, today=today)
    check_allowed(entry, today=today, reason=reason)
    resumed = entry.state == "destruction-requested"
    if resumed:
        request = _request_of(home, delivery)
        inventory, key_id = request["files"], request.get("key_id", "")
        reason = reason or request.get("reason", "")
    else:
        key_id = entry.key_id
        inventory = _inventory(home, entry.files, key_id)
        reason = reason or f"the retention deadline {entry.deadline} is reached"
        facts = {"day": today.isoformat(), "reason": reason, "key_id": key_id, "files": inventory}
        register.append(home, "destruction-requested", delivery, facts, audit=audit)
    key_destroyed = bool(key_id) and vault.destroy_data_key(store, key_id)
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    for item in inventory:
        path = home / item["name"]
        if path.exists():
            overwrite(path, path.stat().st_size)
            path.unlink()
            fsync_dir(path.parent)
        if pause:
            time.sleep(pause)
    _remove_empty(home, entry.files)
    left = [item["name"] for item in inventory if (home / item["name"]).exists()]
    if left or (key_id and vault.key_file(store, key_id).exists()):
        raise SluisError(
            f"{len(left)} file(s) of {delivery} could not be destroyed",
            rule="destroy-incomplete",
            file=str(home / left[0]) if left else None,
            hint="run sluis retain destroy again",
        )
    facts = {
        "day": today.isoformat(),
        "reason": reason,
        "key_id": key_id,
        "files": inventory,
    }
    record = register.append(home, "destroyed", delivery, facts, audit=audit)
    checkpoint = audit.checkpoint()
    path = write_text(
        home / RECORDS / f"{delivery}.json",
        json.dumps(
            {
                "type": "sluis-destruction-record/1",
                "party": audit.party,
                "delivery": delivery,
                **facts,
                "audit_seq": record["audit_seq"],
                "audit_hash": record["audit_hash"],
                "audit_checkpoint": checkpoint,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n",
    )
    return Shredded(delivery, key_id, key_destroyed, inventory, path, resumed)


def _inventory(home: Path, held: list[str], key_id: str) -> list[dict[str, Any]]:
    """Every file under the held paths (files or folders, relative to ``home``) with its
    size and SHA-256, as stored. Of a folder only the files sealed under the delivery's key
    ``key_id``: a later run's output in the same folder is not this delivery's."""
    files: list[Path] = []
    for name in held:
        path = home / name
        if path.is_dir():
            files += [p for p in vault.sealed_files(path) if vault.key_id_of(p) == key_id]
        elif path.is_file():
            files.append(path)
    return [
        {"name": _name(home, p), "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files
    ]


def _name(home: Path, path: Path) -> str:
    """``path`` relative to ``home``, or absolute when outside it (a key store given with
    ``--key-store``)."""
    return path.relative_to(home).as_posix() if path.is_relative_to(home) else str(path)


def _remove_empty(home: Path, held: list[str]) -> None:
    """Remove the held folders once their files are gone (deepest first)."""
    for name in held:
        folder = home / name
        if not folder.is_dir():
            continue
        for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            if not any(sub.iterdir()):
                sub.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()
            fsync_dir(folder.parent)


def _request_of(home: Path, delivery: str) -> dict[str, Any]:
    """The last ``destruction-requested`` line of ``delivery`` in the register."""
    found: dict[str, Any] = {}
    for line in register.lines(home):
        if line["delivery"] == delivery and line["event"] == "destruction-requested":
            found = line
    return found
