"""Sealed from the run's first write (G9, G10; issue 18 item 2): ``sluis run`` writes its
staged extract and the SCRA's treated files and suppressions to a private folder and seals
them into the workspace, so the workspace never holds them in plaintext: not after a run
that was not delivered, not after a run killed with SIGKILL half-way (once the next
command swept what it left), not after a refused delivery. Real runs, real AES-GCM, a real
``kill -9``; the plaintext to look for is taken through the vault.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sluis.flow import run_spec
from sluis.flow.deliver import DeliveryRefused, deliver
from sluis.flow.retain import opened_held
from sluis.flow.run import PARTIAL
from sluis.retain import register, vault
from sluis.retain.hold import SEALED
from sluis.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
DAY = dt.date(2026, 12, 1)
ENTRY = [sys.executable, "-c", "from sluis.cli.app import main; main()"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("belgium") / "sources"
    generate(out, scale=0.003, seed=11, workers=2)
    return out


@pytest.fixture(scope="module")
def ran(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 25/074 phase-1 run, not delivered."""
    work = tmp_path_factory.mktemp("run")
    run_spec(SPEC, data, phase=1, work=work, check=False)
    return work


def _plaintext(home: Path) -> dict[str, bytes]:
    """The bytes of every file the run sealed (staged, treated, suppressions), read
    through the vault."""
    out = {}
    for folder, _ in SEALED:
        with opened_held(home / folder) as plain:
            out |= {f"{folder}/{p.name}": p.read_bytes() for p in plain.rglob("*") if p.is_file()}
    return out


def _slices(data: bytes, n: int = 4) -> list[bytes]:
    """``n`` 64-byte slices spread over ``data`` (Parquet pages start after the magic)."""
    if len(data) < 64:
        return [data]
    step = max(1, (len(data) - 64) // n)
    return [data[i : i + 64] for i in range(4, len(data) - 64, step)][:n]


def _workspace_bytes(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def _leaks(home: Path, plaintext: dict[str, bytes]) -> list[tuple[str, str]]:
    """(plaintext file, workspace file) pairs where a 64-byte slice of the first is found
    in the second."""
    stored = _workspace_bytes(home)
    return [
        (name, where)
        for name, data in plaintext.items()
        for piece in _slices(data)
        for where, content in stored.items()
        if piece in content
    ]


def _parquet_files(home: Path) -> list[str]:
    """Files under ``home`` that are readable Parquet (the magic at both ends)."""
    found = []
    for path in home.rglob("*"):
        if path.is_file() and path.stat().st_size >= 8:
            with open(path, "rb") as fh:
                head = fh.read(4)
                fh.seek(-4, os.SEEK_END)
                tail = fh.read(4)
            if head == b"PAR1" and tail == b"PAR1":
                found.append(str(path.relative_to(home)))
    return found


def test_g9_a_run_not_delivered_keeps_nothing_in_plaintext(ran: Path) -> None:
    """G9: after ``sluis run`` (no delivery) every staged, treated and suppression file is
    sealed under the run's one data key; no file in the party's workspace is a readable
    Parquet file and no 64-byte slice of the plaintext is in any of them; the SCRA's
    reports stay plain and name the workspace's folders, not the private copy."""
    home = ran / "ksz"
    plaintext = _plaintext(home)
    assert {n.split("/")[0] for n in plaintext} == {"staged", "scra"}
    assert len([n for n in plaintext if n.startswith("staged/")]) == 5
    assert _parquet_files(home) == []
    assert _leaks(home, plaintext) == []
    keys = {vault.key_id_of(p) for f, _ in SEALED for p in vault.sealed_files(home / f)}
    assert len(keys) == 1
    assert vault.key_file(home / "keys", keys.pop()).is_file()
    report = json.loads((home / "scra" / "scra.json").read_text())
    assert report["staged"] == str(home / "staged") and report["out"] == str(home / "scra")
    text = (home / "scra" / "scra.json").read_text()
    assert "sluis-vault-" not in text and vault.WORK_TMP not in text  # no private folder
    assert (home / "scra" / "recipient" / "scra.json").is_file()
    assert not (home / PARTIAL).exists() and not (home / vault.WORK_TMP).exists()


def test_g9_a_rerun_destroys_the_replaced_runs_key_unless_a_delivery_holds_it(
    ran: Path, data: Path, tmp_path: Path
) -> None:
    """G9: ``run --force`` replaces the earlier sealed output and destroys its data key
    when nothing in the register holds it; after a delivery the key stays (the delivered
    package is sealed under it until its deadline) and the next run gets a key of its
    own."""
    work = tmp_path / "w"
    shutil.copytree(ran, work)
    home = work / "ksz"
    first = vault.held_key(home / "staged")
    run_spec(SPEC, data, phase=1, work=work, check=False, force=True)
    second = vault.held_key(home / "staged")
    assert second and second != first
    assert not vault.key_file(home / "keys", first).exists()
    summary = deliver(SPEC, work, created=DAY)
    assert vault.held_key(Path(summary.package)) == second  # already sealed: the run's key
    held = [line for line in register.lines(home) if line["event"] == "delivered"]
    assert [line["key_id"] for line in held] == [second]
    run_spec(SPEC, data, phase=1, work=work, check=False, force=True)
    third = vault.held_key(home / "staged")
    assert third not in (first, second)
    assert vault.key_file(home / "keys", second).is_file()  # the delivery holds it
    store, package = home / "keys", Path(summary.package)
    with vault.opened(package, store=store, purpose="package", work=home) as plain:
        assert (plain / "manifest-sha256.txt").is_file()  # and the package still opens


def test_g9_g10_a_run_killed_half_way_leaves_no_plaintext_after_the_next_command(
    ran: Path, data: Path, tmp_path: Path
) -> None:
    """G9, G10: ``sluis run`` killed with SIGKILL while its plaintext is in its private
    folder (here the workspace's ``.vault-tmp``: no memory file system) leaves it there;
    the next command removes it, and the killed run's data key and its sealed partial
    output go too. Afterwards no readable Parquet file and no slice of the plaintext."""
    work = tmp_path / "w"
    shutil.copytree(ran, work)
    home = work / "ksz"
    plaintext = _plaintext(home)
    env = {**os.environ, vault.MEMORY_ENV: str(tmp_path / "no-memory")}
    args = ["run", str(SPEC), "--data", str(data), "--phase", "1", "--work", str(work)]
    proc = subprocess.Popen(
        [*ENTRY, *args, "--force", "--no-check"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    private = home / vault.WORK_TMP
    deadline = time.monotonic() + 180
    while not list(private.glob("*/staged/*.parquet")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it wrote its plaintext"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _parquet_files(home), "what the kill leaves: plaintext in the private folder"
    assert (home / PARTIAL).is_dir()
    made = json.loads((home / PARTIAL / "data-key.json").read_text())["key_id"]
    assert vault.key_file(home / "keys", made).is_file()
    again = subprocess.run(
        [*ENTRY, *args, "--force", "--no-check"], env=env, capture_output=True, text=True
    )
    assert again.returncode in (0, 1), again.stderr[-2000:]
    assert _parquet_files(home) == []
    assert _leaks(home, plaintext) == []
    assert not (home / PARTIAL).exists() and list(private.iterdir()) == []
    assert not vault.key_file(home / "keys", made).exists()
    assert vault.held_key(home / "staged") != made


def test_g9_g8_a_refused_delivery_leaves_nothing_in_plaintext(ran: Path, tmp_path: Path) -> None:
    """G9, G8: a delivery refused by the privacy scan (a national number in a treated
    file, sealed in as a bug upstream would leave it) removes the package it built; the
    workspace then holds no readable Parquet file and no slice of the plaintext, the
    package's included."""
    work = tmp_path / "w"
    shutil.copytree(ran, work)
    home = work / "ksz"
    sealed = home / "scra" / "staged" / f"panel.parquet{vault.SUFFIX}"
    key_id = vault.key_id_of(sealed)
    with opened_held(home / "scra" / "staged") as plain:
        table = pq.read_table(plain / "panel.parquet")
    values = table["household_size"].to_pylist()
    values[0] = 99092700170  # a valid national number
    index = table.schema.get_field_index("household_size")
    table = table.set_column(index, table.schema.field(index), pa.array(values, pa.int64()))
    with vault.private_folder(home) as scratch:
        pq.write_table(table, scratch / "panel.parquet")
        key = vault.load_data_key(home / "keys", key_id)
        label = "treated/panel.parquet"
        vault.seal_file(scratch / "panel.parquet", sealed, key=key, key_id=key_id, label=label)
    plaintext = _plaintext(home)
    with pytest.raises(DeliveryRefused) as err:
        deliver(SPEC, work, created=DAY)
    assert err.value.rule == "privacy-scan"
    assert not (home / "delivery").exists()
    assert _parquet_files(home) == []
    assert _leaks(home, plaintext) == []
