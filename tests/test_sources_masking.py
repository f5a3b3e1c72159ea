"""X2, G10 (issue 23): no national number on a screen or in a log. A finding of the sources
check shows the row and a masked value; only the quarantine file, owner-only (0600), holds
the full row."""

from __future__ import annotations

import datetime as dt
import io
import stat
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from sluis.cli.render import render_check_report
from sluis.domain.insz import is_valid_insz, make_insz
from sluis.sources.check import check_sources
from sluis.sources.masking import mask, redact
from source_tables import set_value, write_sources

#: the tables the placements touch (the others are valid and only cost time)
TABLES = {"person", "household"}


def _formatted(insz: str) -> str:
    """The way a national number is printed on an identity card: 99.09.27-001.70."""
    return f"{insz[:2]}.{insz[2:4]}.{insz[4:6]}-{insz[6:9]}.{insz[9:]}"


def _place(sources: Path, how: str, insz: str) -> None:
    """Put ``insz`` into a register so that the check finds something about its row."""

    def edit(name: str, *changes) -> None:
        path = sources / f"{name}.parquet"
        t = pq.read_table(path)
        for change in changes:
            t = change(t)
        pq.write_table(t, path)

    if how == "duplicate-key":  # the key value is what the finding would show
        edit("person", set_value("insz", 0, insz), set_value("insz", 1, insz))
    elif how == "insz-sex":  # the message used to quote the number
        man = int(insz[6:9]) % 2 == 1
        edit("person", set_value("insz", 0, insz), set_value("sex", 0, "2" if man else "1"))
    elif how == "code-list":  # a national number where a code belongs
        edit("person", set_value("register", 1, insz))
    elif how == "embedded":  # inside a longer text
        edit("household", set_value("lipro", 2, f"x{insz}y"))
    elif how == "formatted":  # with the card's separators
        edit("person", set_value("country_of_birth", 0, _formatted(insz)))
    elif how == "other-key":  # in another identifier column of a bad row
        edit("household", set_value("household_id", 0, insz), set_value("relation", 0, "99"))
    else:
        raise AssertionError(how)


PLACEMENTS = ["duplicate-key", "insz-sex", "code-list", "embedded", "formatted", "other-key"]

national_numbers = st.builds(
    make_insz,
    st.dates(dt.date(1900, 1, 1), dt.date(2024, 12, 31)),
    st.integers(1, 998),
    bis=st.booleans(),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(insz=national_numbers, how=st.sampled_from(PLACEMENTS))
def test_x2_no_finding_shows_a_national_number(insz: str, how: str) -> None:
    """For any valid INSZ placed in a register, no finding, printed line or rendered report
    contains it (plain or formatted); the quarantine file does and is owner-only."""
    assert is_valid_insz(insz)
    with tempfile.TemporaryDirectory() as tmp:
        sources = write_sources(Path(tmp) / "sources")
        _place(sources, how, insz)
        report = check_sources(sources, tables=TABLES)
        assert report.findings, how
        screen = io.StringIO()
        render_check_report(Console(file=screen, width=400), report)
        texts = [str(f) for f in report.findings] + [screen.getvalue()]
        texts += [f.value or "" for f in report.findings]
        for text in texts:
            assert insz not in text, (how, text)
            assert _formatted(insz) not in text, (how, text)

        assert report.quarantine_dir is not None
        quarantined = ""
        for qfile in report.quarantine_dir.iterdir():
            assert stat.S_IMODE(qfile.stat().st_mode) == 0o600, qfile
            quarantined += str(pq.read_table(qfile).to_pylist())
        assert insz in quarantined or _formatted(insz) in quarantined


def test_x2_a_finding_keeps_the_row_and_the_shape_of_the_value(sources: Path) -> None:
    """The masked value keeps its length and punctuation, so a lost leading zero (10
    digits) still shows; the row and column are printed as before."""
    path = sources / "person.parquet"
    pq.write_table(set_value("insz", 1, "1031500109")(pq.read_table(path)), path)
    (finding,) = check_sources(sources, tables={"person"}).findings
    assert (finding.row, finding.column, finding.rule) == (2, "insz", "insz-check-digits")
    assert finding.value == "*" * 10
    assert str(finding).startswith(f"{path}:2:insz: insz-check-digits: ")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("key (insz) occurs 2 times", "key (insz) occurs 2 times"),
        ("2020-03-31", "2020-03-31"),
        ("12345678", "12345678"),  # eight digits: an amount, not a number to hide
        ("123456789", "*********"),
        ("ref 85073003328 x", "ref *********** x"),
        ("85.07.30-033.28", "**.**.**-***.**"),
        ("85.07.30-033.29", "85.07.30-033.29"),  # no valid check number: a code, shown
    ],
)
def test_x2_redact_masks_long_digit_runs_and_separated_numbers(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_x2_mask_hides_letters_and_digits_only() -> None:
    assert mask("ab-12 3é") == "**-** **"


def test_x2_quarantine_rows_keep_the_full_number(sources: Path) -> None:
    """The quarantine is where a steward finds the real value (owner-only)."""
    insz = make_insz(dt.date(1999, 9, 27), 1)
    path = sources / "person.parquet"
    t = pq.read_table(path)
    t = pa.concat_tables([t, t.slice(0, 1)])
    pq.write_table(set_value("insz", 0, insz)(set_value("insz", 3, insz)(t)), path)
    report = check_sources(sources, tables={"person"})
    assert {f.value for f in report.findings if f.rule == "duplicate-key"} == {"*" * 11}
    qfile = report.quarantine_dir / "person.parquet"
    assert [r["insz"] for r in pq.read_table(qfile).to_pylist()] == [insz, insz]
    assert stat.S_IMODE(qfile.stat().st_mode) == 0o600
