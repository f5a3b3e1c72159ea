"""Grouped bar charts written as SVG text by sluis itself (G5, X3, X4).

The SCRA report on a file draws only grouped bars of counts per class. Drawing them with
matplotlib cost about a second of every ``sluis scra FILE`` run (importing matplotlib and
rendering through its SVG backend), more than the whole analysis of a million records, so
these charts are plain SVG built from strings: no import beyond the standard library and
markupsafe, the same bytes for the same data (X3), and a file that opens offline (X4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from markupsafe import Markup, escape

#: matplotlib's default colour cycle, so these charts look like the other reports' plots
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
WIDTH, HEIGHT = 720, 270
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 52


def nice_ticks(top: float, wanted: int = 5) -> list[float]:
    """Tick values 0, step, 2·step, ... covering ``top``, with step 1, 2, 2.5 or 5 × 10^n
    (what a reader expects on a count axis)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / wanted
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    if step < 1:  # counts: never a fractional tick
        step = 1.0
    n = math.ceil(top / step)
    return [i * step for i in range(n + 1)]


def _label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def bar_chart(
    title: str, series: Mapping[str, Mapping[str, int]], xlabel: str, ylabel: str = "records"
) -> Markup:
    """A grouped bar chart of counts per class as inline SVG markup: one group per class
    (the classes of the first series, in order), one bar per series, a legend when there
    is more than one series. Every text is escaped."""
    names = list(series)
    classes = list(next(iter(series.values())).keys()) if series else []
    top = max((float(v.get(c, 0)) for v in series.values() for c in classes), default=0.0)
    ticks = nice_ticks(top)
    y_max = ticks[-1] or 1.0
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(classes), 1)
    bar_w = 0.8 * group_w / max(len(names), 1)

    def y(value: float) -> float:
        return TOP + plot_h * (1.0 - value / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13">{escape(title)}</text>',
    ]
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{LEFT - 4}" y1="{ty:.1f}" x2="{LEFT}" y2="{ty:.1f}" stroke="#000"/>'
            f'<text x="{LEFT - 7}" y="{ty + 4:.1f}" text-anchor="end">{_label(tick)}</text>'
        )
    for i, name in enumerate(names):
        colour = COLOURS[i % len(COLOURS)]
        for g, cls in enumerate(classes):
            value = float(series[name].get(cls, 0))
            x = LEFT + g * group_w + 0.1 * group_w + i * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{bar_w:.1f}" '
                f'height="{TOP + plot_h - y(value):.1f}" fill="{colour}">'
                f"<title>{escape(name)} {escape(cls)}: {_label(value)}</title></rect>"
            )
    for g, cls in enumerate(classes):
        cx = LEFT + (g + 0.5) * group_w
        parts.append(
            f'<text x="{cx:.1f}" y="{TOP + plot_h + 15}" text-anchor="middle">{escape(cls)}</text>'
        )
    base = TOP + plot_h
    parts.append(
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#000"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#000"/>'
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
        f"{escape(xlabel)}</text>"
        f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(ylabel)}</text>'
    )
    if len(names) > 1:
        for i, name in enumerate(names):
            lx = WIDTH - RIGHT - 110
            ly = TOP + 4 + 16 * i
            parts.append(
                f'<rect x="{lx}" y="{ly}" width="12" height="10" '
                f'fill="{COLOURS[i % len(COLOURS)]}"/>'
                f'<text x="{lx + 18}" y="{ly + 9}">{escape(name)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
