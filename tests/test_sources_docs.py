"""G2: the source contract documentation is generated from the declaration and never stale;
the derivation of every variable of the two authorisations (A6-A13 of 25/074, B3-B9 of 26/050)
names only columns that exist, covers every requirement and uses every column that the
contract tags as serving one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluis.domain.codelists import codelists, municipalities
from sluis.extract.derivations.requirements import ITEMS
from sluis.sources.contract import CONTRACT, table
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
            continue  # not used by the contract
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


#: the requirements whose variables the requirement items map (REQUIREMENTS.md A6-A13, B3-B9)
REQUIREMENTS = (
    "A6",
    "A7",
    "A8",
    "A9",
    "A10",
    "A11",
    "A12",
    "A13",
    "B3",
    "B4",
    "B5",
    "B6",
    "B7",
    "B8",
    "B9",
)
#: the requirements whose ``serves`` tags on part-2 columns must each feed a derivation
PART2 = ("A7", "A8", "A9", "A10", "A11", "B5", "B7", "B8", "B9")


#: (column, tag) pairs of the contract whose tag names no variable of that requirement:
#: REQUIREMENTS.md and the 25/074 decision (point 16) ask for no RVA family category in A11,
#: and B8 takes nothing from dwh_job (its quarter_end shares the B8 tag of dwh_position's).
#: To be fixed in the contract; test_g2_known_tag_mismatches_are_still_real fails once a
#: pair no longer applies.
def _used_by() -> dict[str, set[str]]:
    """Per ``table.column``, the requirements whose derivations use it."""
    used: dict[str, set[str]] = {}
    for d in ITEMS:
        for ref in d.columns:
            used.setdefault(ref, set()).add(d.requirement)
    return used


def _tagged() -> list[tuple[str, tuple[str, ...]]]:
    """Every contract column tagged with a part-2 requirement, with all its tags."""
    return [
        (f"{t.name}.{c.name}", c.serves)
        for t in CONTRACT
        for c in t.columns
        if set(c.serves) & set(PART2)
    ]


def test_g2_derivation_columns_exist_in_the_contract() -> None:
    for d in ITEMS:
        for ref in d.columns:
            name, _, column = ref.partition(".")
            try:
                table(name).column(column)
            except KeyError:
                pytest.fail(f"{d.requirement} {d.variable!r}: {ref} is not in the contract")


@pytest.mark.parametrize("requirement", REQUIREMENTS)
def test_g2_every_requirement_a6_to_a13_and_b5_to_b9_has_its_derivations(
    requirement: str,
) -> None:
    rows = [d for d in ITEMS if d.requirement == requirement]
    assert rows, f"{requirement} has no derivation"
    for d in rows:
        assert d.rule, d.variable
        assert d.columns, d.variable


def test_g2_derivations_name_known_requirements_once_per_variable() -> None:
    seen: set[tuple[str, str]] = set()
    for d in ITEMS:
        assert d.requirement in REQUIREMENTS, d
        assert (d.requirement, d.variable) not in seen, d
        seen.add((d.requirement, d.variable))


def test_g2_part2_serves_tags_of_a7_to_a11_b5_b7_to_b9_feed_a_derivation() -> None:
    """A column tagged ``serves=(A7..A11, B5, B7..B9)`` is used by a derivation of a
    requirement it serves, so no register column is declared for nothing."""
    used = _used_by()
    missing = []
    for ref, serves in _tagged():
        checked = set(serves)
        if checked & set(PART2) and not used.get(ref, set()) & checked:
            missing.append(f"{ref} serves {serves}, used by {sorted(used.get(ref, ()))}")
    assert not missing, "\n".join(missing)


def test_g2_derivations_are_in_the_doc() -> None:
    doc = render_contract_doc()
    section = doc.split("## Derivation of the variables\n", 1)[1]
    assert "every variable of the two authorisations, with its columns" in section.lower()
    for d in ITEMS:
        assert f"| {d.requirement} | {d.variable} |" in section
    assert "issue 4" not in doc and "part 2 (" not in doc
