"""Jobs: a researcher's script submitted to the enclave, run in the sandbox, its outputs
checked (A5, G10).

A job is a folder with a script and a ``job.yaml``::

    language: python            # or r
    entry: script.py            # the script, relative to the folder
    description: Employment by years since arrival and by naturalisation.
    author: an.researcher       # or sluis enclave submit --author
    outputs:                    # what it means to write (the reviewers compare)
      - employment_by_arrival.csv

:func:`submit` validates it, copies it to ``enclave/jobs/<job-id>/`` (ids ``j0001``,
``j0002``, ... in submission order), records ``job-submitted``, runs it in the sandbox
(:mod:`sluis.enclave.sandbox`), records ``job-run`` with the script's digest and the data's
checkpoint, then checks every output and log and records ``job-checked``. ``run.json``
says where the job stands at every moment (``submitted``, ``running``, ``finished``,
``failed``, ``stopped``); a job that did not finish cannot have its outputs released.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from sluis.atomic import write_text
from sluis.deliver.package import sha256_file
from sluis.enclave.sandbox import Limits, Outcome, run_sandboxed
from sluis.enclave.workspace import Enclave
from sluis.errors import SluisError
from sluis.spec.model import Spec

JOB_FILE = "job.yaml"
#: the largest job folder accepted (code, not data)
MAX_CODE_BYTES = 20 << 20
#: the helper library's folder, mounted read-only in the sandbox
LIBRARY = Path(__file__).resolve().parent / "researcher"
_ID_WIDTH = 4


class JobError(SluisError):
    """A job file or folder the enclave refuses."""


class JobFile(BaseModel):
    """``job.yaml``: what the researcher says about the job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Literal["python", "r"]
    entry: str = Field(min_length=1)
    description: str = Field(min_length=1)
    author: str = ""
    outputs: list[str] = []


@dataclass(frozen=True)
class JobRun:
    """A job after :func:`submit`: its id, folder and how its run ended."""

    id: str
    folder: Path
    outcome: Outcome
    #: the checks' overall verdict (pass, review, fail), or "" when they did not run
    verdict: str


def read_job_file(folder: Path) -> JobFile:
    """The validated ``job.yaml`` of ``folder``; every problem names the file and field."""
    path = Path(folder) / JOB_FILE
    if not path.is_file():
        raise JobError("no job file", rule="job-file", file=str(path))
    try:
        raw = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as err:
        raise JobError(f"not YAML: {err}", rule="job-file", file=str(path)) from None
    if not isinstance(raw, dict):
        raise JobError("not a mapping of fields", rule="job-file", file=str(path))
    try:
        job = JobFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise JobError(
            f"field {where}: {first['msg']}",
            rule="job-field",
            file=str(path),
            column=where,
            hint="fields: language (python|r), entry, description, author, outputs",
        ) from None
    entry = Path(job.entry)
    if entry.is_absolute() or ".." in entry.parts or not (Path(folder) / entry).is_file():
        raise JobError(
            f"field entry: {job.entry} is not a file of the job folder",
            rule="job-field",
            file=str(path),
            column="entry",
        )
    return job


def _check_folder(folder: Path) -> None:
    """Only plain files and folders, and not too much: a symbolic link would be followed
    when the folder is copied, and bring a host file into the sandbox."""
    total = 0
    for p in folder.rglob("*"):
        if p.is_symlink() or not (p.is_file() or p.is_dir()):
            raise JobError(
                "a job folder holds only plain files and folders",
                rule="job-folder",
                file=str(p),
            )
        total += p.stat().st_size if p.is_file() else 0
    if total > MAX_CODE_BYTES:
        raise JobError(
            f"{total >> 20} MiB of code; a job folder holds at most {MAX_CODE_BYTES >> 20} MiB",
            rule="job-folder",
            file=str(folder),
            hint="a job brings code; its data are in the enclave",
        )


def _new_id(jobs: Path) -> tuple[str, Path]:
    """The next job id and its folder, created at once (two submissions never share one)."""
    jobs.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name[1:]) for p in jobs.glob("j*") if p.name[1:].isdigit()]
    number = max(taken, default=0) + 1
    while True:
        job_id = f"j{number:0{_ID_WIDTH}d}"
        try:
            (jobs / job_id).mkdir()
        except FileExistsError:
            number += 1
            continue
        return job_id, jobs / job_id


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write_run(folder: Path, record: dict[str, Any]) -> None:
    write_text(folder / "run.json", json.dumps(record, indent=2, sort_keys=True) + "\n")


def code_digest(code: Path) -> str:
    """One digest over the job's code folder (every file's path and SHA-256)."""
    lines = "".join(
        f"{sha256_file(p)}  {p.relative_to(code).as_posix()}\n"
        for p in sorted(code.rglob("*"))
        if p.is_file()
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def submit(
    enclave: Enclave,
    jobdir: Path,
    *,
    author: str | None = None,
    limits: dict[str, int | None] | None = None,
) -> JobRun:
    """Submit the job in ``jobdir`` and run it (see the module docstring). ``limits``
    lowers the spec's limits for this job."""
    jobdir = Path(jobdir)
    job = read_job_file(jobdir)
    _check_folder(jobdir)
    author = author or job.author
    if not author:
        raise JobError(
            "field author: the job has no author",
            rule="job-field",
            file=str(jobdir / JOB_FILE),
            column="author",
            hint="name the author in job.yaml or with --author (the author cannot review)",
        )
    checkpoint = enclave.checkpoint()
    spec = enclave.spec()
    allowed = Limits.from_spec(spec.enclave).lowered(**(limits or {}))
    job_id, folder = _new_id(enclave.jobs)
    shutil.copytree(jobdir, folder / "code")
    recorded = job.model_copy(update={"author": author}).model_dump()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with (folder / JOB_FILE).open("w", encoding="utf-8") as fh:
        yaml.dump(recorded, fh)
    script = sha256_file(folder / "code" / job.entry)
    record: dict[str, Any] = {
        "job": job_id,
        "state": "submitted",
        "author": author,
        "language": job.language,
        "entry": job.entry,
        "limits": allowed.as_record(),
        "script_sha256": script,
        "code_sha256": code_digest(folder / "code"),
        "data_checkpoint": checkpoint,
        "submitted": _now(),
    }
    _write_run(folder, record)
    with enclave.log() as audit:
        audit.append(
            "job-submitted",
            {
                "job": job_id,
                "author": author,
                "language": job.language,
                "entry": job.entry,
                "script_sha256": script,
                "code_sha256": record["code_sha256"],
            },
        )
    return _run(enclave, folder, job, record, allowed, spec)


def _run(
    enclave: Enclave,
    folder: Path,
    job: JobFile,
    record: dict[str, Any],
    limits: Limits,
    spec: Spec,
) -> JobRun:
    record |= {"state": "running", "started": _now()}
    _write_run(folder, record)
    # the data are sealed at rest: opened into a private folder for this job and its
    # checks, bound read-only at /data, removed when they are done
    with enclave.opened_data() as data:
        outcome = run_sandboxed(
            [f"/code/{job.entry}"],
            language=job.language,
            code=folder / "code",
            data=data,
            output=folder / "outputs",
            logs=folder / "logs",
            library=LIBRARY,
            limits=limits,
        )
        return _ended(enclave, folder, record, outcome, spec, data)


def _ended(
    enclave: Enclave,
    folder: Path,
    record: dict[str, Any],
    outcome: Outcome,
    spec: Spec,
    data: Path,
) -> JobRun:
    """Record how the job ended, then check its outputs against the ``data`` it ran on."""
    record |= {
        "state": outcome.state,
        "exit_code": outcome.exit_code,
        "reason": outcome.reason,
        "seconds": outcome.seconds,
        "ended": _now(),
    }
    _write_run(folder, record)
    with enclave.log() as audit:
        audit.append(
            "job-run",
            {
                "job": record["job"],
                "state": outcome.state,
                "exit": outcome.exit_code,
                "reason": outcome.reason,
                "script_sha256": record["script_sha256"],
                "data_checkpoint": record["data_checkpoint"],
                "seconds": outcome.seconds,
            },
        )
    verdict = check_job(enclave, folder, spec, data=data)
    return JobRun(record["job"], folder, outcome, verdict)


def check_job(enclave: Enclave, folder: Path, spec: Spec, *, data: Path) -> str:
    """Run the automatic output checks on every file of the job's ``outputs/`` and
    ``logs/`` (``data``: the enclave's data, opened), write ``checks.json`` and record
    ``job-checked``; returns the verdict."""
    try:
        from sluis.enclave.checks import check_outputs
        from sluis.enclave.checks.report import Thresholds
    except ImportError:  # the checks are built alongside (issue 17); without them: review
        return ""
    files = sorted(
        p for sub in ("outputs", "logs") for p in (folder / sub).rglob("*") if p.is_file()
    )
    report = check_outputs(
        files,
        folder,
        thresholds=Thresholds.from_spec(spec),
        released=enclave.releases,
        data=data,
    )
    result = report.to_json()
    write_text(folder / "checks.json", json.dumps(result, indent=2, sort_keys=True) + "\n")
    os.chmod(folder / "checks.json", 0o644)
    with enclave.log() as audit:
        audit.append(
            "job-checked",
            {
                "job": folder.name,
                "verdict": result["verdict"],
                "outputs": {o["file"]: o["verdict"] for o in result["outputs"]},
            },
        )
    return str(result["verdict"])


def list_jobs(enclave: Enclave) -> list[dict[str, Any]]:
    """Every job's ``run.json`` (with its checks' verdict), oldest first."""
    found = []
    if not enclave.jobs.is_dir():
        return found
    for folder in sorted(p for p in enclave.jobs.iterdir() if p.is_dir()):
        record_path = folder / "run.json"
        if not record_path.is_file():
            continue
        record = json.loads(record_path.read_text(encoding="utf-8"))
        checks = folder / "checks.json"
        record["verdict"] = (
            json.loads(checks.read_text(encoding="utf-8"))["verdict"] if checks.is_file() else ""
        )
        found.append(record)
    return found


__all__ = [
    "JobError",
    "JobFile",
    "JobRun",
    "check_job",
    "list_jobs",
    "read_job_file",
    "submit",
]
