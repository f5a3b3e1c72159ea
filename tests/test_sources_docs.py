"""G2: the source contract documentation is generated from the declaration and never stale;
the derivation of person variables (A6, A12, A13, B6) names only columns that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluis.domain.codelists import codelists, municipalities
from sluis.sources.contract import CONTRACT, table
from sluis.sources.derivations import DERIVATIONS
from sluis.sources.docs import render_contract_doc

DOC = Path(__file__).resolve().parents[1] / "docs" / "source-contract.md"


def test_g2_committed_contract_doc_is_current() -> None:
    assert DOC.is_file(), "run: sluis sources doc"
    assert DOC.read_text(encoding="utf-8") == render_contract_doc(), (
        "docs/source-contract.md is stale: run `sluis sources doc`"
    )


def test_g2_doc_names_every_table_and_column() -> None:
    doc = render_contract_doc()
    for t in CONTRACT:
        assert f"### {t.name}\n" in doc
        for c in t.columns:
            assert f"| `{c.name}` | {c.type} |" in doc


def test_g2_doc_marks_provisional_and_design_choice_lists() -> None:
    doc = render_contract_doc()
    for name, cl in codelists().items():
        if f"### Code list {name}\n" not in doc:
            continue  # not used by part 1 of the contract
        section = doc.split(f"### Code list {name}\n", 1)[1].split("\n### ", 1)[0]
        marker = {
            "provisional": "**Provisional**",
            "design choice": "**Design choice**",
            "verified": "**Verified**",
        }
        assert marker[cl.status] in section, name


def test_g2_doc_summarises_the_long_lists() -> None:
    doc = render_contract_doc()
    assert "589 municipalities" in doc and "581 municipalities" in doc
    assert "2019-01-01" in doc
    assert not any(f"`{m.nis}`" in doc for m in municipalities())
    assert "| `354` |" not in doc  # Morocco: countries are counted per class, not listed


def test_g2_derivation_columns_exist_in_the_contract() -> None:
    for d in DERIVATIONS:
        for ref in d.columns:
            name, _, column = ref.partition(".")
            try:
                table(name).column(column)
            except KeyError:
                pytest.fail(f"{d.requirement} {d.variable!r}: {ref} is not in the contract")


@pytest.mark.parametrize("requirement", ["A6", "A12", "A13", "B6"])
def test_g2_derivations_cover_the_person_variables(requirement: str) -> None:
    rows = [d for d in DERIVATIONS if d.requirement == requirement]
    assert rows
    for d in rows:
        assert d.rule
        if d.part == 1:
            assert d.columns, d.variable
        else:
            assert d.part == 2 and not d.columns, d.variable


def test_g2_derivations_are_in_the_doc() -> None:
    doc = render_contract_doc()
    for d in DERIVATIONS:
        assert f"| {d.requirement} | {d.variable} |" in doc
    assert "part 2 (issue 4)" in doc
