"""``kind: sep``: the socio-economic position cut to a level of KSZ's nomenclature (G4, G5),
and a trajectory check's recode steps along it (issue 19 item 1)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.coarsen.rule_sep import SepRule, _tree
from sluis.scra.recode import RecodeError, recode_column

CODES = sorted(_tree())


def _rule(level: int) -> SepRule:
    return SepRule(kind="sep", level=level)


def test_g4_sep_levels_follow_the_tree_of_the_shipped_nomenclature() -> None:
    """Level 1 is the four main classes; level 2 adds the groups; level 3 is every code
    (a coarser code a source may hold stays a class of its own)."""
    assert [c for c, _ in _rule(1).labelled()] == ["1", "2", "3", "4"]
    level2 = [c for c, _ in _rule(2).labelled()]
    assert "11" in level2 and "36" in level2 and "4" in level2 and "111" not in level2
    assert set(c for c, _ in _rule(3).labelled()) == set(CODES)
    assert all(len(c) <= 2 for c in level2)


@settings(deadline=None)
@given(code=st.sampled_from(CODES), level=st.integers(1, 3), to=st.integers(1, 3))
def test_g5_sep_recode_never_makes_a_value_finer_and_keeps_its_branch(code, level, to) -> None:
    rule, target = _rule(3), _rule(to)
    assert (rule.recode_problem(target) is None) == (to <= 3)
    if level < to:
        assert _rule(level).recode_problem(target) is not None  # finer: refused
        return
    value = code[:level]
    got = recode_column(pa.array([value, None]), "sep", _rule(level), target).to_pylist()
    assert got[1] is None
    assert got[0] == value[:to] and code.startswith(got[0])


def test_g5_sep_recode_refuses_a_code_outside_the_tree() -> None:
    with pytest.raises(RecodeError, match="not a class"):
        recode_column(pa.array(["999"]), "sep", _rule(3), _rule(2))
