"""G5, X3, X4: the SCRA report's bar charts, drawn as SVG text by sluis (no matplotlib):
well-formed, deterministic, every text escaped, bar heights proportional to the counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.report.charts import bar_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]


def test_g5_bar_chart_escapes_and_is_deterministic() -> None:
    """X3, X4: the same data give the same bytes; a label with markup stays text."""
    series = {"before": {"<b>1</b>": 10, "2-4": 0}, "after & co": {"<b>1</b>": 3, "2-4": 7}}
    one = bar_chart("K1: records <by> fk", series, "fk")
    assert one == bar_chart("K1: records <by> fk", series, "fk")
    root = ET.fromstring(str(one))  # well-formed XML
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "K1: records <by> fk" in texts and "<b>1</b>" in texts and "after & co" in texts
    assert "<b>" not in str(one)


@settings(deadline=None)  # a loaded machine
@given(
    st.dictionaries(st.sampled_from(["1", "2", "3-4", "5+"]), st.integers(0, 10**7), min_size=1),
    st.integers(0, 10**7),
)
def test_g5_property_bar_heights_proportional(counts: dict[str, int], other: int) -> None:
    """G5: each bar's height is its count on the axis scale; the axis reaches the largest."""
    series = {"before": counts, "after": {c: other for c in counts}}
    bars = _bars(str(bar_chart("t", series, "x")))
    assert len(bars) == 2 * len(counts)
    values = list(counts.values()) + [other] * len(counts)
    heights = [float(b.get("height")) for b in bars]
    top = nice_ticks(max(values))[-1]
    assert top >= max(values)
    for value, height in zip(values, heights, strict=True):
        assert abs(height - 188 * value / (top or 1)) <= 0.06  # plot height 188, 1 decimal


def test_g5_nice_ticks() -> None:
    """The count axis: whole steps of 1, 2, 2.5 or 5 × 10^n, from 0 to at least the top."""
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(3) == [0.0, 1.0, 2.0, 3.0]
    assert nice_ticks(846_244)[-1] >= 846_244
    assert nice_ticks(846_244)[1] == 200_000
