"""The spec's own answers to "who pseudonymises" and "what is the project called" (G3, B1):
every stage asks the spec instead of working it out again."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluis.errors import UsageError
from sluis.spec.load import load_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("spec_file", "party", "slug"),
    [("25-074.yaml", "ksz", "25-074"), ("26-050.yaml", "statbel", "26-050")],
)
def test_spec_names_its_pseudonymiser_and_slug(spec_file: str, party: str, slug: str) -> None:
    spec = load_spec(ROOT / "specs" / spec_file)
    assert spec.pseudonymiser == party
    assert "pseudonymiser" in spec.parties[party].roles
    assert spec.slug == slug
    assert "/" in spec.decision.id and spec.slug == spec.decision.id.replace("/", "-")


def test_spec_without_pseudonymiser_is_refused_by_name() -> None:
    """B1: a spec where no party pseudonymises cannot say who holds the key."""
    spec = load_spec(ROOT / "specs" / "25-074.yaml")
    parties = {
        name: party.model_copy(update={"roles": [r for r in party.roles if r != "pseudonymiser"]})
        for name, party in spec.parties.items()
    }
    spec = spec.model_copy(update={"parties": parties})
    with pytest.raises(UsageError, match="no party has the pseudonymiser role"):
        _ = spec.pseudonymiser
