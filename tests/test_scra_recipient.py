"""The SCRA report a package carries (G5, G8): the recipient's version holds no original value
of a suppressed cell, no record's key values and no row number; checks the spec does not
enforce are shown as such; the report is escaped once; the suppression share of every
treated variable is in the report and in the run's summary (X4)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from rich.console import Console

from sluis.cli.run_view import render_run
from sluis.deliver import build_package
from sluis.flow.run import RunSummary
from sluis.scra.driver import run_spec_scra
from sluis.scra.html import write_html
from sluis.scra.result import (
    PRIVATE_KEYS,
    RECIPIENT_DIR,
    DatasetRun,
    ScraResult,
    Threshold,
    Treatment,
    for_recipient,
)
from sluis.spec import load_spec, spec_digest
from sluis.spec.model import Spec
from test_package import CREATED, SPEC_FILE, write_extract

DOUBLE_ESCAPE = re.compile(r"&amp;(?:[a-z]+|#\d+);")


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC_FILE)


@pytest.fixture(scope="module")
def delivered(spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real SCRA run on a 25/074-shaped staged extract (every variable of every dataset,
    60 rows of cycling values: small cells everywhere), and the package built from it."""
    base = tmp_path_factory.mktemp("recipient")
    staged, _ = write_extract(spec, base / "work", rows=60)
    for name in spec.datasets:  # the SCRA needs every quarter of a panel
        table = pq.read_table(staged / f"{name}.parquet")
        if "quarter" in table.column_names:
            i = table.schema.get_field_index("quarter")
            table = table.set_column(i, "quarter", pc.fill_null(table["quarter"], "2000Q1"))
            pq.write_table(table, staged / f"{name}.parquet")
    out = base / "scra"
    result = run_spec_scra(spec, staged, out)
    info = build_package(
        spec, spec_digest(SPEC_FILE), out / "staged", out, base / "pkg", created=CREATED
    )
    return {"result": result, "out": out, "package": info.path}


def _rows(html: str) -> list[list[str]]:
    """The text of every cell of every table row of a page."""

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None and self.rows:
                self.rows[-1].append("".join(self.cell).strip())
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    parser = Rows()
    parser.feed(html)
    return parser.rows


def _text(html: str) -> str:
    """What a reader sees: the page's text with every character reference resolved once."""

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return "".join(parser.parts)


def _objects(data: Any) -> list[dict[str, Any]]:
    """Every JSON object of a parsed document, nested ones too."""
    found = []
    if isinstance(data, dict):
        found.append(data)
        data = list(data.values())
    if isinstance(data, list):
        for value in data:
            found += _objects(value)
    return found


def _leaks(folder: Path, out: Path) -> list[str]:
    """Suppressed cells of the run in ``out`` (read from the pseudonymiser's explanations)
    that a report in ``folder`` gives away: a record's whole cell, or a row naming the
    record with the variable and its original value; and keys of the full report."""
    found = []
    html = (folder / "scra.html").read_text()
    report = json.loads((folder / "scra.json").read_text())
    # a leak names the record, the variable and the value in three cells of one row (or
    # three values of one object): counted, so a row of counts with one 0 is not record 0
    # with the value 0
    rows = [Counter(r) for r in _rows(html)]
    # in JSON a record number is a number and a value a string: "#0" is not "0"
    objects = [
        Counter(
            f"#{v}" if isinstance(v, int | float) else str(v)
            for v in o.values()
            if not isinstance(v, dict | list)
        )
        for o in _objects(report)
    ]
    keys = {k for o in _objects(report) for k in o}
    found += [f"json key {k}" for k in sorted(keys & {"examples", "record"})]
    for path in sorted((out / "suppressions").glob("*.parquet")):
        for e in pq.read_table(path).to_pylist():
            if e["value"] is None:
                continue
            facts = Counter([str(e["record"]), e["variable"], str(e["value"])])
            cell = e["cell"]  # none for a value suppressed with a key (scra.implied)
            if cell is not None and (cell in html or any(cell in o for o in objects)):
                found.append(f"{path.stem} record {e['record']}: cell {e['cell']}")
            as_json = Counter([f"#{e['record']}", e["variable"], str(e["value"])])
            if any(facts <= r for r in rows) or any(as_json <= o for o in objects):
                found.append(f"{path.stem} record {e['record']}: {e['variable']}={e['value']}")
    return found


def test_g5_g8_the_package_carries_no_pre_treatment_value(delivered: dict[str, Any]) -> None:
    """G5, G8: no original value of a suppressed cell appears with its record number in
    data/scra/*, nor a record's cell, nor an ``examples``/``record`` key; the full report
    that stays with the pseudonymiser does hold them (so the check can fail)."""
    out, package = delivered["out"], delivered["package"]
    assert sorted(p.name for p in (out / "suppressions").iterdir())  # something was suppressed
    assert sorted(p.name for p in (package / "data" / "scra").iterdir()) == [
        "scra.html",
        "scra.json",
    ]
    assert _leaks(package / "data" / "scra", out) == []
    assert _leaks(out, out)  # the pseudonymiser's version lists examples with their rows
    delivered_json = json.loads((package / "data" / "scra" / "scra.json").read_text())
    assert delivered_json["audience"] == "recipient"
    keys = {k for o in _objects(delivered_json) for k in o}
    assert not keys & PRIVATE_KEYS
    assert (package / "data" / "scra" / "scra.json").read_bytes() == (
        out / RECIPIENT_DIR / "scra.json"
    ).read_bytes()
    html = (package / "data" / "scra" / "scra.html").read_text()
    assert "recipient's version" in html and "cell before" not in html
    assert str(out) not in html and str(out) not in json.dumps(delivered_json)


def test_g8_a_full_report_in_the_recipient_folder_is_refused(
    spec: Spec, delivered: dict[str, Any], tmp_path: Path
) -> None:
    """G8: a package refuses an SCRA report holding the pseudonymiser's keys, whatever the
    folder it was put in."""
    from sluis.errors import SluisError

    out = delivered["out"]
    copy = tmp_path / "scra"
    (copy / RECIPIENT_DIR).mkdir(parents=True)
    for name in ("scra.json", "scra.html"):
        (copy / RECIPIENT_DIR / name).write_bytes((out / name).read_bytes())
    with pytest.raises(SluisError) as err:
        build_package(
            spec, spec_digest(SPEC_FILE), out / "staged", copy, tmp_path / "pkg", created=CREATED
        )
    assert err.value.rule == "scra-not-redacted"
    assert not (tmp_path / "pkg" / "25-074-uantwerpen-20261201").exists()


def _result(thresholds: list[Threshold], examples: list[dict[str, Any]]) -> ScraResult:
    treatment = Treatment(
        k=5,
        keys=["birth_yq", "sex"],
        order=["birth_yq", "sex"],
        suppressed_values=3,
        records_touched=2,
        per_variable={"birth_yq": 2, "sex": 1},
        semantics="strict",
        explanations_file="suppressions/person.parquet",
        treated_file="staged/person.parquet",
        examples=examples,
    )
    run = DatasetRun("person", "person", "/work/ksz/staged/person.parquet", 8, None, None, None)
    run.treated_file = "/work/ksz/scra/staged/person.parquet"
    run.treatment = treatment
    return ScraResult(
        decision="25/074",
        staged="/work/ksz/staged",
        out="/work/ksz/scra",
        k=5,
        max_global_risk=0.01,
        semantics="strict",
        treat=True,
        datasets=[run],
        key_sets=[],
        longitudinal=[],
        thresholds=thresholds,
    )


_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
).map(lambda s: "V§" + s)


@settings(max_examples=40, deadline=None)
@given(
    examples=st.lists(
        st.fixed_dictionaries(
            {
                "record": st.integers(0, 10**9),
                "variable": st.sampled_from(["birth_yq", "sex"]),
                "value": _values,
                "cell": _values,
                "fk": st.integers(1, 4),
            }
        ),
        min_size=1,
        max_size=5,
    )
)
def test_g5_property_the_recipient_view_holds_no_example(
    examples: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """G5: whatever the examples hold, the recipient's JSON and HTML hold none of their
    values or cells, no path of the pseudonymiser's workspace, and the full result is left
    as it was."""
    full = _result([Threshold("k", "0", "0", True)], examples)
    view = for_recipient(full)
    assert full.datasets[0].treatment.examples == examples  # a copy, not an edit
    text = json.dumps(view.to_dict())
    folder = tmp_path_factory.mktemp("view")
    write_html(folder / "scra.html", view)
    page = _text((folder / "scra.html").read_text())
    assert not (folder / RECIPIENT_DIR).exists()  # only a full report writes a recipient's
    for e in examples:
        for where in (text, page):
            assert e["value"] not in where and e["cell"] not in where
    assert "/work/ksz" not in text and "/work/ksz" not in page
    assert view.datasets[0].treatment.per_variable == {"birth_yq": 2, "sex": 1}
    assert view.datasets[0].treatment.shares == {"birth_yq": 0.25, "sex": 0.125}


@settings(max_examples=30, deadline=None)
@given(states=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_g5_property_a_check_not_enforced_never_blocks_nor_holds(
    states: list[tuple[bool, bool]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """G5: ok is decided by the enforced checks only; the report shows each check as
    holds, fails or not enforced, never a check that is not enforced as holding."""
    thresholds = [
        Threshold(f"check {i} <{i}>", "0", f"{i * 257:,}", holds, enforced=enforced)
        for i, (holds, enforced) in enumerate(states)
    ]
    result = _result(thresholds, [])
    assert result.ok == all(h for h, e in states if e)
    folder = tmp_path_factory.mktemp("states")
    write_html(folder / "scra.html", result)
    rows = {r[0]: r for r in _rows((folder / "scra.html").read_text()) if r[0].startswith("check")}
    for i, (holds, enforced) in enumerate(states):
        _, limit, value, state = rows[f"check {i} <{i}>"]
        assert value == f"{i * 257:,}"  # the value is shown, enforced or not
        if enforced:
            assert (limit, state) == ("0", "holds" if holds else "fails")
        else:
            assert state == "not enforced" and limit != "0"


def test_g5_x4_reports_are_escaped_once(delivered: dict[str, Any]) -> None:
    """G5, X4: no entity is escaped twice in either report (``&amp;gt;`` shows as ``&gt;``),
    and no reader sees a literal ``&gt;``, ``&lt;``, ``&amp;`` or ``&rarr;``."""
    out = delivered["out"]
    for page in (out / "scra.html", out / RECIPIENT_DIR / "scra.html"):
        html = page.read_text()
        assert DOUBLE_ESCAPE.findall(html) == []
        text = _text(html)
        for literal in ("&gt;", "&lt;", "&amp;", "&rarr;", "&nbsp;"):
            assert literal not in text
        assert "fk < 5" in text  # a real "<" reaches the reader once


def test_g5_suppression_share_of_every_treated_variable(
    delivered: dict[str, Any], tmp_path: Path
) -> None:
    """G5: the share of every treated variable's suppressed values (suppressed / records)
    is in scra.json, the report's table (with the spec's cap when the result carries one)."""
    result: ScraResult = delivered["result"]
    out = delivered["out"]
    data = json.loads((out / RECIPIENT_DIR / "scra.json").read_text())
    treated = [d for d in data["datasets"] if d["treatment"]]
    assert treated
    for d in treated:
        t = d["treatment"]
        assert t["shares"].keys() == t["per_variable"].keys()
        for var, n in t["per_variable"].items():
            assert t["shares"][var] == pytest.approx(n / d["records"], abs=1e-6)
    rows = _rows((out / RECIPIENT_DIR / "scra.html").read_text())
    first = treated[0]
    var, n = next(iter(first["treatment"]["per_variable"].items()))
    share = f"{100 * n / first['records']:.1f}%"
    assert [var, f"{n:,}", share] in [r[:3] for r in rows]
    header = ["variable", "suppressed values", "share of records"]
    if data["max_suppression_share"] is not None:  # the spec's cap, shown beside the share
        header += ["cap", "within the cap"]
    assert header in rows
    uncapped = dataclasses.replace(result, max_suppression_share=None)
    write_html(tmp_path / "plain.html", uncapped)
    assert ["variable", "suppressed values", "share of records"] in _rows(
        (tmp_path / "plain.html").read_text()
    )
    capped = dataclasses.replace(result, max_suppression_share=0.05)
    write_html(tmp_path / "scra.html", capped)
    rows = _rows((tmp_path / "scra.html").read_text())
    assert ["variable", "suppressed values", "share of records", "cap", "within the cap"] in rows
    row = next(r for r in rows if r[:3] == [var, f"{n:,}", share])
    assert row[3:] == ["5%", "yes" if n / first["records"] <= 0.05 else "no"]


def test_x4_run_summary_shows_the_suppression_shares(delivered: dict[str, Any]) -> None:
    """X4, G5: the end summary of ``sluis run`` lists the share of every treated variable."""
    out = delivered["out"]
    summary = RunSummary("25/074", 1, "data", "work", "0" * 64, "f" * 16)
    summary.scra_ok, summary.scra_dir = False, str(out)
    console = Console(record=True, width=120)
    render_run(console, summary)
    printed = console.export_text()
    assert "Suppressed by the SCRA" in printed
    data = json.loads((out / "scra.json").read_text())
    for d in data["datasets"]:
        for var, n in (d["treatment"] or {}).get("per_variable", {}).items():
            line = next(x for x in printed.splitlines() if f" {var} " in x and d["name"] in x)
            assert f"{n:,}" in line and f"{100 * n / d['records']:.1f}%" in line


def test_x4_run_report_shows_the_suppression_shares(
    delivered: dict[str, Any], tmp_path: Path
) -> None:
    """X4, G5: ``run.html`` lists the share of every treated variable beside the cap."""
    from sluis.cli.run_view import write_run_report

    out = delivered["out"]
    summary = RunSummary("25/074", 1, "data", "work", "0" * 64, "f" * 16)
    summary.scra_ok, summary.scra_dir = False, str(out)
    rows = _rows(write_run_report(tmp_path / "run.html", summary).read_text())
    assert ["dataset", "variable", "suppressed", "share of records"] in rows
    data = json.loads((out / "scra.json").read_text())
    for d in data["datasets"]:
        for var, n in (d["treatment"] or {}).get("per_variable", {}).items():
            assert [d["name"], var, f"{n:,}", f"{100 * n / d['records']:.1f}%"] in rows
