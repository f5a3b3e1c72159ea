"""`sluis receive`: the researcher fetches, checks, decrypts, unpacks and verifies a
delivered package (G8, G11, G9, A14).

Real age (pyrage) encryption to the demo researcher's ssh-ed25519 key, a real OpenSSH
server for the SFTP fetch (tests/sshd.py), the real `sluis` entry point for the CLI."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from entry_point import sluis
from sealed_package import NAME, OTHER, RESEARCHER, Sealed, build, public_of
from sluis.deliver.encrypt import encrypt
from sluis.receive import RECEIVED, FetchError, ReceiveError, SftpSource, read_record, receive
from sshd import SshServer, running_sshd, sshd_missing


@pytest.fixture
def sent(tmp_path: Path) -> Sealed:
    return build(tmp_path)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def leftovers(parent: Path) -> list[str]:
    """Anything a receive left beside its target: temporaries are dot-names."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_g11_receive_from_a_file_opens_owner_only_under_umask_022(
    sent: Sealed, tmp_path: Path, umask_022: None
) -> None:
    home = tmp_path / "researcher"
    home.mkdir()
    got = receive(
        sent.sealed, RESEARCHER, home / "pkg", receipt=sent.receipt, sender_key=sent.sender_public
    )
    assert got.path == home / "pkg"
    assert got.package == NAME and got.decision == "25/074"
    assert got.datasets == {"persons": 3, "panel": 1234}
    assert str(got.deadline) == "2029-10-31"
    assert got.checked_against == "receipt"
    assert got.archive_sha256 == sent.archive_sha256
    for rel, content in sent.files.items():
        assert (home / "pkg" / rel).read_bytes() == content
    modes = {
        p.relative_to(home).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [home / "pkg", *(home / "pkg").rglob("*")]
    }
    assert modes["pkg"] == 0o700
    assert {m for p, m in modes.items() if (home / p).is_dir()} == {0o700}
    assert {m for p, m in modes.items() if (home / p).is_file()} == {0o600}
    record = read_record(home / "pkg")
    assert record["archive_sha256"] == sent.archive_sha256
    assert record["encrypted_sha256"] == hashlib.sha256(sent.sealed.read_bytes()).hexdigest()
    assert record["researcher_public_key"] == public_of(RESEARCHER)
    assert leftovers(home) == []


def test_g8_receive_with_a_checksum_into_an_empty_directory(sent: Sealed, tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    digest = hashlib.sha256(sent.sealed.read_bytes()).hexdigest()
    got = receive(sent.sealed, RESEARCHER, target, sha256=digest.upper())
    assert got.checked_against == "checksum"
    assert (target / "data" / "csv" / "persons.csv").is_file()


@pytest.mark.parametrize(
    "options",
    [{}, {"receipt": "R"}, {"sha256": "abc"}],
    ids=["nothing", "receipt-without-sender-key", "not-a-digest"],
)
def test_g8_receive_needs_something_to_check_against(
    sent: Sealed, tmp_path: Path, options: dict
) -> None:
    if "receipt" in options:
        options = {"receipt": sent.receipt}
    with pytest.raises(ReceiveError) as err:
        receive(sent.sealed, RESEARCHER, tmp_path / "pkg", **options)
    assert err.value.rule in {"receive-unchecked", "bad-sha256"}
    assert not (tmp_path / "pkg").exists()


def test_g8_a_receipt_signed_by_another_key_is_refused(sent: Sealed, tmp_path: Path) -> None:
    with pytest.raises(ReceiveError) as err:
        receive(
            sent.sealed,
            RESEARCHER,
            tmp_path / "pkg",
            receipt=sent.receipt,
            sender_key=public_of(OTHER),
        )
    assert err.value.rule == "receive-receipt"
    assert not (tmp_path / "pkg").exists()


def test_g11_a_tampered_archive_is_refused_and_leaves_nothing(sent: Sealed, tmp_path: Path) -> None:
    data = bytearray(sent.sealed.read_bytes())
    data[len(data) // 2] ^= 0x01
    sent.sealed.write_bytes(bytes(data))
    home = tmp_path / "researcher"
    home.mkdir()
    # against the receipt: not the file the provider sent
    with pytest.raises(ReceiveError) as err:
        receive(
            sent.sealed,
            RESEARCHER,
            home / "pkg",
            receipt=sent.receipt,
            sender_key=sent.sender_public,
        )
    assert err.value.rule == "receive-checksum"
    # with a checksum of the tampered file itself: age's authentication refuses it
    digest = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(ReceiveError) as err:
        receive(sent.sealed, RESEARCHER, home / "pkg", sha256=digest)
    assert err.value.rule == "receive-decrypt"
    assert list(home.iterdir()) == []


def test_g11_another_researchers_key_cannot_open_it(sent: Sealed, tmp_path: Path) -> None:
    digest = hashlib.sha256(sent.sealed.read_bytes()).hexdigest()
    with pytest.raises(ReceiveError) as err:
        receive(sent.sealed, OTHER, tmp_path / "pkg", sha256=digest)
    assert err.value.rule == "receive-decrypt"
    assert not (tmp_path / "pkg").exists() and leftovers(tmp_path) == []


def test_g8_a_file_that_does_not_match_the_manifest_is_refused(tmp_path: Path) -> None:
    sent = build(tmp_path)
    # rebuild the archive with one payload byte changed after the manifest was written
    tampered = _archive(
        {
            f"{NAME}/": None,
            **{f"{NAME}/{d}/": None for d in ("data", "data/csv", "data/parquet", "data/codebook")},
            **{
                f"{NAME}/{rel}": (content if rel != "data/csv/persons.csv" else content + b"x")
                for rel, content in sent.files.items()
            },
        }
    )
    sealed = _seal(tampered, tmp_path / "evil" / f"{NAME}.tar.age")
    with pytest.raises(ReceiveError) as err:
        receive(sealed, RESEARCHER, tmp_path / "pkg", sha256=_sha(sealed))
    assert err.value.rule == "receive-manifest"
    assert "persons.csv" in err.value.message
    assert not (tmp_path / "pkg").exists() and leftovers(tmp_path) == []


def _archive(members: dict[str, bytes | None], links: dict[str, tuple[bytes, str]] = {}) -> bytes:  # noqa: B006
    """A tar with directories (None), files and links (type, target): as an attacker writes
    it, not as `pack` would."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name.rstrip("/") if content is None else name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        for name, (kind, target) in links.items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def _seal(archive: bytes, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    plain = out.with_name(out.name.removesuffix(".age"))
    plain.write_bytes(archive)
    encrypt(plain, [public_of(RESEARCHER)], out)
    plain.unlink()
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("members", "links"),
    [
        ({f"{NAME}/": None, f"{NAME}/../escaped.txt": b"x"}, {}),
        ({f"{NAME}/": None, "/tmp/sluis-absolute-escape.txt": b"x"}, {}),
        ({f"{NAME}/": None, "other/escaped.txt": b"x"}, {}),
        ({f"{NAME}/": None}, {f"{NAME}/link": (tarfile.SYMTYPE, "/etc/passwd")}),
        ({f"{NAME}/": None}, {f"{NAME}/hard": (tarfile.LNKTYPE, "/etc/passwd")}),
        ({f"{NAME}/": None, f"{NAME}/a.txt": b"1", f"{NAME}/./a.txt": b"2"}, {}),
        ({f"{NAME}/data/x.txt": b"x"}, {}),
    ],
    ids=["dotdot", "absolute", "outside", "symlink", "hardlink", "twice", "no-parent-dir"],
)
def test_g11_unsafe_archive_entries_are_refused_and_nothing_is_unpacked(
    tmp_path: Path, members: dict, links: dict
) -> None:
    sealed = _seal(_archive(members, links), tmp_path / "in" / f"{NAME}.tar.age")
    home = tmp_path / "researcher"
    home.mkdir()
    with pytest.raises(ReceiveError) as err:
        receive(sealed, RESEARCHER, home / "pkg", sha256=_sha(sealed))
    assert err.value.rule == "receive-unsafe-archive"
    assert list(home.iterdir()) == []
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/sluis-absolute-escape.txt").exists()


def test_g8_an_existing_non_empty_target_is_refused(sent: Sealed, tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    target.mkdir()
    (target / "earlier.txt").write_text("an earlier copy")
    with pytest.raises(ReceiveError) as err:
        receive(sent.sealed, RESEARCHER, target, sha256=_sha(sent.sealed))
    assert err.value.rule == "receive-target"
    assert [p.name for p in target.iterdir()] == ["earlier.txt"]


def test_g8_a_file_not_named_like_a_package_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "package.tar"
    plain.write_bytes(b"x")
    with pytest.raises(ReceiveError) as err:
        receive(plain, RESEARCHER, tmp_path / "pkg", sha256="0" * 64)
    assert err.value.rule == "receive-name"


# --------------------------------------------------------------------------- SFTP


needs_sshd = pytest.mark.skipif(sshd_missing() is not None, reason=str(sshd_missing()))


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    if sshd_missing():
        pytest.skip(str(sshd_missing()))
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def _on_server(sshd: SshServer, sent: Sealed, tmp_path: Path) -> str:
    inbox = sshd.root / tmp_path.name
    inbox.mkdir()
    shutil.copy(sent.sealed, inbox / sent.sealed.name)
    return str(inbox / sent.sealed.name)


@needs_sshd
def test_g8_receive_over_sftp_with_the_host_key_pinned(
    sshd: SshServer, sent: Sealed, tmp_path: Path, umask_022: None
) -> None:
    remote = _on_server(sshd, sent, tmp_path)
    source = SftpSource(sshd.host, sshd.port, sshd.username, sshd.client_key, sshd.host_key, remote)
    home = tmp_path / "researcher"
    home.mkdir()
    got = receive(
        source, RESEARCHER, receipt=sent.receipt, sender_key=sent.sender_public, workdir=home
    )
    assert got.path == home / NAME
    assert got.datasets == {"persons": 3, "panel": 1234}
    assert (home / NAME / "data" / "parquet" / "panel.parquet").read_bytes() == sent.files[
        "data/parquet/panel.parquet"
    ]
    assert stat.S_IMODE((home / NAME / RECEIVED).stat().st_mode) == 0o600
    assert leftovers(home) == []  # the downloaded .tar.age went with the temporary directory


@needs_sshd
def test_g8_receive_refuses_a_server_with_another_host_key(
    sshd: SshServer, sent: Sealed, tmp_path: Path
) -> None:
    remote = _on_server(sshd, sent, tmp_path)
    impostor = public_of(OTHER)  # a valid ssh-ed25519 key, but not the server's
    source = SftpSource(sshd.host, sshd.port, sshd.username, sshd.client_key, impostor, remote)
    home = tmp_path / "researcher"
    home.mkdir()
    with pytest.raises(FetchError) as err:
        receive(source, RESEARCHER, sha256=_sha(sent.sealed), workdir=home)
    assert err.value.rule == "receive-host-key"
    assert list(home.iterdir()) == []


@needs_sshd
def test_g8_receive_names_a_missing_remote_file(sshd: SshServer, tmp_path: Path) -> None:
    remote = str(sshd.root / "nowhere" / f"{NAME}.tar.age")
    source = SftpSource(sshd.host, sshd.port, sshd.username, sshd.client_key, sshd.host_key, remote)
    with pytest.raises(FetchError) as err:
        receive(source, RESEARCHER, sha256="0" * 64, workdir=tmp_path)
    assert err.value.rule == "receive-remote"
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- CLI


def test_g11_sluis_receive_prints_what_arrived(sent: Sealed, tmp_path: Path) -> None:
    target = tmp_path / "pkg"
    result = sluis(
        "receive",
        str(sent.sealed),
        "--key",
        str(RESEARCHER),
        "--out",
        str(target),
        "--receipt",
        str(sent.receipt),
        "--sender-key",
        sent.sender_public,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert f"received: {NAME} (decision 25/074" in text
    assert "panel" in text and "1,234" in text
    assert "destroy by 2029-10-31" in text
    assert (target / "bagit.txt").is_file()


def test_g11_sluis_receive_refusal_is_one_line_and_exit_2(sent: Sealed, tmp_path: Path) -> None:
    result = sluis("receive", str(sent.sealed), "--key", str(OTHER), "--sha256", _sha(sent.sealed))
    assert result.returncode == 2
    assert "receive-decrypt" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- end to end


@needs_sshd
@pytest.mark.slow
def test_g9_g11_a14_deliver_receive_destroy_confirm_end_to_end(
    sshd: SshServer, tmp_path: Path
) -> None:
    """A real 25/074 phase-1 run is delivered over SFTP (real sshd), received by the
    researcher with the provider's receipt and audit key, destroyed with a certificate,
    and the certificate closes the provider's register entry; the audit log verifies."""
    import datetime as dt

    from typer.testing import CliRunner

    from sluis.audit import public_key_openssh, signing_key, verify
    from sluis.cli.app import app
    from sluis.flow import run_spec
    from sluis.flow.deliver import SftpTarget, deliver
    from sluis.retain import register
    from sluis.synth import generate

    spec = Path(__file__).resolve().parents[1] / "specs" / "25-074.yaml"
    sources = tmp_path / "sources"
    generate(sources, scale=0.002, seed=5, workers=1)
    work = tmp_path / "work"
    assert run_spec(spec, sources, phase=1, work=work).scra_ok
    inbox = sshd.root / tmp_path.name
    inbox.mkdir()
    target = SftpTarget(
        sshd.host, sshd.port, sshd.username, sshd.client_key, sshd.host_key, str(inbox)
    )
    day = dt.date(2029, 10, 30)
    summary = deliver(spec, work, created=day, target=target, today=day)
    name = Path(summary.package).name
    sender = public_key_openssh(signing_key(work / "ksz" / "keys", "ksz"))

    home = tmp_path / "researcher"
    home.mkdir()
    source = SftpSource(
        sshd.host, sshd.port, sshd.username, sshd.client_key, sshd.host_key, summary.remote_path
    )
    got = receive(
        source, RESEARCHER, receipt=Path(summary.receipt), sender_key=sender, workdir=home
    )
    assert got.archive_sha256 == summary.archive_sha256
    assert got.datasets == summary.rows
    assert str(got.deadline) == "2029-10-31"

    runner = CliRunner()
    result = runner.invoke(
        app, ["retain", "destroy", "--package", str(got.path), "--key", str(RESEARCHER)]
    )
    assert result.exit_code == 0, result.output
    assert not got.path.exists()
    cert = home / f"{name}.destruction.json"
    result = runner.invoke(
        app, ["retain", "confirm", str(cert), "--work", str(work), "--today", "2029-10-31"]
    )
    assert result.exit_code == 0, result.output
    entry = register.entry(work / "ksz", name, today=day)
    assert entry.certificate is not None
    assert verify(work / "ksz" / "audit.log").ok
