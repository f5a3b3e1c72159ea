"""The owner-only key store (G3, G10): the directory that holds a party's secrets.

Three kinds of secret live there, each in a module of its own: the pseudonymiser's project
keys (:mod:`sluis.pseudo.keys`), the party's audit signing key (:mod:`sluis.audit.signing`)
and the data keys that seal retained data (:mod:`sluis.retain.vault`). All need the same
guarantees, written once here:

- the store is a directory only its owner can enter (0700), made so when it is created;
- a key file only its owner can read (0600), checked on every load;
- a key file appears whole and only once: written to a temporary file, flushed to disk,
  then hard-linked to its name, which fails when the name exists, so two concurrent
  creators cannot both win and a key is never replaced.

Each caller passes its own error class, so a refusal names the stage it belongs to.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from sluis.atomic import fsync_dir
from sluis.errors import SluisError


def open_store(store: Path, error: type[SluisError]) -> Path:
    """``store``, created owner-only (0700) when missing; refuses a store that is not a
    directory or that group or others can enter."""
    store = Path(store)
    if not store.exists():
        store.mkdir(mode=0o700, parents=True)
        os.chmod(store, 0o700)  # mkdir's mode is cut by the umask
    elif not store.is_dir():
        raise error("the key store is not a directory", rule="key-store", file=str(store))
    check_private(store, "key store", error)
    return store


def check_private(path: Path, what: str, error: type[SluisError]) -> None:
    """Refuse ``path`` (a key store or a key file, called ``what`` in the message) when
    group or others have any access to it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise error(
            f"the {what} is accessible by group or others (mode {mode:04o})",
            rule="key-permissions",
            file=str(path),
            hint=f"chmod {'700' if path.is_dir() else '600'} {path}",
        )


def write_once(store: Path, path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` in ``store`` owner-only (0600), whole, and only if no
    file has that name; True when this call wrote it, False when one was there already
    (then it is left as it is)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=store)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(store)
        return True
    finally:
        tmp.unlink(missing_ok=True)
