"""Release packages (A5, G10): the outputs of a job that two reviewers approved, copied
out of the enclave with their digests, check results, reviews and the audit log's
checkpoint.

``enclave/releases/<release-id>/`` (ids ``r0001``, ``r0002``, ... in the order they were
made) holds:

- ``outputs/...`` and ``logs/...``: the released files, at the paths they had in the job
  folder, each with its ``.meta.json`` sidecar when the helper library wrote one, without
  the cells' largest contributions (the checks needed them; a reader must not see them);
- ``release.json``: the job, the researcher's notes, every output with its SHA-256, its
  check verdict and findings, its reviewers and their comments, and a signed checkpoint of
  the audit log taken after the ``released`` record (``sluis audit verify LOG --checkpoint
  release.json`` proves the log still holds that record);
- ``manifest-sha256.txt``: the SHA-256 of every other file (``sha256sum -c``).

The package is built under a temporary name and renamed when complete, so a failed release
leaves no package; each file is hashed again after it was copied and must still have the
digest the reviewers approved (an output edited during the release is not released).
An output already released with the same digest is not released again.

Every release joins the delivery register of the party (``register.jsonl``, issue 18) as
entry ``<project>-enclave-<release id>``: decision, recipient, researchers, the manifest's
SHA-256, the audit checkpoint it carried and the spec's deadline. A release that reached
its folder but not the register (a kill between the two) is registered by the next
release, or by :func:`register_releases`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluis.atomic import fsync_dir
from sluis.audit.log import format_time, utc_now
from sluis.enclave.checks.load import public_sidecar
from sluis.enclave.reviews import (
    Job,
    ReviewError,
    Status,
    load_job,
    open_enclave_log,
    sha256_file,
    status,
)
from sluis.enclave.workspace import open_enclave
from sluis.retain import clock, hold, register

#: a release id
RELEASE_ID = re.compile(r"r[0-9]{4,}")
#: the file of a release that describes it
RELEASE_JSON = "release.json"
#: the manifest of a release
MANIFEST = "manifest-sha256.txt"


class ReleaseError(ReviewError):
    """A release that cannot be made: nothing approved, or a file changed meanwhile."""


@dataclass(frozen=True)
class ReleaseInfo:
    """A release as built: where it is and what it holds (paths relative to it)."""

    id: str
    path: Path
    job: str
    files: tuple[str, ...]
    checkpoint: dict[str, Any]
    #: the release's entries newly put into the delivery register (this one, and any an
    #: earlier, interrupted release left out)
    registered: tuple[str, ...] = ()


def releases_dir(enclave: Path) -> Path:
    """The folder of the enclave's releases."""
    return enclave / "releases"


def release_ids(enclave: Path) -> list[str]:
    """The ids of the enclave's complete releases, oldest first."""
    root = releases_dir(enclave)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and RELEASE_ID.fullmatch(p.name))


def load_release(enclave: Path, release_id: str) -> dict[str, Any]:
    """The ``release.json`` of release ``release_id``."""
    path = releases_dir(enclave) / release_id / RELEASE_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReleaseError(f"not a release: {err}", rule="release-file", file=str(path)) from None


def released_outputs(enclave: Path, job_id: str) -> dict[tuple[str, str], list[str]]:
    """For job ``job_id``: (file, sha256) of each released output to the releases holding
    it."""
    found: dict[tuple[str, str], list[str]] = {}
    for rid in release_ids(enclave):
        document = load_release(enclave, rid)
        if document.get("job") != job_id:
            continue
        for out in document.get("outputs", []):
            found.setdefault((out["file"], out["sha256"]), []).append(rid)
    return found


def job_status(enclave: Path, job_id: str) -> tuple[Job, list[Status]]:
    """Job ``job_id`` and where each of its outputs stands (reviews, releases)."""
    job = load_job(enclave, job_id)
    return job, status(enclave, job, released_outputs(enclave, job_id))


def _next_id(enclave: Path) -> str:
    ids = release_ids(enclave)
    return f"r{int(ids[-1][1:]) + 1:04d}" if ids else "r0001"


def _copy(source: Path, target: Path, expected: str | None) -> str:
    """Copy ``source`` to ``target``; the copy's SHA-256, which must be ``expected``."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    shutil.copyfile(source, target)
    os.chmod(target, 0o640)
    digest = sha256_file(target)
    if expected is not None and digest != expected:
        raise ReleaseError(
            "the file changed after it was approved: its reviews are void, nothing is released",
            rule="release-changed",
            file=str(source),
        )
    return digest


def _describe(item: Status, sidecar: dict[str, str] | None) -> dict[str, Any]:
    out = item.output
    return {
        "file": out.file,
        "sha256": out.sha256,
        "bytes": out.size,
        "verdict": out.verdict,
        "findings": list(out.findings),
        "sidecar": sidecar,
        "reviews": [
            {"reviewer": r.reviewer, "comment": r.comment, "time": r.time, "via": r.via}
            for r in item.current
            if r.decision == "approve" and r.reviewer in item.approvers
        ],
    }


def check_deadline(enclave: Path, today: dt.date) -> None:
    """Refuse a release after the spec's retention deadline (issue 18: releasing again
    after the deadline is refused; the data the results come from are due for
    destruction)."""
    deadline = open_enclave(enclave.parent.parent).spec().retention.deadline
    if deadline is not None and today > deadline:
        raise ReleaseError(
            f"the retention deadline {deadline.isoformat()} has passed ({today.isoformat()}): "
            "nothing more is released from this enclave",
            rule="release-after-deadline",
            file=str(enclave),
            hint="destroy its data: sluis retain destroy --due --work W",
        )


def build_release(enclave: Path, job_id: str, *, today: dt.date | None = None) -> ReleaseInfo:
    """Release the approved, not yet released outputs of job ``job_id``.

    Refuses when no output is approved by two reviewers (or all approved ones were released
    already). Writes the ``released`` audit record, checkpoints the log and puts the
    checkpoint into ``release.json``; the package appears under its id only when complete.
    One release is built at a time (a lock in the releases folder), so two reviewers
    pressing the button at once make one release, and the second finds nothing new.
    Refused after the spec's retention deadline (``today``: :func:`sluis.retain.clock.today`).
    """
    check_deadline(enclave, today or clock.today())
    root = releases_dir(enclave)
    root.mkdir(parents=True, exist_ok=True, mode=0o750)
    fd = os.open(root / ".lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _build(enclave, root, job_id)
    finally:
        os.close(fd)


def _build(enclave: Path, root: Path, job_id: str) -> ReleaseInfo:
    job, statuses = job_status(enclave, job_id)
    chosen = [s for s in statuses if s.approved and not s.released]
    if not chosen:
        pending = sum(not s.approved for s in statuses)
        done = sum(bool(s.released) for s in statuses if s.approved)
        raise ReleaseError(
            f"nothing to release from job {job_id}: no output is approved by two reviewers "
            f"that was not released already ({pending} not approved, {done} released)",
            rule="release-nothing",
            file=str(job.folder),
            hint="approve outputs: sluis enclave approve JOB OUTPUT --reviewer NAME",
        )
    release_id = _next_id(enclave)
    tmp = root / f".{release_id}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir(mode=0o750)
    try:
        outputs = []
        for item in chosen:
            source = job.folder / item.output.file
            _copy(source, tmp / item.output.file, item.output.sha256)
            sidecar = None
            if item.output.sidecar:
                side = item.output.sidecar
                _copy(job.folder / side, tmp / side, item.output.sidecar_sha256)
                (tmp / side).write_bytes(public_sidecar(tmp / side))
                sidecar = {
                    "file": side,
                    "sha256": item.output.sidecar_sha256,
                    "released_sha256": sha256_file(tmp / side),
                }
            outputs.append(_describe(item, sidecar))
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        sums = {name: sha256_file(tmp / name) for name in files}
        listing = "".join(f"{sums[name]}  {name}\n" for name in files)
        with open_enclave_log(enclave) as audit:
            audit.append(
                "released",
                {
                    "stage": "enclave",
                    "release": release_id,
                    "job": job_id,
                    "outputs": len(outputs),
                    "files": len(files),
                    "files_sha256": hashlib.sha256(listing.encode()).hexdigest(),
                },
            )
            checkpoint = audit.checkpoint()
        document = {
            "release": release_id,
            "job": job_id,
            "author": job.author,
            "description": job.description,
            "created": format_time(utc_now()),
            "released_by": getpass.getuser(),
            "outputs": outputs,
            "audit_checkpoint": checkpoint,
        }
        (tmp / RELEASE_JSON).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        sums[RELEASE_JSON] = sha256_file(tmp / RELEASE_JSON)
        manifest = "".join(f"{sums[name]}  {name}\n" for name in sorted(sums))
        (tmp / MANIFEST).write_text(manifest, encoding="utf-8")
        for path in tmp.rglob("*"):
            os.chmod(path, 0o750 if path.is_dir() else 0o640)
            if path.is_file():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
        for folder in sorted({p.parent for p in tmp.rglob("*")} | {tmp}, reverse=True):
            fsync_dir(folder)
        os.rename(tmp, root / release_id)
        fsync_dir(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return ReleaseInfo(
        id=release_id,
        path=root / release_id,
        job=job_id,
        files=tuple(sorted(sums)),
        checkpoint=checkpoint,
        registered=tuple(register_releases(enclave)),
    )


def register_releases(enclave: Path) -> list[str]:
    """Put every release of ``enclave`` that the party's delivery register does not list
    yet into it (G9, G10); returns the entries written. Idempotent: a release is one entry,
    whichever release or rerun writes it."""
    space = open_enclave(enclave.parent.parent)
    listed = {line["delivery"] for line in register.lines(space.home)}
    spec = space.spec()
    project = spec.slug
    missing = [r for r in release_ids(enclave) if hold.release_entry(project, r) not in listed]
    if not missing:
        return []
    written = []
    with space.log() as audit:
        for release_id in missing:
            folder = releases_dir(enclave) / release_id
            document = load_release(enclave, release_id)
            written.append(
                hold.hold_release(
                    space.home,
                    audit=audit,
                    spec=spec,
                    release=folder,
                    manifest_sha256=sha256_file(folder / MANIFEST),
                    checkpoint=document.get("audit_checkpoint"),
                    job=str(document.get("job", "")),
                    created=dt.date.fromisoformat(str(document["created"])[:10]),
                )
            )
    return written
