"""Terminal rendering of stage results with Rich (X4): summary tables a person can read.

Each stage's result gets its own ``render_*`` function; the CLI calls them and nothing else
prints results.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

if TYPE_CHECKING:
    from sluis.sources.check import CheckReport


def render_check_report(console: Console, report: CheckReport, max_findings: int = 20) -> None:
    """The source check (G2, X2): one row per table, then the first findings one per line.

    A finding reads ``file:row:column: rule: message (value)``; table-level findings have no
    row. The value is masked (issue 23: no national number on a screen): the line is
    redacted once more as a whole, file name included, whoever built the finding. Counts of
    quarantined rows always match what was written to the quarantine, which alone holds the
    full rows.
    """
    from sluis.sources.masking import redact

    table = RichTable(title=f"Source check of {report.directory}", title_justify="left")
    table.add_column("table")
    table.add_column("files", justify="right")
    table.add_column("rows", justify="right")
    table.add_column("quarantined", justify="right")
    table.add_column("rules broken")
    for t in report.tables:
        broken = ", ".join(f"{rule} ×{n}" for rule, n in t.rule_counts.items())
        table.add_row(
            t.name,
            str(len(t.files)),
            f"{t.rows_read:,}",
            f"{t.rows_quarantined:,}",
            Text(broken or "-", style="red" if broken else "green"),
        )
    console.print(table)

    for finding in report.findings[:max_findings]:
        console.print(Text(redact(str(finding))), soft_wrap=True)
    hidden = report.total_findings - min(len(report.findings), max_findings)
    if hidden > 0:
        console.print(f"... and {hidden:,} more findings", highlight=False)

    if report.quarantine_dir is not None:
        console.print(
            Text(
                f"{report.rows_quarantined:,} of {report.rows_read:,} rows quarantined "
                f"in {report.quarantine_dir}"
            ),
            soft_wrap=True,
        )
    if report.ok:
        console.print(
            Text(f"all {len(report.tables)} tables meet the source contract", style="green")
        )
    else:
        failed = sum(1 for t in report.tables if not t.ok)
        console.print(
            Text(f"{failed} of {len(report.tables)} tables break the source contract", style="red")
        )


def render_written(console: Console, path: Path, what: str) -> None:
    """One line saying what was written where."""
    console.print(Text(f"wrote {what} to {path}"), soft_wrap=True)
