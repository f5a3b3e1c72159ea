"""Fetch an encrypted package from the recipient's SFTP server, trusting one host key (G8,
G11).

The provider uploads the package to a server the recipient controls (`sluis deliver`); the
researcher fetches it from there. As on the way up (`sluis.deliver.transfer`), the client
trusts exactly the host key it is given: any other key ends the connection before the
client authenticates, so a server in the middle never sees the researcher's login. The
download is written owner-only and its size checked against the remote file; its digest is
checked against the sender's receipt by `sluis.receive.unpack`.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from sluis.deliver.transfer import PinnedClient
from sluis.errors import SluisError

#: Bytes per read request and requests in flight (OpenSSH serves up to 255 KiB per read).
BLOCK = 255 * 1024
MAX_REQUESTS = 32


class FetchError(SluisError):
    """An SFTP download that failed: the rule says why (host key, login, missing file)."""


@dataclass(frozen=True)
class SftpSource:
    """Where the package waits: a server, its pinned host key and the remote file."""

    host: str
    port: int
    username: str
    client_key: Path
    host_key: str  # "ssh-ed25519 AAAA...": the only key accepted
    remote_path: str


def fetch(source: SftpSource, dest: Path, *, connect_timeout: float = 30.0) -> Path:
    """Download ``source`` to ``dest`` (a new file, mode 0600) and return ``dest``.

    Raises :class:`FetchError` for a host key other than the pinned one (nothing is sent
    to that server), a refused login, a missing remote file or a short download; a failed
    download leaves no ``dest``."""
    try:
        return asyncio.run(_fetch(source, Path(dest), connect_timeout))
    except BaseException:
        Path(dest).unlink(missing_ok=True)
        raise


async def _fetch(source: SftpSource, dest: Path, connect_timeout: float) -> Path:
    where = f"{source.username}@{source.host}:{source.port}"
    try:
        pinned = asyncssh.import_public_key(source.host_key.strip())
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise FetchError(
            f"the pinned host key of {source.host} is not an SSH public key ({exc})",
            rule="receive-host-key",
        ) from exc
    try:
        client_key = asyncssh.read_private_key(str(source.client_key))
    except (OSError, asyncssh.KeyImportError) as exc:
        raise FetchError(
            f"cannot read the login key ({exc})",
            rule="receive-auth",
            file=str(source.client_key),
            hint="an unencrypted OpenSSH private key is needed",
        ) from exc
    client = PinnedClient()
    try:
        conn = await asyncio.wait_for(
            asyncssh.connect(
                source.host,
                source.port,
                client_factory=lambda: client,
                username=source.username,
                client_keys=[client_key],
                known_hosts=([pinned], [], []),
                config=None,
                agent_path=None,
                password=None,
                preferred_auth="publickey",
            ),
            timeout=connect_timeout,
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        raise FetchError(
            f"{source.host}:{source.port} presented host key "
            f"{client.refused or 'of another type'}, not the pinned "
            f"{pinned.get_fingerprint('sha256')}; nothing was fetched",
            rule="receive-host-key",
            hint="check that this is your server; change the pinned key only after "
            "confirming the new one out of band",
        ) from exc
    except asyncssh.PermissionDenied as exc:
        raise FetchError(
            f"{where} refused the login key {Path(source.client_key).name}",
            rule="receive-auth",
            file=str(source.client_key),
        ) from exc
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise FetchError(
            f"cannot connect to {source.host}:{source.port}: {exc or type(exc).__name__}",
            rule="receive-connect",
        ) from exc
    try:
        async with conn, conn.start_sftp_client() as sftp:
            return await _download(sftp, source.remote_path, dest, where)
    except asyncssh.SFTPNoSuchFile as exc:
        raise FetchError(
            f"{source.remote_path} does not exist on {where}",
            rule="receive-remote",
            hint="give the remote path of the .tar.age file the provider sent",
        ) from exc
    except (asyncssh.Error, OSError) as exc:
        raise FetchError(
            f"the download of {source.remote_path} from {where} failed: {exc}",
            rule="receive-interrupted",
            hint="run the command again",
        ) from exc


async def _download(sftp: asyncssh.SFTPClient, remote: str, dest: Path, where: str) -> Path:
    size = (await sftp.stat(remote)).size or 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    written = 0
    with os.fdopen(fd, "wb") as out:
        async with sftp.open(remote, "rb", block_size=BLOCK, max_requests=MAX_REQUESTS) as fh:
            while chunk := await fh.read(8 * BLOCK * MAX_REQUESTS):
                out.write(chunk)
                written += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if written != size:
        raise FetchError(
            f"{posixpath.basename(remote)} from {where}: {written} bytes read, the server "
            f"lists {size}",
            rule="receive-size",
            hint="run the command again",
        )
    return dest
