"""One Typer app, ``sluis <verb>``. It parses, calls a stage, renders with Rich, and turns a
:class:`~sluis.errors.SluisError` into one readable line and a non-zero exit (X2, X4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from sluis.cli.audit_cmd import audit_repair, audit_verify, audit_witness
from sluis.cli.demo import DEFAULT_DEMO_DIR
from sluis.cli.demo import demo as demo_command
from sluis.cli.enclave_cmd import enclave_app
from sluis.cli.entry import guarded
from sluis.cli.helptext import SluisTyper
from sluis.cli.keys_cmd import keys_new
from sluis.cli.receive_cmd import receive as receive_command
from sluis.cli.render import render_written
from sluis.cli.retain_cmd import retain_confirm, retain_destroy, retain_list
from sluis.cli.scra_cmd import scra as scra_command
from sluis.cli.sftp_options import ClientKey, HostKey, SftpPort, SftpUser
from sluis.errors import UsageError

app = SluisTyper(
    name="sluis",
    help="""Provision research data exactly as an authorisation allows.

    Each verb is one step of the flow, in the order a data steward runs them: synth (or
    real register extracts), sources check, spec check, keys new, run, scra, deliver and
    audit verify; sluis demo runs them all on the synthetic Belgium. Every verb has its own
    --help with an example.

    Example: sluis demo --out /tmp/sluis-demo
    """,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sources_app = SluisTyper(
    help="The source contract: check register extracts, write its docs (G2).",
    no_args_is_help=True,
)
app.add_typer(sources_app, name="sources")
spec_app = SluisTyper(
    help="Authorisations as code: check a spec, show what it delivers (G1).",
    no_args_is_help=True,
)
app.add_typer(spec_app, name="spec")
keys_app = SluisTyper(
    help="Project keys at the pseudonymiser, one per authorisation (G3).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
keys_app.command("new")(keys_new)
audit_app = SluisTyper(
    help="The tamper-evident audit log: verify, repair, witness (G10).",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")
audit_app.command("verify")(audit_verify)
audit_app.command("repair")(audit_repair)
audit_app.command("witness")(audit_witness)
app.add_typer(enclave_app, name="enclave")
retain_app = SluisTyper(
    help="The delivery register, deadlines and destruction (G9, G10).",
    no_args_is_help=True,
)
app.add_typer(retain_app, name="retain")
retain_app.command("list")(retain_list)
retain_app.command("destroy")(retain_destroy)
retain_app.command("confirm")(retain_confirm)

console = Console(stderr=True)
out = Console()

DEFAULT_CONTRACT_DOC = Path("docs/source-contract.md")


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the registers to.")],
    scale: Annotated[
        float, typer.Option(help="Share of Belgium: 1.0 = the whole country (about 11.8 M).")
    ] = 0.001,
    seed: Annotated[
        int, typer.Option(help="Seed: the same seed and scale give the same bytes.")
    ] = 1,
    force: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    workers: Annotated[
        int | None, typer.Option(help="Processes to use (default: all cores).")
    ] = None,
) -> None:
    """Generate the synthetic Belgium, 2000Q1-2024Q4 (S1-S4).

    Writes every register of the source contract into --out: the National Register and
    DEMOBEL, the KSZ data warehouse, the education registers, VDAB, CENSUS, ADI and the
    municipal context, following the real code lists and published figures. Scale 1.0 is
    the whole country; the same seed and scale give the same bytes.

    Example: sluis synth --scale 0.01 --seed 7 --out data/synth
    """
    from sluis.cli.synth_view import render_synth_summary, synth_progress
    from sluis.synth import generate

    with synth_progress(console) as progress:
        summary = generate(
            out_dir, scale=scale, seed=seed, force=force, workers=workers, progress=progress
        )
    render_synth_summary(out, summary)


app.command("demo")(demo_command)


@sources_app.command("check")
def sources_check(
    directory: Annotated[
        Path, typer.Argument(help="Directory with one Parquet file or folder per table.")
    ],
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Where to write bad rows, one Parquet file per table "
            "(default: DIR.quarantine next to DIR; never inside DIR)."
        ),
    ] = None,
) -> None:
    """Validate register extracts against the source contract (G2, X2).

    Every problem is reported with its file, row, column and rule. Bad rows are copied to
    the quarantine directory and counted; the sources are not changed.

    Exit codes: 0 clean, 1 the sources break the contract, 2 a usage error.

    Examples:
      sluis sources check data/synth
      sluis sources check data/synth --quarantine data/synth.quarantine
    """
    from sluis.cli.render import render_check_report
    from sluis.sources.check import check_sources

    report = check_sources(directory, quarantine)
    render_check_report(out, report)
    if not report.ok:
        raise typer.Exit(1)


@sources_app.command("doc")
def sources_doc(
    out_file: Annotated[
        Path, typer.Option("--out", help="Markdown file to write.")
    ] = DEFAULT_CONTRACT_DOC,
) -> None:
    """Write the source contract's documentation (G2).

    The Markdown is rendered from the contract declared in sluis.sources.contract, the
    same declaration the checks and the generator use; a test fails when the committed
    docs/source-contract.md is stale.

    Example: sluis sources doc --out docs/source-contract.md
    """
    from sluis.cli.render import render_written
    from sluis.sources.docs import write_contract_doc

    write_contract_doc(out_file)
    render_written(out, out_file, "the source contract")


@app.command()
def run(
    spec_file: Annotated[Path, typer.Argument(help="The authorisation's spec (YAML).")],
    data: Annotated[
        Path | None,
        typer.Option(
            help="Directory of the source registers (default: the embedded synthetic Belgium "
            "in out/demo/sources, generated at scale 0.01 when missing)."
        ),
    ] = None,
    phase: Annotated[int, typer.Option(help="Phase of the spec to run.")] = 1,
    work: Annotated[
        Path | None,
        typer.Option(help="Workspace root (default out/run/<decision>-phase<phase>)."),
    ] = None,
    key_store: Annotated[
        Path | None,
        typer.Option(help="The pseudonymiser's key store (default <work>/<party>/keys)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace the output of an earlier run in --work (keys stay).")
    ] = False,
    check: Annotated[
        bool, typer.Option(help="Check the provider's registers against the contract first.")
    ] = True,
    paranoid: Annotated[
        bool,
        typer.Option(
            help="Compare every byte of the registers with the remembered sources check "
            "(default: a cheap digest of each file, its Parquet footer and sampled blocks)."
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(help="Wait for another command holding the workspace (default: refuse)."),
    ] = False,
    memory: Annotated[
        str | None,
        typer.Option(
            help="The engine's memory limit (4GB, 3GiB, 512MB); past it the engine spills "
            "to <work>/<party>/.engine. Default: a quarter of the machine's memory, at most "
            "half of what is free."
        ),
    ] = None,
) -> None:
    """Run an authorisation from its spec to a risk-treated extract (G1).

    Select, sample, extract the panels and family members, pseudonymise, coarsen, check and
    stage, then the small-cell risk analysis (G1, G3-G7, A1-A15). Progress is shown per
    stage and a summary at the end; run.json and run.html are written in the workspace.

    A spec whose data comes from several providers runs as a linked flow (26/050, B1): the
    pseudonymiser selects and sends each provider the list of national numbers, the
    providers extract and send their data over SFTP, the pseudonymiser checks, links,
    pseudonymises and destroys it. Each party works in <work>/<party>/.

    One command at a time per workspace: a run or delivery on a workspace another holds
    is refused at once, naming the holder (--wait waits for it).

    Exit codes: 0 the staged extract meets the spec's thresholds (an enclave phase: it is
    staged; its SCRA is measured, not required), 1 it does not, 2 a usage error, bad input,
    a full disk or a busy workspace.

    Examples:
      sluis run specs/25-074.yaml --data out/demo/sources --phase 1
      sluis run specs/26-050.yaml
    """
    from sluis.cli.run_view import render_run, run_progress, write_run_report
    from sluis.engine.resources import memory_limit
    from sluis.flow import run_spec
    from sluis.spec import load_spec

    memory_limit(memory)  # a bad --memory is refused before anything runs
    if data is None:
        data = DEFAULT_DEMO_DIR / "sources"
        if not (data / "_synth.json").exists():
            from sluis.cli.synth_view import synth_progress
            from sluis.synth import generate

            out.print(f"generating the embedded synthetic Belgium (scale 0.01) in {data}")
            with synth_progress(console) as progress:
                generate(data, scale=0.01, seed=1, force=True, progress=progress)

    spec = load_spec(spec_file)
    work = work or Path("out/run") / f"{spec.slug}-phase{phase}"
    with run_progress(console) as progress:
        summary = run_spec(
            spec_file,
            data,
            phase=phase,
            work=work,
            key_store=key_store,
            progress=progress,
            force=force,
            check=check,
            paranoid=paranoid,
            notify=lambda line: console.print(Text(line), soft_wrap=True),
            wait=wait,
            memory=memory,
        )
    render_run(out, summary)
    page = write_run_report(work / "run.html", summary)
    render_written(out, page, "the run report")
    if not summary.succeeded:
        raise typer.Exit(1)


app.command("scra")(scra_command)
app.command("receive")(receive_command)


@app.command()
def deliver(
    spec_file: Annotated[Path, typer.Argument(help="The authorisation's spec (YAML).")],
    work: Annotated[Path, typer.Option(help="The workspace of the run to deliver.")],
    date: Annotated[
        str | None,
        typer.Option(help="Package date YYYY-MM-DD (default today); fixes the package bytes."),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(help="Decide the deadline as if today were YYYY-MM-DD (default: today)."),
    ] = None,
    sftp_host: Annotated[
        str | None, typer.Option(help="Recipient's SFTP server (omit to only package).")
    ] = None,
    sftp_port: SftpPort = 22,
    sftp_user: SftpUser = "sluis",
    client_key: ClientKey = None,
    host_key: HostKey = None,
    remote_dir: Annotated[str, typer.Option(help="Remote directory to upload into.")] = ".",
    force: Annotated[bool, typer.Option(help="Replace an earlier package of that date.")] = False,
    wait: Annotated[
        bool,
        typer.Option(help="Wait for another command holding the workspace (default: refuse)."),
    ] = False,
) -> None:
    """Package, encrypt and upload a run's extract (G8, G10, G11).

    Build the package (Parquet, Stata, CSV, codebook, manifest), scan it for anything
    identifying, encrypt it with age to the spec's researchers and upload it over SFTP to
    a server whose host key is pinned, recording each step in the audit log. Without
    --sftp-host the package is built and encrypted but not uploaded.

    Refused when the spec is not the one the run used (its digest, in run.json), the run
    is of an enclave phase (its data never leave), the date is after the spec's retention
    deadline, the run's SCRA thresholds do not hold, a researcher's key is unusable or the
    privacy scan finds anything. A refusal removes what it built (plaintext first) and is
    recorded in the audit log. delivery.json and the receipt carry a signed audit
    checkpoint taken after the delivery's last record (sluis audit verify LOG --checkpoint
    delivery.json).

    One command at a time per workspace: a run or delivery on a workspace another holds
    is refused at once, naming the holder (--wait waits for it).

    Exit codes: 0 delivered, 1 refused, 2 a usage error, a full disk or a busy workspace.

    Example:
      sluis deliver specs/25-074.yaml --work out/run/25-074-phase1 \\
        --sftp-host sftp.uantwerpen.example --client-key ~/.ssh/sluis \\
        --host-key "ssh-ed25519 AAAA..."
    """
    import datetime as dt

    from sluis.cli.run_view import render_delivery
    from sluis.flow.deliver import DeliveryRefused, SftpTarget
    from sluis.flow.deliver import deliver as run_delivery
    from sluis.retain.clock import today as clock_today

    target = None
    if sftp_host is not None:
        if client_key is None or host_key is None:
            raise UsageError(
                "an SFTP upload needs --client-key and the server's --host-key (pinned)",
                rule="sftp-options",
            )
        target = SftpTarget(sftp_host, sftp_port, sftp_user, client_key, host_key, remote_dir)
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise UsageError(f"--date {date!r} is not YYYY-MM-DD", rule="bad-date") from None
    try:
        summary = run_delivery(
            spec_file,
            work,
            created=day,
            target=target,
            force=force,
            wait=wait,
            today=clock_today(today),
            notify=lambda line: console.print(Text(line), soft_wrap=True),
        )
    except DeliveryRefused as err:
        # one line, as text: a refusal is the rules' answer (exit 1), not a usage error (2)
        console.print(Text.assemble(("refused", "bold red"), f": {err}"), soft_wrap=True)
        raise typer.Exit(1) from None
    render_delivery(out, summary)


@spec_app.command("check")
def spec_check(
    files: Annotated[list[Path], typer.Argument(help="Spec files (YAML) to check.")],
) -> None:
    """Validate specs against the language, contract and limits (G1).

    Each spec is checked for its structure, against the source contract, the decision's
    limits and the project's floors. Every problem is printed as file:line:column: rule:
    message.

    Exit codes: 0 every spec is valid, 1 a spec has problems.

    Example: sluis spec check specs/25-074.yaml specs/26-050.yaml
    """
    from sluis.cli.spec_view import render_problems
    from sluis.spec.load import SpecError, check_document, read_document

    failed = 0
    for path in files:
        try:
            _, problems = check_document(read_document(path))
        except SpecError as err:
            problems = err.problems
        render_problems(out, problems)
        if problems:
            failed += 1
            console.print(f"{path}: {len(problems)} problem(s)", style="red", highlight=False)
        else:
            console.print(f"{path}: ok", style="green", highlight=False)
    if failed:
        raise typer.Exit(1)


@spec_app.command("show")
def spec_show(
    file: Annotated[Path, typer.Argument(help="Spec file (YAML).")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the summary as an HTML page.")
    ] = None,
) -> None:
    """Show what a spec delivers to whom (G1).

    Parties, researchers' keys, populations, samples, datasets, every variable with its
    source, coarsening and paragraph, thresholds, retention and the coverage of the
    decision's variables: what a reviewer compares with the decision.

    Example: sluis spec show specs/25-074.yaml --html out/spec-25-074.html
    """
    from sluis.cli.render import render_written
    from sluis.cli.spec_view import render_problems, render_summary, write_summary_html
    from sluis.spec.load import SpecError, read_document
    from sluis.spec.load import load_spec as load
    from sluis.spec.summary import summarise

    try:
        spec = load(file)
    except SpecError as err:
        render_problems(out, err.problems)
        raise typer.Exit(1) from None
    summary = summarise(spec, read_document(file).sha256)
    render_summary(out, summary)
    if html is not None:
        write_summary_html(html, summary)
        render_written(out, html, "the spec summary")


def main() -> None:
    """Entry point: run the app, print user errors as one line without a traceback (see
    :func:`sluis.cli.entry.guarded`; the console script is :func:`sluis.cli.entry.main`,
    which runs ``sluis scra FILE`` without importing this module)."""
    guarded(app)


if __name__ == "__main__":
    main()
