"""A real OpenSSH server for the transfer tests and the benchmark (G8).

`running_sshd(workdir)` starts Debian's ``/usr/sbin/sshd -D -e -f CONFIG`` on a free
loopback port with its own ed25519 host key, an ``AuthorizedKeysFile`` holding a freshly
generated client key, ``UsePAM no``, ``StrictModes no``, ``PasswordAuthentication no`` and
``Subsystem sftp internal-sftp``, waits until the port accepts, and stops it at the end.
The SFTP user is the current user, without a chroot: uploads go to any path the user may
write, typically a directory under ``workdir``.

Test files register their own fixture from it (not in conftest.py)::

    @pytest.fixture(scope="module")
    def sshd(tmp_path_factory):
        with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
            yield server
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"


def sshd_missing() -> str | None:
    """Why the OpenSSH fixture cannot run here, or None when it can."""
    if not SSHD.exists():
        return "OpenSSH sshd is not installed (apt-get install openssh-server)"
    if not Path(SSH_KEYGEN).exists():
        return "ssh-keygen is not installed (apt-get install openssh-client)"
    return None


@dataclass(frozen=True)
class SshServer:
    """A running sshd: where it listens, its pinned host key, a client key it accepts."""

    host: str
    port: int
    username: str
    host_key: str  # the server's public host key, "ssh-ed25519 AAAA..."
    client_key: Path  # private key (OpenSSH format) in its AuthorizedKeysFile
    root: Path  # a directory the user may upload into
    pid: int
    log: Path

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes (all descendants of the listener)."""
        found: list[int] = []
        todo = [self.pid]
        while todo:
            pid = todo.pop()
            try:
                text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
            except OSError:
                continue
            children = [int(c) for c in text.split()]
            found.extend(children)
            todo.extend(children)
        return found

    def cut_connections(self) -> int:
        """SIGKILL every session process: the client's connection drops mid-transfer, as
        when the network or the server fails. Returns how many processes were killed."""
        killed = 0
        for pid in self.session_pids():
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        return killed


def _keygen(path: Path, comment: str) -> str:
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_name(path.name + ".pub").read_text().strip()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(2)
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


@contextmanager
def running_sshd(workdir: Path, *, timeout: float = 15.0) -> Iterator[SshServer]:
    """Start sshd in ``workdir`` (keys, config, pid file, log, upload root); stop it after."""
    reason = sshd_missing()
    if reason:
        raise RuntimeError(reason)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # sshd's privilege-separation directory; Debian's package creates it at boot only.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_pub = _keygen(workdir / "host_ed25519", "sluis-test-host")
    client_pub = _keygen(workdir / "client_ed25519", "sluis-test-client")
    authorized = workdir / "authorized_keys"
    authorized.write_text(client_pub + "\n")
    authorized.chmod(0o600)
    root = workdir / "upload"
    root.mkdir(exist_ok=True)
    log = workdir / "sshd.log"
    username = getpass.getuser()
    last_error = ""
    for _attempt in range(5):
        port = _free_port()
        config = workdir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {workdir / 'host_ed25519'}",
                    f"PidFile {workdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "UsePAM no",
                    "StrictModes no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    f"AllowUsers {username}",
                    "Subsystem sftp internal-sftp",
                    "MaxStartups 50",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        with log.open("ab") as log_fh:
            proc = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=log_fh,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not _accepts(port):
            time.sleep(0.05)
        if proc.poll() is None and _accepts(port):
            break
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        last_error = log.read_text(errors="replace")[-2000:]
    else:
        raise RuntimeError(f"sshd did not start:\n{last_error}")
    server = SshServer(
        host="127.0.0.1",
        port=port,
        username=username,
        host_key=host_pub,
        client_key=workdir / "client_ed25519",
        root=root,
        pid=proc.pid,
        log=log,
    )
    try:
        yield server
    finally:
        server.cut_connections()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
