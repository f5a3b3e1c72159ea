"""Review and release of enclave outputs (A5, G10; issue 17): the rules (two different
reviewers, neither the author; a failed output cannot be approved; editing an output voids
its reviews), the reviewers' passwords, the release package and its audit records, the
review page's guards (login, CSRF, local host only) and the command-line verbs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from entry_point import sluis
from review_fixture import AUTHOR, PASSWORD, make_enclave, sha256, write_job
from sluis.audit import verify
from sluis.cli.app import app
from sluis.enclave import reviewers
from sluis.enclave.release import ReleaseError, build_release, job_status, release_ids
from sluis.enclave.review import create_app, server
from sluis.enclave.review.tables import marks, show
from sluis.enclave.reviewers import ReviewerError
from sluis.enclave.reviews import (
    Review,
    ReviewError,
    decide,
    is_approved,
    load_reviews,
    refusal,
    tally,
)
from sluis.errors import UsageError

SAFE = "outputs/employment_by_years.csv"
SIDECAR = "outputs/employment_by_years.meta.json"
EARNINGS = "outputs/earnings.csv"
SMALL = "outputs/small_cells.csv"
MODEL = "outputs/model.txt"
CHECKERS = ("bart.claes", "chloe.maes")


@pytest.fixture
def enclave(tmp_path: Path) -> Path:
    return make_enclave(tmp_path / "work")


def approve(enclave: Path, output: str, *names: str) -> None:
    for name in names:
        decide(enclave, "j0001", output, reviewer=name, decision="approve", comment="ok", via="cli")


def status_of(enclave: Path, output: str):
    _, statuses = job_status(enclave, "j0001")
    return next(s for s in statuses if s.output.file == output)


def audit_events(enclave: Path) -> list[str]:
    lines = (enclave.parent / "audit.log").read_text().splitlines()
    return [json.loads(line)["event"] for line in lines if '"checkpoint"' not in line]


# ------------------------------------------------------------------ the rules (hypothesis)

NAMES = st.sampled_from(["bart.claes", "chloe.maes", "dirk.jacobs", AUTHOR, "An.Peeters"])
REVIEWS = st.lists(
    st.tuples(NAMES, st.sampled_from(["approve", "reject"]), st.sampled_from(["new", "old"])),
    max_size=12,
)


def _review(name: str, decision: str, digest: str) -> Review:
    return Review("j0001", SAFE, digest, name, decision, "c", "t", "cli", "op", "side")  # type: ignore[arg-type]


@given(REVIEWS)
def test_a5_release_needs_two_distinct_non_author_approvals_and_no_rejection(events) -> None:
    """A5: approved iff at least two different reviewers, neither the author (in any case),
    have approve as their latest decision on the current file and nobody's latest decision
    on it is reject; reviews of another digest never count."""
    reviews = [_review(name, decision, digest) for name, decision, digest in events]
    approvers, rejecters, void = tally(reviews, ("new", "side"), AUTHOR)
    latest: dict[str, str] = {}
    for name, decision, digest in events:
        if digest == "new" and name.lower() != AUTHOR:
            latest[name] = decision
    expected = sum(d == "approve" for d in latest.values()) >= 2 and "reject" not in latest.values()
    assert is_approved(approvers, rejecters) == expected
    assert void == sum(digest == "old" for _, _, digest in events)
    assert AUTHOR not in approvers and "An.Peeters" not in approvers


@given(REVIEWS)
def test_a5_editing_the_file_voids_every_review(events) -> None:
    """A5: after an edit (a new digest) no earlier review counts, whatever they were."""
    reviews = [_review(name, decision, "v1") for name, decision, _ in events]
    approvers, rejecters, void = tally(reviews, ("v2", "side"), AUTHOR)
    assert tally(reviews, ("v1", "edited side"), AUTHOR)[2] == len(reviews)
    assert (approvers, rejecters, void) == ((), (), len(reviews))
    assert not is_approved(approvers, rejecters)


@given(
    NAMES,
    st.sampled_from(["finished", "failed", "stopped", "running", "submitted"]),
    st.sampled_from(["pass", "review", "fail", "unchecked", "stale"]),
    st.sampled_from(["approve", "reject"]),
)
def test_a5_refusal_rules(reviewer, state, verdict, decision) -> None:
    """A5: the author never reviews; only a finished job's outputs are reviewed; a failed,
    unchecked or stale output can be rejected but never approved."""
    why = refusal(reviewer=reviewer, author=AUTHOR, state=state, verdict=verdict, decision=decision)
    allowed = (
        reviewer.lower() != AUTHOR
        and state == "finished"
        and (decision == "reject" or verdict in ("pass", "review"))
    )
    assert (why is None) == allowed


# ------------------------------------------------------------------ reviews on real files


def test_a5_author_cannot_approve_and_nothing_is_recorded(enclave: Path) -> None:
    before = audit_events(enclave) if (enclave.parent / "audit.log").exists() else []
    with pytest.raises(ReviewError, match="wrote this job") as err:
        decide(enclave, "j0001", SAFE, reviewer=AUTHOR, decision="approve", comment="x", via="cli")
    assert err.value.rule == "review-approve"
    with pytest.raises(ReviewError, match="wrote this job"):
        decide(enclave, "j0001", SAFE, reviewer=AUTHOR, decision="reject", comment="x", via="cli")
    assert load_reviews(enclave, "j0001") == []
    after = audit_events(enclave) if (enclave.parent / "audit.log").exists() else []
    assert after == before


def test_a5_failed_output_can_only_be_rejected(enclave: Path) -> None:
    with pytest.raises(ReviewError, match="can only be rejected"):
        approve(enclave, SMALL, "bart.claes")
    decide(
        enclave, "j0001", SMALL, reviewer="bart.claes", decision="reject", comment="3", via="cli"
    )
    item = status_of(enclave, SMALL)
    assert item.rejecters == ("bart.claes",) and not item.approved
    assert audit_events(enclave) == ["output-rejected"]


def test_a5_two_approvals_release_and_a_rejection_blocks(enclave: Path) -> None:
    approve(enclave, SAFE, "bart.claes")
    assert not status_of(enclave, SAFE).approved
    approve(enclave, SAFE, "bart.claes")  # the same reviewer twice is still one
    assert not status_of(enclave, SAFE).approved
    approve(enclave, SAFE, "chloe.maes")
    assert status_of(enclave, SAFE).approved
    reviewers.add(enclave, "dirk.jacobs", PASSWORD)
    decide(
        enclave, "j0001", SAFE, reviewer="dirk.jacobs", decision="reject", comment="n", via="cli"
    )
    assert not status_of(enclave, SAFE).approved
    with pytest.raises(ReleaseError, match="nothing to release"):
        build_release(enclave, "j0001")
    approve(enclave, SAFE, "dirk.jacobs")  # changes his mind: his latest decision counts
    assert status_of(enclave, SAFE).approved


def test_a5_edited_output_loses_its_approvals(enclave: Path) -> None:
    approve(enclave, SAFE, *CHECKERS)
    assert status_of(enclave, SAFE).approved
    path = enclave / "jobs" / "j0001" / SAFE
    path.write_text(path.read_text().replace("95", "3"))
    item = status_of(enclave, SAFE)
    assert (item.approved, item.approvers, item.void) == (False, (), 2)
    # checks.json has no digests: the file is newer than its checks, so it is stale
    assert item.output.verdict == "stale"
    with pytest.raises(ReviewError, match="changed after its checks"):
        approve(enclave, SAFE, "bart.claes")
    with pytest.raises(ReleaseError, match="nothing to release"):
        build_release(enclave, "j0001")
    assert release_ids(enclave) == []
    assert not any((enclave / "releases").iterdir()) or [
        p.name for p in (enclave / "releases").iterdir()
    ] == [".lock"]


def test_a5_output_changed_after_its_checks_cannot_be_approved(enclave: Path) -> None:
    """checks.json entries that carry a sha256 make an edited output stale."""
    job = enclave / "jobs" / "j0001"
    checks = json.loads((job / "checks.json").read_text())
    for entry in checks["outputs"]:
        entry["sha256"] = sha256(job / entry["file"])
    (job / "checks.json").write_text(json.dumps(checks))
    (job / MODEL).write_text("residual df 4\n")
    assert status_of(enclave, MODEL).output.verdict == "stale"
    with pytest.raises(ReviewError, match="changed after its checks"):
        approve(enclave, MODEL, "bart.claes")


def test_a5_outputs_of_an_unfinished_job_are_not_reviewed(tmp_path: Path) -> None:
    enclave = tmp_path / "ksz" / "enclave"
    write_job(enclave, "j0002", state="stopped")
    reviewers.add(enclave, "bart.claes", PASSWORD)
    with pytest.raises(ReviewError, match="the job is stopped"):
        decide(
            enclave,
            "j0002",
            SAFE,
            reviewer="bart.claes",
            decision="approve",
            comment="x",
            via="cli",
        )


def test_a5_unknown_reviewer_job_output_and_empty_comment_are_named(enclave: Path) -> None:
    with pytest.raises(ReviewerError, match="not a reviewer") as err:
        approve(enclave, SAFE, "eva.smet")
    assert err.value.rule == "reviewer-unknown"
    with pytest.raises(ReviewError, match="no job j0404"):
        decide(
            enclave,
            "j0404",
            SAFE,
            reviewer="bart.claes",
            decision="approve",
            comment="x",
            via="cli",
        )
    with pytest.raises(ReviewError, match="has no output") as err:
        decide(
            enclave,
            "j0001",
            "../../keys/ksz.pem",
            reviewer="bart.claes",
            decision="approve",
            comment="x",
            via="cli",
        )
    assert err.value.rule == "output-unknown"
    with pytest.raises(ReviewError, match="needs a comment"):
        decide(
            enclave,
            "j0001",
            SAFE,
            reviewer="bart.claes",
            decision="approve",
            comment="  ",
            via="cli",
        )


# ------------------------------------------------------------------ reviewers


def test_a5_reviewer_passwords_are_salted_scrypt_hashes_owner_only(enclave: Path) -> None:
    path = enclave / "reviewers.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert PASSWORD not in text
    records = json.loads(text)["reviewers"]
    assert sorted(records) == sorted(["bart.claes", "chloe.maes", AUTHOR])
    assert len({r["scrypt"]["salt"] for r in records.values()}) == 3  # same password, 3 salts
    assert len({r["hash"] for r in records.values()}) == 3
    assert reviewers.authenticate(enclave, "bart.claes", PASSWORD)
    assert not reviewers.authenticate(enclave, "bart.claes", PASSWORD + "!")
    assert not reviewers.authenticate(enclave, "nobody", PASSWORD)
    with pytest.raises(ReviewerError, match="exists already"):
        reviewers.add(enclave, "bart.claes", "another password")
    with pytest.raises(ReviewerError, match="shorter than"):
        reviewers.add(enclave, "eva.smet", "short")


@settings(max_examples=60)
@given(st.text(max_size=40))
def test_a5_reviewer_names_are_logins(name: str) -> None:
    valid = reviewers.NAME.fullmatch(name) is not None
    try:
        reviewers.check_name(name)
    except ReviewerError:
        assert not valid
    else:
        assert valid and name[0].isascii() and name[0].islower()


# ------------------------------------------------------------------ release


def test_a5_g10_release_package_manifest_and_audit_checkpoint(enclave: Path) -> None:
    approve(enclave, SAFE, *CHECKERS)
    approve(enclave, MODEL, *CHECKERS)
    info = build_release(enclave, "j0001")
    assert info.id == "r0001" and info.path == enclave / "releases" / "r0001"
    files = sorted(p.relative_to(info.path).as_posix() for p in info.path.rglob("*") if p.is_file())
    assert files == sorted(["manifest-sha256.txt", MODEL, SAFE, SIDECAR, "release.json"])
    job = enclave / "jobs" / "j0001"
    assert (info.path / SAFE).read_bytes() == (job / SAFE).read_bytes()
    check = subprocess.run(
        ["sha256sum", "--strict", "-c", "manifest-sha256.txt"],
        cwd=info.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0 and check.stdout.count(": OK") == 4, check.stdout
    document = json.loads((info.path / "release.json").read_text())
    assert document["job"] == "j0001" and document["author"] == AUTHOR
    by_file = {o["file"]: o for o in document["outputs"]}
    assert sorted(by_file) == [SAFE, MODEL]
    assert by_file[SAFE]["sha256"] == sha256(job / SAFE)
    assert by_file[SAFE]["sidecar"]["file"] == SIDECAR
    assert by_file[MODEL]["verdict"] == "review" and by_file[MODEL]["findings"]
    assert {r["reviewer"] for r in by_file[SAFE]["reviews"]} == set(CHECKERS)
    # the log holds the checkpoint the release carries, and it covers the released record
    log = enclave.parent / "audit.log"
    report = verify(log, checkpoint=document["audit_checkpoint"])
    assert report.ok, report.problems
    assert audit_events(enclave) == ["output-reviewed"] * 4 + ["released", "release-registered"]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    released = next(r for r in records if r["event"] == "released")
    assert document["audit_checkpoint"]["seq"] == released["seq"]  # covers the record
    assert released["data"]["release"] == "r0001"
    outputs_listing = "".join(
        line + "\n"
        for line in (info.path / "manifest-sha256.txt").read_text().splitlines()
        if not line.endswith("release.json")
    )
    assert released["data"]["files_sha256"] == hashlib.sha256(outputs_listing.encode()).hexdigest()
    # nothing new: refused, and no half-made package left behind
    with pytest.raises(ReleaseError, match="released already"):
        build_release(enclave, "j0001")
    assert sorted(p.name for p in (enclave / "releases").iterdir()) == [".lock", "r0001"]


def test_g9_g10_a5_every_release_joins_the_delivery_register(enclave: Path) -> None:
    """Issue 18 item 1: an enclave release is a register entry (kind release) with the
    decision, recipient, researchers, the manifest's digest, the audit checkpoint it carried
    and the spec's deadline; sluis retain list shows it; it is anonymous results, so it is
    never overdue, never due and never destroyed (docs/retention.md)."""
    from sluis.retain import register

    home = enclave.parent
    approve(enclave, SAFE, *CHECKERS)
    first = build_release(enclave, "j0001")
    assert first.registered == ("25-074-enclave-r0001",)
    approve(enclave, MODEL, *CHECKERS)
    build_release(enclave, "j0001")
    late = dt.date(2029, 11, 1)  # the day after 25/074's deadline
    found = {e.delivery: e for e in register.entries(home, today=late)}
    assert sorted(found) == ["25-074-enclave-r0001", "25-074-enclave-r0002"]
    entry = found["25-074-enclave-r0001"]
    document = json.loads((first.path / "release.json").read_text())
    assert (entry.kind, entry.state, entry.decision) == ("release", "released", "25/074")
    assert entry.recipient == "uantwerpen"
    assert entry.archive_sha256 == sha256(first.path / "manifest-sha256.txt")
    assert entry.audit_checkpoint == document["audit_checkpoint"] == first.checkpoint
    assert entry.deadline == dt.date(2029, 10, 31) and entry.days_left == -1
    assert entry.researchers and all(
        r["fingerprint"].startswith("SHA256:") for r in entry.researchers
    )
    assert entry.files == ["enclave/releases/r0001"]
    assert verify(home / "audit.log").ok
    # a rerun registers nothing twice (a release killed before its entry is caught up)
    from sluis.enclave.release import register_releases

    assert register_releases(enclave) == []
    work = str(home.parent)
    runner = CliRunner()
    shown = runner.invoke(app, ["retain", "list", "--work", work, "--today", "2029-11-01"])
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "r0001" in line)
    assert "release" in row and "released" in row and "overdue" not in shown.output
    listed = runner.invoke(app, ["retain", "list", "--work", work, "--json"])
    assert {e["kind"] for e in json.loads(listed.output)} == {"release"}
    due = runner.invoke(app, ["retain", "list", "--work", work, "--due-within", "9999d"])
    assert "r0001" not in due.output
    refused = runner.invoke(
        app, ["retain", "destroy", "25-074-enclave-r0001", "--work", work, "--today", "2029-11-01"]
    )
    assert refused.exit_code == 1 and (first.path / SAFE).is_file()
    approve(enclave, EARNINGS, *CHECKERS)
    with pytest.raises(ReleaseError) as after:  # issue 18: no release after the deadline
        build_release(enclave, "j0001", today=late)
    assert after.value.rule == "release-after-deadline"
    assert release_ids(enclave) == ["r0001", "r0002"]
    nothing = runner.invoke(
        app, ["retain", "destroy", "--due", "--work", work, "--today", "2029-11-01"]
    )
    assert nothing.exit_code == 0 and "nothing is due" in nothing.output


def test_a5_release_strips_top_contributions_from_sidecars(enclave: Path) -> None:
    """The checks need each cell's two largest contributions; the release must not carry
    them. The table and the rest of its sidecar leave unchanged."""
    approve(enclave, EARNINGS, *CHECKERS)
    info = build_release(enclave, "j0001")
    job = enclave / "jobs" / "j0001"
    kept = json.loads((job / "outputs/earnings.meta.json").read_text())
    released = json.loads((info.path / "outputs/earnings.meta.json").read_text())
    assert {"top1", "top2"} <= set(kept["cells"]) and not {"top1", "top2"} & set(released["cells"])
    assert released["cells"]["sum"] == kept["cells"]["sum"]
    assert (info.path / EARNINGS).read_bytes() == (job / EARNINGS).read_bytes()
    assert "151000" not in (info.path / EARNINGS).read_text()


def test_a5_editing_a_sidecar_voids_the_reviews_of_its_table(enclave: Path) -> None:
    approve(enclave, EARNINGS, *CHECKERS)
    side = enclave / "jobs" / "j0001" / "outputs/earnings.meta.json"
    side.write_text(side.read_text().replace("1747", "1748"))
    item = status_of(enclave, EARNINGS)
    assert (item.approved, item.void) == (False, 2)


def test_a5_page_marks_cells_by_row_and_column_name_and_lines() -> None:
    findings = [
        {"rule": "min-frequency", "verdict": "fail", "cells": [[2, "persons"], [9, "x"]]},
        {"rule": "exact-date", "verdict": "fail", "cells": [[3, None], [0, None], "bad"]},
    ]
    found = marks(findings, ["region", "naturalised", "persons"])
    assert found.at(1, 2) == [("min-frequency", "fail")]
    assert found.at(1, 1) == [] and found.at(0, 2) == []
    assert found.at(2, 0) == [("exact-date", "fail")]  # a whole line
    assert found.line(2) == [("exact-date", "fail")]
    assert len(found.cells) == 2  # unknown column, row 0 and a malformed cell skipped


def test_a5_g10_reviewers_deciding_at_once_are_all_recorded(enclave: Path) -> None:
    """Two reviewers approving in the same instant (two threads, as the page serves them)
    both count, and the audit log stays a valid chain."""
    reviewers.add(enclave, "dirk.jacobs", PASSWORD)
    names = [*CHECKERS, "dirk.jacobs"]
    barrier = threading.Barrier(len(names))

    def go(name: str) -> None:
        barrier.wait()
        approve(enclave, SAFE, name)

    threads = [threading.Thread(target=go, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.reviewer for r in load_reviews(enclave, "j0001")) == sorted(names)
    assert status_of(enclave, SAFE).approved
    assert verify(enclave.parent / "audit.log").ok
    assert audit_events(enclave) == ["output-reviewed"] * 3


#: any character a UTF-8 text can hold but NUL (which makes a file binary for the page)
CELL_CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text(alphabet=CELL_CHARS, max_size=6),
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_a5_page_shows_any_csv_as_written(rows: list[list[str]]) -> None:
    """Whatever a CSV holds (quotes, commas, newlines in cells), the page's table has the
    header and the rows the csv module reads back (a NUL byte makes it binary: not shown)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        shown = show(path)
        with path.open(newline="", encoding="utf-8") as fh:
            expected = list(csv.reader(fh))
    assert shown.kind == "table"
    assert [shown.header, *shown.rows] == expected


def test_a5_review_decisions_are_pinned_by_the_audit_log(enclave: Path) -> None:
    """G10: each review line's sha256 is in its audit record, so a comment edited later
    no longer matches the log."""
    approve(enclave, SAFE, "bart.claes")
    line = (enclave / "reviews" / "j0001.jsonl").read_bytes()
    records = [json.loads(x) for x in (enclave.parent / "audit.log").read_text().splitlines()]
    reviewed = next(r for r in records if r["event"] == "output-reviewed")
    assert reviewed["data"]["review_sha256"] == hashlib.sha256(line).hexdigest()
    assert reviewed["data"]["reviewer"] == "bart.claes" and reviewed["data"]["output"] == SAFE


# ------------------------------------------------------------------ the page's guards


@pytest.fixture
def client(enclave: Path):
    app = create_app(enclave, secret=b"k" * 32)
    return app.test_client()


def _csrf(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _login(client, name: str = "bart.claes", password: str = PASSWORD):
    token = _csrf(client.get("/login", base_url="http://127.0.0.1").get_data(as_text=True))
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf": token},
        base_url="http://127.0.0.1",
    )


def test_a5_page_requires_login_and_a_right_password(client) -> None:
    page = client.get("/", base_url="http://127.0.0.1")
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    wrong = _login(client, password="wrong password!")
    assert "wrong password" in wrong.get_data(as_text=True)
    assert client.get("/", base_url="http://127.0.0.1").status_code == 302
    assert _login(client).status_code == 302
    page = client.get("/", base_url="http://127.0.0.1")
    assert page.status_code == 200 and "j0001" in page.get_data(as_text=True)
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_a5_page_refuses_forms_without_csrf_token_and_other_hosts(client, enclave: Path) -> None:
    _login(client)
    url = f"/jobs/j0001/files/{SAFE}/review"
    data = {"decision": "approve", "comment": "ok"}
    assert client.post(url, data=data, base_url="http://127.0.0.1").status_code == 400
    bad = client.post(url, data={**data, "csrf": "guess"}, base_url="http://127.0.0.1")
    assert bad.status_code == 400
    assert load_reviews(enclave, "j0001") == []
    assert client.get("/", base_url="http://evil.example:5000").status_code == 403
    token = _csrf(client.get("/", base_url="http://127.0.0.1").get_data(as_text=True))
    ok = client.post(url, data={**data, "csrf": token}, base_url="http://127.0.0.1")
    assert ok.status_code == 302
    assert [r.reviewer for r in load_reviews(enclave, "j0001")] == ["bart.claes"]


def test_a5_page_highlights_the_offending_cell(client) -> None:
    _login(client)
    html = client.get(f"/jobs/j0001/files/{SMALL}", base_url="http://127.0.0.1").get_data(
        as_text=True
    )
    assert html.count('class="hit"') == 1
    hit = html[html.index('class="hit"') :]
    assert hit.split(">", 1)[1].startswith("3</td>")  # row 2, column persons: the count of 3
    assert "min-frequency (fail)" in html
    assert "Approve</button>" in html and "disabled" in html.split("Approve</button>")[0][-80:]
    missing = client.get("/jobs/j0001/files/outputs/nope.csv", base_url="http://127.0.0.1")
    assert missing.status_code == 404


# ------------------------------------------------------------------ the command line


def test_a5_cli_approve_reject_release(enclave: Path) -> None:
    """The verbs in-process (fast), and one refusal through the real entry point: one line,
    the rule, no traceback, a non-zero exit."""
    work = str(enclave.parent.parent)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["enclave", *args])

    for name in CHECKERS:
        done = run("approve", "j0001", SAFE, "--work", work, "--reviewer", name, "--comment", "ok")
        assert done.exit_code == 0, done.output
        assert f"{name} approved j0001/{SAFE}" in done.output
    released = run("release", "j0001", "--work", work)
    assert released.exit_code == 0, released.output
    assert "as r0001" in released.output and (enclave / "releases" / "r0001" / SAFE).is_file()
    again = run("release", "j0001", "--work", work)
    assert isinstance(again.exception, ReleaseError)
    refused = sluis(
        "enclave", "reject", "j0001", SAFE, "--work", work, "--reviewer", AUTHOR, "--comment", "x"
    )
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "review-reject" in refused.stderr and "wrote this job" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    log = enclave.parent / "audit.log"
    checkpoint = enclave / "releases" / "r0001" / "release.json"
    verified = runner.invoke(app, ["audit", "verify", str(log), "--checkpoint", str(checkpoint)])
    assert verified.exit_code == 0, verified.output


def test_a5_cli_review_serves_the_page_on_localhost_only(enclave: Path) -> None:
    """``sluis enclave review`` prints its URL on 127.0.0.1, serves the sign-in page there
    and stops on Ctrl-C (SIGINT) with exit 0."""
    work = str(enclave.parent.parent)
    code = "from sluis.cli.app import main; main()"
    with subprocess.Popen(
        [sys.executable, "-c", code, "enclave", "review", "--work", work],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal: a suite started as a background job (`cmd &`) hands its
        # children SIGINT ignored, and the server would then never stop
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as proc:
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            assert url, line + (proc.stderr.read() if proc.stderr else "")
            with urllib.request.urlopen(url.group(0) + "login", timeout=10) as answer:
                assert answer.status == 200 and "Sign in to review" in answer.read().decode()
            port = f"{int(url.group(1)):04X}"
            table = Path("/proc/net/tcp").read_text().splitlines()[1:]
            listening = [  # local address of each listening TCP socket on the port
                fields[1].split(":")[0]
                for fields in (line.split() for line in table)
                if fields[1].endswith(":" + port) and fields[3] == "0A"
            ]
            assert listening == ["0100007F"]  # 127.0.0.1 only, not 0.0.0.0
            assert f":{port} " not in Path("/proc/net/tcp6").read_text()
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0


def test_a5_review_port_in_use_is_a_one_line_error(enclave: Path) -> None:
    first = server(enclave)
    try:
        with pytest.raises(UsageError, match=r"cannot listen on 127\.0\.0\.1") as err:
            server(enclave, first.port)
        assert err.value.rule == "review-port"
    finally:
        first.server_close()
