"""A small delivered package as the provider sends it, for the researcher-side tests (G8,
G9, G11): a valid BagIt bag with the fields `sluis deliver` writes (bag-info, both
manifests, a DDI codebook with row counts), packed with `sluis.deliver.encrypt.pack`,
encrypted with real age (pyrage) to a demo researcher's key, and a receipt signed with a
sender's Ed25519 key. Building a real run for each test would take minutes; the bytes
that matter to `sluis receive` (the archive layout, the manifests, the encryption) are
the real ones."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sluis.deliver.encrypt import encrypt, pack
from sluis.deliver.receipt import openssh_public, write_receipt

ROOT = Path(__file__).resolve().parents[1]
KEYS = ROOT / "specs" / "demo-keys"
#: the demo researcher of 25/074 (its public key is in specs/25-074.yaml)
RESEARCHER = KEYS / "uantwerpen-1"
OTHER = KEYS / "kuleuven-1"
NAME = "25-074-uantwerpen-20291030"

DDI = """<?xml version='1.0' encoding='UTF-8'?>
<codeBook xmlns="ddi:codebook:2_5" version="2.5">
  <fileDscr ID="F1"><fileTxt><fileName>persons</fileName>
    <dimensns><caseQnty>3</caseQnty><varQnty>3</varQnty></dimensns></fileTxt></fileDscr>
  <fileDscr ID="F2"><fileTxt><fileName>panel</fileName>
    <dimensns><caseQnty>1234</caseQnty><varQnty>5</varQnty></dimensns></fileTxt></fileDscr>
</codeBook>
"""


@dataclass(frozen=True)
class Sealed:
    """What the provider sent: the encrypted file, the receipt, the sender's public key,
    the digest of the plaintext archive (the register's) and the package's files."""

    sealed: Path
    receipt: Path
    sender_public: str
    archive_sha256: str
    files: dict[str, bytes]


def public_of(private: Path) -> str:
    """The ``ssh-ed25519 AAAA...`` line of an OpenSSH private key file."""
    from sluis.deliver.receipt import load_private_key

    return openssh_public(load_private_key(private).public_key())


def _manifest(files: dict[str, bytes]) -> str:
    return "".join(
        f"{hashlib.sha256(content).hexdigest()}  {rel}\n" for rel, content in sorted(files.items())
    )


def build(
    root: Path,
    *,
    name: str = NAME,
    recipients: tuple[Path, ...] = (RESEARCHER,),
    decision: str = "25/074",
    deadline: str = "2029-10-31",
) -> Sealed:
    """Build, pack and encrypt a package under ``root`` (``root/provider``) and sign its
    receipt; the plaintext archive is removed as `sluis deliver` does."""
    provider = root / "provider"
    package = provider / name
    payload = {
        "data/csv/persons.csv": b'"seq","sex","age_class"\n1,"1","20-24"\n2,"2","25-29"\n',
        "data/parquet/panel.parquet": bytes(range(256)) * 300,
        "data/codebook/ddi-codebook.xml": DDI.encode(),
        "data/README.md": f"# Package\n\nDestroy by {deadline}. \u00e9\n".encode(),
    }
    tags = {
        "bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": (
            "Source-Organization: KSZ-BCSS\nBagging-Date: 2029-10-30\n"
            f"External-Identifier: {name}\nSluis-Decision: {decision}\n"
            f"Sluis-Recipient: the recipient\nSluis-Retention-Deadline: {deadline}\n"
        ).encode(),
        "manifest-sha256.txt": _manifest(payload).encode(),
    }
    tags["tagmanifest-sha256.txt"] = _manifest(tags).encode()
    files = {**payload, **tags}
    for rel, content in files.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    archive = pack(package, provider / f"{name}.tar")
    archive_sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    sealed = encrypt(archive, [public_of(k) for k in recipients], provider / f"{name}.tar.age")
    archive.unlink()
    sender = Ed25519PrivateKey.generate()
    data = sealed.read_bytes()
    receipt = write_receipt(
        provider / f"{name}.receipt.json",
        {
            "kind": "sluis-transfer-receipt",
            "version": 1,
            "file": sealed.name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        sender,
    )
    return Sealed(sealed, receipt, openssh_public(sender.public_key()), archive_sha, files)
