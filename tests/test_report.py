"""The shared HTML layer (X4): escaping, inline plots, deterministic bytes, atomic writes."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from matplotlib.figure import Figure

from sluis.report import render_page, svg, write_page
from sluis.report.html import _environment


def _page(tmp_path: Path, body: str) -> str:
    env = _environment()
    env.loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader({"t.html": body}), jinja2.PackageLoader("sluis.report", "templates")]
    )
    try:
        return render_page("t.html", title="T <&>", value="<script>x</script>", n=1234567)
    finally:
        _environment.cache_clear()


def test_values_are_escaped_and_numbers_grouped(tmp_path: Path) -> None:
    html = _page(
        tmp_path,
        '{% extends "base.html" %}{% block content %}{{ value }} {{ n | num }}{% endblock %}',
    )
    assert "<script>x" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "1,234,567" in html
    assert "<title>T &lt;&amp;&gt;</title>" in html


def test_a_missing_value_is_an_error_not_an_empty_cell(tmp_path: Path) -> None:
    with pytest.raises(jinja2.UndefinedError):
        _page(tmp_path, '{% extends "base.html" %}{% block content %}{{ nope }}{% endblock %}')


def _figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().bar(["a", "b"], [3, 5])
    return fig


def test_svg_is_inline_and_deterministic() -> None:
    first, second = svg(_figure()), svg(_figure())
    assert first.startswith("<svg")
    assert first == second  # X3: same data, same bytes


def test_write_page_is_atomic_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "r" / "report.html"
    write_page(target, "base.html", title="Report")
    assert "<h1>Report</h1>" in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_x4_g5_file_scra_report_is_escaped_once(tmp_path: Path) -> None:
    """X4, G5: the report of ``sluis scra FILE --suppress`` (suppression order, thresholds
    with ``<``, ``>`` and ``&`` in values) holds no double escape such as ``&amp;gt;``."""
    import re

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sluis.scra.driver import run_scra

    path = tmp_path / "in.parquet"
    pq.write_table(
        pa.table({"a": ["<x>", "y&z", "<x>", "w"] * 3, "b": [str(i) for i in range(12)]}), path
    )
    run_scra(path, tmp_path / "out", key_sets=[["a", "b"]], k=3, suppress=True)
    html = (tmp_path / "out" / "scra.html").read_text()
    assert re.findall(r"&amp;(?:[a-z]+|#\d+);", html) == []
    assert "in the order" in html and "&lt;x&gt;" in html
