"""The enclave's data at rest and their retention (G9, B10, A5; issues 17 and 18):
``sluis enclave build`` seals the enclave's data and the phase-2 run's staged extract under
a data key and registers them (entry ``25-074-enclave``, the spec's deadline); each job
opens them through the vault into a private folder removed after it; ``sluis retain
destroy`` crypto-shreds them, after which no job runs (a one-line error) and a copy of the
sealed files taken before cannot be opened. Real bubblewrap, real AES-GCM, no mocks."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enclave_world import DAY, ROOT, SPEC, World, make_world, write_job
from sluis.audit import verify
from sluis.cli.app import app
from sluis.enclave.jobs import submit
from sluis.enclave.workspace import DATA_PURPOSE, EnclaveError, build_data, digest_tree
from sluis.retain import register, vault

pytestmark = pytest.mark.slow

COUNT = """
import os, duckdb
n = duckdb.sql(f"SELECT count(*) FROM '{os.environ['SLUIS_DATA']}/parquet/person.parquet'")
print("persons", n.fetchall()[0][0])
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory)


def _plain_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.suffix != vault.SUFFIX]


def test_g9_b10_enclave_build_seals_the_data_and_registers_them(world: World) -> None:
    """At rest only sealed files: the enclave's data and the staged extract it was built
    from, under one data key; the register holds them with the spec's deadline; opened,
    they have the digests (the checkpoint) recorded when the enclave was built."""
    enclave = world.enclave
    record = enclave.record()
    for folder in (enclave.data, enclave.home / "staged"):
        assert vault.sealed_files(folder) and not _plain_files(folder), folder
    keys = {vault.key_id_of(p) for p in vault.sealed_files(enclave.home)}
    assert len(keys) == 1
    entry = register.entry(enclave.home, "25-074-enclave", today=DAY)
    assert (entry.kind, entry.state, entry.decision) == ("enclave", "held", "25/074")
    assert entry.key_id == keys.pop() and entry.deadline == dt.date(2029, 10, 31)
    assert {"enclave/data", "staged"} <= set(entry.files)
    line = next(x for x in register.lines(enclave.home) if x["event"] == "enclave-held")
    assert line["data_checkpoint"] == record["checkpoint"]
    with enclave.opened_data() as data:
        assert digest_tree(data) == record["files"]
        assert all(not os.access(p, os.W_OK) or os.geteuid() == 0 for p in data.rglob("*"))
        assert oct(data.stat().st_mode & 0o777) == "0o555"
    assert not data.exists()  # the private copy is gone after use


def test_a5_a_job_reads_the_opened_data_and_its_private_copy_is_removed(
    world: World, tmp_path: Path
) -> None:
    """The job reads the data at /data (the vault's private plaintext copy, bound
    read-only); when the job and its checks are done, the copy is gone."""
    shm = vault.SHM / f"sluis-vault-{os.getuid()}"
    before = set(shm.iterdir()) if shm.is_dir() else set()
    done = submit(world.enclave, write_job(tmp_path / "job", COUNT))
    assert done.outcome.state == "finished", (done.folder / "logs" / "stderr.txt").read_text()
    persons = world.enclave.record()["rows"]["person"]
    assert (done.folder / "logs" / "stdout.txt").read_text() == f"persons {persons}\n"
    after = set(shm.iterdir()) if shm.is_dir() else set()
    assert after <= before
    assert not (world.enclave.home / vault.WORK_TMP).is_dir() or not any(
        (world.enclave.home / vault.WORK_TMP).iterdir()
    )


def test_g9_b10_destroying_the_enclave_data_stops_jobs_and_shreds_every_copy(
    world: World, tmp_path: Path
) -> None:
    """``sluis retain destroy 25-074-enclave`` destroys the data key, then the sealed
    files; afterwards a job is refused with a one-line error, a rebuild is refused, and a
    copy of the sealed data taken before the destruction no longer opens."""
    enclave, home = world.enclave, world.enclave.home
    copy = tmp_path / "backup"
    shutil.copytree(enclave.data, copy)
    staged_copy = tmp_path / "staged-backup"
    shutil.copytree(home / "staged", staged_copy)
    runner = CliRunner()
    work = str(world.work)
    early = runner.invoke(app, ["retain", "destroy", "25-074-enclave", "--work", work])
    assert early.exit_code == 1 and "needs a reason" in early.output
    done = runner.invoke(
        app,
        ["retain", "destroy", "25-074-enclave", "--work", work, "--reason", "research done"],
    )
    assert done.exit_code == 0, done.output
    assert not enclave.data.exists() and not (home / "staged").exists()
    entry = register.entry(home, "25-074-enclave", today=DAY)
    assert entry.state == "destroyed"
    assert not vault.key_file(enclave.store, entry.key_id).exists()
    assert verify(home / "audit.log").ok
    # a job: refused before anything runs, naming the rule, one line, no traceback
    with pytest.raises(EnclaveError) as err:
        submit(enclave, write_job(tmp_path / "job", COUNT))
    assert err.value.rule == "enclave-destroyed"
    argv = ["enclave", "submit", str(tmp_path / "job"), "--work", work]
    refused = subprocess.run(
        [sys.executable, "-m", "sluis.cli.app", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2, refused.stderr
    assert "enclave-destroyed" in refused.stderr and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    with pytest.raises(EnclaveError, match="destroyed"):
        build_data(world.work, SPEC, created=DAY, force=True)
    # the copies taken before: sealed under a key that no longer exists
    for folder, purpose in ((copy, DATA_PURPOSE), (staged_copy, "staged")):
        with (
            pytest.raises(vault.VaultError) as gone,
            vault.opened(folder, store=enclave.store, purpose=purpose, work=tmp_path),
        ):
            pass
        assert gone.value.rule == "vault-key-missing"
    record = json.loads((home / "destruction" / "25-074-enclave.json").read_text())
    assert record["key_id"] == entry.key_id and record["files"]
