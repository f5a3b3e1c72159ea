"""Treating a staged extract until the spec's global risk holds, and design weights for a
delivered sample (G5)."""

from __future__ import annotations

from pathlib import Path

from sluis.scra.driver import run_spec_scra
from sluis.spec import load_spec
from test_scra_spec import stage_25_074

ROOT = Path(__file__).resolve().parents[1]
SPEC = load_spec(ROOT / "specs" / "25-074.yaml")


def _risk(result, dataset: str) -> float:
    ks = next(k for k in result.key_sets if k.dataset == dataset)
    return (ks.after or ks.before).global_risk


def test_g5_treatment_raises_k_until_the_global_risk_holds(tmp_path: Path) -> None:
    staged = stage_25_074(SPEC, tmp_path / "staged", persons=300)
    result = run_spec_scra(SPEC, staged, tmp_path / "out")
    limit = SPEC.scra.max_global_risk
    raised = [t for t in result.thresholds if "local suppression raised" in t.name]
    for dataset in ("person", "panel"):
        risk = _risk(result, dataset)
        named = [t for t in raised if t.name.startswith(dataset + ":")]
        if named:  # raised only as far as needed, and then the risk holds (or k hit scra.max_k)
            k = int(named[0].value.split("= ")[1])
            assert SPEC.scra.k < k <= SPEC.scra.max_k
            assert risk <= limit or k == SPEC.scra.max_k
        else:
            assert risk <= limit


def test_g5_a_design_weight_lowers_the_risk_of_a_sample(tmp_path: Path) -> None:
    staged = stage_25_074(SPEC, tmp_path / "staged", persons=300)
    plain = run_spec_scra(SPEC, staged, tmp_path / "a", treat=False)
    weighted = run_spec_scra(SPEC, staged, tmp_path / "b", treat=False, design_weight=200.0)
    assert _risk(weighted, "person") < _risk(plain, "person")
    run = next(d for d in weighted.datasets if d.name == "person")
    assert run.weight == "design weight 200"


def test_g5_checks_the_spec_does_not_enforce_are_marked_and_never_decide(tmp_path: Path) -> None:
    """G5: 25/074's trajectory and l-diversity checks are ``enforce: false``: their
    thresholds say so (``enforced``), ``holds`` is what their value says (no "0 holds" when
    persons are at risk), and ``ok`` is decided by the enforced checks alone."""
    sc = SPEC.scra  # both checks are enforced in the shipped spec
    loose_scra = sc.model_copy(
        update={
            "longitudinal": [c.model_copy(update={"enforce": False}) for c in sc.longitudinal],
            "sensitive": [c.model_copy(update={"enforce": False}) for c in sc.sensitive],
        }
    )
    spec = SPEC.model_copy(update={"scra": loose_scra})
    staged = stage_25_074(spec, tmp_path / "staged", persons=300)
    result = run_spec_scra(spec, staged, tmp_path / "out", treat=False)  # persons at risk
    loose = [t for t in result.thresholds if not t.enforced]
    assert {("trajectory" in t.name) or ("distinct known values" in t.name) for t in loose} == {
        True
    }
    assert len(loose) == len(spec.scra.longitudinal) + len(spec.scra.sensitive)
    assert any(t.value != "0" and not t.holds for t in loose)
    for t in loose:
        assert t.state == "not enforced"
        assert t.holds == (t.value == "0")
    assert result.ok == all(t.holds for t in result.thresholds if t.enforced)
