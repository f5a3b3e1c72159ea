"""The SFTP options `sluis deliver` (upload) and `sluis receive` (download) share.

Declared once so that both verbs take the same names, defaults and help: a provider and a
researcher reach the same server with the same flags (G8)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SftpPort = Annotated[int, typer.Option(help="SFTP port.")]
SftpUser = Annotated[str, typer.Option(help="SFTP user.")]
ClientKey = Annotated[
    Path | None, typer.Option(help="Private key to log in with (OpenSSH format).")
]
HostKey = Annotated[
    str | None, typer.Option(help="The server's public host key, pinned ('ssh-ed25519 ...').")
]
