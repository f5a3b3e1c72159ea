"""The report's section on what treatment cost the research (G5): tables and plots.

:func:`section` renders :class:`~sluis.scra.infoloss.InfoLoss` through the template
``scra_infoloss.html`` with inline SVG figures in the SCRA report's style (a matplotlib
``Figure`` per plot, no pyplot, :func:`sluis.report.svg`): the shares of each variable
suppressed and recoded, the cells per key set before and after, and per research quantity
its values before and after per group. Kept apart from the measuring so that a caller
that needs only the figures (``scra.json``) does not load matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sluis.report import render_page, svg
from sluis.scra.infoloss import GroupValue, InfoLoss, QuantityLoss, VariableLoss, group_order

#: a quantity with more groups along its second column than this is drawn for the largest
MAX_PANELS = 12


def section(loss: InfoLoss) -> str:
    """The section's HTML (template ``scra_infoloss.html``): the per-variable table and bar
    chart of shares, the key-set cells and their chart, and per research quantity a
    before/after figure and table."""
    changed = [v for v in loss.variables if v.changed]
    shares = svg(_share_figure(changed)) if changed else None
    cells = None
    if loss.key_sets:
        cells = svg(
            _bars(
                "cells per key set, before and after treatment",
                [f"{k.dataset}/{k.name}" for k in loss.key_sets],
                {
                    "before": [k.cells_before for k in loss.key_sets],
                    "after": [k.cells_after for k in loss.key_sets],
                },
                "cells",
            )
        )
    figures = {q.id: svg(_quantity_figure(q)) for q in loss.quantities if q.rows}
    return render_page(
        "scra_infoloss.html",
        title="What treatment cost the research",
        loss=loss,
        shares=shares,
        cells=cells,
        figures=figures,
        label=_label,
    )


def _label(group: tuple[Any, ...]) -> str:
    return ", ".join("(missing)" if v is None else str(v) for v in group)


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)


def _share_figure(variables: Sequence[VariableLoss]) -> Figure:
    """Horizontal bars: the share of each changed variable's values suppressed and recoded."""
    labels = [f"{v.dataset}.{v.variable}" for v in variables]
    fig = Figure(figsize=(7.5, 0.9 + 0.32 * len(labels)))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y - 0.2, [100 * v.suppressed_share for v in variables], 0.4, label="suppressed")
    ax.barh(y + 0.2, [100 * v.recoded_share for v in variables], 0.4, label="recoded")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("% of the dataset's rows")
    ax.set_title("values suppressed and recoded per variable", loc="left", fontsize=10)
    ax.legend(frameon=False)
    _style(ax)
    return fig


def _bars(title: str, labels: list[str], series: dict[str, list[float]], ylabel: str) -> Figure:
    """Grouped bars, the SCRA report's style (``sluis.scra.html.bar_figure``) for a
    value per label."""
    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.add_subplot()
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + i * width, values, width, label=name)
    ax.set_xticks(x + width * (len(series) - 1) / 2, labels)
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    _style(ax)
    return fig


def _quantity_figure(q: QuantityLoss) -> Figure:
    """Before and after per group: grouped bars for a few groups, lines along the first
    group column otherwise; a quantity with two group columns gets one panel per value of
    the second (the ``MAX_PANELS`` with most units before)."""
    if len(q.groups) == 1:
        fig = Figure(figsize=(7.5, 2.8))
        _panel(fig.add_subplot(), q.rows, q.groups[0], q.value)
        fig.suptitle(q.title, x=0.01, ha="left", fontsize=10)
        return fig
    by_panel: dict[Any, list[GroupValue]] = {}
    for r in q.rows:
        by_panel.setdefault(r.group[1:], []).append(r)
    largest = sorted(by_panel, key=lambda p: -sum(r.units_before or 0 for r in by_panel[p]))
    panels = sorted(largest[:MAX_PANELS], key=group_order)
    cols = 3
    nrows = -(-len(panels) // cols)
    fig = Figure(figsize=(7.5, 1.9 * nrows + 0.6))
    axes = fig.subplots(nrows, cols, squeeze=False, sharey=True)
    for i, (ax, key) in enumerate(zip(axes.flat, panels, strict=False)):
        ylabel = q.value if i % cols == 0 else ""
        _panel(ax, by_panel[key], q.groups[0], ylabel, legend=False)
        ax.set_title(f"{', '.join(q.groups[1:])} {_label(key)}", fontsize=8, loc="left")
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    shown = "" if len(panels) == len(by_panel) else f" ({len(panels)} largest of {len(by_panel)})"
    fig.suptitle(q.title + shown, x=0.01, ha="left", fontsize=10)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", ncols=2, frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def _panel(ax, rows: Sequence[GroupValue], xlabel: str, ylabel: str, legend: bool = True):
    labels = [_label(r.group[:1]) for r in rows]
    before = [np.nan if r.before is None else r.before for r in rows]
    after = [np.nan if r.after is None else r.after for r in rows]
    x = np.arange(len(rows))
    if len(rows) <= 8:
        ax.bar(x - 0.2, before, 0.4, label="before")
        ax.bar(x + 0.2, after, 0.4, label="after")
        ax.set_xticks(x, labels)
    else:  # lines, at the group's value when it is a number (a gap in years shows)
        firsts = [r.group[0] for r in rows]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in firsts)
        if numeric:
            x = np.asarray(firsts, dtype=float)
        ax.plot(x, before, marker="o", markersize=3, label="before")
        ax.plot(x, after, marker="s", markersize=3, linestyle="--", label="after")
        if not numeric:
            step = max(1, len(rows) // 8)
            ax.set_xticks(x[::step], labels[::step])
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    if legend:
        ax.legend(frameon=False, fontsize=7, ncols=2, loc="lower right", bbox_to_anchor=(1, 1))
    _style(ax)
