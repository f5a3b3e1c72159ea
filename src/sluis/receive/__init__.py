"""The researcher's side of a delivery (G8, G9, G11): fetch the encrypted package (SFTP with
a pinned host key, or a local file), check it against the sender's receipt, decrypt it with
the researcher's key into an owner-only directory and verify every file. The researcher's
destruction and its signed certificate are in `sluis.retain.certificate`."""

from sluis.receive.fetch import FetchError, SftpSource, fetch
from sluis.receive.unpack import (
    RECEIVED,
    Received,
    ReceiveError,
    read_record,
    receive,
    researcher_public_key,
)

__all__ = [
    "RECEIVED",
    "FetchError",
    "ReceiveError",
    "Received",
    "SftpSource",
    "fetch",
    "read_record",
    "receive",
    "researcher_public_key",
]
