"""A phase-2 enclave with one finished job, built by hand in the agreed layout
(docs/enclave.md, "Interfaces"), for the review and release tests: real files, a real
audit log and key store, checks.json as the checks code writes it.

The job (j0001, by an.peeters) has five outputs: two safe tables written by the helper
library with their sidecars (pass; one a magnitude table with top contributions), a table
with a count of 3 (fail, cell [2, "persons"]), a model summary (review) and the job's
stdout and stderr (pass).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import sluis.enclave
from sluis.enclave import reviewers
from sluis.spec.load import read_document

SPEC = Path(__file__).resolve().parents[1] / "specs" / "25-074.yaml"

AUTHOR = "an.peeters"
PASSWORD = "correct horse battery"
#: reviewers of the fixture: two output checkers, and the author (who also reviews
#: other projects' outputs, so she has an account)
REVIEWERS = ("bart.claes", "chloe.maes", AUTHOR)

#: employed persons by years since arrival and naturalisation (a count table)
SAFE_TABLE = {
    "years_since_arrival": ["0-4", "0-4", "5-9", "5-9", "10+", "10+"],
    "naturalised": ["no", "yes", "no", "yes", "no", "yes"],
    "n": [412, 95, 633, 287, 702, 804],
}
#: yearly earnings (a magnitude table; top1 and top2 stay in the sidecar)
EARNINGS_TABLE = {
    "naturalised": ["no", "yes"],
    "n": [1747, 1186],
    "total": [48_912_000, 39_640_000],
    "top1": [151_000, 162_000],
    "top2": [148_000, 133_000],
}
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


def helper_library():
    """The researchers' helper library (``sluis_output``), as jobs import it."""
    path = Path(sluis.enclave.__file__).parent / "researcher" / "sluis_output.py"
    spec = importlib.util.spec_from_file_location("sluis_output", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    library = helper_library()
    library.table(SAFE_TABLE, "employment_by_years", kind="count", output=job / "outputs")
    library.table(EARNINGS_TABLE, "earnings", kind="magnitude", output=job / "outputs")
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
            {"file": "outputs/employment_by_years.meta.json", "verdict": "pass", "findings": []},
            {"file": "outputs/earnings.csv", "verdict": "pass", "findings": []},
            {"file": "outputs/earnings.meta.json", "verdict": "pass", "findings": []},
            {
                "file": "outputs/small_cells.csv",
                "verdict": "fail",
                "findings": [
                    {
                        "rule": "min-frequency",
                        "verdict": "fail",
                        "message": "1 cell counts fewer than 10 persons (3)",
                        "cells": [[2, "persons"]],
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
    run = {
        "decision": "25/074",
        "phase": 2,
        "phase_mode": "enclave",
        "party": "ksz",
        "spec_sha256": read_document(SPEC).sha256,
    }
    (work / "run.json").write_text(json.dumps(run))
    record = {"checkpoint": "0" * 64, "spec": str(SPEC)}  # the spec: a release's deadline
    (enclave / "data.json").write_text(json.dumps(record))
    write_job(enclave)
    for name in REVIEWERS:
        reviewers.add(enclave, name, PASSWORD)
    return enclave
