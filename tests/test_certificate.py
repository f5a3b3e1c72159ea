"""The researcher's destruction and its signed certificate; the provider's confirmation
(G9, G10, G11, A14, B10).

A package is received for real (age to the demo researchers' ssh-ed25519 keys), destroyed
by `destroy_package`, and its certificate confirmed against a register kept with the
register's own API and the party's real audit log."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sealed_package import KEYS, NAME, OTHER, RESEARCHER, Sealed, build, public_of
from sluis.audit import fingerprint, open_log, verify
from sluis.deliver.receipt import load_private_key
from sluis.receive import receive
from sluis.retain import certificate as certificates
from sluis.retain import register
from sluis.retain.certificate import (
    CertificateError,
    confirm,
    destroy_package,
    read_certificate,
    sign,
)

TODAY = dt.date(2029, 10, 31)
MOMENT = dt.datetime(2029, 10, 31, 9, 30, tzinfo=dt.UTC)


def deliver_to_register(
    work: Path,
    sent: Sealed,
    *,
    name: str = NAME,
    researchers: tuple[Path, ...] = (RESEARCHER,),
    archive_sha256: str | None = None,
    party: str = "ksz",
    decision: str = "25/074",
) -> Path:
    """Record a ``delivered`` event as `sluis deliver` does, through the register's API."""
    home = work / party
    home.mkdir(parents=True, exist_ok=True)
    with open_log(
        home / "audit.log", party=party, store=home / "keys", events=register.EVENTS
    ) as audit:
        register.append(
            home,
            "delivered",
            name,
            {
                "decision": decision,
                "recipient": "uantwerpen",
                "researchers": [
                    {
                        "name": key.name,
                        "public_key": public_of(key) + " comment",
                        "fingerprint": fingerprint(load_private_key(key).public_key()),
                    }
                    for key in researchers
                ],
                "archive_sha256": archive_sha256 or sent.archive_sha256,
                "deadline": "2029-10-31",
                "date": "2029-10-30",
            },
            audit=audit,
        )
    return home


@pytest.fixture
def opened(tmp_path: Path) -> tuple[Sealed, Path, Path]:
    """A package received by the researcher and its delivery in the provider's register:
    (what was sent, the opened package, the provider's workspace)."""
    sent = build(tmp_path)
    package = tmp_path / "researcher" / NAME
    receive(sent.sealed, RESEARCHER, package, receipt=sent.receipt, sender_key=sent.sender_public)
    work = tmp_path / "work"
    deliver_to_register(work, sent)
    return sent, package, work


def test_g9_a14_a_certificate_closes_the_register_entry(
    opened: tuple[Sealed, Path, Path],
) -> None:
    sent, package, work = opened
    path, cert = destroy_package(package, RESEARCHER, now=MOMENT)
    assert not package.exists()
    assert sorted(p.name for p in package.parent.iterdir()) == [f"{NAME}.destruction.json"]
    assert path == package.with_name(f"{NAME}.destruction.json")
    # every file, with the size and digest it had before it was destroyed
    listed = {item["path"]: item for item in cert["files"]}
    assert set(listed) == set(sent.files) | {"sluis-received.json"}
    for rel, content in sent.files.items():
        assert listed[rel]["bytes"] == len(content)
    assert cert["archive_sha256"] == sent.archive_sha256
    assert cert["destroyed_at"] == "2029-10-31T09:30:00Z"
    assert read_certificate(path.read_bytes()) == cert

    before = register.entry(work / "ksz", NAME, today=TODAY)
    assert before.certificate is None
    line = confirm(path, work, today=TODAY)
    after = register.entry(work / "ksz", NAME, today=TODAY)
    assert after.certificate is not None
    assert after.certificate["archive_sha256"] == sent.archive_sha256
    assert line["researcher"] == fingerprint(load_private_key(RESEARCHER).public_key())
    assert line["files"] == len(cert["files"])
    report = verify(work / "ksz" / "audit.log")
    assert report.ok, report.problems
    events = [json.loads(x)["event"] for x in (work / "ksz" / "audit.log").read_text().splitlines()]
    assert "certificate-confirmed" in events


def test_b10_any_named_researcher_of_26_050_may_certify(tmp_path: Path) -> None:
    """26/050 names two researchers; the package is encrypted to both, and the second one's
    certificate closes the entry (B10: destroyed at 30 Nov 2033)."""
    second = KEYS / "kuleuven-2"
    name = "26-050-kuleuven-20331129"
    sent = build(
        tmp_path,
        name=name,
        recipients=(OTHER, second),
        decision="26/050",
        deadline="2033-11-30",
    )
    package = tmp_path / "researcher" / name
    got = receive(sent.sealed, second, package, receipt=sent.receipt, sender_key=sent.sender_public)
    assert str(got.deadline) == "2033-11-30"
    work = tmp_path / "work"
    deliver_to_register(
        work, sent, name=name, researchers=(OTHER, second), party="statbel", decision="26/050"
    )
    path, _ = destroy_package(package, second)
    confirm(path, work, today=dt.date(2033, 11, 30))
    assert register.entry(work / "statbel", name, today=TODAY).certificate is not None


def _resign(cert: dict, key: Path, **changes: object) -> dict:
    body = {k: v for k, v in copy.deepcopy(cert).items() if k != "signature"}
    body.update(changes)
    return sign(body, load_private_key(key))


def _write(path: Path, cert: dict) -> Path:
    path.write_text(json.dumps(cert, indent=2))
    return path


@pytest.fixture
def destroyed(opened: tuple[Sealed, Path, Path]) -> tuple[Path, dict, Path, Sealed]:
    sent, package, work = opened
    path, cert = destroy_package(package, RESEARCHER, now=MOMENT)
    return path, cert, work, sent


def _refused(path: Path, work: Path, rule: str) -> None:
    log = (work / "ksz" / "audit.log").read_bytes()
    reg = (work / "ksz" / register.FILE).read_bytes()
    with pytest.raises(CertificateError) as err:
        confirm(path, work, today=TODAY)
    assert err.value.rule == rule
    assert (work / "ksz" / "audit.log").read_bytes() == log  # a refusal changes nothing
    assert (work / "ksz" / register.FILE).read_bytes() == reg
    assert register.entry(work / "ksz", NAME, today=TODAY).certificate is None


def test_g9_a_forged_certificate_is_refused(destroyed: tuple, tmp_path: Path) -> None:
    """Signed by another key than the researcher's it names."""
    _path, cert, work, _ = destroyed
    forged = _resign(cert, OTHER)
    forged["researcher_public_key"] = cert["researcher_public_key"]
    _refused(_write(tmp_path / "forged.json", forged), work, "certificate-signature")


@pytest.mark.parametrize(
    "change",
    ["file-digest", "fewer-files", "time", "package"],
)
def test_g9_an_altered_certificate_is_refused(
    destroyed: tuple, tmp_path: Path, change: str
) -> None:
    _path, cert, work, _ = destroyed
    altered = copy.deepcopy(cert)
    if change == "file-digest":
        altered["files"][0]["sha256"] = "0" * 64
    elif change == "fewer-files":
        altered["files"] = altered["files"][1:]
    elif change == "time":
        altered["destroyed_at"] = "2029-10-01T00:00:00Z"
    else:
        altered["package"] = "25-074-uantwerpen-20291029"
    _refused(_write(tmp_path / "altered.json", altered), work, "certificate-signature")


def test_g9_a_reindented_certificate_still_verifies(destroyed: tuple, tmp_path: Path) -> None:
    _path, cert, work, _ = destroyed
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(cert, separators=(",", ":"), sort_keys=False))
    confirm(compact, work, today=TODAY)


def test_g9_a_replayed_certificate_is_refused(destroyed: tuple) -> None:
    path, _cert, work, _ = destroyed
    confirm(path, work, today=TODAY)
    log = (work / "ksz" / "audit.log").read_bytes()
    with pytest.raises(CertificateError) as err:
        confirm(path, work, today=TODAY)
    assert err.value.rule == "certificate-replayed"
    assert (work / "ksz" / "audit.log").read_bytes() == log
    lines = (work / "ksz" / register.FILE).read_text().splitlines()
    assert [json.loads(x)["event"] for x in lines].count("certificate-confirmed") == 1


def test_g11_a_certificate_by_another_researcher_is_refused(
    destroyed: tuple, tmp_path: Path
) -> None:
    """A valid signature, but by a key the delivery was not encrypted to."""
    _path, cert, work, _ = destroyed
    other = _resign(cert, OTHER, researcher_public_key=public_of(OTHER))
    assert read_certificate(json.dumps(other).encode()) == other  # the signature holds
    _refused(_write(tmp_path / "other.json", other), work, "certificate-researcher")


def test_g9_a_certificate_of_another_package_is_refused(destroyed: tuple, tmp_path: Path) -> None:
    _path, cert, work, _ = destroyed
    unknown = _resign(cert, RESEARCHER, package="25-074-uantwerpen-20270101")
    _refused(_write(tmp_path / "unknown.json", unknown), work, "certificate-package")
    # same name, another archive (the provider delivered again, the researcher destroyed
    # the earlier copy): not this delivery's destruction
    other_archive = _resign(cert, RESEARCHER, archive_sha256="ab" * 32)
    _refused(_write(tmp_path / "archive.json", other_archive), work, "certificate-digest")


def test_g9_destroying_with_another_key_is_refused_and_destroys_nothing(
    opened: tuple[Sealed, Path, Path],
) -> None:
    sent, package, _work = opened
    with pytest.raises(CertificateError) as err:
        destroy_package(package, OTHER)
    assert err.value.rule == "destroy-key"
    for rel, content in sent.files.items():
        assert (package / rel).read_bytes() == content
    assert sorted(p.name for p in package.parent.iterdir()) == [NAME]


def test_g9_a_killed_destruction_is_completed_by_a_rerun(
    opened: tuple[Sealed, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The destruction stops after two files (as a kill would); a rerun destroys the rest
    and signs a certificate naming every file with its digest from before."""
    sent, package, work = opened
    real = certificates.shred_file
    done: list[Path] = []

    def dies_after_two(path: Path) -> None:
        if len(done) == 2:
            raise KeyboardInterrupt
        real(path)
        done.append(path)

    monkeypatch.setattr(certificates, "shred_file", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        destroy_package(package, RESEARCHER)
    assert not package.exists()  # moved out of its name before the first file went
    assert not package.with_name(f"{NAME}.destruction.json").exists()
    monkeypatch.setattr(certificates, "shred_file", real)
    path, cert = destroy_package(package, RESEARCHER)
    assert sorted(p.name for p in package.parent.iterdir()) == [path.name]
    assert {item["path"] for item in cert["files"]} == set(sent.files) | {"sluis-received.json"}
    confirm(path, work, today=TODAY)


def test_g9_a_package_not_opened_by_sluis_receive_is_refused(tmp_path: Path) -> None:
    package = tmp_path / "by-hand"
    (package / "data").mkdir(parents=True)
    (package / "data" / "x.csv").write_text("1\n")
    with pytest.raises(CertificateError) as err:
        destroy_package(package, RESEARCHER)
    assert err.value.rule == "destroy-not-received"
    assert (package / "data" / "x.csv").is_file()


# ---------------------------------------------------------------- the parser, fuzzed


@pytest.fixture(scope="module")
def valid_certificate(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = tmp_path_factory.mktemp("cert")
    sent = build(root)
    package = root / "researcher" / NAME
    receive(sent.sealed, RESEARCHER, package, receipt=sent.receipt, sender_key=sent.sender_public)
    path, _ = destroy_package(package, RESEARCHER, now=MOMENT)
    return path.read_bytes()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_g9_mutated_certificate_bytes_are_refused_or_mean_the_same(
    valid_certificate: bytes, data: st.DataObject
) -> None:
    """Any byte flipped, inserted or deleted: the parser and verifier either raise a
    CertificateError (never another exception) or return exactly the original fields (a
    change in whitespace)."""
    original = read_certificate(valid_certificate)
    raw = bytearray(valid_certificate)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["flip", "insert", "delete", "replace"]))
        if how == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "insert":
            raw.insert(at, data.draw(st.integers(0, 255)))
        elif how == "delete":
            del raw[at]
        else:
            raw[at] = data.draw(st.sampled_from(list(b' \n"{}[],:0aZ\\')))
    try:
        parsed = read_certificate(bytes(raw))
    except CertificateError as err:
        assert err.rule in {"certificate-format", "certificate-signature"}
    else:
        assert parsed == original


@settings(max_examples=100, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=10,
    )
)
def test_g9_any_json_that_is_not_a_certificate_is_a_format_error(value: object) -> None:
    with pytest.raises(CertificateError) as err:
        read_certificate(json.dumps(value).encode())
    assert err.value.rule == "certificate-format"


# ---------------------------------------------------------------- CLI


def test_g9_sluis_retain_confirm_closes_and_refuses_a_replay(destroyed: tuple) -> None:
    from sluis.cli.app import app

    path, _cert, work, _ = destroyed
    runner = CliRunner()
    result = runner.invoke(app, ["retain", "confirm", str(path), "--work", str(work)])
    assert result.exit_code == 0, result.output
    assert f"confirmed: {NAME}" in " ".join(result.output.split())
    again = runner.invoke(app, ["retain", "confirm", str(path), "--work", str(work)])
    assert again.exit_code != 0
    assert isinstance(again.exception, CertificateError)
    assert again.exception.rule == "certificate-replayed"


@pytest.mark.parametrize(
    "key", ["/etc/hostname", "ssh-rsa AAAAB3NzaC1yc2E", "ssh-d25519 AAAA", "ssh-ed25519 !!"]
)
def test_g9_a_certificate_key_is_parsed_never_read_as_a_path(
    valid_certificate: bytes, key: str
) -> None:
    """Found by the fuzz test: a key that is not an OpenSSH line was read as a file name."""
    cert = json.loads(valid_certificate)
    cert["researcher_public_key"] = key
    with pytest.raises(CertificateError) as err:
        read_certificate(json.dumps(cert).encode())
    assert err.value.rule == "certificate-format"
