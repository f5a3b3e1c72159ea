"""Destroy deliveries and keys the register holds (G9, G10; issue 18): the workspace's lock,
the party's key store and audit log around :func:`sluis.retain.shred.shred`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sluis.audit import open_log
from sluis.flow.lock import command_line, workspace_lock
from sluis.retain import register
from sluis.retain.shred import Shredded, check_allowed, shred


def party_store(home: Path, entry: register.Entry) -> Path:
    """The key store of the party whose workspace is ``home``: the one the delivery
    recorded, else the run's ``--key-store`` (``run.json``), else ``home/keys``."""
    if entry.key_store:
        return Path(entry.key_store)
    run = Path(home).parent / "run.json"
    if run.is_file():
        recorded = json.loads(run.read_text(encoding="utf-8")).get("key_store")
        if recorded:
            return Path(recorded)
    return Path(home) / "keys"


def destroy_one(
    home: Path, delivery: str, *, today: dt.date, reason: str | None = None
) -> Shredded:
    """Destroy ``delivery`` (or a key entry such as ``key:26-050``) holding the workspace's
    lock; refused early without ``reason``."""
    home = Path(home)
    with workspace_lock(home.parent, command_line()):
        entry = register.entry(home, delivery, today=today)
        check_allowed(entry, today=today, reason=reason)
        store = party_store(home, entry)
        with open_log(
            home / "audit.log", party=home.name, store=store, events=register.EVENTS
        ) as audit:
            return shred(home, delivery, store=store, audit=audit, today=today, reason=reason)


def destroy_due(home: Path, *, today: dt.date, reason: str | None = None) -> list[Shredded]:
    """Destroy every entry whose deadline is reached on ``today`` and every destruction
    that was requested but not completed."""
    due = [
        e.delivery
        for e in register.entries(home, today=today)
        if e.kind != "release"  # anonymous results: listed, never destroyed
        and (
            e.state == "destruction-requested"
            or (e.state != "destroyed" and e.days_left is not None and e.days_left <= 0)
        )
    ]
    return [destroy_one(home, name, today=today, reason=reason) for name in due]
