"""Reviews of a job's outputs (A5, G10): who approved or rejected which file, and the rules
a release obeys.

A job's outputs are the files under its ``outputs/`` and ``logs/`` folders (logs leak data
too), each with the verdict of the automatic checks (``checks.json``). A reviewer approves
or rejects one output with a comment; the review records the file's SHA-256, so editing the
file voids every review of it (the digest no longer matches). The rules, after OpenSAFELY's
Airlock and the SATRE specification:

- an output is released only when two different reviewers approve it, neither of them the
  job's author, and no reviewer's latest decision on it is a rejection;
- an output whose checks say ``fail`` cannot be approved, only rejected: a failed rule
  (a count of 3, a dominated cell, sequence numbers) is a fact about the file, not a matter
  of judgement; the researcher changes the code and runs it again;
- an output that was not checked (no ``checks.json`` entry, or the file changed since) and
  the outputs of a job that did not finish cannot be approved.

Reviews are lines of ``enclave/reviews/<job-id>.jsonl`` (appended, never rewritten); each
decision is also an ``output-reviewed`` or ``output-rejected`` record in the party's audit
log, which carries the review line's SHA-256 so that the comments cannot be changed
unseen. Rules live in pure functions (:func:`tally`, :func:`refusal`) that the tests
exercise with hypothesis.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from sluis.audit.log import AuditLog, format_time, utc_now
from sluis.enclave import reviewers
from sluis.enclave.workspace import open_enclave
from sluis.errors import SluisError
from sluis.files import sha256_file

Decision = Literal["approve", "reject"]
#: a job id as the jobs code makes them (``j0001``)
JOB_ID = re.compile(r"j[0-9]{4,}")
#: the helper library's metadata next to a table: reviewed and released with its table
#: (one without a table, a model's record, is an output of its own)
SIDECAR = ".meta.json"
#: the folders of a job whose files are outputs
OUTPUT_FOLDERS = ("outputs", "logs")
#: the longest comment kept (a comment says what was checked, not the data)
MAX_COMMENT = 2000


class ReviewError(SluisError):
    """A review that the rules refuse (the author reviewing, a failed output approved, an
    unknown job or output)."""


@dataclass(frozen=True)
class Output:
    """One output file of a job, as the reviewers see it."""

    #: path relative to the job folder (``outputs/table.csv``, ``logs/stdout.txt``)
    file: str
    sha256: str
    size: int
    #: pass, review or fail from ``checks.json``; ``unchecked`` when it has no entry,
    #: ``stale`` when the file changed after it was checked
    verdict: str
    findings: tuple[dict[str, Any], ...] = ()
    #: the helper library's metadata file for this output, relative to the job folder;
    #: it is released with the output and a review covers it too
    sidecar: str | None = None
    sidecar_sha256: str | None = None

    @property
    def version(self) -> tuple[str, str | None]:
        """What a review holds for: the file's digest and its sidecar's."""
        return self.sha256, self.sidecar_sha256


@dataclass(frozen=True)
class Job:
    """A job folder read for review: the researcher's notes, its run and its outputs."""

    id: str
    folder: Path
    author: str
    description: str
    language: str
    entry: str
    state: str
    run: dict[str, Any]
    verdict: str
    outputs: tuple[Output, ...]

    def output(self, file: str) -> Output:
        """The output ``file`` (relative to the job folder), else :class:`ReviewError`."""
        for out in self.outputs:
            if out.file == file:
                return out
        raise ReviewError(
            f"job {self.id} has no output {file}",
            rule="output-unknown",
            file=str(self.folder),
            hint=f"its outputs: {', '.join(o.file for o in self.outputs) or 'none'}",
        )


@dataclass(frozen=True)
class Review:
    """One decision on one output, as a line of ``reviews/<job-id>.jsonl``."""

    job: str
    output: str
    sha256: str
    reviewer: str
    decision: Decision
    comment: str
    time: str
    #: ``web`` (logged in with a password) or ``cli`` (the operator's shell account)
    via: str
    #: the operating-system account that ran the command or the server
    account: str
    #: the digest of the output's sidecar when it has one (editing it voids the review too)
    sidecar_sha256: str | None = None

    @property
    def version(self) -> tuple[str, str | None]:
        """The version of the output this review holds for."""
        return self.sha256, self.sidecar_sha256

    def line(self) -> bytes:
        """The canonical JSON line of this review (sorted keys, one line)."""
        return (json.dumps(asdict(self), sort_keys=True, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class Status:
    """Where one output stands: its current reviews and whether it may be released."""

    output: Output
    #: reviews of the file as it is now, oldest first
    current: tuple[Review, ...]
    #: reviews of an earlier version of the file (void)
    void: int
    approvers: tuple[str, ...]
    rejecters: tuple[str, ...]
    approved: bool
    #: released already (in these releases), with this digest
    released: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------ the rules


def tally(
    reviews: Iterable[Review], version: tuple[str, str | None], author: str
) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """The approvers and rejecters of an output as it is now (``version``: its digest and
    its sidecar's, :attr:`Output.version`), and the number of void reviews. Each reviewer's
    latest current decision counts; the author's never does (a hand-edited reviews file
    cannot make the author a reviewer)."""
    latest: dict[str, Decision] = {}
    void = 0
    for review in reviews:
        if review.version != version:
            void += 1
        elif not same_person(review.reviewer, author):
            latest.pop(review.reviewer, None)  # keep the order of the latest decisions
            latest[review.reviewer] = review.decision
    approvers = tuple(name for name, d in latest.items() if d == "approve")
    rejecters = tuple(name for name, d in latest.items() if d == "reject")
    return approvers, rejecters, void


def is_approved(approvers: Sequence[str], rejecters: Sequence[str]) -> bool:
    """Two different reviewers approve and nobody's latest decision is a rejection."""
    return len(set(approvers)) >= 2 and not rejecters


def same_person(reviewer: str, author: str) -> bool:
    """Whether a reviewer name and a job's author are the same person (case and spaces
    ignored: ``An.Peeters`` wrote the job, ``an.peeters`` may not review it)."""
    return reviewer.strip().casefold() == author.strip().casefold()


def refusal(
    *, reviewer: str, author: str, state: str, verdict: str, decision: Decision
) -> str | None:
    """Why ``reviewer`` may not take ``decision`` on an output, or None when allowed."""
    if same_person(reviewer, author):
        return f"{reviewer} wrote this job: an author does not review their own outputs"
    if state != "finished":
        return f"the job is {state}: only the outputs of a finished job are reviewed"
    if decision == "approve" and verdict == "fail":
        return "the automatic checks fail this output: it can only be rejected"
    if decision == "approve" and verdict in ("unchecked", "stale"):
        what = "was not checked" if verdict == "unchecked" else "changed after its checks"
        return f"this output {what}: run sluis enclave check on it before approving"
    return None


# ------------------------------------------------------------------ reading


def job_folder(enclave: Path, job_id: str) -> Path:
    """The folder of job ``job_id``, else :class:`ReviewError`."""
    folder = enclave / "jobs" / job_id
    if not JOB_ID.fullmatch(job_id) or not folder.is_dir():
        raise ReviewError(
            f"no job {job_id} in this enclave",
            rule="job-unknown",
            file=str(enclave / "jobs"),
            hint="list the jobs with: sluis enclave jobs --work W",
        )
    return folder


def job_ids(enclave: Path) -> list[str]:
    """The ids of the enclave's jobs, oldest first."""
    jobs = enclave / "jobs"
    if not jobs.is_dir():
        return []
    return sorted(p.name for p in jobs.iterdir() if p.is_dir() and JOB_ID.fullmatch(p.name))


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ReviewError(f"not JSON: {err}", rule="job-file", file=str(path)) from None
    if not isinstance(value, dict):
        raise ReviewError("not a JSON object", rule="job-file", file=str(path))
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReviewError("the job has no job.yaml", rule="job-file", file=str(path))
    try:
        value = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except YAMLError as err:
        raise ReviewError(f"not YAML: {err}", rule="job-file", file=str(path)) from None
    if not isinstance(value, dict):
        raise ReviewError("not a mapping", rule="job-file", file=str(path))
    return value


def _sidecar(folder: Path, rel: str) -> str | None:
    path = folder / rel
    for candidate in (path.with_name(path.name + SIDECAR), path.with_suffix(SIDECAR)):
        if candidate != path and candidate.is_file():
            return candidate.relative_to(folder).as_posix()
    return None


#: verdicts from the most to the least severe
_SEVERITY = ("fail", "stale", "unchecked", "review", "pass")


def _worst(a: str, b: str) -> str:
    return min(a, b, key=lambda v: _SEVERITY.index(v) if v in _SEVERITY else 0)


def _checked(
    entry: dict[str, Any] | None, path: Path, digest: str, checked_at: int
) -> tuple[str, tuple[dict, ...]]:
    """The verdict and findings ``checks.json`` gives the file at ``path``: ``stale`` when
    the file changed after it was checked (its digest differs from the one the entry
    records, or, for an entry without one, the file is newer than ``checks.json``, whose
    modification time is ``checked_at``)."""
    if entry is None:
        return "unchecked", ()
    findings = tuple(f for f in entry.get("findings", []) if isinstance(f, dict))
    recorded = entry.get("sha256")
    changed = recorded != digest if recorded else path.stat().st_mtime_ns > checked_at
    if changed:
        return "stale", findings
    return str(entry.get("verdict", "unchecked")), findings


def load_job(enclave: Path, job_id: str) -> Job:
    """Read job ``job_id``: ``job.yaml``, ``run.json``, ``checks.json`` and the digest of
    every output file. A ``.meta.json`` sidecar goes with its table (the worse of their
    verdicts counts); a sidecar without a table (a model's record) is an output itself."""
    folder = job_folder(enclave, job_id)
    spec = _read_yaml(folder / "job.yaml")
    run = _read_json(folder / "run.json")
    checks = _read_json(folder / "checks.json")
    checked_at = (folder / "checks.json").stat().st_mtime_ns if checks else 0
    checked = {
        str(entry.get("file")): entry
        for entry in checks.get("outputs", [])
        if isinstance(entry, dict)
    }
    files = [
        path.relative_to(folder).as_posix()
        for sub in OUTPUT_FOLDERS
        if (folder / sub).is_dir()
        for path in sorted((folder / sub).rglob("*"))
        if path.is_file() and not path.is_symlink()
    ]
    sidecars = {rel: _sidecar(folder, rel) for rel in files if not rel.endswith(SIDECAR)}
    attached = {side for side in sidecars.values() if side}
    outputs = []
    for rel in files:
        if rel in attached:
            continue  # goes with its table
        side = sidecars.get(rel)
        digest = sha256_file(folder / rel)
        verdict, findings = _checked(checked.get(rel), folder / rel, digest, checked_at)
        side_digest = None
        if side is not None:
            side_digest = sha256_file(folder / side)
            side_verdict, side_findings = _checked(
                checked.get(side), folder / side, side_digest, checked_at
            )
            verdict = _worst(verdict, side_verdict)
            findings += side_findings
        outputs.append(
            Output(rel, digest, (folder / rel).stat().st_size, verdict, findings, side, side_digest)
        )
    return Job(
        id=job_id,
        folder=folder,
        author=str(spec.get("author", "")),
        description=str(spec.get("description", "")),
        language=str(spec.get("language", "")),
        entry=str(spec.get("entry", "")),
        state=str(run.get("state", "submitted")),
        run=run,
        verdict=str(checks.get("verdict", "unchecked")),
        outputs=tuple(outputs),
    )


def reviews_path(enclave: Path, job_id: str) -> Path:
    """The reviews file of job ``job_id``."""
    return enclave / "reviews" / f"{job_id}.jsonl"


def load_reviews(enclave: Path, job_id: str) -> list[Review]:
    """The reviews of job ``job_id``, oldest first."""
    path = reviews_path(enclave, job_id)
    if not path.is_file():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(Review(**json.loads(line)))
        except (ValueError, TypeError) as err:
            raise ReviewError(
                f"not a review: {err}", rule="reviews-file", file=str(path), line=number
            ) from None
    return found


def status(enclave: Path, job: Job, released: dict[tuple[str, str], list[str]]) -> list[Status]:
    """Where each output of ``job`` stands; ``released`` maps (file, sha256) to the
    releases that hold it (:func:`sluis.enclave.release.released_outputs`)."""
    reviews = load_reviews(enclave, job.id)
    found = []
    for out in job.outputs:
        mine = [r for r in reviews if r.output == out.file]
        approvers, rejecters, void = tally(mine, out.version, job.author)
        found.append(
            Status(
                output=out,
                current=tuple(r for r in mine if r.version == out.version),
                void=void,
                approvers=approvers,
                rejecters=rejecters,
                approved=is_approved(approvers, rejecters) and out.verdict in ("pass", "review"),
                released=tuple(released.get((out.file, out.sha256), [])),
            )
        )
    return found


# ------------------------------------------------------------------ deciding


def open_enclave_log(enclave: Path) -> AuditLog:
    """The audit log of the party whose enclave root is ``enclave`` (``W/ksz/audit.log``),
    signed with the key store the run used."""
    return open_enclave(enclave.parent.parent).log()


def decide(
    enclave: Path,
    job_id: str,
    file: str,
    *,
    reviewer: str,
    decision: Decision,
    comment: str,
    via: str,
) -> Review:
    """Record ``reviewer``'s ``decision`` on output ``file`` of job ``job_id``.

    Checks the reviewer exists, the rules (:func:`refusal`) and that the comment says
    something; then writes the audit record and appends the review, under a lock on the
    reviews file so that two reviewers deciding at once both count.
    """
    reviewers.require(enclave, reviewer)
    comment = comment.strip()
    if not comment:
        raise ReviewError(
            "a review needs a comment: what was checked, or why the output is refused",
            rule="review-comment",
        )
    if len(comment) > MAX_COMMENT:
        raise ReviewError(
            f"the comment is longer than {MAX_COMMENT} characters", rule="review-comment"
        )
    path = reviews_path(enclave, job_id)
    job_folder(enclave, job_id)  # no reviews file for a job that is not there
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        job = load_job(enclave, job_id)
        out = job.output(file)
        why = refusal(
            reviewer=reviewer,
            author=job.author,
            state=job.state,
            verdict=out.verdict,
            decision=decision,
        )
        if why:
            raise ReviewError(why, rule=f"review-{decision}", file=f"{job_id}/{file}")
        review = Review(
            job=job_id,
            output=file,
            sha256=out.sha256,
            sidecar_sha256=out.sidecar_sha256,
            reviewer=reviewer,
            decision=decision,
            comment=comment,
            time=format_time(utc_now()),
            via=via,
            account=getpass.getuser(),
        )
        line = review.line()
        event = "output-reviewed" if decision == "approve" else "output-rejected"
        with open_enclave_log(enclave) as audit:
            audit.append(
                event,
                {
                    "stage": "enclave",
                    "job": job_id,
                    "output": file,
                    "sha256": out.sha256,
                    "reviewer": reviewer,
                    "decision": decision,
                    "via": via,
                    "review_sha256": hashlib.sha256(line).hexdigest(),
                },
            )
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return review
