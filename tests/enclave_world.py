"""A phase-2 run of 25/074 on a small synthetic Belgium with its enclave built, and job
folders written on the fly: shared by the enclave's sandbox, jobs and demo tests."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from sluis.enclave.workspace import Enclave, build_data, open_enclave
from sluis.flow import run_spec
from sluis.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
SCALE = 0.003
SEED = 11
DAY = dt.date(2026, 12, 1)


@dataclass(frozen=True)
class World:
    sources: Path
    work: Path
    enclave: Enclave


def make_world(factory: pytest.TempPathFactory) -> World:
    """Synthetic Belgium, phase 2 of 25/074 (an enclave phase) and its enclave data."""
    sources = factory.mktemp("belgium") / "sources"
    generate(sources, scale=SCALE, seed=SEED, workers=2)
    work = factory.mktemp("phase2")
    run_spec(SPEC, sources, phase=2, work=work, check=False)
    build_data(work, SPEC, created=DAY)
    return World(sources, work, open_enclave(work))


def write_job(
    folder: Path, script: str, *, language: str = "python", entry: str | None = None, **fields
) -> Path:
    """A job folder: ``job.yaml`` and its script (dedented)."""
    entry = entry or ("script.py" if language == "python" else "script.R")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / entry).write_text(textwrap.dedent(script))
    job = {
        "language": language,
        "entry": entry,
        "description": "a test job",
        "author": "an.researcher",
        **fields,
    }
    (folder / "job.yaml").write_text(json.dumps(job))  # JSON is YAML
    return folder
