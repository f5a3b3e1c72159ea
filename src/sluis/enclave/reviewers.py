"""The enclave's output reviewers (A5): names and salted scrypt password hashes in
``enclave/reviewers.json``, readable by its owner only.

A release needs two reviewers who are not the job's author (issue 17, after OpenSAFELY's
Airlock and the SATRE "named checkers"). The review page logs a reviewer in with the
password kept here; on the command line (``sluis enclave approve``) the operator's shell
account is the authentication and the name is only checked to exist. A password is never
stored, only ``scrypt(password, salt)`` with a random salt per reviewer, so a copy of the
file does not give the passwords away cheaply.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from sluis.atomic import write_text
from sluis.audit.log import format_time, utc_now
from sluis.errors import SluisError

#: the file under the enclave root
REVIEWERS_FILE = "reviewers.json"
#: a reviewer's name: lower-case, as a login (``an.peeters``, ``reviewer-2``)
NAME = re.compile(r"[a-z][a-z0-9._-]{0,31}")
#: shortest password accepted
MIN_PASSWORD = 10
#: scrypt's cost: about 0.1 s and 32 MiB per attempt (RFC 7914 recommends N=2^15 for
#: interactive logins)
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_MAXMEM = 64 * 1024 * 1024


class ReviewerError(SluisError):
    """A reviewer name or password that cannot be used (an unknown reviewer, a short
    password, a name taken)."""


def check_name(name: str) -> str:
    """``name`` when it is a valid reviewer name, else :class:`ReviewerError`."""
    if not NAME.fullmatch(name):
        raise ReviewerError(
            f"{name!r} is not a reviewer name: lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter, at most 32 characters",
            rule="reviewer-name",
        )
    return name


def _hash(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=params["n"],
        r=params["r"],
        p=params["p"],
        maxmem=_MAXMEM,
        dklen=32,
    )


def load(enclave: Path) -> dict[str, dict[str, Any]]:
    """The reviewers of the enclave at ``enclave``: name to its record (none: empty)."""
    path = enclave / REVIEWERS_FILE
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        reviewers = document["reviewers"]
        if not isinstance(reviewers, dict):
            raise TypeError("reviewers is not an object")
    except (ValueError, KeyError, TypeError) as err:
        raise ReviewerError(
            f"the reviewers file is not readable: {err}", rule="reviewers-file", file=str(path)
        ) from None
    return reviewers


def add(enclave: Path, name: str, password: str) -> Path:
    """Register reviewer ``name`` with ``password``; returns the reviewers file.

    Refuses a taken name (a reviewer's password is not silently replaced) and a password
    shorter than :data:`MIN_PASSWORD` characters. The file is written atomically with mode
    0600.
    """
    check_name(name)
    path = enclave / REVIEWERS_FILE
    if not enclave.is_dir():
        raise ReviewerError(
            "no enclave here",
            rule="enclave-missing",
            file=str(enclave),
            hint="build it first: sluis enclave build --work W",
        )
    if len(password) < MIN_PASSWORD:
        raise ReviewerError(
            f"the password is shorter than {MIN_PASSWORD} characters", rule="reviewer-password"
        )
    reviewers = load(enclave)
    if name in reviewers:
        raise ReviewerError(
            f"reviewer {name} exists already", rule="reviewer-exists", file=str(path)
        )
    salt = secrets.token_bytes(16)
    reviewers[name] = {
        "scrypt": {**SCRYPT, "salt": salt.hex()},
        "hash": _hash(password, salt, SCRYPT).hex(),
        "added": format_time(utc_now()),
    }
    document = {"reviewers": dict(sorted(reviewers.items()))}
    write_text(path, json.dumps(document, indent=2) + "\n", mode=0o600)
    os.chmod(path, 0o600)
    return path


def exists(enclave: Path, name: str) -> bool:
    """Whether ``name`` is a registered reviewer."""
    return name in load(enclave)


def require(enclave: Path, name: str) -> str:
    """``name`` when it is a registered reviewer, else :class:`ReviewerError`."""
    check_name(name)
    if not exists(enclave, name):
        raise ReviewerError(
            f"{name} is not a reviewer of this enclave",
            rule="reviewer-unknown",
            file=str(enclave / REVIEWERS_FILE),
            hint=f"add one with: sluis enclave reviewer add {name} --work W",
        )
    return name


def authenticate(enclave: Path, name: str, password: str) -> bool:
    """Whether ``password`` is reviewer ``name``'s. An unknown name costs the same scrypt
    as a known one, so the time taken does not tell which names exist."""
    record = load(enclave).get(name)
    if record is None:
        _hash(password, b"\0" * 16, SCRYPT)
        return False
    params = record["scrypt"]
    digest = _hash(password, bytes.fromhex(params["salt"]), params)
    return hmac.compare_digest(digest.hex(), record["hash"])
