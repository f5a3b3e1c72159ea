"""``sluis scra``: the small-cell risk analysis on any Parquet or CSV file, or on a staged
extract as its spec asks (G5, X4).

Thin on purpose: it declares the options, calls :func:`sluis.cli.scra_view.run_file` (a
file with ``--keys``) or :func:`sluis.scra.driver.run_spec_scra` (``--spec`` and
``--staged``) and renders a Rich summary; register it on the app with
``app.command("scra")(scra)``. The console script parses the file form without Typer
(:mod:`sluis.cli.scra_fast`), into the same :func:`~sluis.cli.scra_view.run_file`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sluis.cli.scra_view import render_spec_scra, run_file
from sluis.errors import SluisError


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
        from sluis.flow.run import recorded_design_weight
        from sluis.scra.driver import run_spec_scra
        from sluis.spec import load_spec

        spec = load_spec(spec_file)
        # a run's extract is sealed at rest: read it through the vault; a sample is
        # measured with the design weight its run recorded (run.json), as the run did
        with opened_held(staged) as plain:
            spec_result = run_spec_scra(
                spec,
                plain,
                out_dir,
                treat=treat,
                semantics=suppression,
                design_weight=recorded_design_weight(spec, Path(staged).parent.parent),
                shown_as=staged,
            )
        render_spec_scra(Console(), spec_result, out_dir)
        if not spec_result.ok:
            raise typer.Exit(1)
        return
    if not run_file(
        file,
        out_dir,
        keys=keys,
        k=k,
        weight=weight,
        household=household,
        sensitive=sensitive,
        l_min=l_min,
        suda=suda,
        suppress=suppress,
        max_global_risk=max_global_risk,
        person=person,
        quarter=quarter,
        states=states,
        window=window,
        suppression=suppression,
    ):
        raise typer.Exit(1)
