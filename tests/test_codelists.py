"""S3: codes come from the real code lists; the vendored reference files stay identical to
``shared/domain``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from sluis.domain.codelists import REGIONS, VINTAGE_2019, codelists, municipalities, read_csv
from sluis.sources.contract import CONTRACT

SHARED = Path(__file__).resolve().parents[2] / "shared" / "domain"
DATA = Path(str(resources.files("sluis.domain").joinpath("data")))
#: data files that belong to sluis itself, not copies of shared/domain
PROJECT_FILES = {"sluis_codelists.csv", "synth_targets.csv"}


def test_s3_lipro_has_twelve_positions() -> None:
    assert codelists()["lipro"].codes == {
        "SING",
        "MAR0",
        "MAR+",
        "CMAR",
        "UNM0",
        "UNM+",
        "CUNM",
        "H1PA",
        "C1PA",
        "NFRP",
        "OTHR",
        "COLL",
    }


def test_s3_relation_codes_to_the_reference_person() -> None:
    expected = {f"{n:02d}" for n in range(18)} | {"20", "21"}
    relation = codelists()["relation"]
    assert relation.codes == expected
    assert relation.labels["01"].lower().startswith("reference person")
    # the KSZ page shows codes up to 21 and says more may exist: not "verified"
    assert relation.provisional


def test_s3_municipalities_589_until_2018_then_581() -> None:
    munis = municipalities()
    before = [m for m in munis if m.valid_to < VINTAGE_2019]
    after = [m for m in munis if m.valid_from >= VINTAGE_2019]
    assert len(before) == 589
    assert len(after) == 581
    assert len(before) + len(after) == len(munis)
    assert len({m.nis for m in before}) == 589
    assert len({m.nis for m in after}) == 581
    assert all(len(m.nis) == 5 and m.nis.isdigit() for m in munis)
    per_region = {
        r: (sum(m.region == r for m in before), sum(m.region == r for m in after)) for r in REGIONS
    }
    assert per_region == {"02000": (308, 300), "03000": (262, 262), "04000": (19, 19)}


def test_s3_nis_changes_2019_lead_from_one_vintage_to_the_other() -> None:
    before = {m.nis for m in municipalities() if m.valid_to < VINTAGE_2019}
    after = {m.nis for m in municipalities() if m.valid_from >= VINTAGE_2019}
    changes = read_csv("nis_changes_2019.csv")
    assert changes
    for change in changes:
        assert change["old_nis"] in before
        assert change["new_nis"] in after
        assert change["old_nis"] not in after
    # everything that did not change keeps its code
    assert before - {c["old_nis"] for c in changes} == after - {c["new_nis"] for c in changes}


def test_s3_every_contract_codelist_exists() -> None:
    for table in CONTRACT:
        for col in table.columns:
            if col.codelist is not None and col.codelist != "municipality":
                assert col.codelist in codelists(), f"{table.name}.{col.name}"
                assert codelists()[col.codelist].codes


def test_s3_code_list_statuses_are_known() -> None:
    for cl in codelists().values():
        assert cl.status in {"verified", "provisional", "design choice"}
    assert codelists()["sex"].codes == {"1", "2"}
    assert {"150", "998", "999"} <= codelists()["country"].codes


def _vendored() -> list[str]:
    return sorted(p.name for p in DATA.iterdir() if p.is_file() and p.name not in PROJECT_FILES)


@pytest.mark.parametrize("name", _vendored())
def test_s3_vendored_reference_file_matches_shared(name: str) -> None:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found: the shared reference folder is not next to the repo")
    shared = SHARED / name
    assert shared.is_file(), f"{name} is not in {SHARED}; add it to PROJECT_FILES if it is ours"
    assert (DATA / name).read_bytes() == shared.read_bytes(), f"{name} differs from {shared}"


def test_s3_every_shared_reference_file_is_vendored() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found: the shared reference folder is not next to the repo")
    shared = {p.name for p in SHARED.glob("*.csv")}
    assert shared <= set(_vendored())
