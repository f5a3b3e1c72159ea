"""The enclave's part of ``sluis demo`` (A5, X4, G10) on a small synthetic Belgium: phase 2
of 25/074, the enclave's data, the example job on the phase-1 package and in the enclave,
its checks, two reviewers approving from the command line, the release package, and the
audit log intact. The whole demo (``./dev run``) runs the same function at scale 0.01."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from enclave_world import DAY, SCALE, SEED, SPEC
from sluis.audit import verify
from sluis.cli.enclave_demo import REVIEWERS, demo_enclave
from sluis.deliver import build_package, verify_package
from sluis.flow import run_spec
from sluis.flow.retain import opened_held
from sluis.spec import load_spec, spec_digest
from sluis.synth import generate

pytestmark = pytest.mark.slow


def test_a5_x4_the_demo_runs_the_example_job_inside_and_out_and_releases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a fresh clone the demo writes to the relative out/demo: so does this test (a
    relative folder once broke the job outside the enclave, which runs in its own folder)."""
    sources = tmp_path / "sources"
    generate(sources, scale=SCALE, seed=SEED, workers=2)
    run_spec(SPEC, sources, phase=1, work=tmp_path / "run-25-074", check=False)
    scra = tmp_path / "run-25-074" / "ksz" / "scra"
    opened = tmp_path / "recipient-25-074" / "opened"
    with opened_held(scra / "staged") as treated:  # sealed from the run's first write (G9)
        build_package(load_spec(SPEC), spec_digest(SPEC), treated, scra, opened, created=DAY)
    out = Console(record=True, width=200)
    monkeypatch.chdir(tmp_path.parent)
    relative = Path(tmp_path.name)
    assert demo_enclave(out, Console(stderr=True), SPEC, relative / "sources", relative)
    shown = out.export_text()
    assert "researcher: ran " in shown and ": exit 0, wrote employment_by_" in shown
    assert "job j0001: finished" in shown
    work = tmp_path / "run-25-074-phase2"
    enclave = work / "ksz" / "enclave"
    outside = sorted(p.name for p in (tmp_path / "researcher-25-074" / "output").glob("*.csv"))
    inside = sorted(p.name for p in (enclave / "jobs" / "j0001" / "outputs").glob("*.csv"))
    assert (
        outside
        == inside
        == [
            "employment_by_naturalised.csv",
            "employment_by_years_since_arrival.csv",
        ]
    )
    (release,) = (enclave / "releases").glob("r*")
    record = json.loads((release / "release.json").read_text())
    released = sorted(Path(p).name for p in (release / "outputs").rglob("*.csv"))
    assert released == inside
    assert set(REVIEWERS) <= set(json.dumps(record).split('"'))
    events = [json.loads(line)["event"] for line in (work / "ksz" / "audit.log").open()]
    for event in ("enclave-built", "job-submitted", "job-run", "job-checked", "released"):
        assert event in events
    assert events.count("output-reviewed") == 2 * 4  # two reviewers, two tables, two logs
    assert verify(work / "ksz" / "audit.log").ok
    assert not verify_package(next(opened.iterdir()))
