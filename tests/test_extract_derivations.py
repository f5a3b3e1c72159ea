"""The derivation registry (G1, G2, issue 16): every derived variable declared once, named by
id in the specs, refused by ``sluis spec check`` when the id is unknown or a plain column is
not a contract column the extract can read, and documented from the registry."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sluis.cli.app import app
from sluis.errors import SluisError
from sluis.extract.columns import PLAIN_TABLES
from sluis.extract.derivations import REGISTRY, derivation
from sluis.extract.derivations.requirements import ITEMS
from sluis.sources.contract import table
from sluis.sources.docs import render_contract_doc
from sluis.spec import load_spec
from sluis.spec.derive import RULES as DERIVE_RULES
from sluis.spec.derive import derivation_problems
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


# -- the generated documentation ----------------------------------------------------------


def test_g2_derivations_section_of_the_doc_is_generated_from_the_registry() -> None:
    committed = DOC.read_text(encoding="utf-8").split(SECTION, 1)[1]
    rendered = render_contract_doc().split(SECTION, 1)[1]
    assert committed == rendered, "docs/source-contract.md is stale: run `sluis sources doc`"
    for d in REGISTRY.values():
        assert f"| `{d.id}` | {'; '.join(d.serves)} |" in rendered
