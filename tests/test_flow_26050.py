"""The 26/050 three-party flow on a small synthetic Belgium (B1-B9, G3, G7, G9, G10).

Statbel (trusted third party) selects the cohorts (B2), sends KSZ and VDAB the list of
national numbers, receives their extracts over SFTP, links, pseudonymises persons and
households (B4), destroys the providers' data, runs the SCRA and delivers to KU Leuven.

A 0.3% Belgium is far too small for the spec's global-risk limit of 0.01 on the whole
population (every cell is a hundredth of its real size), so the module runs a copy of the
spec with the project's loosest allowed limit (0.05); the treatment itself is tested in
tests/test_scra_*.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sluis.domain.codelists import municipalities
from sluis.engine import connect
from sluis.errors import SourceError
from sluis.extract.population import population_frames
from sluis.flow import run_spec
from sluis.flow.exchange import pack_extract, unpack_extract
from sluis.flow.linked import requested_columns
from sluis.flow.retain import opened_held
from sluis.pseudo import load_key, new_key, sequence_numbers
from sluis.select import Sources
from sluis.select.population import population
from sluis.spec import load_spec
from sluis.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "26-050.yaml"
pytestmark = pytest.mark.slow
SCALE = 0.003
#: moves out of the Flemish Region, straight from the register: a Flemish residence period
#: that ends (not by death) without a Flemish period from the next day (``gone``)
_MOVES_OUT = """
        WITH fl AS (SELECT * FROM residence WHERE nis_code IN (SELECT nis FROM flemish)),
        gone AS (
            SELECT a.insz, a.valid_to AS left_on FROM fl a
            WHERE a.valid_to IS NOT NULL AND coalesce(a.end_reason, '') <> 'D'
              AND NOT EXISTS (SELECT 1 FROM fl b WHERE b.insz = a.insz
                              AND b.valid_from = a.valid_to + 1)),
"""
DAYS = [dt.date(y, 1, 1) for y in range(2016, 2025)]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("belgium") / "sources"
    generate(out, scale=SCALE, seed=11, workers=2)
    return out


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = SPEC.read_text()
    assert "max_global_risk: 0.01\n" in text
    path = tmp_path_factory.mktemp("spec") / "26-050.yaml"
    path.write_text(text.replace("max_global_risk: 0.01\n", "max_global_risk: 0.05\n"))
    return path


@pytest.fixture(scope="module")
def run(data: Path, spec_path: Path, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("run")
    return run_spec(spec_path, data, phase=1, work=work), work


@pytest.fixture(scope="module")
def staged(run) -> Iterator[Path]:
    """Statbel's staged extract in plaintext: sealed in the workspace from the run's first
    write (G9), so read through the vault."""
    _, work = run
    with opened_held(work / "statbel" / "staged") as plain:
        yield plain


def _sql(data: Path, *tables: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in tables:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data}/{table}/*.parquet')"
        )
    return con


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _flemish(con: duckdb.DuckDBPyConnection) -> None:
    flemish = [m.nis for m in municipalities() if m.region == "02000"]
    con.execute("CREATE TABLE flemish AS SELECT unnest(?::VARCHAR[]) AS nis", [flemish])


def test_b2_cohorts_match_a_direct_query(data: Path, run) -> None:
    """26/050's cohorts: Flemish Region, 18-64, not working, retired or studying on
    1 January, against a direct SQL query on the registers; the flow's own selection (one
    scan of the positions for all cohorts) gives the same sizes."""
    spec = load_spec(SPEC)
    con = _sql(
        data,
        "person",
        "residence",
        "dwh_position",
        "education_vl_enrolment",
        "education_fwb_enrolment",
    )
    _flemish(con)
    with connect() as engine:
        sources = Sources(engine, data)
        for name, pop in spec.populations.items():
            day = pop.reference_date.isoformat()
            year = pop.reference_date.year
            want = con.execute(
                f"""
                SELECT count(DISTINCT p.insz) FROM person p
                JOIN residence r ON r.insz = p.insz AND r.valid_from <= DATE '{day}'
                     AND (r.valid_to IS NULL OR r.valid_to >= DATE '{day}')
                WHERE r.nis_code IN (SELECT nis FROM flemish)
                  AND date_sub('year', p.birth_date, DATE '{day}') BETWEEN 18 AND 64
                  AND p.insz NOT IN (SELECT insz FROM dwh_position
                      WHERE quarter_end = DATE '{year - 1}-12-31'
                        AND (sep LIKE '1%' OR sep LIKE '34%' OR sep LIKE '36%'))
                  AND p.insz NOT IN (SELECT insz FROM education_vl_enrolment
                                     WHERE school_year = {year - 1})
                  AND p.insz NOT IN (SELECT insz FROM education_fwb_enrolment
                                     WHERE school_year = {year - 1})
                """
            ).fetchone()[0]
            assert engine.count(population(sources, spec, name)) == want, name
            assert run[0].populations[name] == want, name
            assert want > 100


def test_b2_g7_household_members_only_while_in_the_household(data: Path) -> None:
    """The yearly frame is every cohort person from their cohort date while resident,
    plus everyone in a cohort person's household on that 1 January (G7), against SQL on
    the household history; a cohort person's days end at their first move out of the
    Flemish Region after the cohort date (B3, decision §2 note 2), unless a later cohort
    selects them again."""
    spec = load_spec(SPEC)
    con = _sql(data, "residence", "household")
    _flemish(con)
    with connect() as engine:
        sources = Sources(engine, data)
        pops = {n: engine.materialise(population(sources, spec, n)) for n in spec.populations}
        frames = population_frames(engine, sources, spec, pops)
        members_of = pa.concat_tables(
            engine.to_arrow(t.select("insz")).append_column(
                "since", pa.array([spec.populations[n].reference_date] * engine.count(t))
            )
            for n, t in pops.items()
        )
        got = engine.to_arrow(frames.years.select("subject", "qend", "cohort_member"))
    con.register("cohorts", members_of)
    con.register("days", pa.table({"day": pa.array(DAYS, pa.date32())}))
    want = con.execute(
        _MOVES_OUT
        + """
        spells AS (
            SELECT c.insz, c.since, (SELECT min(g.left_on) FROM gone g
                                     WHERE g.insz = c.insz AND g.left_on >= c.since) AS until
            FROM cohorts c),
        cp AS (SELECT DISTINCT s.insz, d.day FROM spells s JOIN days d
               ON d.day >= s.since AND (s.until IS NULL OR d.day <= s.until)),
        resident AS (
            SELECT DISTINCT cp.insz AS subject, cp.day FROM cp JOIN residence r
            ON r.insz = cp.insz AND r.valid_from <= cp.day
               AND (r.valid_to IS NULL OR r.valid_to >= cp.day)),
        home AS (
            SELECT DISTINCT cp.insz, cp.day, h.household_id FROM cp JOIN household h
            ON h.insz = cp.insz AND h.valid_from <= cp.day
               AND (h.valid_to IS NULL OR h.valid_to >= cp.day)),
        members AS (
            SELECT DISTINCT h.insz AS subject, home.day FROM home JOIN household h
            ON h.household_id = home.household_id AND h.valid_from <= home.day
               AND (h.valid_to IS NULL OR h.valid_to >= home.day))
        SELECT subject, day FROM resident UNION SELECT subject, day FROM members
        """
    ).fetchall()
    pairs = set(zip(got["subject"].to_pylist(), got["qend"].to_pylist(), strict=True))
    assert pairs == set(want)
    assert len(pairs) == got.num_rows  # one row per person and year
    members = pc.sum(pc.equal(got["cohort_member"], "0")).as_py()
    assert 0 < members < got.num_rows


def test_b1_parties_hold_only_what_they_may(run) -> None:
    """Each party's directory, listed: only Statbel holds the project key and the staged
    data; the providers keep their keys, their audit log and the encrypted extract they
    sent (which only Statbel can open); no list, no plaintext extract, nothing in an inbox;
    Statbel keeps nothing of what the providers sent."""
    _, work = run
    files = {
        party: sorted(
            str(p.relative_to(work / party)) for p in (work / party).rglob("*") if p.is_file()
        )
        for party in ("statbel", "ksz", "vdab")
    }
    # .sluis.lock: the workspace's lock (sluis.flow.lock)
    assert sorted(p.name for p in work.iterdir()) == [
        ".sluis.lock", "ksz", "run.json", "statbel", "vdab"
    ]  # fmt: skip
    for party in ("ksz", "vdab"):
        assert files[party] == sorted(
            [
                "audit.log",
                "keys/age-identity.txt",
                f"keys/{party}.audit-ed25519.pem",
                "keys/sftp/host_ed25519",
                "keys/ssh_ed25519",
                f"outbox/{party}-26-050.tar.age",
                f"outbox/{party}-26-050.tar.age.receipt.json",
                "sources-checked.json",
            ]
        )
    statbel = files["statbel"]
    assert "keys/26-050.key" in statbel
    assert not [f for f in statbel if f.startswith(("inbox/", "received/", ".lists/"))]
    assert [f for f in statbel if f.startswith("outbox/")] == [
        "outbox/insz-26-050.parquet.age",
        "outbox/insz-26-050.parquet.age.receipt.json",
    ]
    # register.jsonl: the delivery register, which covers the project key (26/050 §26)
    assert {f.split("/")[0] for f in statbel} <= {
        "audit.log", "keys", "outbox", "staged", "scra", "sources-checked.json",
        "register.jsonl",
    }  # fmt: skip
    assert sorted(p.name for p in work.rglob("*.key")) == ["26-050.key"]


def test_b1_g9_g10_provider_data_destroyed_at_the_ttp_with_checksums(run) -> None:
    """Statbel records receiving each extract and destroying it with the checksums of
    every destroyed file; no file left in its workspace has one of those checksums, and
    the providers' audit logs agree on what was sent."""
    from sluis.audit import verify

    _, work = run
    log = work / "statbel" / "audit.log"
    assert verify(log).ok
    events = _events(log)
    destroyed = [e["data"] for e in events if e["event"] == "destroyed"]
    assert sorted(d["of"] for d in destroyed) == ["ksz", "vdab"]
    order = [e["event"] for e in events]
    assert order.index("pseudonymised") < order.index("destroyed") < order.index("coarsened")
    gone = set()
    for d in destroyed:
        names = [f["name"] for f in d["files"]]
        assert f"inbox/{d['of']}-26-050.tar.age" in names
        assert any(n.endswith("manifest.json") for n in names)
        assert all(len(f["sha256"]) == 64 for f in d["files"])
        gone |= {f["sha256"] for f in d["files"]}
    left = {
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (work / "statbel").rglob("*")
        if p.is_file()
    }
    assert not gone & left
    received = {e["data"]["from"]: e["data"]["sha256"] for e in events if e["event"] == "received"}
    for party in ("ksz", "vdab"):
        assert verify(work / party / "audit.log").ok
        pe = _events(work / party / "audit.log")
        sent = [e["data"] for e in pe if e["event"] == "sent"]
        assert [s["sha256"] for s in sent] == [received[party]]
        assert received[party] in gone
        kinds = [e["event"] for e in pe]
        assert kinds.index("received") < kinds.index("extracted") < kinds.index("sent")
        assert kinds.index("sent") < kinds.index("destroyed")  # the list is destroyed too


def test_b1_providers_send_only_the_asked_columns(run, tmp_path: Path) -> None:
    """Opened with Statbel's key, a provider's extract holds exactly the spec's columns of
    its tables, for listed persons within the look-back and window (B1, B8)."""
    from sluis.deliver.encrypt import decrypt

    _, work = run
    spec = load_spec(SPEC)
    for party in ("ksz", "vdab"):
        tar = decrypt(
            work / party / "outbox" / f"{party}-26-050.tar.age",
            work / "statbel" / "keys" / "age-identity.txt",
            tmp_path / f"{party}.tar",
        )
        manifest = unpack_extract(tar, tmp_path / party, party=party)
        for name, facts in manifest["files"].items():
            assert facts["columns"] == requested_columns(spec, facts["table"])
            t = pq.read_table(Path(manifest["root"]) / name)
            assert pc.min(t["quarter_end"]).as_py() >= dt.date(2013, 3, 31)
            assert pc.max(t["quarter_end"]).as_py() <= dt.date(2024, 12, 31)
    assert requested_columns(spec, "dwh_position") == [
        "insz", "quarter_end", "sep", "rva_status", "ocmw_support"
    ]  # fmt: skip


def test_b3_b4_g3_staged_datasets_and_household_numbers(run, staged: Path) -> None:
    """Moves carry only the sequence numbers and the year (B3); person and household
    numbers are dense; within a year, the members of one household share its number
    and its reference person (B4, G3)."""
    summary, _ = run
    moves = pq.read_table(staged / "moves.parquet")
    assert moves.column_names == ["person_seq", "household_seq", "move_year", "moved_out"]
    assert moves.num_rows > 0
    years = pc.unique(moves["move_year"]).to_pylist()
    assert min(years) >= 2016 and max(years) <= 2024
    demobel = pq.read_table(staged / "demobel.parquet")
    con = duckdb.connect()
    con.register("demobel", demobel)
    # a household has one reference person in a year
    assert (
        con.execute(
            "SELECT count(*) FROM (SELECT household_seq, year FROM demobel "
            "WHERE household_seq IS NOT NULL GROUP BY ALL "
            "HAVING count(DISTINCT reference_seq) > 1)"
        ).fetchone()[0]
        == 0
    )
    # the reference person lives in the household they head
    heads = con.execute(
        "SELECT count(*), count(h.person_seq) FROM demobel d LEFT JOIN demobel h "
        "ON h.person_seq = d.reference_seq AND h.year = d.year "
        "AND h.household_seq = d.household_seq WHERE d.reference_seq IS NOT NULL "
        "AND d.reference_seq IN (SELECT person_seq FROM demobel)"
    ).fetchone()
    assert heads[1] == heads[0] > 0
    for column in ("person_seq", "household_seq"):
        seqs = [int(s) for s in pc.unique(demobel[column]).drop_null().to_pylist()]
        assert min(seqs) >= 1
    assert summary.providers == ["ksz", "vdab"]
    assert summary.scra_ok


def test_g3_sequence_numbers_differ_between_authorisations(tmp_path: Path) -> None:
    """Each authorisation has its own key, so the same persons get unrelated numbers:
    deliveries of 25/074 and 26/050 cannot be joined on them (G3)."""
    store = tmp_path / "keys"
    ids = pa.table({"id": [f"{i:011d}" for i in range(20_000)]})
    numbers = {}
    with connect() as engine:
        table = engine.arrow(ids)
        for project in ("25-074", "26-050"):
            new_key(store, project)
            m = sequence_numbers(engine, table, load_key(store, project), "person")
            numbers[project] = engine.to_arrow(m.order_by("id"))["seq"].to_numpy()
    a, b = numbers["25-074"], numbers["26-050"]
    assert sorted(a) == sorted(b)  # both 1..N
    assert (a == b).mean() < 0.001
    import numpy as np

    assert abs(np.corrcoef(a, b)[0, 1]) < 0.05


def test_b1_refuses_an_extract_that_breaks_the_contract(
    data: Path, spec_path: Path, tmp_path: Path
) -> None:
    """VDAB sends a code outside its list: Statbel refuses the extract, naming the party
    and the file, destroys it, and nothing is linked, staged or delivered."""
    broken = tmp_path / "sources"
    broken.mkdir()
    for entry in data.iterdir():
        if entry.name != "vdab_jobseeker":
            (broken / entry.name).symlink_to(entry)
    (broken / "vdab_jobseeker").mkdir()
    parts = sorted((data / "vdab_jobseeker").glob("*.parquet"))
    for i, part in enumerate(parts):
        t = pq.read_table(part)
        if i == 0:  # a code outside the list on every row of one part
            bad = pa.array(["Z"] * t.num_rows, pa.string())
            t = t.set_column(t.schema.get_field_index("dutch"), "dutch", bad)
        pq.write_table(t, broken / "vdab_jobseeker" / part.name)
    work = tmp_path / "work"
    with pytest.raises(SourceError) as err:
        run_spec(spec_path, broken, phase=1, work=work, check=False)
    assert err.value.rule == "extract-contract"
    assert "vdab" in str(err.value) and "vdab_jobseeker.parquet" in str(err.value)
    statbel = work / "statbel"
    assert not (statbel / "staged").exists() and not (statbel / "received").exists()
    assert not list((statbel / "inbox").iterdir())
    events = [e["event"] for e in _events(statbel / "audit.log")]
    assert "refused" in events and "destroyed" in events and "linked" not in events


def test_b1_refuses_an_extract_whose_file_was_altered(tmp_path: Path) -> None:
    """A file that does not match the sender's manifest is refused, naming the party and
    the file."""
    out = tmp_path / "ksz-26-050"
    out.mkdir()
    path = out / "dwh_position.parquet"
    pq.write_table(pa.table({"insz": ["x"], "quarter_end": [dt.date(2016, 3, 31)]}), path)
    archive = pack_extract(out, party="ksz", decision="26/050", tables={"dwh_position": path})
    assert unpack_extract(archive, tmp_path / "ok", party="ksz")["party"] == "ksz"
    pq.write_table(pa.table({"insz": ["y"], "quarter_end": [dt.date(2016, 3, 31)]}), path)
    from sluis.deliver.encrypt import pack

    (out.with_suffix(".tar")).unlink()
    altered = pack(out)
    with pytest.raises(SourceError) as err:
        unpack_extract(altered, tmp_path / "bad", party="ksz")
    assert err.value.rule == "extract-checksum"
    assert "ksz" in str(err.value) and "dwh_position.parquet" in str(err.value)


def test_g8_b11_the_delivery_passes_the_privacy_scan(run, spec_path: Path, tmp_path: Path) -> None:
    """The package to KU Leuven: every file matches the manifest, the privacy scan finds no
    national number or exact date, and a named researcher can open it."""
    from sluis.deliver import scan_package, verify_package
    from sluis.deliver.encrypt import decrypt
    from sluis.flow.deliver import deliver
    from sluis.retain import vault

    _, work = run
    copy = tmp_path / "work"
    shutil.copytree(work, copy)
    summary = deliver(spec_path, copy, created=dt.date(2026, 11, 24))
    home = copy / "statbel"  # the package is sealed at rest once delivered (G9)
    with vault.opened(
        Path(summary.package), store=home / "keys", purpose="package", work=home
    ) as package:
        assert verify_package(package) == []
        assert scan_package(package, load_spec(spec_path)) == []
    assert set(summary.rows) == {"demobel", "census", "income", "ksz", "vdab", "moves"}
    plain = decrypt(Path(summary.encrypted), ROOT / "specs" / "demo-keys" / "kuleuven-1")
    assert isinstance(plain, bytes) and len(plain) > 0


def test_x4_sluis_run_shows_each_party_and_the_destruction(
    data: Path, spec_path: Path, tmp_path: Path
) -> None:
    """`sluis run` on the three-party spec: the summary names cohort persons, household
    members and each party's stages; run.html says what was linked and destroyed."""
    from typer.testing import CliRunner

    from sluis.cli.app import app

    work = tmp_path / "w"
    result = CliRunner().invoke(
        app,
        ["run", str(spec_path), "--data", str(data), "--work", str(work)],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    for text in (
        "cohort persons",
        "household members",
        "ksz: extract and send",
        "receive and check vdab's extract",
        "destroy providers' data",
        "thresholds hold",
    ):
        assert text in result.output, text
    html = (work / "run.html").read_text()
    assert "linked at the trusted third party" in html and "ksz, vdab" in html


def test_b1_g9_a_terminated_run_leaves_nothing_received(
    data: Path, spec_path: Path, tmp_path: Path
) -> None:
    """SIGTERM while Statbel holds the providers' extracts: the run stops (exit 143), the
    extracts are destroyed and recorded, nothing is staged."""
    import os
    import signal
    import subprocess
    import sys
    import time

    work = tmp_path / "w"
    received = work / "statbel" / "received"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sluis.cli.app", "run", str(spec_path), "--data", str(data),
         "--work", str(work), "--no-check"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not received.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert received.exists(), "the run never received an extract"
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(60) == 143
    assert not received.exists()
    assert not (work / "statbel" / "staged").exists()
    assert not list((work / "statbel" / "inbox").iterdir())
    events = [e["event"] for e in _events(work / "statbel" / "audit.log")]
    assert "destroyed" in events


def test_b5_b9_variables_in_their_classes(run, staged: Path) -> None:
    """The staged datasets carry the decision's variables in their classes: census (B5),
    DEMOBEL classes (B6), ADI amounts in EUR 1,000 classes (B7), KSZ quarters with the
    activation start as year-month within three years of the cohort date (B8), VDAB
    quarters with the registration start within three years of the quarter (B9)."""
    con = duckdb.connect()
    for name in ("demobel", "census", "income", "ksz", "vdab"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{staged / name}.parquet'")
    # B5: one census row per person, from the census before the cohort date
    assert con.execute("SELECT count(*) = count(DISTINCT person_seq) FROM census").fetchone()[0]
    years = {y for (y,) in con.execute("SELECT DISTINCT census_year FROM census").fetchall()}
    assert years <= {2011, 2021, None} and {2011, 2021} & years
    # B6: the four-class nationality and origin, the five-class place of birth
    for column in ("first_nationality", "nationality", "origin"):
        codes = {c for (c,) in con.execute(f"SELECT DISTINCT {column} FROM demobel").fetchall()}
        assert codes <= {"01", "02", "03", "99", None}, column
    births = {c for (c,) in con.execute("SELECT DISTINCT birth_place FROM demobel").fetchall()}
    assert births <= {"01", "02", "03", "04", "05", "06", "99", None}
    assert {c for (c,) in con.execute("SELECT DISTINCT cohort FROM demobel").fetchall()} <= {
        "2016", "2019", "2022"
    }  # fmt: skip
    # B7: amounts are class lower bounds of EUR 1,000, top-coded at 100,000
    bad = con.execute(
        "SELECT count(*) FROM income WHERE wages % 1000 <> 0 OR wages > 100000"
    ).fetchone()[0]
    assert bad == 0
    # B8: quarters from the look-back (2013Q1) to 2024Q4, activation start as 'YYYY-MM'
    lo, hi = con.execute("SELECT min(quarter), max(quarter) FROM ksz").fetchone()
    assert lo >= "2013Q1" and hi <= "2024Q4"
    starts = con.execute(
        "SELECT DISTINCT activation_start_ym FROM ksz WHERE activation_start_ym IS NOT NULL"
    ).fetchall()
    assert all(re.fullmatch(r"20(1[0-9]|2[0-2])-[01][0-9]", s) for (s,) in starts)
    # B9: the registration start is never more than three years before the quarter
    late = con.execute(
        "SELECT count(*) FROM vdab WHERE registration_start_yq IS NOT NULL AND "
        "(CAST(left(quarter, 4) AS INT) * 4 + CAST(right(quarter, 1) AS INT)) - "
        "(CAST(left(registration_start_yq, 4) AS INT) * 4 "
        "+ CAST(right(registration_start_yq, 1) AS INT)) > 12"
    ).fetchone()[0]
    assert late == 0
    assert con.execute("SELECT count(*) FROM vdab").fetchone()[0] > 0


def test_b1_a_rerun_clears_what_a_dead_run_left(run, spec_path: Path, data: Path) -> None:
    """A run that died left a provider's extract in Statbel's inbox: the next run destroys
    it with a record and completes (its transfers are not refused)."""
    _, work = run
    stale = work / "statbel" / "inbox" / "ksz-26-050.tar.age"
    stale.write_bytes(b"left by a killed run")
    summary = run_spec(spec_path, data, phase=1, work=work, force=True)
    assert summary.scra_ok and not stale.exists()
    events = _events(work / "statbel" / "audit.log")
    assert any(e["event"] == "destroyed" and "earlier run" in e["data"]["reason"] for e in events)


def test_b2_every_delivered_person_is_tied_to_a_household_and_cohort(run, staged: Path) -> None:
    """Every person of ksz, vdab, income, census and moves has DEMOBEL rows, each with a
    household number and a cohort (B2, B4): a member who is never in a cohort person's
    household on a 1 January (a short stay, a joiner after 1 January 2024) is not observed,
    so KSZ and VDAB are not asked for them either."""
    con = duckdb.connect()
    for name in ("demobel", "census", "income", "ksz", "vdab", "moves"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{staged / name}.parquet'")
    for name in ("census", "income", "ksz", "vdab", "moves"):
        loose = con.execute(
            f"SELECT count(DISTINCT person_seq) FROM {name} "
            "WHERE person_seq NOT IN (SELECT person_seq FROM demobel)"
        ).fetchone()[0]
        assert loose == 0, name
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] > 0, name
    untied = con.execute(
        "SELECT count(*) FROM demobel WHERE household_seq IS NULL OR cohort IS NULL"
    ).fetchone()[0]
    assert untied == 0


def test_b3_a_person_who_moves_out_of_the_flemish_region_is_not_followed(data: Path) -> None:
    """Decision 26/050 §2 note 2 as the spec reads it: after a move out of the Flemish
    Region only the move (sequence numbers and year) is delivered. Against SQL on the
    residence history: everyone observed on a 1 January lives in the Flemish Region that
    day, and no quarter is observed after a move out of a person who is never observed on a
    later 1 January (someone who comes back and is selected again, or joins a cohort
    person's household, is observed again)."""
    spec = load_spec(SPEC)
    with connect() as engine:
        sources = Sources(engine, data)
        pops = {n: engine.materialise(population(sources, spec, n)) for n in spec.populations}
        frames = population_frames(engine, sources, spec, pops)
        years = engine.to_arrow(frames.years.select("subject", "qend"))
        quarters = engine.to_arrow(frames.quarters.select("subject", "qend"))
        moves = engine.to_arrow(frames.moves.select("subject", "qend"))
    con = _sql(data, "residence")
    _flemish(con)
    con.register("years", years)
    con.register("quarters", quarters)
    outside = con.execute(
        """
        SELECT count(*) FROM years y WHERE NOT EXISTS (
            SELECT 1 FROM residence r WHERE r.insz = y.subject AND r.valid_from <= y.qend
              AND (r.valid_to IS NULL OR r.valid_to >= y.qend)
              AND r.nis_code IN (SELECT nis FROM flemish))
        """
    ).fetchone()[0]
    assert outside == 0
    # moves out, straight from the register: a Flemish period that ends (not by death)
    # without a Flemish period from the next day
    after = con.execute(
        _MOVES_OUT
        + """
        seen AS (SELECT subject, min(qend) AS first_day FROM years GROUP BY 1),
        moved AS (
            SELECT g.* FROM gone g JOIN seen s ON s.subject = g.insz
            WHERE g.left_on >= s.first_day
              AND NOT EXISTS (SELECT 1 FROM years y WHERE y.subject = g.insz
                              AND y.qend > g.left_on))
        SELECT count(*), count(DISTINCT m.insz) FROM quarters q
        JOIN moved m ON m.insz = q.subject AND q.qend > m.left_on
        """
    ).fetchone()
    assert after == (0, 0)
    assert moves.num_rows > 0  # the moves themselves are delivered


def test_b3_delivered_rows_stay_in_the_flemish_region(run, staged: Path) -> None:
    """In the staged data: every DEMOBEL row is in the Flemish Region, and a person with a
    move and no later DEMOBEL year has no KSZ, VDAB or income row after the move year."""
    con = duckdb.connect()
    for name in ("demobel", "income", "ksz", "vdab", "moves"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{staged / name}.parquet'")
    regions = {r for (r,) in con.execute("SELECT DISTINCT region FROM demobel").fetchall()}
    assert regions == {"02000"}
    gone = (
        "SELECT m.person_seq, max(m.move_year) AS y FROM moves m GROUP BY 1 HAVING NOT EXISTS "
        "(SELECT 1 FROM demobel d WHERE d.person_seq = m.person_seq AND d.year > max(m.move_year))"
    )
    assert con.execute(f"SELECT count(*) FROM ({gone})").fetchone()[0] > 0
    for name, year in (
        ("ksz", "CAST(left(quarter, 4) AS INT)"),
        ("vdab", "CAST(left(quarter, 4) AS INT)"),
        ("income", "year"),
    ):
        late = con.execute(
            f"SELECT count(*) FROM {name} t JOIN ({gone}) g USING (person_seq) WHERE {year} > g.y"
        ).fetchone()[0]
        assert late == 0, name


def test_b8_activation_start_of_a_person_in_activation_at_the_cohort_date(
    data: Path, staged: Path
) -> None:
    """B8: every delivered person in an RVA activation on their cohort date (the DWH row of
    the quarter ending the day before) that started at most three years earlier has its
    start month on their KSZ rows; the values are exactly those of the register (SQL on
    dwh_unemployment, over the frame's persons on their cohort date)."""
    spec = load_spec(SPEC)
    with connect() as engine:
        sources = Sources(engine, data)
        pops = {n: engine.materialise(population(sources, spec, n)) for n in spec.populations}
        frames = population_frames(engine, sources, spec, pops)
        years = engine.to_arrow(frames.years.select("subject", "qend", "cohort"))
    con = _sql(data, "dwh_unemployment")
    con.register("years", years)
    want = con.execute(
        """
        SELECT strftime(u.activation_start, '%Y-%m') AS ym, count(*) FROM years y
        JOIN dwh_unemployment u ON u.insz = y.subject AND u.quarter_end = y.qend - 1
        WHERE CAST(year(y.qend) AS VARCHAR) = y.cohort AND u.activation_regime IS NOT NULL
          AND u.activation_start >= y.qend - INTERVAL 3 YEAR
        GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    assert want, "the fixture has nobody in an activation at their cohort date"
    got = duckdb.execute(
        "SELECT activation_start_ym, count(*) FROM (SELECT DISTINCT person_seq, "
        f"activation_start_ym FROM '{staged / 'ksz.parquet'}' "
        "WHERE activation_start_ym IS NOT NULL) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert got == want


def test_g4_g6_no_delivered_date_lies_outside_the_window(
    run, spec_path: Path, tmp_path: Path
) -> None:
    """Issue 15 defect 3 for 26/050: no quarter or month after 2024Q4 in any delivered
    Parquet or CSV file, and no dataset period before the earliest look-back (2013Q1)."""
    from sluis.flow.deliver import deliver
    from sluis.retain import vault
    from test_delivery_leaks import _outside

    _, work = run
    copy = tmp_path / "work"
    shutil.copytree(work, copy)
    package = Path(deliver(spec_path, copy, created=dt.date(2026, 12, 7)).package)
    home = copy / "statbel"  # the package is sealed at rest once delivered (G9)
    with vault.opened(package, store=home / "keys", purpose="package", work=home) as plain:
        data = shutil.copytree(plain / "data", tmp_path / "package-data")
    spec = load_spec(spec_path)
    end, first = spec.window.end, spec.window.first()
    checked = 0
    for name in spec.datasets:
        table = pq.read_table(data / "parquet" / f"{name}.parquet")
        for column in table.column_names:
            values = table[column].drop_null().to_pylist()
            late = [v for v in values if _outside(v, end, first, column == spec.period(name))]
            assert late == [], (name, column, late[:3])
            checked += len(values)
        cells = re.findall(
            r"\b\d{4}(?:Q[1-4]|-\d{2})\b", (data / "csv" / f"{name}.csv").read_text()
        )
        assert [c for c in cells if _outside(c, end, "0000Q1", False)] == [], name
    assert checked > 0


def test_b11_g5_trajectories_and_poverty_risk_treated_in_what_statbel_delivers(run) -> None:
    """G5, B11 (issue 19): in Statbel's treated extract no person's 4 consecutive quarters
    of (sep, rva_status, ocmw_support) in ksz are shared by fewer than 5 persons, and no
    demography cell of demobel with a known poverty_risk (joined by person and year from
    income) holds fewer than 2 distinct known values, recounted here with plain SQL; the
    treatments changed values, and the income class that gives poverty risk back is
    withheld with it."""
    summary, work = run
    assert summary.scra_ok
    result = json.loads((work / "statbel" / "scra" / "scra.json").read_text())
    kinds = {t["kind"]: t for t in result["further"]}
    assert kinds["trajectories"]["values"] > 0 and kinds["trajectories"]["after"] == 0
    withheld = kinds["l-diversity"]["per_variable"]
    assert withheld["income.poverty_risk"] == withheld["income.equivalised_income"]
    spec = load_spec(SPEC)
    keys = ", ".join(f"d.{k}" for k in spec.scra.key_sets[0].keys)
    with opened_held(work / "statbel" / "scra" / "staged") as plain:
        con = duckdb.connect()
        for name in ("ksz", "demobel", "income"):
            con.execute(f"create view {name} as select * from '{plain / name}.parquet'")
        windows = con.execute(
            """
            with q as (select person_seq,
                              cast(left(quarter, 4) as int) * 4 + cast(right(quarter, 1) as int) t,
                              concat_ws('|', coalesce(cast(sep as varchar), '~'),
                                        coalesce(cast(rva_status as varchar), '~'),
                                        coalesce(cast(ocmw_support as varchar), '~')) s
                       from ksz),
                 w as (select person_seq, t, string_agg(s, ',') over win seq,
                              count(*) over win n, max(t) over win last
                       from q window win as (partition by person_seq order by t
                                             rows between current row and 3 following))
            select count(*) from (select t, seq, count(*) share from w
                                  where n = 4 and last = t + 3 group by t, seq)
            where share < 5
            """
        ).fetchone()[0]
        cells = con.execute(
            f"""select count(*) from (
                  select {keys}, d.year, count(i.poverty_risk) known,
                         count(distinct i.poverty_risk) distinct_known
                  from demobel d left join income i
                    on i.person_seq = d.person_seq and i.year = d.year
                  group by all)
                where known > 0 and distinct_known < 2"""
        ).fetchone()[0]
        con.close()
    assert windows == 0 and cells == 0
