"""``sluis receive``: the researcher opens a delivered package (G8, G9, G11).

Thin: parses, calls :func:`sluis.receive.receive`, shows what arrived as a Rich summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sluis.cli.sftp_options import ClientKey, HostKey, SftpPort, SftpUser
from sluis.errors import UsageError
from sluis.receive import Received


def receive(
    source: Annotated[
        str,
        typer.Argument(
            help="The encrypted package (NAME.tar.age): a local file, or with --sftp-host "
            "its path on the server."
        ),
    ],
    key: Annotated[
        Path, typer.Option(help="Your private key (the ssh-ed25519 key the spec names).")
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Directory to open the package in (default ./NAME)."),
    ] = None,
    receipt: Annotated[
        Path | None, typer.Option(help="The sender's signed receipt (NAME.receipt.json).")
    ] = None,
    sender_key: Annotated[
        str | None,
        typer.Option(help="The sender's audit public key ('ssh-ed25519 ...' or a file)."),
    ] = None,
    sha256: Annotated[
        str | None, typer.Option(help="The SHA-256 the sender gave, instead of a receipt.")
    ] = None,
    sftp_host: Annotated[
        str | None, typer.Option(help="Fetch SOURCE from this SFTP server.")
    ] = None,
    sftp_port: SftpPort = 22,
    sftp_user: SftpUser = "sluis",
    client_key: ClientKey = None,
    host_key: HostKey = None,
) -> None:
    """Open a delivered package as its researcher (G8, G11).

    Fetches the encrypted package over SFTP with the server's host key pinned (or takes a
    local file), checks it against the sender's signed receipt (--receipt, --sender-key)
    or its SHA-256 (--sha256), decrypts it with your key, unpacks it into an owner-only
    directory (directories 0700, files 0600, whatever the umask; no path outside the
    package, no links) and checks every file against the manifest. Prints the datasets,
    their rows and the date by which you must destroy the package (sluis retain destroy
    --package DIR --key KEY). A package that fails any check leaves nothing behind.

    Exit codes: 0 opened and verified, 2 refused (not the file sent, not for your key, an
    unsafe archive, a file that does not match) or a usage error.

    Examples:
      sluis receive 25-074-uantwerpen-20261201.tar.age --key ~/.ssh/id_ed25519 \\
        --receipt 25-074-uantwerpen-20261201.receipt.json \\
        --sender-key ksz-audit.pub
      sluis receive inbox/25-074-uantwerpen-20261201.tar.age \\
        --sftp-host sftp.uantwerpen.example --client-key ~/.ssh/sftp \\
        --host-key "ssh-ed25519 AAAA..." --key ~/.ssh/id_ed25519 --sha256 3f2a...
    """
    from sluis.receive import SftpSource
    from sluis.receive import receive as open_package

    where: Path | SftpSource = Path(source)
    if sftp_host is not None:
        if client_key is None or host_key is None:
            raise UsageError(
                "an SFTP fetch needs --client-key and the server's --host-key (pinned)",
                rule="sftp-options",
            )
        where = SftpSource(sftp_host, sftp_port, sftp_user, client_key, host_key, source)
    received = open_package(
        where, key, out_dir, receipt=receipt, sender_key=sender_key, sha256=sha256
    )
    render_received(Console(highlight=False), received)


def render_received(console: Console, received: Received) -> None:
    """What arrived: one line, the datasets with their rows, the deadline."""
    console.print(
        Text.assemble(
            ("received", "bold green"),
            f": {received.package} (decision {received.decision}, for {received.recipient}): "
            f"{received.files} files, {received.payload_bytes:,} bytes, every file matches "
            f"the manifest; checked against the sender's {received.checked_against}",
        ),
        soft_wrap=True,
    )
    table = Table(title=f"datasets in {received.path}", title_justify="left")
    table.add_column("dataset")
    table.add_column("rows", justify="right")
    for name, rows in received.datasets.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    deadline = received.deadline.isoformat() if received.deadline else "none given"
    console.print(
        Text.assemble(
            ("destroy by", "bold"),
            f" {deadline}: sluis retain destroy --package {received.path} --key KEY "
            "writes the certificate the provider asks for",
        ),
        soft_wrap=True,
    )
