"""Destroy deliveries and keys the register holds (G9, G10; issue 18): the workspace's lock,
the party's key store and audit log around :func:`sluis.retain.shred.shred`; and open a
folder the party holds sealed (:func:`opened_held`) for the commands that read one."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sluis.audit import open_log
from sluis.errors import SluisError
from sluis.flow.lock import command_line, workspace_lock
from sluis.retain import hold, register, vault
from sluis.retain.shred import Shredded, check_allowed, shred


def party_store(home: Path, entry: register.Entry) -> Path:
    """The key store of the party whose workspace is ``home``: the one the delivery
    recorded, else the run's ``--key-store`` (``run.json``), else ``home/keys``."""
    if entry.key_store:
        return Path(entry.key_store)
    return run_store(home)


def run_store(home: Path) -> Path:
    """The key store of the run whose party workspace is ``home``: the run's
    ``--key-store`` (``run.json``), else ``home/keys``."""
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


@contextmanager
def opened_held(folder: Path, *, store: Path | None = None) -> Iterator[Path]:
    """``with opened_held(dir) as plain:`` the plaintext of a folder a party keeps sealed
    after a delivery or an enclave build (``W/<party>/staged``, ``scra/staged``,
    ``enclave/data``: :data:`sluis.retain.hold.SEALED` and ``ENCLAVE_SEALED``), through
    the vault; ``dir`` itself when nothing in it is sealed. The party's workspace and the
    purpose bound into the files follow from where ``dir`` is; the key store is ``store``,
    else the run's."""
    folder = Path(folder)
    if not vault.is_sealed(folder):
        yield folder
        return
    home, purpose = held_place(folder)
    with vault.opened(folder, store=store or run_store(home), purpose=purpose, work=home) as plain:
        yield plain


def held_place(folder: Path) -> tuple[Path, str]:
    """The party workspace holding the sealed ``folder`` and the purpose its files were
    sealed for; a :class:`SluisError` for a folder that is not one sluis seals."""
    parts = Path(folder).resolve().parts
    known = sorted((*hold.SEALED, *hold.ENCLAVE_SEALED), key=lambda f: -len(f[0].split("/")))
    for rel, purpose in known:
        tail = tuple(rel.split("/"))
        if parts[-len(tail) :] == tail:
            return Path(*parts[: -len(tail)]), purpose
    raise SluisError(
        "a sealed folder that is not one a party keeps (staged/, scra/staged/, "
        "scra/suppressions/, enclave/data/ in its workspace): its purpose is unknown",
        rule="vault-purpose",
        file=str(folder),
        hint="give the folder where sluis sealed it, not a copy elsewhere",
    )
