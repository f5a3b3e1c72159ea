"""The package validates against the standards it claims (G8): ``frictionless validate`` on
``datapackage.json``, the DDI Alliance's DDI-Codebook 2.5 XSD on ``ddi-codebook.xml``, README
examples that name files of the package, and Stata quarters and months as Stata dates
(``%tq``, ``%tm``) that pyreadstat and R's haven read back.

The XSD set is the DDI Alliance's, bundled under ``tests/data/ddi-codebook-2.5/`` (see its
``SOURCE.md``); both shipped specs' packages are built from the synthetic treated extract of
``test_package.write_extract``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import frictionless
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st

from sluis.deliver import build_package
from sluis.deliver.exports import stata_date
from sluis.spec import load_spec
from sluis.spec.model import DateRule, Spec
from test_package import CREATED, write_extract

ROOT = Path(__file__).resolve().parents[1]
XSD = ROOT / "tests" / "data" / "ddi-codebook-2.5" / "codebook.xsd"
DDI = "{ddi:codebook:2_5}"
SPECS = ("25-074", "26-050")


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Spec, Path]]:
    """The package of each shipped spec, built from a synthetic treated extract."""
    built = {}
    for name in SPECS:
        spec = load_spec(ROOT / "specs" / f"{name}.yaml")
        work = tmp_path_factory.mktemp(name)
        treated, scra = write_extract(spec, work)
        info = build_package(spec, "0" * 64, treated, scra, work / "out", created=CREATED)
        built[name] = (spec, info.path)
    return built


@pytest.fixture(scope="module")
def ddi_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def _validate(descriptor: Path) -> list[str]:
    """``frictionless validate`` of a descriptor: one line per error."""
    report = frictionless.Package(str(descriptor)).validate()
    return [f"{t.name}: {e.type}: {e.message}" for t in report.tasks for e in t.errors]


# -- Frictionless -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPECS)
def test_g8_frictionless_validates_the_package(packages, name: str) -> None:
    """G8: every resource of datapackage.json validates: the CSV and Parquet tables cell by
    cell against their schema, the Stata files and the other files by size and SHA-256."""
    spec, root = packages[name]
    descriptor = root / "data" / "datapackage.json"
    assert _validate(descriptor) == []
    report = frictionless.Package(str(descriptor)).validate()
    tables = {t.name for t in report.tasks if t.type == "table"}
    for d in spec.datasets:
        assert {f"csv-{d}-csv".replace("_", "-"), f"parquet-{d}-parquet".replace("_", "-")} <= (
            tables
        )
    rows = {t.name: t.stats["rows"] for t in report.tasks if t.type == "table"}
    assert set(rows.values()) == {40}  # every row read, in both formats


def test_g8_frictionless_catches_a_changed_file(packages, tmp_path: Path) -> None:
    """G8: the validation is real: a Stata file one byte off its declared hash and a CSV
    code outside the field's categories are each found."""
    _, root = packages["25-074"]
    copy = tmp_path / root.name
    shutil.copytree(root, copy)
    data = copy / "data"
    dta = data / "stata" / "person.dta"
    raw = bytearray(dta.read_bytes())
    raw[-1] ^= 1
    dta.write_bytes(bytes(raw))
    csv = data / "csv" / "person.csv"
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    at = header.index('"birth_country"')
    cells = lines[1].split(",")
    cells[at] = '"77"'  # no such country class
    lines[1] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    errors = _validate(data / "datapackage.json")
    assert any(e.startswith("stata-person-dta: hash-count") for e in errors), errors
    assert any(e.startswith("csv-person-csv: constraint-error") for e in errors), errors
    assert all(e.split(":")[0] in {"stata-person-dta", "csv-person-csv"} for e in errors)


# -- DDI-Codebook 2.5 -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPECS)
def test_g8_ddi_codebook_validates_against_the_official_xsd(packages, ddi_schema, name) -> None:
    """G8: ddi-codebook.xml is valid DDI-Codebook 2.5 (the DDI Alliance's codebook.xsd)."""
    _, root = packages[name]
    xml = root / "data" / "codebook" / "ddi-codebook.xml"
    errors = [f"{e.path}: {e.reason}" for e in ddi_schema.iter_errors(str(xml))]
    assert errors == []


def test_g8_ddi_legal_basis_is_the_study_authorisation(packages, ddi_schema) -> None:
    """G8: the decision and its legal basis are the study's authorisation
    (``studyAuthorization``), not a citation requirement; the XSD refuses elements out of
    their sequence (the check is real)."""
    spec, root = packages["25-074"]
    xml = root / "data" / "codebook" / "ddi-codebook.xml"
    tree = ET.parse(xml)
    study = tree.getroot().find(f"{DDI}stdyDscr")
    assert study is not None and study.find(f".//{DDI}citReq") is None
    auth = study.find(f"{DDI}studyAuthorization")
    assert auth is not None and auth.get("date") == spec.decision.date.isoformat()
    assert auth.findtext(f"{DDI}authorizingAgency") == "Information Security Committee"
    statement = auth.findtext(f"{DDI}authorizationStatement") or ""
    assert "25/074" in statement and spec.legal_basis in statement
    # the defect of old: categories after the coding instructions
    var = tree.getroot().find(f"{DDI}dataDscr/{DDI}var[@ID='V_person_birth_country']")
    assert var is not None
    instructions = var.find(f"{DDI}codInstr")
    assert instructions is not None
    var.remove(instructions)
    var.insert(2, instructions)
    broken = ET.tostring(tree.getroot(), encoding="unicode")
    assert any("catgry" in (e.reason or "") for e in ddi_schema.iter_errors(broken))


# -- README -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPECS)
def test_g8_readme_examples_name_files_of_the_package(packages, name: str) -> None:
    """G8: every file the README's examples name (``parquet/x.parquet``, ``stata/x.dta``,
    ``csv/x.csv``, outside the ``<dataset>`` patterns) is a file of the package."""
    spec, root = packages[name]
    readme = (root / "data" / "README.md").read_text()
    named = set(re.findall(r"\b((?:parquet|stata|csv)/[A-Za-z0-9_]+\.(?:parquet|dta|csv))", readme))
    assert {p.split("/")[0] for p in named} >= {"parquet", "stata"}
    missing = [p for p in sorted(named) if not (root / "data" / p).is_file()]
    assert missing == []
    assert all(p.split("/")[1].rsplit(".", 1)[0] in spec.datasets for p in named)


# -- Stata dates --------------------------------------------------------------------------------


def _dated(spec: Spec, precision: str) -> list[tuple[str, str]]:
    return [
        (d, v.name)
        for d, ds in spec.datasets.items()
        for v in ds.variables
        if isinstance(v.coarsen, DateRule) and v.coarsen.precision == precision
    ]


def _quarters(x: int) -> str:
    return f"{1960 + x // 4}Q{x % 4 + 1}"


def _months(x: int) -> str:
    return f"{1960 + x // 12}-{x % 12 + 1:02d}"


@pytest.mark.parametrize(
    ("name", "precision", "fmt", "text"),
    [("25-074", "year_quarter", "%tq", _quarters), ("25-074", "year_month", "%tm", _months)],
)
def test_g8_stata_quarters_and_months_are_stata_dates(packages, name, precision, fmt, text) -> None:
    """G8: every quarter (month) column of the Stata files has the display format %tq (%tm)
    and holds the quarters (months) since 1960 of the Parquet file's value; nulls stay
    missing."""
    spec, root = packages[name]
    dated = _dated(spec, precision)
    assert dated
    for dataset, column in dated:
        frame, meta = pyreadstat.read_dta(
            str(root / "data" / "stata" / f"{dataset}.dta"), usecols=[column]
        )
        assert meta.original_variable_types[column] == fmt, (dataset, column)
        expected = pq.read_table(root / "data" / "parquet" / f"{dataset}.parquet")[column]
        got = [None if x != x else text(int(x)) for x in frame[column]]
        assert got == expected.to_pylist(), (dataset, column)


@given(
    st.lists(
        st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))), max_size=30
    )
)
def test_g8_stata_date_round_trips_quarters_and_months(days: list[dt.date | None]) -> None:
    """G8: a quarter 'YYYYQn' is (YYYY - 1960) * 4 + n - 1, a month 'YYYY-MM' is
    (YYYY - 1960) * 12 + MM - 1 (Stata's %tq and %tm), for any date, also before 1960."""
    quarters = [None if d is None else f"{d.year}Q{(d.month - 1) // 3 + 1}" for d in days]
    months = [None if d is None else f"{d.year}-{d.month:02d}" for d in days]
    q = stata_date(pa.array(quarters, pa.string()), "year_quarter").to_pylist()
    m = stata_date(pa.array(months, pa.string()), "year_month").to_pylist()
    assert [None if x is None else _quarters(x) for x in q] == quarters
    assert [None if x is None else _months(x) for x in m] == months


HAVEN = shutil.which("Rscript") is not None and (
    subprocess.run(["Rscript", "-e", "library(haven)"], capture_output=True, check=False).returncode
    == 0
)


@pytest.mark.skipif(not HAVEN, reason="Rscript with haven is not installed (./dev installs it)")
def test_g8_haven_reads_the_stata_dates(packages, tmp_path: Path) -> None:
    """G8: R's haven::read_dta reads the Stata files: the %tq and %tm columns keep their
    display format (haven 2.5 gives their values as numbers with ``format.stata``, not as
    R dates: it converts only %td and %tc), the README's conversion gives the first day of
    each Parquet quarter and month, and coded columns arrive as ``haven_labelled``."""
    spec, root = packages["25-074"]
    dataset, column = _dated(spec, "year_month")[0]
    script = tmp_path / "read.R"
    script.write_text(
        """
library(haven)
args <- commandArgs(trailingOnly = TRUE)
tq <- function(x) as.Date(sprintf('%d-%02d-01', 1960 + x %/% 4, 3 * (x %% 4) + 1))
tm <- function(x) as.Date(sprintf('%d-%02d-01', 1960 + x %/% 12, x %% 12 + 1))
person <- read_dta(args[1])
other <- read_dta(args[2])
month <- other[[args[3]]]
cat(class(person$birth_yq)[1], attr(person$birth_yq, "format.stata"),
    class(person$birth_country)[1], class(month)[1], attr(month, "format.stata"), sep = "\n")
write.csv(data.frame(day = format(tq(person$birth_yq))), args[4], row.names = FALSE, na = "")
write.csv(data.frame(day = format(tm(month))), args[5], row.names = FALSE, na = "")
"""
    )
    quarters, months = tmp_path / "quarters.csv", tmp_path / "months.csv"
    stata = root / "data" / "stata"
    result = subprocess.run(
        [
            "Rscript",
            str(script),
            *(str(stata / f) for f in ("person.dta", f"{dataset}.dta")),
            *(column, str(quarters), str(months)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["numeric", "%tq", "haven_labelled", "numeric", "%tm"]

    def days(path: Path) -> list[str | None]:
        return [line.strip('"') or None for line in path.read_text().splitlines()[1:]]

    first_month = {"1": "01", "2": "04", "3": "07", "4": "10"}
    person = pq.read_table(root / "data" / "parquet" / "person.parquet")["birth_yq"]
    assert days(quarters) == [
        None if q is None else f"{q[:4]}-{first_month[q[5]]}-01" for q in person.to_pylist()
    ]
    expected = pq.read_table(root / "data" / "parquet" / f"{dataset}.parquet")[column]
    assert days(months) == [None if m is None else f"{m}-01" for m in expected.to_pylist()]
