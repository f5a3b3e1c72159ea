"""The calibration table of ``sluis demo`` (X4): one readable row per figure."""

from __future__ import annotations

from rich.console import Console

from sluis.cli.synth_view import render_calibration, worst_per_figure
from sluis.synth.calibration import Check


def checks() -> list[Check]:
    return [
        Check("nationality acquisitions", "2000", 100.0, 101.0, 0.15),
        Check("nationality acquisitions", "2014", 100.0, 112.0, 0.15),
        Check("nationality acquisitions", "2016", 100.0, 95.0, 0.15),
        Check("unemployment rate 15-64, Walloon Region", "2012-12", 10.1, 12.5, 2.0, True),
    ]


def test_x4_one_row_per_figure_with_its_worst_deviation() -> None:
    rows = worst_per_figure(checks())
    assert len(rows) == 2
    worst, span, ok = rows[0]
    assert (worst.period, span, ok) == ("2014", "2000-2016 (3)", True)
    worst, span, ok = rows[1]
    assert (span, ok) == ("2012-12", False)
    assert worst.deviation_text == "+2.4 pt"


def test_x4_calibration_table_fits_80_columns_and_flags_misses() -> None:
    console = Console(width=80, record=True, color_system=None)
    render_calibration(console, checks(), 0.01)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "2000-2016 (3)" in text and "+12.0%" in text
    assert "NO (±2 pt)" in text and "Wallonia" in text
