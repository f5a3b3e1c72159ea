"""The delivery register, its deadlines and destruction by crypto-shredding, end to end with
real `sluis` processes (G9, G10, B10, A14; issue 18 items 1, 2, 4, 5).

One run of 25/074 phase 1 on a small synthetic Belgium is delivered with ``--date
2029-10-30`` (its deadline is 31 October 2029, §30); every test works on its own copy of
that workspace (a copied workspace carries its own key store)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sluis.retain import register, vault
from sluis.retain.clock import today
from sluis.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "25-074.yaml"
PACKAGE = "25-074-uantwerpen-20291030"
ENTRY = [sys.executable, "-c", "from sluis.cli.app import main; main()"]
#: what is held for the delivery, and the purpose its files are sealed for
HELD = {
    "staged": "staged",
    "scra/staged": "treated",
    "scra/suppressions": "suppressions",
    f"delivery/{PACKAGE}": "package",
}
pytestmark = pytest.mark.slow
if shutil.which("age") is None:
    pytestmark = [pytestmark, pytest.mark.skip(reason="the age tool is not installed")]


def sluis(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ENTRY, *args], capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("retain")
    generate(base / "sources", scale=0.002, seed=5, workers=1)
    work = base / "work"
    ran = sluis(
        "run", str(SPEC), "--data", str(base / "sources"), "--phase", "1", "--work", str(work)
    )
    assert ran.returncode == 0, ran.stderr
    sent = sluis("deliver", str(SPEC), "--work", str(work), "--date", "2029-10-30")
    assert sent.returncode == 0, sent.stderr
    return work


@pytest.fixture
def work(delivered: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "work"
    shutil.copytree(delivered, copy, symlinks=True)
    return copy


def _listed(work: Path, *args: str) -> list[dict]:
    shown = sluis("retain", "list", "--work", str(work), "--json", *args)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _plaintext_slices(work: Path) -> list[bytes]:
    """64-byte slices from the middle of every data file held for the delivery (opened
    through the vault) and of its encrypted archive."""
    home, slices = work / "ksz", []
    for folder, purpose in HELD.items():
        with vault.opened(home / folder, store=home / "keys", purpose=purpose, work=home) as plain:
            for path in sorted(plain.rglob("*")):
                data = path.read_bytes() if path.suffix in {".parquet", ".csv", ".dta"} else b""
                slices += [
                    data[at : at + 64] for at in (len(data) // 3, len(data) // 2) if len(data) > 200
                ]
    sent = (home / "delivery" / f"{PACKAGE}.tar.age").read_bytes()
    slices += [sent[at : at + 64] for at in (len(sent) // 3, len(sent) // 2)]
    assert len(slices) > 30
    return slices


def test_g9_the_delivery_is_registered_sealed_and_due_within_one_day(work: Path) -> None:
    """G9, G10: the register names the delivery with its researchers, digest, checkpoint,
    deadline and state; what is held is sealed (no plaintext file is left in the held
    folders); on 2029-10-30 it is due within 1 day, on 2029-11-01 overdue."""
    home = work / "ksz"
    entries = {
        e["delivery"]: e for e in _listed(work, "--due-within", "1d", "--today", "2029-10-30")
    }
    entry = entries[PACKAGE]
    assert entry["days_left"] == 1 and entry["state"] == "delivered"
    assert entry["deadline"] == "2029-10-31" and entry["delivered"] == "2029-10-30"
    assert entry["recipient"] == "uantwerpen" and entry["decision"] == "25/074"
    assert entry["researchers"] and entry["researchers"][0]["fingerprint"].startswith("SHA256:")
    receipt = json.loads((home / "delivery" / "delivery.json").read_text())
    assert entry["archive_sha256"] == receipt["archive_sha256"]
    assert entry["audit_checkpoint"] == receipt["audit_checkpoint"]
    assert entries["key:25-074"]["state"] == "held"
    assert _listed(work, "--due-within", "2d", "--today", "2029-10-29")[0]["days_left"] == 2
    assert [e for e in _listed(work, "--due-within", "1d", "--today", "2029-10-28")] == []
    overdue = _listed(work, "--today", "2029-11-01")
    assert [e["state"] for e in overdue] == ["overdue", "overdue"]
    for folder in HELD:
        files = [p for p in (home / folder).rglob("*") if p.is_file()]
        assert files and all(p.suffix == ".sealed" for p in files), folder
        assert {vault.key_id_of(p) for p in files} == {entry["key_id"]}
    table = sluis("retain", "list", "--work", str(work), "--today", "2029-11-01")
    assert table.returncode == 0 and PACKAGE in table.stdout and "overdue" in table.stdout
    # the register is covered by the audit log: every line names its record
    log = {
        json.loads(x)["seq"]: json.loads(x) for x in (home / "audit.log").read_text().splitlines()
    }
    for line in register.lines(home):
        assert log[line["audit_seq"]]["hash"] == line["audit_hash"]


def test_g9_destruction_at_the_deadline_reaches_every_copy(work: Path, tmp_path: Path) -> None:
    """G9, B10, G10: destroyed on 2029-10-31 (the deadline: no reason needed), no file under
    the party's workspace holds a byte sequence of the delivery, the data key is gone from
    the key store, a copy of the sealed files taken before cannot be opened, the signed
    record names every file, and `sluis audit verify` passes."""
    home = work / "ksz"
    entry = register.entry(home, PACKAGE, today=today("2029-10-31"))
    key = vault.key_file(home / "keys", entry.key_id)
    secret = key.read_text().split("key ")[1].strip()
    slices = _plaintext_slices(work)
    copy = tmp_path / "backup"
    for folder in HELD:
        shutil.copytree(home / folder, copy / folder)
    before = {
        p.relative_to(home).as_posix(): p.stat().st_size
        for folder in HELD
        for p in (home / folder).rglob("*.sealed")
    }

    done = sluis("retain", "destroy", PACKAGE, "--work", str(work), "--today", "2029-10-31")
    assert done.returncode == 0, done.stderr
    assert entry.key_id in done.stdout

    assert not key.exists()
    for path in (p for p in home.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert secret.encode() not in data, path
        leaked = [s for s in slices if s in data]
        assert not leaked, f"{path} holds bytes of the destroyed delivery"
    for folder, purpose in HELD.items():
        opening = vault.opened(copy / folder, store=home / "keys", purpose=purpose, work=home)
        with pytest.raises(vault.VaultError) as err, opening:
            pass
        assert err.value.rule == "vault-key-missing"
    record = json.loads((home / "destruction" / f"{PACKAGE}.json").read_text())
    assert {f["name"]: f["bytes"] for f in record["files"]} == {
        **before,
        f"delivery/{PACKAGE}.tar.age": record["files"][-1]["bytes"],
    }
    assert record["key_id"] == entry.key_id and record["day"] == "2029-10-31"
    # the signed checkpoint covers the destroyed record: it signs that record's seq and hash
    checkpoint = record["audit_checkpoint"]
    assert (checkpoint["seq"], checkpoint["hash"]) == (record["audit_seq"], record["audit_hash"])
    checked = sluis(
        "audit",
        "verify",
        str(home / "audit.log"),
        "--checkpoint",
        str(home / "destruction" / f"{PACKAGE}.json"),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = {e["delivery"]: e for e in _listed(work, "--today", "2029-10-31")}
    assert listed[PACKAGE]["state"] == "destroyed"
    verified = sluis("audit", "verify", str(home / "audit.log"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "not in the standard vocabulary" not in verified.stdout + verified.stderr
    again = sluis("retain", "destroy", PACKAGE, "--work", str(work), "--today", "2029-10-31")
    assert again.returncode == 1 and "already-destroyed" in again.stderr


def test_g9_early_destruction_needs_a_reason(work: Path) -> None:
    """G9 (25/074 §21): before the deadline a destruction without a reason is refused and
    changes nothing; with a reason it goes ahead and the reason is in the record."""
    home = work / "ksz"
    register_before = (home / "register.jsonl").read_bytes()
    early = sluis("retain", "destroy", PACKAGE, "--work", str(work), "--today", "2029-01-15")
    assert early.returncode == 1 and "early-destruction" in early.stderr
    assert (home / "register.jsonl").read_bytes() == register_before
    assert vault.held_key(home / "staged")
    why = "the research is finished"
    done = sluis(
        "retain", "destroy", PACKAGE, "--work", str(work), "--today", "2029-01-15", "--reason", why
    )
    assert done.returncode == 0, done.stderr
    record = json.loads((home / "destruction" / f"{PACKAGE}.json").read_text())
    assert record["reason"] == why


def test_g9_delivering_after_the_deadline_is_refused(work: Path) -> None:
    """G9: the delivery after 31 October 2029 is refused, whether the package date or the
    clock (--today) is past the deadline."""
    for args in (["--date", "2029-11-01"], ["--date", "2029-10-30", "--today", "2029-11-01"]):
        refused = sluis("deliver", str(SPEC), "--work", str(work), "--force", *args)
        assert refused.returncode == 1, refused.stderr
        assert "past-deadline" in refused.stderr


def test_g9_26050_s26_a_destroyed_project_key_refuses_a_new_run(work: Path) -> None:
    """26/050 §26 (and 25/074's key alike): the register covers the project key with the
    decision's deadline; once destroyed, a rerun of the flow is refused with a clear error
    instead of making a new key."""
    destroyed = sluis("retain", "destroy", "--due", "--work", str(work), "--today", "2029-10-31")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "key:25-074" in destroyed.stdout and PACKAGE in destroyed.stdout
    assert not (work / "ksz" / "keys" / "25-074.key").exists()
    data = Path(json.loads((work / "run.json").read_text())["data"])
    rerun = sluis(
        "run", str(SPEC), "--data", str(data), "--phase", "1", "--work", str(work), "--force"
    )
    assert rerun.returncode != 0
    assert "key-destroyed" in rerun.stderr and "Traceback" not in rerun.stderr
    assert not (work / "ksz" / "keys" / "25-074.key").exists()


def test_g9_a_second_delivery_reads_the_sealed_treated_files(work: Path) -> None:
    """X3, G9: a second delivery of the same run opens the sealed treated files through the
    vault and gives the same data files as the first (their plaintext digests)."""
    home = work / "ksz"

    def digests(name: str) -> dict[str, str]:
        with vault.opened(
            home / "delivery" / name, store=home / "keys", purpose="package", work=home
        ) as plain:
            return {
                p.relative_to(plain).as_posix(): p.read_bytes().hex()[:64]
                for p in plain.rglob("*.parquet")
            }

    first = digests(PACKAGE)
    again = sluis("deliver", str(SPEC), "--work", str(work), "--date", "2029-10-29")
    assert again.returncode == 0, again.stderr
    assert digests("25-074-uantwerpen-20291029") == first != {}
