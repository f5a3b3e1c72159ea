"""Runs that survive each other and the machine (X3, X2, G10; issue 22 item 3).

Real `sluis` processes on a small synthetic Belgium: a second command on a locked
workspace is refused at once with one line naming the holder (exit 2), a lock whose holder
was killed with SIGKILL is free again, `sluis run` and `sluis deliver` killed with SIGKILL
after seeded random delays are rerun with ``--force`` to byte-identical output, and a full
disk (a small tmpfs, where the machine lets a test mount one) ends in one line naming the
path, with nothing half-written, and a rerun after space is freed completes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.audit import verify
from sluis.audit.signing import signing_key
from sluis.deliver import verify_package
from sluis.engine.duckdb import SPILL_PREFIX
from sluis.errors import UsageError
from sluis.flow import run_spec
from sluis.flow.deliver import deliver
from sluis.flow.lock import LOCK_NAME, WorkspaceBusy, workspace_lock
from sluis.flow.retain import opened_held
from sluis.pseudo import new_key
from sluis.retain import vault
from sluis.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
DATE = "2026-12-01"
PACKAGE = "25-074-uantwerpen-20261201"
ENTRY = [sys.executable, "-c", "from sluis.cli.app import main; main()"]
pytestmark = pytest.mark.slow
if shutil.which("age") is None:
    pytestmark = [pytestmark, pytest.mark.skip(reason="the age tool is not installed")]


def _sluis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ENTRY, *args], capture_output=True, text=True, check=False)


def _run_args(data: Path, work: Path) -> list[str]:
    return ["run", str(SPEC), "--data", str(data), "--phase", "1", "--work", str(work)]


def _deliver_args(work: Path) -> list[str]:
    return ["deliver", str(SPEC), "--work", str(work), "--date", DATE]


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("belgium") / "sources"
    generate(out, scale=0.002, seed=5, workers=1)
    return out


@pytest.fixture(scope="module")
def reference(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run and delivery: the bytes every interrupted one must give."""
    work = tmp_path_factory.mktemp("reference")
    _ok(_sluis(*_run_args(data, work)))
    _ok(_sluis(*_deliver_args(work)))
    return work


def _same_keys(reference: Path, work: Path) -> None:
    """Give ``work`` the reference's key store (project key and audit signing key), as a
    workspace keeps its own from run to run: the same key gives the same pseudonyms (G3)."""
    shutil.copytree(reference / "ksz" / "keys", work / "ksz" / "keys")


def _digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` by relative path (no file: empty)."""
    if not root.is_dir():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _plain_digests(work: Path, folder: str, purpose: str) -> dict[str, str]:
    """:func:`_digests` of the plaintext of a folder a delivery sealed at rest (G9)."""
    home = work / "ksz"
    with vault.opened(home / folder, store=home / "keys", purpose=purpose, work=home) as plain:
        return _digests(plain)


def _run_output(work: Path) -> dict[str, str]:
    """The run's output: the staged extract, the SCRA's treated copy, suppressions and the
    recipient's report byte for byte; the pseudonymiser's SCRA report without its paths
    (of this workspace) and timings (``run.json`` and the HTML pages hold only these
    besides what is compared)."""
    scra = {k: v for k, v in _digests(work / "ksz" / "scra").items() if ".sealed" not in k}
    files = {
        **{f"staged/{k}": v for k, v in _plain_digests(work, "staged", "staged").items()},
        **{f"scra/{k}": v for k, v in scra.items()},
        **{
            f"scra/staged/{k}": v for k, v in _plain_digests(work, "scra/staged", "treated").items()
        },
        **{
            f"scra/suppressions/{k}": v
            for k, v in _plain_digests(work, "scra/suppressions", "suppressions").items()
        },
    }
    files.pop("scra/scra.html", None)
    report = work / "ksz" / "scra" / "scra.json"
    if report.exists():
        data = json.loads(report.read_text().replace(str(work), "WORK"))
        data.pop("seconds", None)
        files["scra/scra.json"] = json.dumps(data, sort_keys=True)
    return files


#: package files that carry the workspace's own audit log (its signed checkpoint, and the
#: manifests that hash it): the log's times differ from one workspace to another
_OWN_LOG = {"data/audit-checkpoint.json", "manifest-sha256.txt", "tagmanifest-sha256.txt"}


def _package(work: Path) -> dict[str, str]:
    """Digests of the package's files but those of :data:`_OWN_LOG`; the two that also
    give the checkpoint's size and hash are compared without it."""
    home = work / "ksz"
    sealed = home / "delivery" / PACKAGE  # sealed at rest once delivered (G9)
    with vault.opened(sealed, store=home / "keys", purpose="package", work=home) as package:
        files = _digests(package)
        assert files, f"no package in {work}"
        meta = json.loads((package / "data" / "datapackage.json").read_text())
        bag = (package / "bag-info.txt").read_text().splitlines()
    meta["resources"] = [r for r in meta["resources"] if "audit" not in r.get("path", "")]
    files["data/datapackage.json"] = json.dumps(meta, sort_keys=True)
    files["bag-info.txt"] = "\n".join(x for x in bag if not x.startswith("Payload-Oxum"))
    return {k: v for k, v in files.items() if k not in _OWN_LOG}


def _leftovers(work: Path) -> list[str]:
    """Temporary names a killed command left that a rerun did not remove."""
    return sorted(
        str(p.relative_to(work))
        for p in work.rglob("*")
        if p.name.endswith((".tmp", ".partial", ".old")) and p.exists()
    )


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*ENTRY, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the kill takes its children too (age, DuckDB has none)
    )


def _kill_after(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL the process group of ``proc`` after ``delay`` seconds; False when it had
    already ended."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


# --- the workspace lock -----------------------------------------------------------------


def _hold_lock(work: Path) -> subprocess.Popen[str]:
    """A process that holds the workspace's lock until it is killed, as a run would."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from sluis.flow.lock import workspace_lock\n"
        "with workspace_lock(Path(sys.argv[1]), 'sluis run held-by-test'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(work)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_x3_a_second_command_on_a_held_workspace_is_refused_until_the_holder_is_killed(
    reference: Path, data: Path, tmp_path: Path
) -> None:
    """X3: `sluis run` and `sluis deliver` on a workspace another process holds are refused
    at once, exit 2, one line naming the workspace and the holder's pid and command, and
    touch nothing; once the holder is killed with SIGKILL the lock is free and the next
    command proceeds."""
    work = tmp_path / "work"
    shutil.copytree(reference, work)
    before = _digests(work)
    del before[LOCK_NAME]  # the holder writes its pid and command into it
    holder = _hold_lock(work)
    try:
        for args in ([*_run_args(data, work), "--force"], _deliver_args(work)):
            started = time.monotonic()
            result = _sluis(*args)
            assert time.monotonic() - started < 30
            assert result.returncode == 2, result.stdout + result.stderr
            lines = [line for line in (result.stdout + result.stderr).splitlines() if line]
            assert len(lines) == 1, lines
            assert "Traceback" not in lines[0]
            assert f"{work}: work-busy:" in lines[0]
            assert f"pid {holder.pid} (sluis run held-by-test)" in lines[0]
        assert {k: v for k, v in _digests(work).items() if k != LOCK_NAME} == before
    finally:
        holder.kill()
        holder.wait()
    _ok(_sluis(*_deliver_args(work), "--force"))
    assert _package(work) == _package(reference)


def test_x3_wait_waits_for_the_holder(reference: Path, tmp_path: Path) -> None:
    """X3: with ``wait``, a delivery waits for the command holding the workspace (told who
    it is), then delivers."""
    work = tmp_path / "work"
    shutil.copytree(reference, work)
    holder = _hold_lock(work)
    heard: list[str] = []
    threading_timer = threading.Timer(1.5, holder.kill)
    threading_timer.start()
    try:
        started = time.monotonic()
        deliver(SPEC, work, created=dt.date.fromisoformat(DATE), force=True, wait=True,
                notify=heard.append)  # fmt: skip
        assert time.monotonic() - started >= 1.0
    finally:
        threading_timer.cancel()
        holder.kill()
        holder.wait()
    assert heard and f"pid {holder.pid}" in heard[0]
    assert _package(work) == _package(reference)


def test_x3_lock_file_is_the_only_trace_of_a_lock(reference: Path) -> None:
    """X3: the lock leaves one small file in the workspace root, never in the package."""
    assert (reference / LOCK_NAME).is_file()
    assert not any(p.name == LOCK_NAME for p in (reference / "ksz").rglob("*"))


def test_x3_lock_is_per_open_file_and_a_failed_command_leaves_no_workspace(
    tmp_path: Path,
) -> None:
    """X3, X2: the lock refuses a second holder even in the same process (flock is per
    open file), is free once released, and a command that created the workspace and
    failed before writing anything leaves no workspace behind (a delivery of no run)."""
    work = tmp_path / "work"
    busy = f"pid {os.getpid()} \\(sluis run first\\)"
    with (
        workspace_lock(work, "sluis run first"),
        pytest.raises(WorkspaceBusy, match=busy),
        workspace_lock(work, "sluis deliver second"),
    ):
        pass
    with workspace_lock(work, "sluis deliver third"):
        pass
    missing = tmp_path / "no-run"
    with pytest.raises(UsageError, match="no run in the workspace"):
        deliver(SPEC, missing, created=dt.date.fromisoformat(DATE))
    assert not missing.exists()


@settings(max_examples=50, deadline=None)
@given(content=st.binary(max_size=200) | st.text(max_size=60).map(lambda t: f"12 {t}".encode()))
def test_x2_x3_any_lock_file_content_gives_a_one_line_refusal(content: bytes) -> None:
    """X2, X3: whatever the lock file holds (a holder killed while writing it, garbage),
    the refusal is one line naming the workspace and, when it can, the holder."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with workspace_lock(work, "x"):
            (work / LOCK_NAME).write_bytes(content)
            with pytest.raises(WorkspaceBusy) as refused, workspace_lock(work, "y"):
                pass
        line = str(refused.value)
        assert "\n" not in line and line.startswith(f"{work}: work-busy: ")


# --- kill -9 ----------------------------------------------------------------------------


def test_x3_run_killed_at_random_moments_reruns_to_the_same_bytes(
    reference: Path, data: Path, tmp_path: Path
) -> None:
    """X3: `sluis run` killed with SIGKILL after seeded random delays (from before the
    sources check to the SCRA), rerun with ``--force`` on the same workspace (whose key
    store is kept), gives the staged extract and SCRA of an uninterrupted run byte for
    byte; no temporary file is left, and the killed engine's spill directory (in the
    workspace) is removed by the next command."""
    rng = random.Random(22)
    want = _run_output(reference)
    killed = 0
    for i, delay in enumerate(sorted(rng.uniform(1.0, 8.0) for _ in range(3))):
        work = tmp_path / f"work{i}"
        _same_keys(reference, work)
        proc = _start(_run_args(data, work))
        killed += _kill_after(proc, delay)
        assert not (work / "run.json").exists() or _run_output(work) == want
        _ok(_sluis(*_run_args(data, work), "--force"))
        # the killed engine spilled inside the workspace, never in the system's temporary
        # directory, and its spill directory went with the next command on the workspace
        assert list(Path(tempfile.gettempdir()).glob(f"{SPILL_PREFIX}{proc.pid}-*")) == []
        assert list(work.glob(f"**/{SPILL_PREFIX}{proc.pid}-*")) == []
        assert _run_output(work) == want, f"delay {delay:.2f} s"
        assert _leftovers(work) == []
    assert killed >= 2, "the delays must kill most runs before they end"


def test_x3_delivery_killed_at_random_moments_reruns_to_the_same_package(
    reference: Path, tmp_path: Path
) -> None:
    """X3, G8: `sluis deliver` killed with SIGKILL after seeded random delays, rerun with
    ``--force`` and the same ``--date``, builds the package of an uninterrupted delivery
    byte for byte (but for the workspace's own audit checkpoint), and no temporary file is
    left."""
    rng = random.Random(2022)
    want = _package(reference)
    for i, delay in enumerate(sorted(rng.uniform(0.5, 4.0) for _ in range(2))):
        work = tmp_path / f"work{i}"
        shutil.copytree(reference, work)
        shutil.rmtree(work / "ksz" / "delivery")
        _kill_after(_start(_deliver_args(work)), delay)
        _ok(_sluis(*_deliver_args(work), "--force"))
        assert _package(work) == want, f"delay {delay:.2f} s"
        assert _leftovers(work) == []


# --- a full disk ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """An 8 MiB tmpfs mounted for the test (root only; skipped where it cannot be)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    ) if shutil.which("mount") else None  # fmt: skip
    if mounted is None or mounted.returncode != 0:
        why = "no mount command" if mounted is None else mounted.stderr.strip()
        pytest.skip(f"cannot mount a small tmpfs here ({why}); the full-disk test needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


#: the stages' progress lines before the error
PROGRESS = ("check sources", "select", "draw", "frames", "extract", "pseudonymise", "coarsen",
            "write", "small-cell", "seal")  # fmt: skip


def _fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` with a ballast file, leaving ``leave`` bytes free."""
    stat = os.statvfs(disk)
    ballast = disk / "ballast"
    with ballast.open("wb") as fh:
        fh.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return ballast


@pytest.mark.parametrize("leave_kib", [16, 160])  # the staged extract, the SCRA
def test_x3_x2_a_full_disk_is_one_line_naming_the_path_and_a_rerun_completes(
    small_disk: Path, reference: Path, data: Path, leave_kib: int
) -> None:
    """X2, X3: `sluis run` with its workspace on a disk that fills up at different stages
    ends in one line naming the path it could not write (exit 2), leaves no staged
    extract, partial or SCRA under any name, and once space is freed a plain rerun (no
    ``--force``) completes with the bytes of an uninterrupted run."""
    work = small_disk / "work"
    _same_keys(reference, work)
    ballast = _fill(small_disk, leave_kib * 1024)
    result = _sluis(*_run_args(data, work))
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line]
    assert result.returncode == 2, lines
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in lines if not line.startswith(PROGRESS)]
    assert len(errors) == 1 and "disk-full" in errors[0] and f"{work}/" in errors[0], errors
    assert not (work / "run.json").exists()
    assert [
        p.name for p in (work / "ksz").iterdir() if "staged" in p.name or "scra" in p.name
    ] == []
    ballast.unlink()
    _ok(_sluis(*_run_args(data, work)))
    assert _run_output(work) == _run_output(reference)
    assert _leftovers(work) == []


@pytest.mark.parametrize("leave_kib", [200, 1500, 3000])  # the exports, the package, the tar
def test_x3_x2_g8_a_disk_full_while_delivering_is_one_line_and_a_rerun_delivers(
    small_disk: Path, reference: Path, leave_kib: int
) -> None:
    """X2, X3, G8: `sluis deliver` on a disk that fills up while it writes the exports,
    the package or the archive ends in one line naming the path (exit 2); nothing is
    encrypted or recorded as delivered, a package left under its final name is complete,
    and once space is freed a plain rerun delivers the package of an uninterrupted one."""
    work = small_disk / "work"
    shutil.copytree(reference, work, ignore=shutil.ignore_patterns("delivery"))
    ballast = _fill(small_disk, leave_kib * 1024)
    result = _sluis(*_deliver_args(work))
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line]
    assert result.returncode == 2, lines
    assert "Traceback" not in result.stdout + result.stderr
    assert len(lines) == 1 and "disk-full" in lines[0] and f"{work}" in lines[0], lines
    out = work / "ksz" / "delivery"
    assert not (out / "delivery.json").exists()
    assert not (out / f"{PACKAGE}.tar.age").exists()
    if (out / PACKAGE).exists():
        assert verify_package(out / PACKAGE) == []
    ballast.unlink()
    _ok(_sluis(*_deliver_args(work)))
    assert _package(work) == _package(reference)
    assert _leftovers(work) == []


def test_x3_g10_a_run_with_a_key_store_of_its_own_is_delivered(data: Path, tmp_path: Path) -> None:
    """G3, G10, X3: a run given ``--key-store`` signs its audit log with the party's key in
    that store, and `sluis deliver` (which has no such option) appends to the same log
    with the same key instead of refusing it as tampered."""
    store, work = tmp_path / "keys", tmp_path / "work"
    new_key(store, "25-074")
    first = run_spec(SPEC, data, phase=1, work=work, key_store=store)
    assert first.key_store == str(store.resolve())
    deliver(SPEC, work, created=dt.date.fromisoformat(DATE))
    assert not (work / "ksz" / "keys").exists()
    assert verify(work / "ksz" / "audit.log", signing_key(store, "ksz")).ok


# --- kill -9 while the trusted third party holds the providers' data (26/050) -------------

SPEC_26050 = ROOT / "specs" / "26-050.yaml"


def test_x3_b1_g10_linked_run_killed_holding_providers_data_reruns_and_destroys_it(
    data: Path, tmp_path: Path
) -> None:
    """X3, B1, G10: a 26/050 run killed with SIGKILL while Statbel holds what KSZ and VDAB
    sent (decrypted, before it is linked and destroyed): the rerun with ``--force``
    destroys those leftovers with a record in Statbel's audit log, leaves none of the
    providers' data, lists or plaintext extracts anywhere, and stages the bytes of an
    uninterrupted run with the same keys."""
    args = ["run", str(SPEC_26050), "--data", str(data)]
    reference = tmp_path / "reference"
    want = _sluis(*args, "--work", str(reference))
    assert want.returncode in (0, 1), want.stdout[-2000:] + want.stderr[-2000:]
    work = tmp_path / "work"
    for keys in reference.glob("*/keys"):
        shutil.copytree(keys, work / keys.parent.name / "keys")
    proc = _start([*args, "--work", str(work)])
    held = work / "statbel" / "received"
    deadline = time.monotonic() + 120
    while not any(held.glob("*/files/*/*.parquet")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before Statbel held the providers' data"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(held.glob("*/files/*/*.parquet"))  # what the kill leaves: plaintext data
    again = _sluis(*args, "--work", str(work), "--force")
    assert again.returncode == want.returncode, again.stdout[-2000:] + again.stderr[-2000:]
    # sealed from the run's first write (G9): the plaintext is compared, through the vault
    with (
        opened_held(work / "statbel" / "staged") as staged,
        opened_held(reference / "statbel" / "staged") as want_staged,
    ):
        assert _digests(staged) == _digests(want_staged) != {}
    assert not held.exists()
    left = [p for p in work.rglob("*") if p.is_file() and p.parent.name in (".work", ".lists")]
    assert left == [] and list((work / "statbel" / "inbox").iterdir()) == []
    log = (work / "statbel" / "audit.log").read_text()
    assert "left by an earlier run that did not finish" in log
    assert _leftovers(work) == []
