"""Progress and the end summary of ``sluis run`` (X4)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from matplotlib.figure import Figure
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sluis.flow.deliver import DeliverySummary
from sluis.flow.run import STAGES, RunSummary
from sluis.report import svg, write_page

LABELS = {
    "check": "check sources",
    "select": "select populations",
    "sample": "draw samples",
    "frames": "panel and family frames",
    "extract": "extract datasets",
    "pseudonymise": "pseudonymise",
    "coarsen": "coarsen and check",
    "write": "write staged extract",
    "scra": "small-cell risk analysis",
}


@contextmanager
def run_progress(console: Console) -> Iterator[Callable[[str, int, int], None]]:
    """One bar per stage, in flow order."""
    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(LABELS.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def render_run(console: Console, s: RunSummary) -> None:
    """The end summary: who was selected, what was written, how long each stage took."""
    t = Table(title=f"Run of {s.decision}, phase {s.phase}", title_justify="left")
    t.add_column("")
    t.add_column("", justify="right")
    for name, n in s.populations.items():
        t.add_row(f"population {name}", f"{n:,}")
    for name, n in s.samples.items():
        t.add_row(f"sample {name} (in this phase)", f"{n:,}")
    t.add_row("persons", f"{s.persons:,}")
    t.add_row("family members", f"{s.family_members:,}")
    t.add_row("person-quarter rows", f"{s.person_quarters:,}")
    console.print(t)
    d = Table(title="Staged extract (pseudonymised, coarsened)", title_justify="left")
    for col in ("dataset", "rows", "columns"):
        d.add_column(col, justify="left" if col == "dataset" else "right")
    for name, info in s.datasets.items():
        d.add_row(name, f"{info['rows']:,}", str(info["columns"]))
    console.print(d)
    times = Table(title="Time per stage", title_justify="left")
    times.add_column("stage")
    times.add_column("seconds", justify="right")
    for stage in STAGES:
        if stage in s.seconds:
            times.add_row(LABELS[stage], f"{s.seconds[stage]:.1f}")
    times.add_row("total", f"{sum(s.seconds.values()):.1f}")
    console.print(times)
    verdict = ("thresholds hold", "green") if s.scra_ok else ("thresholds do NOT hold", "red")
    console.print(
        Text.assemble("SCRA: ", verdict, f" (report {s.scra_dir}/scra.html)"), soft_wrap=True
    )


def write_run_report(path: Path, s: RunSummary) -> Path:
    """``run.html``: the same figures as the terminal, with a plot of time per stage."""
    fig = Figure(figsize=(6, 2.6))
    ax = fig.add_subplot()
    stages = [st for st in STAGES if st in s.seconds]
    ax.barh([LABELS[st] for st in stages], [s.seconds[st] for st in stages], color="#3b6ea8")
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    fig.tight_layout()
    return write_page(
        path,
        "run.html",
        title=f"sluis run of {s.decision}, phase {s.phase}",
        s=s,
        stages=[(LABELS[st], s.seconds[st]) for st in stages],
        plot=svg(fig),
    )


def render_delivery(console: Console, d: DeliverySummary) -> None:
    """What was packaged, encrypted to whom and sent where."""
    t = Table(title=f"Delivery of {d.decision}", title_justify="left")
    t.add_column("")
    t.add_column("")
    t.add_row("package", d.package)
    t.add_row("files / payload", f"{d.files} files, {d.payload_bytes / 1e6:,.1f} MB")
    t.add_row("rows", ", ".join(f"{k} {v:,}" for k, v in d.rows.items()))
    t.add_row("encrypted to", ", ".join(d.recipients))
    t.add_row("encrypted file", f"{d.encrypted} ({d.encrypted_bytes / 1e6:,.1f} MB)")
    if d.remote_path:
        t.add_row(
            "sent to",
            d.remote_path + (f" (resumed at {d.resumed_from:,})" if d.resumed_from else ""),
        )
        t.add_row("receipt", d.receipt)
    t.add_row("time", ", ".join(f"{k} {v:.1f} s" for k, v in d.seconds.items()))
    console.print(t)
