"""SFTP upload of an encrypted package with a pinned host key, resume and verification (G8).

The protocol (docs/transfer.md):

1. Connect with public-key authentication only, trusting exactly one host key: the
   server's public key given by the caller (pinned). Any other key ends the connection
   before a byte is sent.
2. Upload to a temporary name in the target directory, ``.<name>.partial``. If that file
   is already there from an interrupted transfer, resume: keep its bytes and write on from
   its size, less the window of requests that may still have been in flight when it was
   cut (a server may apply pipelined writes out of order). A quick check that the bytes
   just before the resume point are the local file's bytes catches a partial file left
   by another file; then the upload starts from 0.
3. Writes are pipelined (``max_requests`` requests of ``block_size`` bytes in flight, in
   offset order) and the remote file is fsynced.
4. Verify: the remote size must be the local size, and the SHA-256 of the remote file,
   read back in chunks, must be the local SHA-256. On a mismatch the partial file is
   removed and the upload fails.
5. Rename the partial file to the final name (POSIX rename where the server has it), so
   a file under the final name is always complete and verified.
6. Write a receipt (JSON: file, size, SHA-256, remote path, host key fingerprint, time)
   signed with the sender's Ed25519 key (`sluis.deliver.receipt`).

Every failure a user or an operator can cause ends in a `TransferError` naming the host,
file and rule: host key mismatch, authentication refused, connection refused, remote
permission or disk errors, a connection cut mid-file (rerun to resume), hash mismatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncssh
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sluis.deliver.receipt import load_private_key, write_receipt
from sluis.errors import SluisError
from sluis.files import sha256_file

#: Bytes per SFTP write request. OpenSSH's sftp-server accepts up to 255 KiB per request
#: (its limits@openssh.com reply); larger values are capped at the server's limit.
BLOCK_SIZE = 255 * 1024
#: Write requests in flight at once.
MAX_REQUESTS = 64
#: Bytes per read when the remote file is hashed back (itself split in parallel reads).
VERIFY_CHUNK = 8 * 1024 * 1024
#: How many bytes before the resume point are compared with the local file.
RESUME_CHECK = 64 * 1024
#: Ciphers in order of preference: AES-GCM runs on AES-NI in both OpenSSL (sshd) and
#: cryptography (asyncssh) and is the fastest on x86; the rest are asyncssh's defaults.
ENCRYPTION_ALGS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)

Progress = Callable[[int, int], None]


class TransferError(SluisError):
    """An SFTP transfer that failed; the rule says why, the hint what to do."""


class PinnedClient(asyncssh.SSHClient):
    """Called by asyncssh only for a host key that is not the pinned one: refuse it and
    remember its fingerprint for the error message. Shared by the upload and by the
    recipient's download (`sluis.receive.fetch`): both trust exactly one host key."""

    def __init__(self) -> None:
        self.refused: str | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.refused = key.get_fingerprint("sha256")
        return False


@dataclass(frozen=True)
class TransferResult:
    """What one upload did. ``resumed_from`` > 0 means bytes of an earlier, interrupted
    upload were kept; ``bytes_sent`` is what this run wrote."""

    local: Path
    remote_path: str
    size: int
    sha256: str
    host_key_fingerprint: str
    partial_found: int  # size of the remote partial file when the upload started
    resumed_from: int  # offset this run started writing at
    bytes_sent: int
    already_complete: bool  # the final file was already there and verified
    upload_seconds: float
    verify_seconds: float
    receipt: Path | None

    @property
    def upload_mb_per_s(self) -> float:
        return self.bytes_sent / 1e6 / self.upload_seconds if self.upload_seconds else 0.0


def upload(
    local: Path,
    host: str,
    port: int,
    username: str,
    client_key: Path,
    known_host_key: str,
    remote_dir: str,
    *,
    signing_key: Ed25519PrivateKey | Path | None = None,
    receipt: Path | None = None,
    block_size: int = BLOCK_SIZE,
    max_requests: int = MAX_REQUESTS,
    progress: Progress | None = None,
    connect_timeout: float = 30.0,
) -> TransferResult:
    """Upload ``local`` to ``remote_dir`` on ``host`` (synchronous wrapper for the CLI).

    See `upload_async` for the arguments.
    """
    return asyncio.run(
        upload_async(
            local,
            host,
            port,
            username,
            client_key,
            known_host_key,
            remote_dir,
            signing_key=signing_key,
            receipt=receipt,
            block_size=block_size,
            max_requests=max_requests,
            progress=progress,
            connect_timeout=connect_timeout,
        )
    )


async def upload_async(
    local: Path,
    host: str,
    port: int,
    username: str,
    client_key: Path,
    known_host_key: str,
    remote_dir: str,
    *,
    signing_key: Ed25519PrivateKey | Path | None = None,
    receipt: Path | None = None,
    block_size: int = BLOCK_SIZE,
    max_requests: int = MAX_REQUESTS,
    progress: Progress | None = None,
    connect_timeout: float = 30.0,
) -> TransferResult:
    """Upload ``local`` into ``remote_dir`` over SFTP, resuming an interrupted upload.

    ``known_host_key`` is the server's public host key (``ssh-ed25519 AAAA...``): the only
    key accepted. ``client_key`` is the sender's private key for authentication.
    ``signing_key`` signs the receipt (default: ``client_key``, which must then be
    Ed25519); the receipt goes to ``receipt`` (default ``<local>.receipt.json``).
    ``progress(done, total)`` is called as write requests complete.
    """
    local = Path(local)
    if not local.is_file():
        raise TransferError("file to upload does not exist", rule="transfer-local", file=str(local))
    size = local.stat().st_size
    where = f"{username}@{host}:{port}"
    try:
        pinned = asyncssh.import_public_key(known_host_key.strip())
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise TransferError(
            f"the pinned host key of {host} is not an SSH public key ({exc})",
            rule="transfer-host-key",
        ) from exc
    fingerprint = pinned.get_fingerprint("sha256")
    name = local.name
    final = posixpath.join(remote_dir, name)
    partial = posixpath.join(remote_dir, f".{name}.partial")

    try:
        client_private = asyncssh.read_private_key(str(client_key))
    except (OSError, asyncssh.KeyImportError) as exc:
        raise TransferError(
            f"cannot read the client key ({exc})",
            rule="transfer-auth",
            file=str(client_key),
            hint="an unencrypted OpenSSH private key is needed",
        ) from exc
    # Loaded before anything is sent, so a bad signing key fails early.
    signer = load_private_key(signing_key if signing_key is not None else client_key)

    client = PinnedClient()
    try:
        conn = await asyncio.wait_for(
            asyncssh.connect(
                host,
                port,
                client_factory=lambda: client,
                username=username,
                client_keys=[client_private],
                known_hosts=([pinned], [], []),
                config=None,
                agent_path=None,
                password=None,
                preferred_auth="publickey",
                encryption_algs=list(ENCRYPTION_ALGS),
                compression_algs=None,
            ),
            timeout=connect_timeout,
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        raise TransferError(
            f"{host}:{port} presented host key {client.refused or 'of another type'}, not the "
            f"pinned {fingerprint}; nothing was sent",
            rule="transfer-host-key",
            hint="check that you are talking to the right server; update the pinned key only "
            "after confirming the new key out of band",
        ) from exc
    except asyncssh.PermissionDenied as exc:
        raise TransferError(
            f"{where} refused the client key {Path(client_key).name}",
            rule="transfer-auth",
            file=str(client_key),
            hint="install the sender's public key in the server's authorized keys",
        ) from exc
    except (TimeoutError, OSError) as exc:
        raise TransferError(
            f"cannot connect to {host}:{port}: {_reason(exc)}",
            rule="transfer-connect",
            hint="check host, port and that the SFTP server is running",
        ) from exc
    except asyncssh.Error as exc:
        raise TransferError(
            f"SSH connection to {host}:{port} failed: {exc}", rule="transfer-connect"
        ) from exc

    try:
        async with conn:
            sftp = await conn.start_sftp_client()
            async with sftp:
                result = await _upload(
                    sftp,
                    local,
                    size,
                    final,
                    partial,
                    remote_dir,
                    where,
                    fingerprint,
                    min(block_size, sftp.limits.max_write_len or block_size),
                    max_requests,
                    progress,
                )
    except TransferError:
        raise
    except (asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection, asyncssh.DisconnectError,
            ConnectionError, BrokenPipeError) as exc:  # fmt: skip
        raise TransferError(
            f"connection to {host}:{port} was lost during the upload of {name}: {exc}",
            rule="transfer-interrupted",
            file=str(local),
            hint=f"rerun: the upload resumes from the remote file {partial}",
        ) from exc
    except asyncssh.SFTPError as exc:
        raise _remote_error(exc, where, partial, local) from exc

    receipt_path = Path(receipt) if receipt is not None else local.with_name(name + ".receipt.json")
    data: dict[str, Any] = {
        "kind": "sluis-transfer-receipt",
        "version": 1,
        "file": name,
        "size": size,
        "sha256": result.sha256,
        "host": host,
        "port": port,
        "username": username,
        "remote_path": final,
        "host_key_fingerprint": fingerprint,
        "resumed_from": result.resumed_from,
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_receipt(receipt_path, data, signer)
    return replace(result, receipt=receipt_path)


async def _upload(
    sftp: asyncssh.SFTPClient,
    local: Path,
    size: int,
    final: str,
    partial: str,
    remote_dir: str,
    where: str,
    fingerprint: str,
    block: int,
    max_requests: int,
    progress: Progress | None,
) -> TransferResult:
    if not await sftp.isdir(remote_dir):
        raise TransferError(
            f"remote directory {remote_dir} does not exist on {where}",
            rule="transfer-remote",
            hint="create it on the server or fix the target directory",
        )
    t0 = time.perf_counter()
    if await sftp.exists(final):
        # A rerun after a complete upload: verify, never overwrite.
        local_hash = sha256_file(local)
        remote_size = (await sftp.stat(final)).size
        remote_hash = await _remote_sha256(sftp, final) if remote_size == size else ""
        if remote_hash != local_hash:
            raise TransferError(
                f"{final} already exists on {where} and is not this file",
                rule="transfer-exists",
                file=str(local),
                hint="deliveries are never overwritten; remove the remote file or rename",
            )
        return TransferResult(
            local, final, size, local_hash, fingerprint, 0, size, 0, True, 0.0,
            time.perf_counter() - t0, None,
        )  # fmt: skip

    found = (await sftp.stat(partial)).size if await sftp.exists(partial) else 0
    found = found or 0
    start = 0
    if 0 < found <= size:
        # Rewrite the requests that may have been in flight (out of order on some servers).
        start = max(0, found - block * max_requests)
        if start and not await _same_bytes(sftp, partial, local, start):
            start = 0
    # The local SHA-256 is computed in a thread while the upload runs (hashlib releases
    # the GIL), so hashing does not slow the event loop that feeds the connection.
    local_hash_task = asyncio.ensure_future(asyncio.to_thread(sha256_file, local))
    try:
        with local.open("rb") as fh:
            fh.seek(start)
            mode = "r+b" if start else "wb"
            async with sftp.open(partial, mode, block_size=0) as remote:
                await _pipelined_write(remote, fh, start, size, block, max_requests, progress)
                with contextlib.suppress(asyncssh.SFTPOpUnsupported):
                    await remote.fsync()
    finally:
        local_hash = await local_hash_task
    t1 = time.perf_counter()

    remote_size = (await sftp.stat(partial)).size
    if remote_size != size:
        raise TransferError(
            f"remote file {partial} has {remote_size} bytes, expected {size}",
            rule="transfer-size",
            file=str(local),
            hint="rerun to resume",
        )
    remote_hash = await _remote_sha256(sftp, partial)
    if remote_hash != local_hash:
        await sftp.remove(partial)
        raise TransferError(
            f"SHA-256 of {partial} on {where} is {remote_hash}, expected {local_hash}; "
            "the partial file was removed",
            rule="transfer-hash",
            file=str(local),
            hint="rerun to upload from the start",
        )
    try:
        await sftp.posix_rename(partial, final)
    except asyncssh.SFTPOpUnsupported:
        await sftp.rename(partial, final)
    t2 = time.perf_counter()
    return TransferResult(
        local, final, size, local_hash, fingerprint, found, start, size - start, False,
        t1 - t0, t2 - t1, None,
    )  # fmt: skip


async def _pipelined_write(
    remote: asyncssh.SFTPClientFile,
    fh: Any,
    start: int,
    size: int,
    block: int,
    max_requests: int,
    progress: Progress | None,
) -> None:
    """Write ``fh[start:size]`` at the same offsets, ``max_requests`` requests in flight,
    issued in offset order; the first failure stops the loop and is raised."""
    slots = asyncio.Semaphore(max_requests)
    pending: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []
    done = start

    async def write(data: bytes, offset: int) -> None:
        nonlocal done
        try:
            await remote.write(data, offset)
            done += len(data)
            if progress is not None:
                progress(done, size)
        except BaseException as exc:
            failures.append(exc)
            raise
        finally:
            slots.release()

    offset = start
    while offset < size and not failures:
        await slots.acquire()
        if failures:
            slots.release()
            break
        data = fh.read(min(block, size - offset))
        if not data:
            raise TransferError(
                "local file shrank during the upload", rule="transfer-local", file=str(fh.name)
            )
        task = asyncio.ensure_future(write(data, offset))
        pending.add(task)
        task.add_done_callback(pending.discard)
        offset += len(data)
    results = await asyncio.gather(*pending, return_exceptions=True)
    errors = failures or [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


async def _remote_sha256(sftp: asyncssh.SFTPClient, path: str) -> str:
    """SHA-256 of a remote file, read back in chunks with parallel read requests."""
    hasher = hashlib.sha256()
    async with sftp.open(path, "rb", block_size=-1, max_requests=32) as remote:
        offset = 0
        chunk = await remote.read(VERIFY_CHUNK, offset)
        while chunk:
            offset += len(chunk)
            # Read the next chunk while this one is hashed in a thread.
            following = asyncio.ensure_future(remote.read(VERIFY_CHUNK, offset))
            await asyncio.to_thread(hasher.update, chunk)
            chunk = await following
    return hasher.hexdigest()


async def _same_bytes(sftp: asyncssh.SFTPClient, path: str, local: Path, end: int) -> bool:
    """Whether the remote file's bytes just before ``end`` are the local file's."""
    begin = max(0, end - RESUME_CHECK)
    async with sftp.open(path, "rb") as remote:
        theirs = await remote.read(end - begin, begin)
    with local.open("rb") as fh:
        fh.seek(begin)
        ours = fh.read(end - begin)
    return theirs == ours


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "connection refused"
    return str(exc) or type(exc).__name__


def _remote_error(exc: asyncssh.SFTPError, where: str, partial: str, local: Path) -> TransferError:
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return TransferError(
            f"permission denied on {where} writing {partial}: {exc.reason}",
            rule="transfer-remote-permission",
            file=str(local),
            hint="the SFTP user must be able to write the target directory",
        )
    if isinstance(exc, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
        return TransferError(
            f"no space left on {where}: {exc.reason}",
            rule="transfer-remote-disk",
            file=str(local),
            hint=f"free space on the server, then rerun to resume from {partial}",
        )
    return TransferError(
        f"the SFTP server {where} refused to write {partial}: {exc.reason} (OpenSSH reports a "
        "full disk as 'Failure')",
        rule="transfer-remote",
        file=str(local),
        hint=f"check the server's disk and permissions, then rerun to resume from {partial}",
    )
