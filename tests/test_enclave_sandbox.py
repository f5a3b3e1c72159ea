"""The enclave's sandbox holds (A5, decision 25/074 §29): a job cannot reach the network
(not even a server on the host's 127.0.0.1), cannot read the key store or the audit log,
cannot write outside /output, and is stopped with its reason when it forks without bound,
sleeps past its wall time, allocates past its memory or writes past its output limit. The
enclave's data files keep their digests (sealed at rest, opened through the vault for
each job). Real bubblewrap, real processes, no mocks."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from enclave_world import World, make_world, write_job
from sluis.audit import verify
from sluis.enclave.jobs import submit
from sluis.enclave.sandbox import JOB_UID_BASE
from sluis.enclave.workspace import digest_tree

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory)


def _run(world: World, tmp_path: Path, script: str, **limits: int):
    job = write_job(tmp_path / "job", script)
    return submit(world.enclave, job, limits=limits)


def _record(done) -> dict:
    return json.loads((done.folder / "run.json").read_text())


def test_a5_a_job_reads_the_data_and_writes_its_output(world: World, tmp_path: Path) -> None:
    """The sandbox works at all: SLUIS_DATA is /data (the enclave's data), SLUIS_OUTPUT
    /output, the environment holds nothing else of the host's."""
    done = _run(
        world,
        tmp_path,
        """
        import os, json, duckdb
        data = os.environ["SLUIS_DATA"]
        n = duckdb.sql(f"SELECT count(*) FROM '{data}/parquet/person.parquet'")
        out = {"n": n.fetchall()[0][0], "env": dict(os.environ), "uid": os.getuid()}
        open(os.path.join(os.environ["SLUIS_OUTPUT"], "out.json"), "w").write(json.dumps(out))
        """,
    )
    assert done.outcome.state == "finished", _record(done)
    out = json.loads((done.folder / "outputs" / "out.json").read_text())
    assert out["n"] == world.enclave.record()["rows"]["person"]
    allowed = {"SLUIS_DATA", "SLUIS_OUTPUT", "PATH", "HOME", "LANG", "PYTHONPATH"}
    assert set(out["env"]) <= allowed | {"SLUIS_OUTPUT_R", "PWD"}  # bwrap sets PWD
    assert (out["env"]["SLUIS_DATA"], out["env"]["HOME"], out["env"]["PWD"]) == (
        "/data",
        "/tmp",
        "/code",
    )
    assert out["uid"] >= JOB_UID_BASE
    assert (done.folder / "outputs" / "out.json").stat().st_uid == os.geteuid()


def test_a5_no_network_not_even_the_hosts_loopback(world: World, tmp_path: Path) -> None:
    """A server listening on the host's 127.0.0.1 is unreachable from a job."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[object] = []
    server.settimeout(15)

    def serve() -> None:
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        done = _run(
            world,
            tmp_path,
            f"""
            import socket
            socket.create_connection(("127.0.0.1", {port}), timeout=5).sendall(b"rows")
            """,
        )
    finally:
        server.close()
        thread.join()
    assert not accepted
    assert done.outcome.state == "failed"
    assert done.outcome.reason.startswith("exit code 1 (") and "Error" in done.outcome.reason
    assert _record(done)["reason"] == done.outcome.reason


def test_a5_no_key_store_no_audit_log_nothing_of_the_workspace(
    world: World, tmp_path: Path
) -> None:
    """The key store, the audit log, the staged extract and the sources are not in the
    sandbox at any path (the job tries the host's)."""
    home = world.enclave.home
    paths = [home / "keys", home / "audit.log", home / "staged", world.sources, world.work]
    done = _run(
        world,
        tmp_path,
        f"""
        import os
        seen = [p for p in {[str(p) for p in paths]!r} if os.path.exists(p)]
        print("seen:", seen)
        open({str(home / "audit.log")!r}).read()
        """,
    )
    assert done.outcome.state == "failed"
    assert done.outcome.reason == "exit code 1 (FileNotFoundError)"
    assert "seen: []" in (done.folder / "logs" / "stdout.txt").read_text()


def test_a5_no_write_outside_the_output_folder(world: World, tmp_path: Path) -> None:
    """The data and the code are read-only; the job's attempts are reported on stdout and
    the last one fails the job."""
    done = _run(
        world,
        tmp_path,
        """
        import os
        for target in ["/data/parquet/person.parquet", "/data/new.csv", "/code/x.txt",
                       "/usr/x", "/x"]:
            try:
                open(target, "a").write("x")
                print("wrote", target)
            except OSError as err:
                print("refused", target, err.errno)
        open("/data/new.csv", "w")
        """,
    )
    assert done.outcome.state == "failed"
    assert done.outcome.reason == "exit code 1 (OSError)"
    printed = (done.folder / "logs" / "stdout.txt").read_text()
    assert "wrote" not in printed and printed.count("refused") == 5
    assert not list(world.enclave.data.rglob("new.csv*"))


def test_a5_a_fork_bomb_is_stopped_at_the_process_limit(world: World, tmp_path: Path) -> None:
    """Unbounded forking hits the job's own process limit (its own user id: RLIMIT_NPROC
    holds), the job is stopped with the reason, and none of its processes survive."""
    done = _run(
        world,
        tmp_path,
        """
        import os, time
        while True:
            os.fork()
        """,
        processes=16,
        wall_seconds=60,
    )
    assert done.outcome.state == "stopped"
    assert done.outcome.reason.startswith("process limit")
    assert done.outcome.seconds < 30
    left = subprocess.run(["ps", "-eo", "uid="], capture_output=True, text=True).stdout.split()
    assert not [u for u in left if int(u) >= JOB_UID_BASE]


def test_a5_a_job_past_its_wall_time_is_stopped(world: World, tmp_path: Path) -> None:
    """A job (and the children it started) is killed at its wall-time limit."""
    done = _run(
        world,
        tmp_path,
        """
        import subprocess, time
        subprocess.Popen(["sleep", "300"])
        time.sleep(300)
        """,
        wall_seconds=2,
    )
    assert done.outcome.state == "stopped"
    assert done.outcome.reason == "wall-time limit: stopped after 2 s"
    assert done.outcome.seconds < 10 and done.outcome.exit_code is None
    left = subprocess.run(["ps", "-eo", "uid="], capture_output=True, text=True).stdout.split()
    assert not [u for u in left if int(u) >= JOB_UID_BASE]


def test_a5_a_job_past_its_memory_is_stopped(world: World, tmp_path: Path) -> None:
    done = _run(world, tmp_path, "x = bytearray(1 << 30)\n", memory_mib=256)
    assert done.outcome.state == "stopped"
    assert done.outcome.reason == "memory limit: the job could not allocate within 256 MiB"


def test_a5_a_job_past_its_output_limit_is_stopped(world: World, tmp_path: Path) -> None:
    """A file past the limit cannot be written (RLIMIT_FSIZE); many small files past it are
    caught by the total after the run. Either way the job is stopped."""
    big = _run(
        world,
        tmp_path / "big",
        """
        import os
        with open(os.path.join(os.environ["SLUIS_OUTPUT"], "big.bin"), "wb") as fh:
            fh.write(b"x" * (3 << 20))
        """,
        output_mib=1,
    )
    assert big.outcome.state == "stopped"
    assert big.outcome.reason == "output limit: a file grew past 1 MiB"
    many = _run(
        world,
        tmp_path / "many",
        """
        import os
        for i in range(4):
            with open(os.path.join(os.environ["SLUIS_OUTPUT"], f"part{i}.bin"), "wb") as fh:
                fh.write(b"x" * (600 << 10))
        """,
        output_mib=1,
    )
    assert many.outcome.state == "stopped"
    assert many.outcome.reason.startswith("output limit: 2.3 MiB written, the limit is 1 MiB")


def test_a5_a_symbolic_link_left_in_the_output_is_removed(world: World, tmp_path: Path) -> None:
    """A link in /output would point the checks and the release at a host file."""
    done = _run(
        world,
        tmp_path,
        """
        import os
        os.symlink("/etc/shadow", os.path.join(os.environ["SLUIS_OUTPUT"], "shadow"))
        """,
    )
    assert done.outcome.state == "failed"
    assert done.outcome.reason == "not a plain file in the output, removed: shadow"
    assert not (done.folder / "outputs" / "shadow").is_symlink()


def test_a5_g10_the_data_are_unchanged_and_every_run_is_audited(world: World) -> None:
    """After every hostile job of this module: the data files have the digests recorded
    when the enclave was built, and the audit log verifies, with one job-run record per
    job carrying the script's digest and the data's checkpoint."""
    record = world.enclave.record()
    with world.enclave.opened_data() as data:  # sealed at rest: the vault opens them
        assert data != world.enclave.data
        assert digest_tree(data) == record["files"]
    at_rest = [p for p in world.enclave.data.rglob("*") if p.is_file()]
    assert at_rest and all(p.suffix == ".sealed" for p in at_rest)
    report = verify(world.enclave.home / "audit.log")
    assert report.ok, report
    events = [json.loads(line) for line in (world.enclave.home / "audit.log").open()]
    runs = [e["data"] for e in events if e["event"] == "job-run"]
    jobs = sorted(p.name for p in world.enclave.jobs.iterdir())
    assert sorted(r["job"] for r in runs) == jobs
    for run in runs:
        assert run["data_checkpoint"] == record["checkpoint"]
        job = json.loads((world.enclave.jobs / run["job"] / "run.json").read_text())
        assert run["script_sha256"] == job["script_sha256"]
        assert (run["state"], run["reason"]) == (job["state"], job["reason"])


def test_a5_an_interpreter_under_tmp_is_not_hidden_by_the_private_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clone (and so its venv) under /tmp, as CI may have it: the sandbox's private /tmp
    is mounted first and the interpreter over it (a fresh clone in /tmp failed with exit
    127 when the tmpfs came last and hid the venv)."""
    import sys

    from sluis.enclave import sandbox

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    monkeypatch.setattr(sys, "prefix", str(venv))
    (tmp_path / "code").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "out").mkdir()
    argv = sandbox.bwrap_command(
        ["-c", "import sys; print(sys.prefix)"],
        language="python",
        code=tmp_path / "code",
        data=tmp_path / "data",
        output=tmp_path / "out",
        library=None,
        limits=sandbox.Limits(wall_seconds=60, memory_mib=1024, output_mib=10, processes=16),
        uid=61_234,
    )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(venv)
