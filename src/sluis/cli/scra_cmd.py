"""``sluis scra``: the small-cell risk analysis on any Parquet or CSV file (G5, X4).

Thin on purpose: it parses, calls :func:`sluis.scra.report.run_scra` and renders a Rich
summary; register it on the app with ``app.command("scra")(scra)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

if TYPE_CHECKING:  # the analysis (numba, duckdb) loads only when the command runs
    from sluis.scra.result import ScraResult


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def scra(
    file: Annotated[Path, typer.Argument(help="Parquet file or directory, or a CSV file.")],
    keys: Annotated[
        list[str],
        typer.Option(
            "--keys",
            help="Comma-separated key variables; repeat for several key sets.",
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the report to.")],
    weight: Annotated[
        str | None, typer.Option(help="Survey weight column (Fk = sum of weights).")
    ] = None,
    household: Annotated[
        str | None, typer.Option(help="Household id column: adds the household risk.")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Smallest cell size allowed.")] = 5,
    suda: Annotated[bool, typer.Option(help="Compute SUDA2 and DIS scores.")] = False,
    suppress: Annotated[
        bool, typer.Option(help="Suppress key values until every record has fk >= k.")
    ] = False,
    sensitive: Annotated[
        str | None, typer.Option(help="Comma-separated sensitive variables (l-diversity).")
    ] = None,
    l_min: Annotated[int, typer.Option(help="Smallest l-diversity allowed.")] = 2,
    max_global_risk: Annotated[
        float | None, typer.Option(help="Threshold on the global risk (mean).")
    ] = None,
    person: Annotated[
        str | None, typer.Option(help="Person id column of a person-quarter table.")
    ] = None,
    quarter: Annotated[
        str | None, typer.Option(help="Quarter column (2012Q3, a date or an integer).")
    ] = None,
    states: Annotated[
        str | None, typer.Option(help="Comma-separated state variables of a trajectory.")
    ] = None,
    window: Annotated[
        int, typer.Option("-m", "--window", help="Consecutive quarters per trajectory window.")
    ] = 4,
) -> None:
    """Small-cell risk analysis: fk, individual and global risk, SUDA2, household risk,
    l-diversity, local suppression to k; writes scra.json and scra.html (G5).

    Exit codes: 0 every threshold holds, 1 a threshold does not hold, 2 a usage error.

    Example: sluis scra data.parquet --keys birth_year,sex,region --weight w -k 5
    --suppress --out out/scra
    """
    from sluis.scra.report import run_scra

    result = run_scra(
        file,
        out_dir,
        key_sets=[_split(v) for v in keys],
        k=k,
        weight=weight,
        household=household,
        sensitive=_split(sensitive) if sensitive else (),
        l_min=l_min,
        suda=suda,
        suppress=suppress,
        max_global_risk=max_global_risk,
        person=person,
        quarter=quarter,
        states=_split(states) if states else (),
        window=window,
    )
    render_scra(Console(), result, out_dir)
    if not result.ok:
        raise typer.Exit(1)


def render_scra(console: Console, result: ScraResult, out_dir: Path) -> None:
    """The terminal summary: one row per key set and stage, then the thresholds."""
    table = RichTable(
        title=f"Small-cell risk analysis of {result.file} ({result.records:,} records, "
        f"k = {result.k})",
        title_justify="left",
    )
    for name, justify in [
        ("key set", "left"),
        ("stage", "left"),
        ("cells", "right"),
        ("fk<2", "right"),
        ("fk<3", "right"),
        ("fk<5", "right"),
        (f"fk<{result.k}", "right"),
        ("global risk", "right"),
        ("exp. re-id.", "right"),
    ]:
        table.add_column(name, justify=justify)
    for res in result.key_sets:
        for stage, m in (("before", res.before), ("after", res.after)):
            if m is None:
                continue
            table.add_row(
                res.name,
                stage,
                f"{m.cells:,}",
                f"{m.records_below['2']:,}",
                f"{m.records_below['3']:,}",
                f"{m.records_below['5']:,}",
                f"{m.records_below['k']:,}",
                f"{m.global_risk:.6f}",
                f"{m.expected_reidentifications:,.1f}",
            )
    console.print(table)
    for res in result.key_sets:
        console.print(f"{res.name}: {', '.join(res.keys)}")
    for res in result.key_sets:
        if res.before.suda:
            s = res.before.suda
            console.print(
                f"SUDA2 {res.name}: {s.records_with_score:,} records with score > 0, "
                f"sum {s.score_sum:,.0f}, max {s.score_max:g}, "
                f"{s.records_dis_above_0_1:,} with DIS > 0.1, DIS sum {s.dis_sum:.6f}"
            )
    if result.treatment:
        t = result.treatment
        per_var = ", ".join(f"{v} {n:,}" for v, n in t.per_variable.items() if n)
        console.print(
            f"Suppressed {t.suppressed_values:,} values in {t.records_touched:,} records"
            + (f" ({per_var})" if per_var else "")
        )
    if result.longitudinal:
        lr = result.longitudinal
        console.print(
            f"Trajectories of {lr.m} quarters ({', '.join(lr.state_variables)}): "
            f"{lr.windows_at_risk:,} of {lr.windows:,} windows shared by < {lr.k} persons; "
            f"{lr.persons_at_risk:,} of {lr.persons:,} persons and "
            f"{lr.records_at_risk:,} of {lr.records:,} person-quarters at risk"
        )
    for th in result.thresholds:
        console.print(
            Text.assemble(
                ("ok  " if th.holds else "FAIL", "green" if th.holds else "bold red"),
                f" {th.name}: {th.value} (limit {th.limit})",
            )
        )
    console.print(f"Report: {out_dir / 'scra.html'}  Result: {out_dir / 'scra.json'}")
