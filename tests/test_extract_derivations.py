"""The derivation registry (G1, G2, issue 16): every derived variable declared once, named by
id in the specs, refused by ``sluis spec check`` when the id is unknown or a plain column is
not a contract column the extract can read, and documented from the registry."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sluis.cli.app import app
from sluis.errors import SluisError
from sluis.extract.columns import PLAIN_TABLES
from sluis.extract.derivations.registry import REGISTRY, derivation
from sluis.extract.derivations.requirements import ITEMS
from sluis.sources.contract import table
from sluis.sources.docs import render_contract_doc
from sluis.spec import load_spec
from sluis.spec.derive import RULES as DERIVE_RULES
from sluis.spec.derive import derivation_problems
from sluis.spec.load import check_document, read_document
from sluis.spec.model import Variable
from sluis.spec.rules import RULES, STRUCTURAL

ROOT = Path(__file__).resolve().parents[1]
SPEC_25 = ROOT / "specs" / "25-074.yaml"
SPEC_26 = ROOT / "specs" / "26-050.yaml"
DOC = ROOT / "docs" / "source-contract.md"
SECTION = "## Derivation of the variables\n"


def _at(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of a character index."""
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


# -- the registry -----------------------------------------------------------------------


def test_g2_each_derivation_lives_in_the_module_its_id_names() -> None:
    """``household.size`` is declared in ``sluis.extract.derivations.household``."""
    for id_, d in REGISTRY.items():
        domain, _, name = id_.partition(".")
        assert name and d.id == id_
        module = importlib.import_module(f"sluis.extract.derivations.{domain}")
        assert d in module.DERIVATIONS, id_


def test_g2_each_derivation_serves_known_items_and_reads_contract_columns() -> None:
    items = {item.key for item in ITEMS} | STRUCTURAL
    for d in REGISTRY.values():
        assert d.serves and d.description, d.id
        assert set(d.serves) <= items, (d.id, set(d.serves) - items)
        assert d.requirements == tuple(dict.fromkeys(s.split(":")[0] for s in d.serves))
        for ref in d.columns:
            name, _, column = ref.partition(".")
            table(name).column(column)  # KeyError names the column that is not there


def test_g2_every_derived_spec_variable_names_a_registered_derivation() -> None:
    """Both shipped specs name their derivations by id; their plain columns are readable
    contract columns; and a derivation is used by at least one of them."""
    used = set()
    for path in (SPEC_25, SPEC_26):
        for ds in load_spec(path).datasets.values():
            for v in ds.variables:
                if v.derive is None:
                    assert v.source[0].split(".")[0] in PLAIN_TABLES, (path.name, v.name)
                else:
                    used.add(derivation(v.derive).id)
    assert used == set(REGISTRY)


def test_g2_an_unknown_id_is_a_sluis_error_at_extract_too() -> None:
    with pytest.raises(SluisError, match=r"no derivation .labour\.nope.") as err:
        derivation("labour.nope")
    assert err.value.rule == "unknown-derivation"


# -- the spec check -----------------------------------------------------------------------


def _check(tmp_path: Path, old: str, new: str, marker: str) -> tuple[str, str]:
    """``sluis spec check`` on 25/074 with ``old`` replaced once by ``new``: its output, and
    the ``file:line:column`` of ``marker`` in the changed file."""
    text = SPEC_25.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = CliRunner().invoke(app, ["spec", "check", str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line, col = _at(text, text.index(marker))
    return result.output, f"{bad}:{line}:{col}"


def test_g1_spec_check_refuses_an_unknown_derivation_at_its_line(tmp_path: Path) -> None:
    out, where = _check(
        tmp_path, "labour.employer_nace", "labour.employer_naec", "labour.employer_naec"
    )
    assert f"{where}: unknown-derivation: employer_nace: " in out
    assert "did you mean labour.employer_nace?" in out


def test_g1_spec_check_refuses_a_plain_column_not_in_the_contract(tmp_path: Path) -> None:
    out, where = _check(tmp_path, "[person.sex]", "[person.gender]", "person.gender")
    assert f"{where}: not-a-contract-column: sex: " in out
    assert "'person.gender' is not a column of the source contract" in out


def test_g1_spec_check_refuses_a_plain_column_no_time_rule_reads(tmp_path: Path) -> None:
    """Without its ``derive``, the highest diploma's level would be a column of a diploma
    table, which has one row per diploma and no time rule: refused, not guessed."""
    out, where = _check(
        tmp_path, "        derive: education.level\n", "", "education_vl_diploma.level"
    )
    assert f"{where}: not-a-contract-column: edu_level: " in out
    assert "no time rule reads table education_vl_diploma" in out


def test_g1_the_derivation_rules_are_spec_rules() -> None:
    assert set(DERIVE_RULES) <= set(RULES)
    doc = (ROOT / "docs" / "spec-reference.md").read_text()
    for rule in DERIVE_RULES:
        assert f"| `{rule}` |" in doc, rule


_IDS = st.one_of(
    st.sampled_from(sorted(REGISTRY)),
    st.from_regex(r"[a-z_]{1,12}\.[a-z0-9_]{1,20}", fullmatch=True),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(id_=_IDS)
def test_g1_property_an_id_is_accepted_exactly_when_the_registry_has_it(id_: str) -> None:
    v = Variable(
        name="x",
        label="x",
        covers=["A12: NACE of the employer"],
        source=["dwh_job.nace"],
        derive=id_,
        coarsen={"kind": "keep"},
    )
    problems = derivation_problems(v)
    if id_ in REGISTRY:
        assert problems == []
    else:
        ((path, rule, message),) = problems
        assert (path, rule) == (("derive",), "unknown-derivation")
        assert repr(id_) in message


_YAML_IDS = st.one_of(
    st.sampled_from(sorted(REGISTRY)),
    st.from_regex(r"[a-z_]{1,10}\.[a-z0-9_]{1,16}", fullmatch=True),
)


@settings(max_examples=25, deadline=None)
@given(id_=_YAML_IDS)
def test_g1_property_spec_check_locates_every_unknown_id(id_: str) -> None:
    """Through the whole spec check: the 25/074 spec with one derive id replaced is valid
    exactly when the id is registered, else refused at that id's line and column."""
    text = SPEC_25.read_text()
    old = "derive: labour.employer_nace"
    text = text.replace(old, f"derive: {id_}", 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text)
        _, problems = check_document(read_document(path))
    found = [(p.line, p.column, p.rule) for p in problems]
    if id_ in REGISTRY:
        assert found == []
    else:
        assert found == [(*_at(text, text.index(f"derive: {id_}\n") + 8), "unknown-derivation")]


# -- the generated documentation ----------------------------------------------------------


def test_g2_derivations_section_of_the_doc_is_generated_from_the_registry() -> None:
    committed = DOC.read_text(encoding="utf-8").split(SECTION, 1)[1]
    rendered = render_contract_doc().split(SECTION, 1)[1]
    assert committed == rendered, "docs/source-contract.md is stale: run `sluis sources doc`"
    for d in REGISTRY.values():
        assert f"| `{d.id}` | {'; '.join(d.serves)} |" in rendered


# -- derivations at work: chosen by id ------------------------------------------------------


def _on_jobs(tmp_path: Path, id_: str) -> object:
    """Derivation ``id_`` on a hand-made dwh_job extract for one person's quarter: two
    employee jobs (wages 1,000 and 2,500), one self-employed activity, another person's job."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sluis.engine import connect
    from sluis.extract.derivations.base import Context
    from sluis.extract.frame import Subjects
    from sluis.select.population import Sources

    day = dt.date(2019, 3, 31)
    jobs = pa.table(
        {
            "insz": ["p1", "p1", "p1", "p2"],
            "quarter_end": [day] * 4,
            "job": pa.array([1, 2, 3, 1], pa.int64()),
            "statute": ["1", "2", "3", "1"],
            "gross_wage": pa.array([1000, 2500, None, 9000], pa.int64()),
            "self_employed_income": pa.array([None, None, 800, None], pa.int64()),
            "nace": ["47111", "86101", "62010", "10110"],
        }
    )
    pq.write_table(jobs, tmp_path / "dwh_job.parquet")
    with connect(threads=1, memory_limit="1GB") as engine:
        sources = Sources(engine, tmp_path, received={"dwh_job": tmp_path})
        frames = Subjects(engine.arrow(pa.table({"insz": ["p1"]})), {})
        w = engine.arrow(pa.table({"person": ["p1"], "subject": ["p1"], "qend": [day]}))
        # the spec and the selection are not read by the labour derivations
        ctx = Context(engine, sources, None, None, frames, w, ("person",))  # type: ignore[arg-type]
        v = Variable(
            name="value",
            label="value",
            covers=["A12: gross wage (classes)"],
            source=["dwh_job.gross_wage"],
            derive=id_,
            coarsen={"kind": "keep"},
        )
        out = REGISTRY[id_].build(ctx, w, v)
        return engine.to_arrow(out).to_pylist()[0]["value"]


@pytest.mark.parametrize(
    ("id_", "value"),
    [
        ("labour.gross_wage", 3500),
        ("labour.employer_nace", "86101"),
        ("labour.self_employed_income", 800),
        ("labour.self_employed_nace", "62010"),
    ],
)
def test_a12_partner_job_derivations_on_a_hand_made_quarter(
    tmp_path: Path, id_: str, value: object
) -> None:
    """The issue's example: the wage is the sum of the person's employee and civil-servant
    jobs (1,000 + 2,500), not one job's wage; the employer's NACE is the best-paid job's."""
    assert _on_jobs(tmp_path, id_) == value


def test_g2_extract_never_reads_the_covers_text() -> None:
    """How a value is computed is its ``derive`` id or its plain column: no extract module
    looks at ``covers`` (the words of the requirement), so a reworded item cannot send a
    variable down another path."""
    extract = ROOT / "src" / "sluis" / "extract"
    readers = [p.name for p in extract.rglob("*.py") if ".covers" in p.read_text()]
    assert readers == []
