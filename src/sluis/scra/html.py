"""The SCRA's HTML reports (G5, X4): one writer for both entry points.

:func:`write_html` writes ``scra.html`` for a :class:`~sluis.scra.result.ScraResult`: the
file run's report (key sets K1, K2, ..., SUDA2, the treatment of the file) or a spec run's
(thresholds first, every key set per dataset and period, trajectories, the treatment per
dataset with its global recoding), and beside a spec run's full report the recipient's
version (:func:`~sluis.scra.result.for_recipient`), the only SCRA report a package carries.
Plots are inline SVG in one figure style (:func:`bar_figure`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from markupsafe import escape

from sluis.atomic import write_text
from sluis.report import render_page, svg
from sluis.report.charts import bar_chart
from sluis.scra.result import RECIPIENT_DIR, ScraResult, for_recipient

if TYPE_CHECKING:  # matplotlib loads only when a spec-driven report draws
    from matplotlib.figure import Figure


def bar_figure(
    title: str, series: dict[str, dict[str, int]], xlabel: str, ylabel: str = "records"
) -> Figure:
    """A grouped bar chart of counts per class, as a matplotlib figure (the spec-driven
    report's plots; a file run's report draws the same chart as plain SVG with
    :func:`sluis.report.charts.bar_chart`, without importing matplotlib)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.add_subplot()
    labels = list(next(iter(series.values())).keys())
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + i * width, [values[lab] for lab in labels], width, label=name)
    ax.set_xticks(x + width * (len(series) - 1) / 2, labels)
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _key_set_plots(
    result: ScraResult, drawn: dict[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """Cell sizes and individual risks of every key set, before and after treatment (a
    file run's as plain SVG, a spec run's through matplotlib). ``drawn``: the plots already
    drawn for the same figures (the recipient's report shows the pseudonymiser's key set
    plots; a figure drawn twice gives the same bytes, so it is drawn once)."""
    drawn = {} if drawn is None else drawn

    def draw(title: str, series: dict[str, dict[str, int]], xlabel: str) -> str:
        if result.is_file_run:
            return bar_chart(title, series, xlabel)
        key = json.dumps([title, series, xlabel])
        if key not in drawn:
            drawn[key] = svg(bar_figure(title, series, xlabel))
        return drawn[key]

    plots = {}
    for res in result.key_sets:
        label = res.name if result.is_file_run else f"{res.dataset}/{res.name}"
        sizes = {"before": res.before.cell_size_histogram}
        risks = {"before": res.before.risk_histogram}
        if res.after:
            sizes["after"] = res.after.cell_size_histogram
            risks["after"] = res.after.risk_histogram
        plots[label] = {
            "sizes": draw(f"{label}: records by cell size fk", sizes, "fk"),
            "risks": draw(f"{label}: records by individual risk", risks, "risk"),
        }
    return plots


def write_html(path: Path, result: ScraResult, drawn: dict[str, str] | None = None) -> Path:
    """The report a data protection officer reads: thresholds first, then per key set the
    cell sizes and risks before and after treatment, trajectories, then what was treated.

    For a spec run's full (pseudonymiser's) report, the recipient's version is written
    beside it, ``recipient/scra.json`` and ``recipient/scra.html`` (G5, G8), with the key
    set plots ``drawn`` for the full report reused."""
    drawn = {} if drawn is None else drawn
    plots = _key_set_plots(result, drawn)
    if result.is_file_run:
        suppression_plot = None
        if result.treatment and result.treatment.suppressed_values:
            per_var = dict(result.treatment.per_variable)
            suppression_plot = bar_chart(
                "suppressed values per key", {"suppressed": per_var}, "key", "values"
            )
        page = render_page(
            "scra.html",
            title="Small-cell risk analysis",
            result=result,
            plots=plots,
            suppression_plot=suppression_plot,
            spec_run=False,
        )
        return write_text(path, page)
    page = render_page(
        "scra.html",
        title=f"Small-cell risk analysis of {result.decision}",
        result=result,
        plots=plots,
        spec_run=True,
    )
    marker = "<h2>Treatment</h2>"
    if marker in page:  # global recoding comes first in the treatment
        page = page.replace(marker, marker + "\n" + recoding_html(result), 1)
    if result.further:  # after local suppression: l-diversity, then trajectories
        page = page.replace("</main>", further_html(result) + "</main>", 1)
    if result.information_loss_error is not None:
        page = page.replace(
            "</main>",
            "<h2>What treatment cost the research</h2>\n<p>Not computed: "
            f"{escape(result.information_loss_error)}</p>\n</main>",
            1,
        )
    if result.information_loss is not None:
        from sluis.scra.infoloss import infoloss_html

        page = page.replace("</main>", infoloss_html(result.information_loss) + "</main>", 1)
    written = write_text(path, page)
    if result.audience == "pseudonymiser":
        view = for_recipient(result)
        target = path.parent / RECIPIENT_DIR
        write_text(target / "scra.json", json.dumps(view.to_dict(), indent=2, default=str) + "\n")
        write_html(target / "scra.html", view, drawn)
    return written


def recoding_html(result: ScraResult) -> str:
    """The report's section on global recoding: every step applied, with its figures, and
    the steps that were not needed."""
    parts = ["<h3>Global recoding</h3>"]
    if result.recoded:
        parts.append(
            "<p>The spec's recode steps of a dataset are applied in order, one at a time, "
            "only while a threshold fails (records below k, global risk), before local "
            "suppression. Each merges whole classes of the variable's rule into the coarser "
            "classes of the target rule; the treated files hold the recoded values, in the "
            "target rule's representation.</p>"
        )
        parts.append(
            "<table>\n<tr><th>dataset</th><th>variable</th><th>from</th><th>to</th>"
            '<th class="n">categories</th><th>key set</th><th class="n">cells</th>'
            '<th class="n">records below k</th><th class="n">global risk</th></tr>'
        )
        for r in result.recoded:
            for ks in r.key_sets:
                text = [r.dataset, r.variable, r.from_rule, r.to_rule]
                figures = [
                    f"{r.categories_before:,} &rarr; {r.categories_after:,}",
                    f"{ks.cells_before:,} &rarr; {ks.cells_after:,}",
                    f"{ks.below_k_before:,} &rarr; {ks.below_k_after:,}",
                    f"{ks.global_risk_before:.4g} &rarr; {ks.global_risk_after:.4g}",
                ]
                row = "".join(f"<td>{escape(x)}</td>" for x in text)
                row += f'<td class="n">{figures[0]}</td><td>{escape(ks.name)}</td>'
                row += "".join(f'<td class="n">{x}</td>' for x in figures[1:])
                parts.append(f"<tr>{row}</tr>")
        parts.append("</table>")
    skipped = [(d.name, s) for d in result.datasets for s in d.recode_skipped]
    if skipped:
        parts.append("<ul>")
        parts += [f"<li>{escape(name)}: {escape(text)}</li>" for name, text in skipped]
        parts.append("</ul>")
    if not result.recoded and not skipped:
        parts.append('<p class="muted">The spec declares no recode steps.</p>')
    elif not result.recoded:
        parts.append('<p class="muted">No recoding was applied.</p>')
    return "\n".join(str(p) for p in parts) + "\n"


def further_html(result: ScraResult) -> str:
    """The report's section on the treatments after local suppression (issue 19): per
    l-diversity and trajectory check, the values changed per variable, what was at risk
    before and what nothing could treat, and (the pseudonymiser's report) a few
    explanations; every explanation is in the dataset's suppressions file."""
    parts = [
        "<h2>l-diversity and trajectories</h2>",
        "<p>After local suppression, every cell of a key set that holds a known value of a "
        "sensitive variable must hold at least l distinct known values (else its values are "
        "withheld, or one key of its records is suppressed so they join a cell that passes), "
        "and every person's states over m consecutive quarters must be shared by at least k "
        "persons (else the fewest state values are suppressed, in rounds, until the windows "
        "that isolated someone join patterns shared by k). Suppressed values are null in "
        "the delivered files; every threshold above is measured again on the final files.</p>",
        "<table>\n<tr><th>check</th><th>dataset</th><th>rule</th>"
        '<th class="n">at risk before</th><th class="n">values changed</th>'
        "<th>per variable</th>"
        '<th class="n">rounds</th><th class="n">not treatable</th></tr>',
    ]
    for t in result.further:
        per_var = ", ".join(f"{v} {n:,}" for v, n in t.per_variable.items() if n) or "none"
        cells = [t.kind, t.dataset, t.rule]
        row = "".join(f"<td>{escape(x)}</td>" for x in cells)
        row += f'<td class="n">{t.before:,}</td><td class="n">{t.values:,}</td>'
        row += f"<td>{escape(per_var)}</td>"
        row += f'<td class="n">{t.rounds:,}</td><td class="n">{t.after:,}</td>'
        parts.append(f"<tr>{row}</tr>")
    parts.append("</table>")
    examples = [e for t in result.further for e in t.examples][:20]
    if examples:
        parts.append("<h3>Examples of explanations (pseudonymiser only)</h3>")
        parts.append("<table>\n<tr><th>record</th><th>variable</th><th>rule</th></tr>")
        for e in examples:
            parts.append(
                f"<tr><td>{e.get('record')}</td><td>{escape(str(e.get('variable')))}</td>"
                f"<td>{escape(str(e.get('rule')))}</td></tr>"
            )
        parts.append("</table>")
    return "\n".join(str(p) for p in parts) + "\n"
