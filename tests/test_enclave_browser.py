"""The review page in a real browser (A5; issue 17): Debian's chromium, headless, driven by
Playwright, against the page served on 127.0.0.1 by the same server ``sluis enclave
review`` runs.

Two reviewers sign in and approve, one builds the release and the package is on disk; the
author cannot approve; an output edited after its approvals loses them. The test takes
screenshots of the page; with ``SLUIS_SCREENSHOTS=docs/img`` it also writes them there for
docs/enclave.md.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from review_fixture import AUTHOR, PASSWORD, make_enclave
from sluis.enclave.review import server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SAFE = "outputs/employment_by_years.csv"
SMALL = "outputs/small_cells.csv"
MODEL = "outputs/model.txt"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not here")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The review page of a fixture enclave, served on a free port of 127.0.0.1."""
    enclave = make_enclave(tmp_path / "work")
    httpd = server(enclave)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.port}", enclave
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def shoot(page, tmp_path: Path, name: str) -> Path:
    """Screenshot the page as ``enclave-review-<name>.png`` (copied to SLUIS_SCREENSHOTS)."""
    path = tmp_path / f"enclave-review-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    target = os.environ.get("SLUIS_SCREENSHOTS")
    if target:
        shutil.copyfile(path, Path(target) / path.name)
    return path


def sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator("header.top").inner_text().find(name) >= 0


def sign_out(page) -> None:
    page.click("header.top button")
    page.wait_for_selector("#password")


def decide(page, base: str, output: str, decision: str, comment: str) -> None:
    page.goto(f"{base}/jobs/j0001/files/{output}")
    page.fill("#comment", comment)
    page.click(f"button[value={decision}]")
    page.wait_for_selector(".flash.ok")


def test_a5_browser_two_reviewers_approve_and_release(site, page, tmp_path: Path) -> None:
    """A5: two reviewers (not the author) approve in the browser; the release package is
    built from the page and is on disk with the approved file byte for byte."""
    base, enclave = site
    sign_in(page, base, "bart.claes")
    assert page.locator("table.list tbody tr").count() == 1
    assert "Employment by years since arrival" in page.inner_text("table.list")
    shoot(page, tmp_path, "list")

    page.click("text=j0001")
    page.click(f"text={SMALL}")
    hit = page.locator("td.hit")
    assert hit.count() == 1 and hit.inner_text() == "3"
    assert "min-frequency" in hit.get_attribute("title")
    assert page.locator("button[value=approve]").is_disabled()
    assert "can only be rejected" in page.inner_text("main")
    shoot(page, tmp_path, "output")

    decide(page, base, SAFE, "approve", "All cells at least 10 persons; no dominance.")
    assert "1 of 2 approvals" in page.inner_text("main")
    sign_out(page)

    sign_in(page, base, "chloe.maes")
    decide(page, base, SAFE, "approve", "Checked against the metadata: counts as shown.")
    assert "approved" in page.inner_text("h1")
    shoot(page, tmp_path, "approval")

    page.goto(f"{base}/jobs/j0001")
    page.click("text=Build the release package")
    flash = page.inner_text(".flash.ok")
    assert "as r0001" in flash
    package = enclave / "releases" / "r0001"
    assert str(package) in flash
    assert (package / SAFE).read_bytes() == (enclave / "jobs" / "j0001" / SAFE).read_bytes()
    assert (package / "release.json").is_file() and (package / "manifest-sha256.txt").is_file()
    assert "released in r0001" in page.inner_text("table.list")
    shoot(page, tmp_path, "release")


def test_a5_browser_author_cannot_approve(site, page) -> None:
    """A5: the job's author, though a reviewer of other jobs, gets no approve button on
    her own outputs, and a forged form post is refused by the same rule."""
    base, enclave = site
    sign_in(page, base, AUTHOR)
    page.goto(f"{base}/jobs/j0001/files/{SAFE}")
    assert page.locator("button[value=approve]").count() == 0
    assert "wrote this job" in page.inner_text("main")
    token = page.locator("header.top input[name=csrf]").get_attribute("value")
    answer = page.request.post(
        f"{base}/jobs/j0001/files/{SAFE}/review",
        form={"decision": "approve", "comment": "mine", "csrf": token},
    )
    assert answer.ok and "wrote this job" in answer.text()
    assert not (enclave / "reviews" / "j0001.jsonl").read_text()


def test_a5_browser_edited_output_loses_its_approvals(site, page) -> None:
    """A5: an output edited after two approvals shows them void and cannot be released."""
    base, enclave = site
    for name in ("bart.claes", "chloe.maes"):
        sign_in(page, base, name)
        decide(page, base, MODEL, "approve", "Residual df 6012: fine.")
        sign_out(page)
    sign_in(page, base, "bart.claes")
    page.goto(f"{base}/jobs/j0001/files/{MODEL}")
    assert "approved" in page.inner_text("h1")
    path = enclave / "jobs" / "j0001" / MODEL
    path.write_text(path.read_text() + "row 17: 1961-03-02 Brussels\n")
    page.reload()
    assert "changed since its checks" in page.inner_text("h1")
    assert "0 of 2 approvals" in page.inner_text("main")
    assert page.locator("button[value=approve]").is_disabled()
    assert "2 earlier review(s)" in page.inner_text("main")
    page.goto(f"{base}/jobs/j0001")
    assert "Nothing to release" in page.inner_text("main")
    assert page.locator("text=Build the release package").count() == 0
