"""Progress and the end summary of ``sluis run`` (X4)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from matplotlib.figure import Figure
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sluis.flow.deliver import DeliverySummary
from sluis.flow.run import RunSummary
from sluis.report import svg, write_page

LABELS = {
    "check": "check sources",
    "select": "select populations",
    "sample": "draw samples",
    "frames": "frames (who is observed when)",
    "extract": "extract datasets",
    "pseudonymise": "pseudonymise",
    "coarsen": "coarsen and check",
    "write": "write staged extract",
    "scra": "small-cell risk analysis",
    "seal": "seal the output at rest",
    "send-lists": "send INSZ lists to providers",
    "destroy": "destroy providers' data",
}


def label(stage: str) -> str:
    """A stage's name for the steward; a provider's stages name the provider."""
    if stage in LABELS:
        return LABELS[stage]
    party, _, step = stage.partition(":")
    if step == "extract":
        return f"{party}: extract and send"
    if step == "receive":
        return f"receive and check {party}'s extract"
    return stage


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
                tasks[stage] = bar.add_task(label(stage), total=total)
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
    linked = bool(s.providers)
    t.add_row("cohort persons" if linked else "persons", f"{s.persons:,}")
    t.add_row("household members" if linked else "family members", f"{s.family_members:,}")
    if not linked:
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
    times.add_column("peak MiB", justify="right")
    for stage, seconds in s.seconds.items():
        times.add_row(label(stage), f"{seconds:.1f}", f"{s.peak_rss_mib.get(stage, 0):,}")
    times.add_row(
        "total", f"{sum(s.seconds.values()):.1f}", f"{max(s.peak_rss_mib.values(), default=0):,}"
    )
    console.print(times)
    shares = suppression_table(Path(s.scra_dir) / "scra.json") if s.scra_dir else None
    if shares is not None:
        console.print(shares)
    verdict = ("thresholds hold", "green") if s.scra_ok else ("thresholds do NOT hold", "red")
    if s.phase_mode == "enclave" and not s.scra_ok:
        verdict = ("thresholds do not hold: measured only, an enclave's data never leave", "")
    console.print(
        Text.assemble("SCRA: ", verdict, f" (report {s.scra_dir}/scra.html)"), soft_wrap=True
    )


def suppression_shares(
    report: Path,
) -> tuple[float | None, list[tuple[str, str, int, float]]]:
    """The spec's cap and, per dataset and treated variable, the values the SCRA suppressed
    and their share of the dataset's records, from the run's ``scra.json`` (no rows without
    a report or without local suppression)."""
    try:
        data = json.loads(Path(report).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, []
    rows = []
    for d in data.get("datasets", []):
        if not d.get("treatment"):
            continue
        shares = d["treatment"].get("shares", {})
        for var, count in d["treatment"]["per_variable"].items():
            share = shares.get(var)
            if share is None:
                share = count / d["records"] if d["records"] else 0.0
            rows.append((d["name"], var, count, share))
    return data.get("max_suppression_share"), rows


def suppression_table(report: Path) -> Table | None:
    """The share of every treated variable's values the SCRA suppressed (suppressed values /
    records of the dataset), with the spec's cap when the report carries one: what a steward
    checks before delivering (G5). None without a report or without local suppression."""
    cap, rows = suppression_shares(report)
    if not rows:
        return None
    title = "Suppressed by the SCRA, per variable"
    if cap is not None:
        title += f" (cap {cap * 100:g}%)"
    t = Table(title=title, title_justify="left")
    for col in ("dataset", "variable", "suppressed", "share of records"):
        t.add_column(col, justify="left" if col in ("dataset", "variable") else "right")
    for dataset, var, count, share in rows:
        over = cap is not None and share > cap
        t.add_row(
            dataset,
            var,
            f"{count:,}",
            Text(f"{share:.1%}", style="red" if over else ""),
        )
    return t


def write_run_report(path: Path, s: RunSummary) -> Path:
    """``run.html``: the same figures as the terminal, with a plot of time per stage."""
    fig = Figure(figsize=(6, 2.6))
    ax = fig.add_subplot()
    stages = list(s.seconds)
    fig.set_figheight(1.2 + 0.25 * len(stages))
    ax.barh([label(st) for st in stages], [s.seconds[st] for st in stages], color="#3b6ea8")
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    fig.tight_layout()
    cap, shares = suppression_shares(Path(s.scra_dir) / "scra.json") if s.scra_dir else (None, [])
    return write_page(
        path,
        "run.html",
        title=f"sluis run of {s.decision}, phase {s.phase}",
        s=s,
        cap=cap,
        shares=shares,
        stages=[(label(st), s.seconds[st]) for st in stages],
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
