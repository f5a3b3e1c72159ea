"""The pseudonymiser's key store (G3, B1): one secret key per project, owner-only, never in
a delivery.

A project key is 32 random bytes in ``<store>/<project>.key``. It is the only secret of
the pseudonymisation: with the key and the data anyone can recompute every sequence number,
and without it nobody can. So the store refuses what would break that:

- overwriting a key (a replaced key silently renumbers every person; a lost key makes every
  delivery unreproducible), so there is no ``--force``;
- a store inside a delivery or staging directory (the key would travel with the data);
- a key file or store that group or others can read (checked on every load).

Person and household numbers use separate subkeys derived with HKDF-SHA256 (RFC 5869), one
per domain and bound to the project id, so the two kinds of numbers are unrelated even for
equal identifiers, and a key file copied to another project still gives other numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sluis.errors import SluisError
from sluis.keystore import check_private, open_store, write_once

Domain = Literal["person", "household"]
DOMAINS: tuple[str, ...] = get_args(Domain)

KEY_BYTES = 32  # 256 bits
_PROJECT = re.compile(r"[a-z0-9][a-z0-9-]*")
_HEADER = "sluis-project-key 1"
_SUFFIX = ".key"


class KeyStoreError(SluisError):
    """A key store or project key that cannot be used safely (G3)."""


class ProjectKey:
    """The secret key of one project. Its bytes are never printed: ``repr`` and ``str``
    show the project and a fingerprint (the first 16 hex digits of SHA-256 of the key),
    which identifies the key in logs and run reports without revealing it."""

    __slots__ = ("_secret", "fingerprint", "project")

    def __init__(self, project: str, secret: bytes) -> None:
        check_project(project)
        if len(secret) != KEY_BYTES:
            raise KeyStoreError(
                f"a project key has {KEY_BYTES} bytes, not {len(secret)}", rule="key-format"
            )
        self.project = project
        self._secret = bytes(secret)
        self.fingerprint = hashlib.sha256(self._secret).hexdigest()[:16]

    def subkey(self, domain: Domain) -> bytes:
        """The HMAC key of one domain: HKDF-SHA256 of the project key with
        ``info = b"sluis/<domain>/v1:<project>"`` (no salt; the key is uniformly random)."""
        if domain not in DOMAINS:
            raise KeyStoreError(
                f"unknown key domain {domain!r}; expected one of {', '.join(DOMAINS)}",
                rule="key-domain",
            )
        info = f"sluis/{domain}/v1:{self.project}".encode()
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self._secret)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectKey):
            return NotImplemented
        return self.project == other.project and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash((self.project, self.fingerprint))

    def __repr__(self) -> str:
        return f"ProjectKey(project={self.project!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __reduce__(self) -> object:  # never serialise the secret by accident
        raise TypeError("a ProjectKey cannot be pickled; load it from the key store")


def check_project(project: str) -> str:
    """A project id as used in file names: lower-case letters, digits and dashes, e.g.
    ``25-074`` for authorisation 25/074."""
    if not isinstance(project, str) or not _PROJECT.fullmatch(project):
        raise KeyStoreError(
            f"invalid project id {project!r}: use lower-case letters, digits and dashes, "
            "starting with a letter or digit",
            rule="project-id",
            hint="e.g. 25-074 for authorisation 25/074",
        )
    return project


def key_path(store: Path, project: str) -> Path:
    """Where the key of ``project`` lives in ``store``."""
    return Path(store) / f"{check_project(project)}{_SUFFIX}"


def new_key(store: Path, project: str, *, forbidden: Sequence[Path] = ()) -> Path:
    """Create a fresh 256-bit key for ``project`` in ``store`` and return its path.

    The store directory is created owner-only (0700) and the key file is owner-only
    (0600). An existing key is never replaced, and a store inside any of ``forbidden``
    (delivery, staging, export directories) is refused. The file appears atomically and
    only if no key was there (a hard link that fails when the name exists), so two
    concurrent calls cannot both win.
    """
    path = key_path(store, project)
    store = Path(store)
    _check_not_forbidden(store, forbidden)
    if path.exists():
        raise _exists(path)
    open_store(store, KeyStoreError)
    text = f"{_HEADER}\nproject {project}\nkey {secrets.token_bytes(KEY_BYTES).hex()}\n"
    if not write_once(store, path, text.encode("ascii")):
        raise _exists(path)
    return path


def load_key(store: Path, project: str, *, forbidden: Sequence[Path] = ()) -> ProjectKey:
    """The key of ``project`` from ``store``; refuses a key that group or others can read,
    a store others can enter, a store inside ``forbidden``, and a file made for another
    project (a key file copied or renamed by hand)."""
    path = key_path(store, project)
    _check_not_forbidden(Path(store), forbidden)
    if not path.is_file():
        raise KeyStoreError(
            f"no key for project {project}",
            rule="key-missing",
            file=str(path),
            hint=f"create it once with: sluis keys new --store {store} --project {project}",
        )
    check_private(Path(store), "key store", KeyStoreError)
    check_private(path, "key file", KeyStoreError)
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    if not lines or lines[0] != _HEADER or set(fields) != {"project", "key"}:
        raise KeyStoreError("not a sluis project key file", rule="key-format", file=str(path))
    if fields["project"] != project:
        raise KeyStoreError(
            f"this key was made for project {fields['project']}, not {project}",
            rule="key-project",
            file=str(path),
            hint="every project gets its own key: sluis keys new",
        )
    try:
        secret = bytes.fromhex(fields["key"])
    except ValueError:
        raise KeyStoreError(
            "the key is not hexadecimal", rule="key-format", file=str(path)
        ) from None
    return ProjectKey(project, secret)


def _exists(path: Path) -> KeyStoreError:
    return KeyStoreError(
        "a key for this project exists already and is never replaced: a replaced key "
        "silently changes every sequence number, a lost key makes every delivery "
        "unreproducible",
        rule="key-exists",
        file=str(path),
        hint="keep using it; a new project gets a new project id",
    )


def _check_not_forbidden(store: Path, forbidden: Sequence[Path]) -> None:
    here = store.resolve()
    for place in forbidden:
        there = Path(place).resolve()
        if here == there or here.is_relative_to(there):
            raise KeyStoreError(
                f"the key store must not be inside {place}: keys never travel with data",
                rule="key-store-forbidden",
                file=str(store),
                hint="keep keys in the pseudonymiser's own directory, e.g. ~/.sluis/keys",
            )
