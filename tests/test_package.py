"""The delivery package (G8): layout and manifests, reproducible bytes (X3), Stata, Frictionless
and DDI renderings, atomic writes (X2) and the privacy scan (G1, G3, G4)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyreadstat
import pytest

from sluis.coarsen import classes
from sluis.deliver import build_package, scan_package, verify_package
from sluis.deliver import exports as exports_module
from sluis.deliver.codebook import _labels
from sluis.domain.insz import make_insz
from sluis.errors import SluisError
from sluis.spec import load_spec, spec_digest
from sluis.spec.model import DateRule, Keep, Pseudonym, Spec, TopCode

SPEC_FILE = Path(__file__).parents[1] / "specs" / "25-074.yaml"
CREATED = dt.date(2026, 12, 1)
ROWS = 40
DDI = "{ddi:codebook:2_5}"


def _column(v, rows: int) -> pa.Array:
    """Plausible coarsened values of one variable, every seventh missing."""
    rule = v.coarsen
    miss = [i % 7 == 6 for i in range(rows)]
    if isinstance(rule, Pseudonym):
        return pa.array(range(1, rows + 1), pa.int64())
    if isinstance(rule, DateRule):
        if rule.precision == "year":
            return pa.array([2000 + i % 20 for i in range(rows)], pa.int16(), mask=miss)
        if rule.precision == "year_month":
            return pa.array([f"{2000 + i % 20}-{i % 12 + 1:02d}" for i in range(rows)], mask=miss)
        return pa.array([f"{2000 + i % 20}Q{i % 4 + 1}" for i in range(rows)], mask=miss)
    if isinstance(rule, TopCode):
        return pa.array([i % (rule.max + 1) for i in range(rows)], pa.int16(), mask=miss)
    listed = classes(rule)
    if listed is None and isinstance(rule, Keep):
        labels, _ = _labels(v)
        listed = list(labels.items()) if labels else None
    if listed is None:
        return pa.array([2000 + i for i in range(rows)], pa.int32(), mask=miss)
    codes = [c for c, _ in listed]
    values = [codes[i % len(codes)] for i in range(rows)]
    if isinstance(codes[0], str):
        return pa.array(values, pa.string(), mask=miss)
    return pa.array(values, pa.float64() if isinstance(codes[0], float) else pa.int32(), mask=miss)


def write_extract(spec: Spec, work: Path, rows: int = ROWS) -> tuple[Path, Path]:
    """A treated extract and SCRA report shaped like the flow's (``<work>/ksz/scra``)."""
    scra = work / "ksz" / "scra"
    treated = scra / "staged"
    treated.mkdir(parents=True)
    for name, ds in spec.datasets.items():
        table = pa.table({v.name: _column(v, rows) for v in ds.variables})
        pq.write_table(table, treated / f"{name}.parquet")
    (scra / "recipient").mkdir()  # the recipient's version, the one a package carries
    (scra / "recipient" / "scra.json").write_text(json.dumps({"k": 5, "ok": True}) + "\n")
    (scra / "recipient" / "scra.html").write_text("<html><body>SCRA: k=5</body></html>\n")
    return treated, scra


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC_FILE)


@pytest.fixture(scope="module")
def extract(spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_extract(spec, tmp_path_factory.mktemp("work"))


def _build(spec: Spec, extract: tuple[Path, Path], out: Path, **kwargs):
    treated, scra = extract
    return build_package(
        spec,
        spec_digest(SPEC_FILE),
        treated,
        scra,
        out,
        created=CREATED,
        checkpoint={"sequence": 12, "hash": "ab" * 32},
        **kwargs,
    )


@pytest.fixture(scope="module")
def package(spec: Spec, extract: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    return _build(spec, extract, tmp_path_factory.mktemp("out"))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_g8_layout_and_manifests_verify(package, spec: Spec) -> None:
    root = package.path
    assert root.name == "25-074-uantwerpen-20261201"
    for tag in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"):
        assert (root / tag).is_file()
    expected = {
        "data/README.md",
        "data/spec.sha256",
        "data/audit-checkpoint.json",
        "data/datapackage.json",
        "data/codebook/ddi-codebook.xml",
        "data/codebook/codebook.html",
        "data/scra/scra.html",
        "data/scra/scra.json",
    }
    for d in spec.datasets:
        expected |= {f"data/parquet/{d}.parquet", f"data/stata/{d}.dta", f"data/csv/{d}.csv"}
    payload = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()}
    assert payload == expected
    # every payload file is in the manifest with its recomputed SHA-256, and nothing else
    manifest = {}
    for line in (root / "manifest-sha256.txt").read_text().splitlines():
        sha, rel = line.split("  ")
        manifest[rel] = sha
    assert set(manifest) == expected
    for rel, sha in manifest.items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == sha, rel
    tags = dict(
        reversed(line.split("  "))
        for line in (root / "tagmanifest-sha256.txt").read_text().splitlines()
    )
    assert set(tags) == {"bagit.txt", "bag-info.txt", "manifest-sha256.txt"}
    for rel, sha in tags.items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == sha
    info = (root / "bag-info.txt").read_text()
    assert "Sluis-Decision: 25/074" in info
    assert f"Sluis-Spec-SHA256: {spec_digest(SPEC_FILE)}" in info
    assert "Bagging-Date: 2026-12-01" in info
    size = sum((root / rel).stat().st_size for rel in expected)
    assert f"Payload-Oxum: {size}.{len(expected)}" in info
    assert (root / "data/spec.sha256").read_text().startswith(spec_digest(SPEC_FILE))
    assert json.loads((root / "data/audit-checkpoint.json").read_text())["sequence"] == 12
    assert verify_package(root) == []
    readme = (root / "data/README.md").read_text()
    assert "25/074" in readme and "2029-10-31" in readme and "re-identify" in readme
    # a changed byte is caught by the verifier
    csv = root / "data/csv/person.csv"
    original = csv.read_bytes()
    try:
        csv.write_bytes(original.replace(b"\n", b"\r\n", 1))
        assert verify_package(root) == [
            "data/csv/person.csv: SHA-256 differs from manifest-sha256.txt"
        ]
    finally:
        csv.write_bytes(original)


def test_x3_same_inputs_give_identical_bytes(package, spec, extract, tmp_path: Path) -> None:
    again = _build(spec, extract, tmp_path)
    first, second = _files(package.path), _files(again.path)
    assert first.keys() == second.keys()
    different = [rel for rel in first if first[rel] != second[rel]]
    assert different == []


def test_g8_parquet_and_csv_hold_the_treated_tables(package, spec, extract) -> None:
    treated, _ = extract
    for d in spec.datasets:
        source = pq.read_table(treated / f"{d}.parquet")
        delivered = pq.read_table(package.path / f"data/parquet/{d}.parquet")
        assert delivered.equals(source)
        assert delivered.column_names == spec.variable_names(d)
        text = (package.path / f"data/csv/{d}.csv").read_bytes()
        assert text.split(b"\n", 1)[0].decode() == ",".join(
            f'"{n}"' for n in spec.variable_names(d)
        )
        types = pacsv.ConvertOptions(
            column_types=source.schema, strings_can_be_null=True, quoted_strings_can_be_null=False
        )
        back = pacsv.read_csv(package.path / f"data/csv/{d}.csv", convert_options=types)
        assert back.equals(source)


def test_g8_stata_reads_back_with_labels(package, spec: Spec) -> None:
    frame, meta = pyreadstat.read_dta(
        str(package.path / "data/stata/person.dta"), apply_value_formats=False
    )
    head = (package.path / "data/stata/person.dta").read_bytes()[:64]
    assert head.startswith(b"<stata_dta><header><release>118</release>")
    assert list(frame.columns) == spec.variable_names("person")
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["birth_country"] == "Place of birth (15 country classes)"
    # string country classes '01'..'15', '99' are integers with their labels
    assert meta.variable_value_labels["birth_country"][1] == "Belgium"
    assert meta.variable_value_labels["birth_country"][99].startswith("Unknown")
    parquet = pq.read_table(package.path / "data/parquet/person.parquet")
    codes = parquet["birth_country"].to_pylist()
    assert [None if c is None else int(c) for c in codes] == [
        None if x != x else int(x) for x in frame["birth_country"]
    ]
    assert meta.variable_value_labels["sex"] == {1: "Male", 2: "Female"}
    assert meta.variable_value_labels["sample"][3] == "Family member"
    # a non-numeric code list is numbered in the codebook's order (LIPRO household types)
    _, panel = pyreadstat.read_dta(str(package.path / "data/stata/panel.dta"), metadataonly=True)
    household = panel.variable_value_labels["household_type"]
    assert sorted(household) == list(range(1, len(household) + 1))
    assert all(len(n) <= 32 for n in panel.variable_to_label.values())
    assert all(len(n) <= 32 for n in panel.column_names)
    # amount classes keep their lower bound as the Stata value
    assert panel.variable_value_labels["benefit_rva"][250] == "EUR 250-499"
    # the header's timestamp is the package date, not the clock
    assert b"01 Dec 2026 00:00" in (package.path / "data/stata/person.dta").read_bytes()[:300]


def test_g8_datapackage_has_resources_and_categories(package, spec: Spec) -> None:
    descriptor = json.loads((package.path / "data/datapackage.json").read_text())
    paths = {r["path"]: r for r in descriptor["resources"]}
    for d in spec.datasets:
        assert {f"parquet/{d}.parquet", f"stata/{d}.dta", f"csv/{d}.csv"} <= set(paths)
    for r in descriptor["resources"]:
        assert not r["path"].startswith(("/", "..")) and ".." not in r["path"]
        if r["path"].startswith("parquet/"):  # frictionless reads it by path: no byte count
            assert r["type"] == "table" and "hash" not in r and "bytes" not in r
            continue
        data = (package.path / "data" / r["path"]).read_bytes()
        assert r["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert r["bytes"] == len(data)
    fields = {f["name"]: f for f in paths["csv/person.csv"]["schema"]["fields"]}
    assert list(fields) == spec.variable_names("person")
    assert {"value": "01", "label": "Belgium"} in fields["birth_country"]["categories"]
    assert "categories" not in fields["person_seq"]
    assert fields["birth_country"]["sluis:source"] == ["person.country_of_birth"]
    stata = {f["name"]: f for f in paths["stata/person.dta"]["schema"]["fields"]}
    assert paths["stata/person.dta"]["type"] == "file"  # frictionless reads no .dta
    assert stata["birth_country"]["type"] == "integer"
    assert stata["birth_yq"]["type"] == "integer"
    assert stata["birth_yq"]["sluis:stata_format"] == "%tq"
    assert {"value": 1, "label": "Belgium"} in stata["birth_country"]["categories"]
    assert descriptor["sluis:decision"] == "25/074"
    # a level from either community's register has a label from its own code list
    panel = {f["name"]: f for f in paths["parquet/panel.parquet"]["schema"]["fields"]}
    levels = {c["value"]: c["label"] for c in panel["edu_level"]["categories"]}
    assert {"MA", "SUP-U"} <= set(levels)
    assert not any(label.startswith("(code not") for label in levels.values())


def test_g8_ddi_codebook_is_well_formed_with_every_variable(package, spec: Spec) -> None:
    root = ET.parse(package.path / "data/codebook/ddi-codebook.xml").getroot()
    assert root.tag == f"{DDI}codeBook"
    assert root.find(f"{DDI}stdyDscr/{DDI}citation/{DDI}titlStmt/{DDI}IDNo").text == "25/074"
    assert len(root.findall(f"{DDI}fileDscr")) == len(spec.datasets)
    names = {(v.get("files"), v.get("name")) for v in root.iter(f"{DDI}var")}
    assert len(names) == sum(len(ds.variables) for ds in spec.datasets.values())
    var = root.find(f"{DDI}dataDscr/{DDI}var[@ID='V_person_birth_country']")
    assert var.find(f"{DDI}labl").text == "Place of birth (15 country classes)"
    cats = {
        c.find(f"{DDI}catValu").text: c.find(f"{DDI}labl").text for c in var.iter(f"{DDI}catgry")
    }
    assert cats["01"] == "Belgium" and len(cats) == 16
    html = (package.path / "data/codebook/codebook.html").read_text()
    assert "birth_country" in html and "Belgium" in html and "person.country_of_birth" in html


def test_x2_failure_midway_leaves_no_package(spec, extract, tmp_path: Path, monkeypatch) -> None:
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise OSError("disk full")

    monkeypatch.setattr(exports_module, "write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        _build(spec, extract, tmp_path)
    assert calls
    assert list(tmp_path.iterdir()) == []  # neither the final name nor the temporary directory


def test_x2_refuses_an_existing_package_and_a_missing_dataset(
    package, spec, extract, tmp_path
) -> None:
    with pytest.raises(SluisError, match="already exists"):
        _build(spec, extract, package.path.parent)
    treated, scra = extract
    partial = tmp_path / "partial"
    shutil.copytree(treated, partial)
    (partial / "jobs.parquet").unlink()
    with pytest.raises(SluisError, match="jobs"):
        build_package(spec, "0" * 64, partial, scra, tmp_path / "out", created=CREATED)
    assert not (tmp_path / "out" / package.name).exists()


# -- the privacy scan -------------------------------------------------------------------------


def test_g8_privacy_scan_passes_a_real_package(package, spec: Spec) -> None:
    assert scan_package(package.path, spec) == []


@pytest.fixture
def copy(package, tmp_path: Path) -> Path:
    target = tmp_path / package.name
    shutil.copytree(package.path, target)
    return target


def test_g3_privacy_scan_finds_a_planted_insz_in_a_csv(copy: Path, spec: Spec) -> None:
    insz = make_insz(dt.date(1985, 7, 30), 33)
    csv = copy / "data/csv/jobs.csv"
    lines = csv.read_text().splitlines()
    _, rest = lines[2].split(",", 1)
    lines[2] = f"{insz},{rest}"
    csv.write_text("\n".join(lines) + "\n")
    found = scan_package(copy, spec)
    assert [(f.file, f.rule, f.column) for f in found] == [
        ("data/csv/jobs.csv", "insz", "person_seq")
    ]
    assert insz not in str(found[0])  # never shown


def test_g3_privacy_scan_finds_an_insz_in_a_number_and_in_text(copy: Path, spec: Spec) -> None:
    insz = make_insz(dt.date(2003, 2, 1), 12)  # born 2003: a leading zero as a number
    path = copy / "data/parquet/person.parquet"
    table = pq.read_table(path)
    seq = table["person_seq"].to_pylist()
    seq[0] = int(insz)
    pq.write_table(table.set_column(0, "person_seq", pa.array(seq, pa.int64())), path)
    readme = copy / "data/README.md"
    formatted = f"{insz[:2]}.{insz[2:4]}.{insz[4:6]}-{insz[6:9]}.{insz[9:]}"
    readme.write_text(readme.read_text() + f"\ncontact {formatted}\n")
    found = {(f.file, f.rule, f.column) for f in scan_package(copy, spec)}
    assert found == {
        ("data/parquet/person.parquet", "insz", "person_seq"),
        ("data/README.md", "insz", None),
    }


def test_g4_privacy_scan_finds_a_date_column_and_dates_in_values(copy: Path, spec: Spec) -> None:
    path = copy / "data/parquet/partner.parquet"
    table = pq.read_table(path)
    days = pa.array([dt.date(1980, 1, 1) + dt.timedelta(days=i) for i in range(table.num_rows)])
    pq.write_table(table.append_column("birth_date", days), path)
    csv = copy / "data/csv/person.csv"
    text = csv.read_text().replace('"2000Q1"', '"2000-01-17"').replace('"2001Q2"', '"17/04/2001"')
    csv.write_text(text)
    readme = copy / "data/README.md"
    readme.write_text(readme.read_text() + "\nborn 1985-07-30\n")
    found = {(f.file, f.rule, f.column) for f in scan_package(copy, spec)}
    assert ("data/parquet/partner.parquet", "exact-date", "birth_date") in found
    assert ("data/parquet/partner.parquet", "not-in-spec", "birth_date") in found
    assert ("data/csv/person.csv", "exact-date", "birth_yq") in found
    assert ("data/README.md", "exact-date", None) in found
    # the spec's own dates (retention deadline) and the package date are not findings
    assert not any(f[0] == "data/codebook/codebook.html" for f in found)


def test_g1_privacy_scan_finds_an_extra_column_a_name_and_an_unknown_file(copy, spec) -> None:
    path = copy / "data/parquet/children.parquet"
    table = pq.read_table(path)
    names = pa.array(["x"] * table.num_rows)
    pq.write_table(table.append_column("extra", names).append_column("first_name", names), path)
    frame, _ = pyreadstat.read_dta(str(copy / "data/stata/jobs.dta"))
    frame["voornaam"] = "x"
    pyreadstat.write_dta(frame, str(copy / "data/stata/jobs.dta"), version=14)
    shutil.copy(copy / "data/csv/person.csv", copy / "data/csv/persons_full.csv")
    (copy / "data/scra/blob.bin").write_bytes(bytes(range(256)))
    found = {(f.file, f.rule, f.column) for f in scan_package(copy, spec)}
    assert ("data/parquet/children.parquet", "not-in-spec", "extra") in found
    assert ("data/parquet/children.parquet", "name-column", "first_name") in found
    assert ("data/stata/jobs.dta", "name-column", "voornaam") in found
    assert ("data/stata/jobs.dta", "not-in-spec", "voornaam") in found
    assert ("data/csv/persons_full.csv", "unknown-dataset", None) in found
    assert ("data/scra/blob.bin", "unscanned-file", None) in found


def test_g8_26_050_packages_within_stata_limits(tmp_path: Path) -> None:
    spec = load_spec(SPEC_FILE.with_name("26-050.yaml"))
    treated, scra = write_extract(spec, tmp_path / "work", rows=12)
    info = build_package(spec, "0" * 64, treated, scra, tmp_path / "out", created=CREATED)
    assert set(info.rows) == set(spec.datasets)
    assert verify_package(info.path) == []
    assert scan_package(info.path, spec) == []
