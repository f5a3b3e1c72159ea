"""The codebook after the SCRA's global recoding (G5, G8): a column the SCRA recoded to a
``scra.recode`` step's ``to`` rule is described by that rule (classes, labels, Stata value
labels) in every rendering, and its rule says it was recoded by the SCRA; a step the SCRA
did not apply leaves the variable's own rule."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluis.coarsen import classes, describe
from sluis.deliver import build_package
from sluis.deliver.codebook import (
    FROM_RECODE,
    LABEL_MAX,
    SCRA_RECODED,
    effective_rules,
    recoded_label,
)
from sluis.errors import SluisError
from sluis.scra.recode import recode_column, rule_text
from sluis.scra.result import Recoding
from sluis.spec import load_spec, spec_digest
from sluis.spec.model import AgeRule, RecodeStep, Spec
from test_package import write_extract

SPEC_FILE = Path(__file__).parents[1] / "specs" / "26-050.yaml"
CREATED = dt.date(2026, 12, 1)
DDI = "{ddi:codebook:2_5}"
RECODED_TEXT = "recoded by the SCRA from age breaks 0..85 to age breaks 0..80"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC_FILE)


def _step(spec: Spec, dataset: str, variable: str) -> RecodeStep:
    return next(s for s in spec.scra.recode if (s.dataset, s.variable) == (dataset, variable))


def _scra_json(spec: Spec, *applied: tuple[str, str]) -> dict[str, Any]:
    """A scra.json as run_spec_scra writes it, claiming the given recode steps applied."""
    recoded = []
    for dataset, variable in applied:
        step = _step(spec, dataset, variable)
        own = next(v.coarsen for v in spec.datasets[dataset].variables if v.name == variable)
        recoded.append(
            asdict(
                Recoding(
                    dataset=dataset,
                    variable=variable,
                    from_rule=rule_text(own),
                    to_rule=rule_text(step.to),
                    to=step.to.model_dump(mode="json", exclude_none=True),
                    categories_before=19,
                    categories_after=10,
                )
            )
        )
    return {"decision": spec.decision.id, "k": spec.scra.k, "ok": True, SCRA_RECODED: recoded}


def _package(spec: Spec, work: Path, scra: dict[str, Any], recode_age: bool):
    """A package of a 26/050 extract whose scra.json is ``scra``; with ``recode_age`` the
    treated demobel.age_class holds the values the SCRA's recode gives."""
    treated, scra_dir = write_extract(spec, work)
    if recode_age:
        path = treated / "demobel.parquet"
        table = pq.read_table(path)
        own = next(v.coarsen for v in spec.datasets["demobel"].variables if v.name == "age_class")
        to = _step(spec, "demobel", "age_class").to
        column = recode_column(table["age_class"], "age_class", own, to, None)
        index = table.schema.get_field_index("age_class")
        pq.write_table(table.set_column(index, "age_class", column), path)
    (scra_dir / "recipient" / "scra.json").write_text(json.dumps(scra, sort_keys=True) + "\n")
    return build_package(
        spec, spec_digest(SPEC_FILE), treated, scra_dir, work / "out", created=CREATED
    )


def _field(package, fmt: str, ext: str, dataset: str, name: str) -> dict[str, Any]:
    descriptor = json.loads((package.path / "data" / "datapackage.json").read_text())
    resource = next(r for r in descriptor["resources"] if r["path"] == f"{fmt}/{dataset}.{ext}")
    return next(f for f in resource["schema"]["fields"] if f["name"] == name)


def _ddi_codes(package, dataset: str, name: str) -> tuple[list[str], str]:
    root = ET.parse(package.path / "data" / "codebook" / "ddi-codebook.xml").getroot()
    var = next(v for v in root.iter(f"{DDI}var") if v.get("ID") == f"V_{dataset}_{name}")
    codes = [c.findtext(f"{DDI}catValu") for c in var.iter(f"{DDI}catgry")]
    return codes, var.findtext(f"{DDI}codInstr") or ""


def test_g5_g8_effective_rule_is_the_applied_recode_rule(spec: Spec) -> None:
    """G5, G8: a recode step scra.json lists as applied decides the variable's rule; the
    other variables, and the steps the SCRA did not apply, keep their own rule."""
    rules = effective_rules(spec, _scra_json(spec, ("demobel", "age_class")))
    assert rules[("demobel", "age_class")] == _step(spec, "demobel", "age_class").to
    for dataset, ds in spec.datasets.items():
        for v in ds.variables:
            if (dataset, v.name) != ("demobel", "age_class"):
                assert rules[(dataset, v.name)] == v.coarsen, (dataset, v.name)


@pytest.mark.parametrize("scra", [None, {}, {"k": 5, "ok": True}, {SCRA_RECODED: []}])
def test_g5_g8_effective_rule_without_applied_recode_is_the_own_rule(
    spec: Spec, scra: dict[str, Any] | None
) -> None:
    """G5, G8: with no applied step (or a report of a run without spec treatment) every
    variable follows its own rule, although the spec declares recode steps."""
    assert spec.scra.recode
    rules = effective_rules(spec, scra)
    own = {(d, v.name): v.coarsen for d, ds in spec.datasets.items() for v in ds.variables}
    assert rules == own


def test_g5_g8_recode_the_spec_does_not_declare_is_refused(spec: Spec) -> None:
    """G5, G8: a scra.json listing a recode the spec does not declare is another spec's
    report; the codebook cannot describe its treated files and refuses."""
    scra = _scra_json(spec, ("demobel", "age_class"))
    scra[SCRA_RECODED][0]["to"] = {"kind": "age", "breaks": [0, 30, 60]}
    with pytest.raises(SluisError) as err:
        effective_rules(spec, scra)
    assert err.value.rule == "scra-recode-unknown"
    assert "demobel.age_class" in err.value.message


def test_g5_g8_codebook_follows_the_scra_recode(spec: Spec, tmp_path: Path) -> None:
    """G5, G8: after the SCRA recoded demobel.age_class, the Frictionless categories, the
    DDI categories, the HTML codebook and the Stata value labels follow the recode's ``to``
    rule, and each says the variable was recoded by the SCRA."""
    package = _package(spec, tmp_path, _scra_json(spec, ("demobel", "age_class")), True)
    to = _step(spec, "demobel", "age_class").to
    expected = classes(to)
    assert expected is not None
    codes = [c for c, _ in expected]

    doc = next(v for v in package.codebook.dataset("demobel").variables if v.name == "age_class")
    assert [c.code for c in doc.categories or ()] == codes  # no "(code not in the list)"
    assert doc.rule == RECODED_TEXT and doc.rule_kind == "age"
    assert doc.categories_from == FROM_RECODE and doc.recoded_from == "age breaks 0..85"

    field = _field(package, "parquet", "parquet", "demobel", "age_class")
    assert field["categories"] == [{"value": c, "label": label} for c, label in expected]
    assert RECODED_TEXT in field["description"]
    assert field["sluis:coarsening"] == RECODED_TEXT
    assert field["sluis:recoded_from"] == "age breaks 0..85"
    stata_field = _field(package, "stata", "dta", "demobel", "age_class")
    assert [c["value"] for c in stata_field["categories"]] == codes

    ddi_codes, instructions = _ddi_codes(package, "demobel", "age_class")
    assert ddi_codes == [str(c) for c in codes]
    assert RECODED_TEXT in instructions

    html = (package.path / "data" / "codebook" / "codebook.html").read_text()
    assert RECODED_TEXT in html and FROM_RECODE in html.replace("&#39;", "'")

    _, meta = pyreadstat.read_dta(str(package.path / "data" / "stata" / "demobel.dta"))
    labels = meta.variable_value_labels["age_class"]
    assert {int(k): v for k, v in labels.items()} == dict(expected)

    # a variable the SCRA did not recode keeps its own rule's text
    sex = _field(package, "parquet", "parquet", "demobel", "sex")
    assert "recoded" not in sex["description"] and "sluis:recoded_from" not in sex


def test_g5_g8_codebook_without_applied_recode_keeps_the_own_rule(
    spec: Spec, tmp_path: Path
) -> None:
    """G5, G8: when scra.json lists no applied recode (the thresholds held), demobel.age_class
    is described by its own 5-year rule and nothing says recoded."""
    package = _package(spec, tmp_path, _scra_json(spec), False)
    own = next(v.coarsen for v in spec.datasets["demobel"].variables if v.name == "age_class")
    expected = classes(own)
    assert expected is not None

    doc = next(v for v in package.codebook.dataset("demobel").variables if v.name == "age_class")
    assert doc.rule == describe(own) == "age breaks 0..85"
    assert doc.categories_from == "coarsening rule" and doc.recoded_from is None
    field = _field(package, "parquet", "parquet", "demobel", "age_class")
    assert field["categories"] == [{"value": c, "label": label} for c, label in expected]
    assert "recoded" not in field["description"] and "sluis:recoded_from" not in field
    ddi_codes, instructions = _ddi_codes(package, "demobel", "age_class")
    assert ddi_codes == [str(c) for c, _ in expected] and "recoded" not in instructions
    html = (package.path / "data" / "codebook" / "codebook.html").read_text()
    assert "recoded by the SCRA" not in html


# -- labels follow the last recode (the 26/050 demo's case) ------------------------------------

#: realistic own-rule values (no age under 0, nobody arrived before 1900)
_OWN_VALUES = {
    ("demobel", "age_class"): [0, 5, 20, 35, 60, 85],
    ("census", "arrival_year"): [1950, 1970, 1995, 2005, 2020],
    ("census", "household_size"): [1, 2, 4, 6, 8],
}


def _last_steps(spec: Spec, dataset: str, variable: str) -> list[RecodeStep]:
    return [s for s in spec.scra.recode if (s.dataset, s.variable) == (dataset, variable)]


def _chain_package(spec: Spec, work: Path):
    """A 26/050 package whose treated demobel.age_class, census.arrival_year and
    census.household_size went through every recode step of the spec (first, then second),
    as the demo's small Belgium needs; scra.json lists each step applied, in order."""
    treated, scra_dir = write_extract(spec, work)
    recoded = []
    for (dataset, variable), values in _OWN_VALUES.items():
        path = treated / f"{dataset}.parquet"
        table = pq.read_table(path)
        rule = next(v.coarsen for v in spec.datasets[dataset].variables if v.name == variable)
        column = pa.array([values[i % len(values)] for i in range(table.num_rows)], pa.int32())
        for step in _last_steps(spec, dataset, variable):
            column = recode_column(column, variable, rule, step.to, None)
            recoded.append(
                asdict(
                    Recoding(
                        dataset=dataset,
                        variable=variable,
                        from_rule=rule_text(rule),
                        to_rule=rule_text(step.to),
                        to=step.to.model_dump(mode="json", exclude_none=True),
                        categories_before=0,
                        categories_after=0,
                    )
                )
            )
            rule = step.to
        index = table.schema.get_field_index(variable)
        table = table.set_column(index, variable, pc.cast(column, table[variable].type))
        pq.write_table(table, path)
    scra = {"decision": spec.decision.id, "k": 5, "ok": True, SCRA_RECODED: recoded}
    (scra_dir / "recipient" / "scra.json").write_text(json.dumps(scra, sort_keys=True) + "\n")
    return build_package(
        spec, spec_digest(SPEC_FILE), treated, scra_dir, work / "out", created=CREATED
    )


def test_g5_g8_labels_follow_the_last_recode_everywhere(spec: Spec, tmp_path: Path) -> None:
    """G5, G8: after the SCRA's second recode steps (age in 20-year classes, arrival year in
    two classes, household size top-coded at 4), the variable label, the classes and the
    value labels describe those: in the codebook, datapackage.json (Parquet, CSV and Stata
    resources), the DDI XML, the HTML codebook and the Stata file. No class below the first
    break is listed when nobody is in it ("under 0 years", "under 1900")."""
    package = _chain_package(spec, tmp_path)
    expected = {
        ("demobel", "age_class"): (
            "Age class (20-year classes; recoded by the SCRA)",
            [(a, f"{a}-{a + 19} years") for a in (0, 20, 40, 60)]
            + [(80, "80 years or older")],  # and no "under 0 years"
        ),
        ("census", "arrival_year"): (
            "Arrival year (classes starting 1900, 2000; recoded by the SCRA)",
            [(1900, "1900 to under 2000"), (2000, "2000 or more")],
        ),
        ("census", "household_size"): (
            "Household size (top-coded at 4; recoded by the SCRA)",
            None,
        ),
    }
    root = package.path / "data"
    ddi = ET.parse(root / "codebook" / "ddi-codebook.xml").getroot()
    html = (root / "codebook" / "codebook.html").read_text()
    for (dataset, name), (label, cats) in expected.items():
        doc = next(v for v in package.codebook.dataset(dataset).variables if v.name == name)
        assert doc.label == label
        listed = None if doc.categories is None else [(c.code, c.label) for c in doc.categories]
        assert listed == cats
        for fmt, ext in (("parquet", "parquet"), ("csv", "csv"), ("stata", "dta")):
            field = _field(package, fmt, ext, dataset, name)
            assert field["title"] == label, (fmt, name)
            pairs = [(c["value"], c["label"]) for c in field.get("categories", [])]
            assert pairs == (cats or []), (fmt, name)
        var = next(v for v in ddi.iter(f"{DDI}var") if v.get("ID") == f"V_{dataset}_{name}")
        assert var.findtext(f"{DDI}labl") == label
        assert [c.findtext(f"{DDI}labl") for c in var.iter(f"{DDI}catgry")] == [
            t for _, t in cats or []
        ]
        assert label in html
        _, meta = pyreadstat.read_dta(str(root / "stata" / f"{dataset}.dta"), metadataonly=True)
        assert dict(zip(meta.column_names, meta.column_labels, strict=True))[name] == label
        stata_labels = meta.variable_value_labels.get(name, {})
        assert {int(k): v for k, v in stata_labels.items()} == dict(cats or [])
    assert "under 0 years" not in html and "under 1900" not in html
    sizes = pq.read_table(root / "parquet" / "census.parquet")["household_size"]
    assert pc.max(sizes).as_py() == 4  # what the label says


def test_g5_g8_a_class_below_the_first_break_is_listed_when_the_data_hold_it(
    spec: Spec, tmp_path: Path
) -> None:
    """G8: the open class below the first break is a real class when someone is in it: it is
    listed with its label (not as a code the list lacks), in Stata too."""
    treated, scra_dir = write_extract(spec, tmp_path)
    path = treated / "census.parquet"
    table = pq.read_table(path)
    years = pa.array([1899, 1950, 2020, None] * (table.num_rows // 4), table["arrival_year"].type)
    index = table.schema.get_field_index("arrival_year")
    pq.write_table(table.set_column(index, "arrival_year", years), path)
    package = build_package(
        spec, spec_digest(SPEC_FILE), treated, scra_dir, tmp_path / "out", created=CREATED
    )
    doc = next(v for v in package.codebook.dataset("census").variables if v.name == "arrival_year")
    assert doc.categories is not None
    assert (doc.categories[0].code, doc.categories[0].label) == (1899, "under 1900")
    _, meta = pyreadstat.read_dta(
        str(package.path / "data" / "stata" / "census.dta"), metadataonly=True
    )
    assert meta.variable_value_labels["arrival_year"][1899] == "under 1900"


@given(
    base=st.text(st.characters(whitelist_categories=("L", "N", "Zs")), min_size=1, max_size=60)
    .map(str.strip)
    .filter(bool),
    old=st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=30),
    start=st.integers(0, 50),
    width=st.integers(1, 30),
    n=st.integers(2, 12),
)
def test_g8_recoded_label_names_the_recode_rule_within_stata_limits(
    base: str, old: str, start: int, width: int, n: int
) -> None:
    """G8: a recoded variable's label keeps the spec label's text before its closing
    parenthesis, drops that parenthesis (the own rule) and fits Stata's 80 characters."""
    label = f"{base} ({old})"[:LABEL_MAX]
    rule = AgeRule(kind="age", breaks=[start + width * i for i in range(n)])
    got = recoded_label(label, rule)
    assert len(got) <= LABEL_MAX
    assert got.startswith(base[: LABEL_MAX - len(" (recoded)")].rstrip())
    if len(base) < 30:  # room for the whole phrase
        since = f" from {start}" if start else ""
        assert got == f"{base} ({width}-year classes{since}; recoded by the SCRA)"
