"""Run ``sluis scra`` on a file and show its summary (G5, X4): what both parsers of the
command call, Typer's (:mod:`sluis.cli.scra_cmd`) and the console script's fast one
(:mod:`sluis.cli.scra_fast`). Only Rich is imported here; the analysis loads when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from sluis.errors import SluisError

if TYPE_CHECKING:  # the analysis (numba, duckdb) loads only when the command runs
    from sluis.scra.result import ScraResult


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def run_file(
    file: Path | None,
    out_dir: Path,
    *,
    keys: Sequence[str] | None,
    k: int = 5,
    weight: str | None = None,
    household: str | None = None,
    sensitive: str | None = None,
    l_min: int = 2,
    suda: bool = False,
    suppress: bool = False,
    max_global_risk: float | None = None,
    person: str | None = None,
    quarter: str | None = None,
    states: str | None = None,
    window: int = 4,
    suppression: str = "strict",
) -> bool:
    """``sluis scra FILE --keys ...``: run the analysis, write the report, show the summary;
    True when every threshold holds (the options as the command line gives them)."""
    if suppression not in ("strict", "sdcmicro"):
        raise SluisError(
            f"--suppression must be strict or sdcmicro, got {suppression!r}", rule="scra-usage"
        )
    if file is None or not keys:
        raise SluisError(
            "give FILE with --keys, or --spec with --staged",
            rule="scra-usage",
            hint="sluis scra data.parquet --keys a,b,c --out DIR",
        )
    if suda:  # numba and the SUDA2 kernels load on a second core while the file is read
        import threading

        threading.Thread(target=_warm_suda, name="sluis-suda-warm", daemon=True).start()
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
    return result.ok


def _warm_suda() -> None:
    """Import :mod:`sluis.scra.suda` and load its kernels (:func:`sluis.scra.suda.warm`);
    a failure here is left to the run, which imports the module itself and says why."""
    try:
        from sluis.scra.suda import warm

        warm()
    except Exception:  # the run reports it when it needs SUDA2
        return


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
