"""A phase-2 enclave with one finished job, built by hand in the agreed layout
(docs/enclave.md, "Interfaces"), for the review and release tests: real files, a real
audit log and key store, checks.json as the checks code writes it.

The job (j0001, by an.peeters) has four outputs: a safe table with its helper-library
sidecar (pass), a table with a count of 3 (fail, cell [1, 2]), a model summary (review)
and the job's stdout (pass).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sluis.enclave import reviewers

AUTHOR = "an.peeters"
PASSWORD = "correct horse battery"
#: reviewers of the fixture: two output checkers, and the author (who also reviews
#: other projects' outputs, so she has an account)
REVIEWERS = ("bart.claes", "chloe.maes", AUTHOR)

SAFE_CSV = (
    "years_since_arrival,naturalised,employed,persons\n"
    "0-4,no,412,1030\n"
    "0-4,yes,95,180\n"
    "5-9,no,633,1102\n"
    "5-9,yes,287,455\n"
    "10+,no,702,1187\n"
    "10+,yes,804,1260\n"
)
SMALL_CSV = (
    "region,naturalised,persons\n"
    "Brussels,no,120\n"
    "Brussels,yes,3\n"
    "Flanders,no,340\n"
    "Flanders,yes,57\n"
)
MODEL_TXT = (
    "logit(employed) ~ years_since_arrival + naturalised\n"
    "coef naturalised  0.41 (se 0.06)\n"
    "residual df 6012\n"
)
STDOUT = "read 6214 persons\nwrote employment_by_years.csv\n"
DESCRIPTION = (
    "Employment by years since arrival and naturalisation (decision 25/074 §4).\n"
    "Same script as on the phase-1 package; the small table is a test of the checks."
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_job(enclave: Path, job_id: str = "j0001", *, state: str = "finished") -> Path:
    """Write a finished job with its outputs, logs and checks.json; returns its folder."""
    job = enclave / "jobs" / job_id
    (job / "code").mkdir(parents=True)
    (job / "outputs").mkdir()
    (job / "logs").mkdir()
    (job / "code" / "analysis.py").write_text("print('hello')\n")
    (job / "job.yaml").write_text(
        "language: python\n"
        "entry: analysis.py\n"
        f"author: {AUTHOR}\n"
        "outputs: [employment_by_years.csv, small_cells.csv, model.txt]\n"
        "description: |\n" + "".join(f"  {line}\n" for line in DESCRIPTION.splitlines())
    )
    (job / "outputs" / "employment_by_years.csv").write_text(SAFE_CSV)
    meta = {"kind": "frequency", "counts": [[1030], [180], [1102], [455], [1187], [1260]]}
    (job / "outputs" / "employment_by_years.csv.meta.json").write_text(json.dumps(meta))
    (job / "outputs" / "small_cells.csv").write_text(SMALL_CSV)
    (job / "outputs" / "model.txt").write_text(MODEL_TXT)
    (job / "logs" / "stdout.txt").write_text(STDOUT)
    (job / "logs" / "stderr.txt").write_text("")
    (job / "run.json").write_text(
        json.dumps({"state": state, "exit_code": 0, "reason": None, "limits": {}})
    )
    checks = {
        "verdict": "fail",
        "outputs": [
            {"file": "outputs/employment_by_years.csv", "verdict": "pass", "findings": []},
            {
                "file": "outputs/small_cells.csv",
                "verdict": "fail",
                "findings": [
                    {
                        "rule": "min-frequency",
                        "verdict": "fail",
                        "message": "1 cell counts fewer than 10 persons (3)",
                        "cells": [[1, 2]],
                    }
                ],
            },
            {
                "file": "outputs/model.txt",
                "verdict": "review",
                "findings": [
                    {
                        "rule": "unchecked-model",
                        "verdict": "review",
                        "message": "a model summary without the helper library's metadata",
                        "cells": [],
                    }
                ],
            },
            {"file": "logs/stdout.txt", "verdict": "pass", "findings": []},
            {"file": "logs/stderr.txt", "verdict": "pass", "findings": []},
        ],
    }
    (job / "checks.json").write_text(json.dumps(checks, indent=2))
    return job


def make_enclave(work: Path) -> Path:
    """``work/ksz/enclave`` with job j0001 and the reviewers of :data:`REVIEWERS`."""
    enclave = work / "ksz" / "enclave"
    (enclave / "data").mkdir(parents=True)
    write_job(enclave)
    for name in REVIEWERS:
        reviewers.add(enclave, name, PASSWORD)
    return enclave
