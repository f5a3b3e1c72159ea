"""``sluis scra``: the small-cell risk analysis on any Parquet or CSV file, or on a staged
extract as its spec asks (G5, X4).

Thin on purpose: it parses, calls :func:`sluis.scra.driver.run_scra` (a file with
``--keys``) or :func:`sluis.scra.driver.run_spec_scra` (``--spec`` and ``--staged``) and
renders a Rich summary; register it on the app with ``app.command("scra")(scra)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from sluis.errors import SluisError

if TYPE_CHECKING:  # the analysis (numba, duckdb) loads only when the command runs
    from sluis.scra.result import ScraResult


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def scra(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the report to.")],
    file: Annotated[
        Path | None, typer.Argument(help="Parquet file or directory, or a CSV file.")
    ] = None,
    keys: Annotated[
        list[str] | None,
        typer.Option(
            "--keys",
            help="Comma-separated key variables; repeat for several key sets.",
        ),
    ] = None,
    spec_file: Annotated[
        Path | None,
        typer.Option("--spec", help="A spec: run its scra section on --staged (not FILE)."),
    ] = None,
    staged: Annotated[
        Path | None,
        typer.Option(help="Staged extract: one <dataset>.parquet per dataset of the spec."),
    ] = None,
    treat: Annotated[
        bool, typer.Option(help="With --spec: suppress to k and write the treated extract.")
    ] = True,
    suppression: Annotated[
        str,
        typer.Option(
            help="Meaning of a suppressed value: strict (its own category) or sdcmicro "
            "(a wildcard, as sdcMicro)."
        ),
    ] = "strict",
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
    """Small-cell risk analysis of a file or a staged extract (G5).

    Measures fk and Fk, individual and global risk, SUDA2, household risk, l-diversity and
    trajectory risk, and suppresses key values locally to k; writes scra.json and
    scra.html, with the figures sdcMicro gives.

    Either FILE with --keys (and the options below), or --spec with --staged: every key
    set, the household, longitudinal and l-diversity checks of the spec's scra section on
    the staged extract, treated to k (the treated extract goes to OUT/staged). A
    staged extract that a delivery or an enclave build sealed is read through the vault
    with the run's key store (the treated copy in OUT/staged is plaintext: choose OUT on
    an encrypted volume).

    Exit codes: 0 every threshold holds (after treatment), 1 a threshold does not hold,
    2 a usage error.

    Examples:
      sluis scra data.parquet --keys birth_year,sex,region --weight w -k 5 \\
        --suppress --out out/scra
      sluis scra --spec specs/25-074.yaml --staged out/25-074/staged \\
        --out out/25-074/scra
    """
    if suppression not in ("strict", "sdcmicro"):
        raise SluisError(
            f"--suppression must be strict or sdcmicro, got {suppression!r}", rule="scra-usage"
        )
    if spec_file is not None or staged is not None:
        if file is not None or keys:
            raise SluisError(
                "give either FILE with --keys or --spec with --staged", rule="scra-usage"
            )
        if spec_file is None or staged is None:
            raise SluisError("--spec and --staged go together", rule="scra-usage")
        from sluis.flow.retain import opened_held
        from sluis.scra.driver import run_spec_scra
        from sluis.spec import load_spec

        # a delivered run's extract is sealed at rest: read it through the vault
        with opened_held(staged) as plain:
            spec_result = run_spec_scra(
                load_spec(spec_file),
                plain,
                out_dir,
                treat=treat,
                semantics=suppression,
                shown_as=staged,
            )
        render_spec_scra(Console(), spec_result, out_dir)
        if not spec_result.ok:
            raise typer.Exit(1)
        return
    if file is None or not keys:
        raise SluisError(
            "give FILE with --keys, or --spec with --staged",
            rule="scra-usage",
            hint="sluis scra data.parquet --keys a,b,c --out DIR",
        )
    from sluis.scra.driver import run_scra

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
        semantics=suppression,
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
    for lc in result.longitudinal:
        lr = lc.before
        console.print(
            f"Trajectories of {lr.m} quarters ({', '.join(lr.state_variables)}): "
            f"{lr.windows_at_risk:,} of {lr.windows:,} windows shared by < {lr.k} persons; "
            f"{lr.persons_at_risk:,} of {lr.persons:,} persons and "
            f"{lr.records_at_risk:,} of {lr.records:,} person-quarters at risk"
        )
    render_thresholds(console, result.thresholds, out_dir)


def render_spec_scra(console: Console, result: ScraResult, out_dir: Path) -> None:
    """The terminal summary of a spec-driven run: one row per key set and stage, the
    suppressions per dataset, trajectories, then the thresholds."""
    table = RichTable(
        title=f"Small-cell risk analysis of {result.decision} on {result.staged} "
        f"(k = {result.k}, suppression {result.semantics})",
        title_justify="left",
    )
    for name, justify in [
        ("dataset", "left"),
        ("key set", "left"),
        ("stage", "left"),
        ("records", "right"),
        ("cells", "right"),
        (f"fk<{result.k}", "right"),
        ("global risk", "right"),
    ]:
        table.add_column(name, justify=justify)
    records = {d.name: d.records for d in result.datasets}
    for res in result.key_sets:
        for stage, m in (("before", res.before), ("after", res.after)):
            if m is None:
                continue
            table.add_row(
                res.dataset,
                res.name + (f" (per {res.period})" if res.period else ""),
                stage,
                f"{records[res.dataset]:,}",
                f"{m.cells:,}",
                f"{m.records_below['k']:,}",
                f"{m.global_risk:.6f}",
            )
    console.print(table)
    for d in result.datasets:
        if d.treatment:
            t = d.treatment
            per_var = ", ".join(f"{v} {n:,}" for v, n in t.per_variable.items() if n)
            console.print(
                f"{d.name}: suppressed {t.suppressed_values:,} values in "
                f"{t.records_touched:,} records" + (f" ({per_var})" if per_var else "")
            )
    for lc in result.longitudinal:
        lr = lc.after or lc.before
        console.print(
            f"{lc.dataset}: trajectories of {lr.m} quarters ({', '.join(lr.state_variables)}): "
            f"{lr.persons_at_risk:,} of {lr.persons:,} persons at risk"
        )
    render_thresholds(console, result.thresholds, out_dir)


def render_thresholds(console: Console, thresholds: list, out_dir: Path) -> None:
    """One line per threshold, ok, FAIL or n/e (not enforced by the spec, G5), then where
    the report and the result are."""
    marks = {
        "holds": ("ok  ", "green"),
        "fails": ("FAIL", "bold red"),
        "not enforced": ("n/e ", "dim"),
    }
    for th in thresholds:
        limit = f"limit {th.limit}" if th.enforced else f"not enforced, target {th.limit}"
        console.print(Text.assemble(marks[th.state], f" {th.name}: {th.value} ({limit})"))
    console.print(f"Report: {out_dir / 'scra.html'}  Result: {out_dir / 'scra.json'}")
