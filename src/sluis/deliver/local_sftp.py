"""A local SFTP server for the embedded demo (G8): asyncssh, in-process, on loopback.

The demo's recipient needs somewhere to receive a package without a system sshd or root;
this server plays that part: its own host key, one authorised client key, SFTP only,
chrooted to one directory. The tests use a real OpenSSH server instead (tests/sshd.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from sluis.keystore import write_once


@dataclass(frozen=True)
class LocalServer:
    """Where the server listens and what a client needs to pin and log in."""

    host: str
    port: int
    username: str
    host_public_key: str  # OpenSSH format, for pinning
    client_key: Path  # the client's private key (OpenSSH format, owner-only)
    root: Path  # what the server serves as /


@contextmanager
def local_sftp(
    root: Path, keys: Path, *, username: str = "recipient", client_public: str | None = None
) -> Iterator[LocalServer]:
    """Serve ``root`` over SFTP on 127.0.0.1 (a free port) until the block ends. Keys are
    made once in ``keys`` (owner-only) and reused, so the host key stays the same.

    ``client_public`` (an OpenSSH public key) is the one client allowed in: the sending
    party's own key, whose private half never leaves its workspace. Without it the server
    makes a client key in ``keys`` and hands it out (the demo's recipient)."""
    root.mkdir(parents=True, exist_ok=True)
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    host_key = read_ssh_key(keys / "host_ed25519")
    if client_public is None:
        client_public = read_ssh_key(keys / "client_ed25519").export_public_key().decode()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, object] = {}

    async def start() -> None:
        server = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(client_public),
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
            allow_scp=False,
        )
        box["server"] = server
        box["port"] = server.sockets[0].getsockname()[1]
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="sluis-local-sftp", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield LocalServer(
            host="127.0.0.1",
            port=int(box["port"]),  # type: ignore[arg-type]
            username=username,
            host_public_key=host_key.export_public_key().decode().strip(),
            client_key=keys / "client_ed25519",
            root=root,
        )
    finally:
        server = box["server"]

        async def stop() -> None:
            server.close()  # type: ignore[attr-defined]
            await server.wait_closed()  # type: ignore[attr-defined]

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def read_ssh_key(path: Path) -> asyncssh.SSHKey:
    """The Ed25519 key at ``path``, made (owner-only) on first use: the local server's
    host and client keys, and a party's exchange key, last across runs."""
    if not path.exists():  # written whole and owner-only from the start, never replaced
        key = asyncssh.generate_private_key("ssh-ed25519")
        write_once(path.parent, path, key.export_private_key())
    return asyncssh.read_private_key(str(path))
