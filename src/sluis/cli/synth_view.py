"""Terminal views of ``sluis synth``: a progress bar per phase and the closing summary (X4)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sluis.synth import SynthSummary
from sluis.synth.calibration import Check

PHASES = {
    "simulate": "demography 2000Q1-2024Q4",
    "registers": "labour market, education, income",
    "income": "poverty line, ADI",
}


@contextmanager
def synth_progress(console: Console) -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback for :func:`sluis.synth.generate`, drawn on ``console``."""
    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, int] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done)

        yield update


def render_synth_summary(console: Console, summary: SynthSummary) -> None:
    """Persons, households, rows per table, files, size and time, as a table."""
    table = Table(title=f"Synthetic Belgium written to {summary.out}", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(
        f"scale {summary.scale:g}, seed {summary.seed}, {summary.chunks} chunks: "
        f"{summary.persons:,} persons, {summary.households:,} households, "
        f"{summary.files} files, {summary.bytes / 2**20:,.1f} MiB in {summary.seconds:,.1f} s"
    )


SHORT = {
    "Flemish Region": "Flanders",
    "Walloon Region": "Wallonia",
    "Brussels-Capital Region": "Brussels",
    "nationality acquisitions": "acquisitions",
    "integration income recipients": "leefloon",
    "employment rate": "employment",
    "unemployment rate": "unemployment",
    "full-time gross monthly wage": "full-time wage",
    " of the employed": "",
    " origin": "",
}


def worst_per_figure(checks: list[Check]) -> list[tuple[Check, str, bool]]:
    """One row per figure: the check that deviates most (relative to its tolerance), the
    periods the figure covers, and whether all of its checks hold."""
    groups: dict[str, list[Check]] = {}
    for c in checks:
        groups.setdefault(c.name, []).append(c)
    rows = []
    for group in groups.values():
        worst = max(group, key=lambda c: abs(c.deviation) / c.tolerance)
        periods = sorted(c.period for c in group)
        span = (
            periods[0] if len(group) == 1 else f"{periods[0][:4]}-{periods[-1][:4]} ({len(group)})"
        )
        rows.append((worst, span, all(c.ok for c in group)))
    return rows


def render_calibration(console: Console, checks: list[Check], scale: float) -> None:
    """The S3 calibration figures against their published values (fits 80 columns): one row
    per figure, with its largest deviation over the periods checked."""
    table = Table(
        title=f"Calibration at scale {scale:g} (S3): largest deviation per figure",
        title_justify="left",
    )
    for name in ("figure", "periods"):
        table.add_column(name)
    for name in ("expected", "observed", "dev", "within"):
        table.add_column(name, justify="right")
    for c, span, ok in worst_per_figure(checks):
        name = c.name
        for long, short in SHORT.items():
            name = name.replace(long, short)
        table.add_row(
            name,
            span,
            c.value_text(c.expected),
            c.value_text(c.observed),
            c.deviation_text,
            f"[green]{c.tolerance_text}[/]" if ok else f"[red]NO ({c.tolerance_text})[/]",
        )
    console.print(table)
