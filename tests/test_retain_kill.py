"""A destruction killed with SIGKILL half-way is completed by a rerun, and never recorded as
done before every file is gone (G9, G10; issue 18 item 2).

A real `sluis retain destroy` process is slowed by its test hook (a pause after each
destroyed file) and killed once the data key and some files are gone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sluis.retain import register, vault
from sluis.retain.clock import today
from sluis.retain.shred import PAUSE_ENV
from sluis.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
PACKAGE = "25-074-uantwerpen-20291030"
ENTRY = [sys.executable, "-c", "from sluis.cli.app import main; main()"]
pytestmark = pytest.mark.slow
if shutil.which("age") is None:
    pytestmark = [pytestmark, pytest.mark.skip(reason="the age tool is not installed")]


def sluis(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ENTRY, *args], capture_output=True, text=True, check=False, **kwargs)


def test_g9_a_killed_destruction_is_completed_by_a_rerun(tmp_path: Path) -> None:
    """G9, G10: kill -9 after the key and some files are destroyed: the register says
    destruction-requested (not destroyed), the audit log still verifies, and a rerun
    destroys the rest and records every file of the inventory taken before the kill."""
    generate(tmp_path / "sources", scale=0.002, seed=5, workers=1)
    work = tmp_path / "work"
    home = work / "ksz"
    ran = sluis(
        "run", str(SPEC), "--data", str(tmp_path / "sources"), "--phase", "1", "--work", str(work)
    )
    assert ran.returncode == 0, ran.stderr
    sent = sluis("deliver", str(SPEC), "--work", str(work), "--date", "2029-10-30")
    assert sent.returncode == 0, sent.stderr
    entry = register.entry(home, PACKAGE, today=today("2029-10-31"))
    key = vault.key_file(home / "keys", entry.key_id)
    held = sorted(p for f in entry.files for p in (home / f).rglob("*.sealed"))
    assert len(held) > 20 and key.exists()

    env = {**os.environ, PAUSE_ENV: "0.5"}
    args = ["retain", "destroy", PACKAGE, "--work", str(work), "--today", "2029-10-31"]
    proc = subprocess.Popen(
        [*ENTRY, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while sum(not p.exists() for p in held) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline, "the destruction did not start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    gone = [p for p in held if not p.exists()]
    assert 3 <= len(gone) < len(held), "the kill came too late to test anything"
    assert not key.exists()  # the key goes first: what is left cannot be read
    state = register.entry(home, PACKAGE, today=today("2029-10-31"))
    assert state.state == "destruction-requested"
    assert not (home / "destruction" / f"{PACKAGE}.json").exists()
    events = [line["event"] for line in register.lines(home) if line["delivery"] == PACKAGE]
    assert "destroyed" not in events
    # the killed process could not seal its log: intact, but open until the next command
    killed_log = sluis("audit", "verify", str(home / "audit.log"), "--open")
    assert killed_log.returncode == 0, killed_log.stdout + killed_log.stderr
    listed = json.loads(
        sluis("retain", "list", "--work", str(work), "--json", "--today", "2029-10-31").stdout
    )
    assert {e["delivery"]: e["state"] for e in listed}[PACKAGE] == "destruction-requested"

    rerun = sluis(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert "completed an interrupted destruction" in rerun.stdout
    assert not any(p.exists() for p in held)
    record = json.loads((home / "destruction" / f"{PACKAGE}.json").read_text())
    names = {f["name"] for f in record["files"]}
    assert {p.relative_to(home).as_posix() for p in held} <= names
    assert register.entry(home, PACKAGE, today=today("2029-10-31")).state == "destroyed"
    verified = sluis("audit", "verify", str(home / "audit.log"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
