"""``sluis demo``: both authorisations end to end on the synthetic Belgium (X4).

The demo strings the verbs together as a user would (synth, sources check, spec check, run,
deliver, receive, then the enclave), so its helpers live here, apart from the app's verb
registrations in :mod:`sluis.cli.app`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from sluis.cli.render import render_written
from sluis.errors import UsageError

console = Console(stderr=True)
out = Console()

DEFAULT_DEMO_DIR = Path("out/demo")
DEFAULT_SPECS = Path("specs")


def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where the demo writes.")
    ] = DEFAULT_DEMO_DIR,
    scale: Annotated[float, typer.Option(help="Share of Belgium to generate.")] = 0.01,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic Belgium.")] = 1,
    specs: Annotated[
        Path, typer.Option(help="Directory with the authorisations' spec files.")
    ] = DEFAULT_SPECS,
) -> None:
    """Run both authorisations end to end on the synthetic Belgium (X4).

    The main job on the embedded default: generate the synthetic Belgium, check it against
    the source contract, show its calibration, check both authorisations' specs (writing a
    summary page of each), then run both authorisations end to end: 25/074 phase 1 at KSZ
    and the three-party 26/050 flow (KSZ and VDAB send to Statbel, the trusted third
    party), each to a pseudonymised, coarsened, risk-treated extract that is delivered over
    SFTP and opened as its researcher would. Then 25/074 phase 2, the enclave: an example
    job runs on the phase-1 package and, unchanged, in the enclave's sandbox; its outputs
    are checked, approved by two demo reviewers and released. Last, the parties' delivery
    registers with their deadlines.

    The demo owns its output directory and replaces it on every run; it exits non-zero
    when a delivery is refused.

    Example: sluis demo --scale 0.01 --out /tmp/sluis-demo
    """
    from sluis.cli.render import render_check_report
    from sluis.cli.synth_view import render_calibration, render_synth_summary, synth_progress
    from sluis.sources.check import check_sources
    from sluis.synth import generate
    from sluis.synth.calibration import calibration
    from sluis.synth.calibration_labour import labour_checks

    sources = out_dir / "sources"
    out_dir.mkdir(parents=True, exist_ok=True)
    with synth_progress(console) as progress:
        summary = generate(sources, scale=scale, seed=seed, force=True, progress=progress)
    render_synth_summary(out, summary)
    report = check_sources(sources, quarantine=out_dir / "quarantine")
    render_check_report(out, report)
    checks = calibration(sources, scale) + labour_checks(sources, scale)
    render_calibration(out, checks, scale)
    specs_ok = _demo_specs(specs, out_dir)
    if not report.ok or not specs_ok:
        raise typer.Exit(1)
    delivered = [
        _demo_run(specs / f"{name}.yaml", sources, out_dir / f"run-{name}")
        for name in ("25-074", "26-050")
    ]
    if not all(delivered):
        raise typer.Exit(1)
    from sluis.cli.enclave_demo import demo_enclave

    if not demo_enclave(out, console, specs / "25-074.yaml", sources, out_dir):
        raise typer.Exit(1)
    _demo_retention(out_dir)


def _demo_retention(out_dir: Path) -> None:
    """The delivering parties' registers (G9): every delivery, held key, enclave's data and
    release with its deadline, then what falls due the day before 25/074's deadline (what a
    steward sees with --due-within). Nothing is destroyed: the demo's outputs stay to be
    looked at; docs/retention.md shows destruction and the researcher's certificate."""
    from sluis.cli.retain_cmd import retain_list

    for name in ("run-25-074", "run-26-050", "run-25-074-phase2"):
        work = out_dir / name
        out.print(f"$ sluis retain list --work {work}", soft_wrap=True)
        retain_list(work=work, due_within=None, today=None, party=None, as_json=False)
    work = out_dir / "run-25-074"
    out.print(
        f"$ sluis retain list --work {work} --due-within 1d --today 2029-10-30", soft_wrap=True
    )
    retain_list(work=work, due_within="1d", today="2029-10-30", party=None, as_json=False)


def _demo_run(spec_file: Path, sources: Path, work: Path) -> bool:
    """Phase 1 of a spec on the embedded default (the registers were checked just above),
    then its delivery when the SCRA thresholds hold; False when they do not."""
    from sluis.cli.run_view import render_run, run_progress, write_run_report
    from sluis.flow import run_spec

    with run_progress(console) as progress:
        summary = run_spec(
            spec_file, sources, phase=1, work=work, progress=progress, force=True, check=False
        )
    render_run(out, summary)
    render_written(out, write_run_report(work / "run.html", summary), "the run report")
    if not summary.scra_ok:
        out.print(f"[red]{summary.decision}: not delivered, the SCRA thresholds do not hold[/]")
        return False
    _demo_deliver(spec_file, work, work.parent / f"recipient-{work.name.removeprefix('run-')}")
    return True


def _demo_deliver(spec_file: Path, work: Path, recipient: Path) -> None:
    """Deliver the phase-1 extract to a local SFTP server, then open it as the researcher
    would, with sluis receive: checked against the sender's signed receipt, decrypted with
    the demo researcher's key into an owner-only directory, every file checked (G8, G11)."""
    import datetime as dt
    import json

    from sluis.audit import public_key_openssh, signing_key
    from sluis.cli.run_view import render_delivery
    from sluis.deliver.local_sftp import local_sftp
    from sluis.flow.deliver import SftpTarget
    from sluis.flow.deliver import deliver as run_delivery

    # the demo owns its directory: an earlier demo's package (another version of sluis, other
    # data) in the researcher's inbox would be refused as a different file of the same name
    shutil.rmtree(recipient, ignore_errors=True)
    with local_sftp(recipient / "inbox", recipient / "server-keys") as server:
        target = SftpTarget(
            server.host,
            server.port,
            server.username,
            server.client_key,
            server.host_public_key,
            "/",
        )
        summary = run_delivery(
            spec_file, work, created=dt.date(2026, 11, 23), target=target, force=True
        )
    render_delivery(out, summary)
    received = recipient / "inbox" / Path(summary.encrypted).name
    from sluis.receive import receive
    from sluis.spec import load_spec

    party = load_spec(spec_file).recipient.party
    # the sender's audit key, which the researcher has from the provider (out of band)
    run = json.loads((work / "run.json").read_text(encoding="utf-8"))
    store = Path(run["key_store"]) if run.get("key_store") else work / run["party"] / "keys"
    opened = receive(
        received,
        spec_file.parent / "demo-keys" / f"{party}-1",
        recipient / "opened" / Path(summary.package).name,
        receipt=Path(summary.receipt),
        sender_key=public_key_openssh(signing_key(store, run["party"])),
    )
    deadline = opened.deadline.isoformat() if opened.deadline else "none"
    out.print(
        Text.assemble(
            ("researcher", "bold"),
            f": sluis receive checked {received.name} against the sender's signed receipt, "
            f"decrypted it with the demo key into an owner-only directory and checked "
            f"{opened.files} files against the manifest: ",
            ("all match", "green"),
            f"; destroy by {deadline} ({opened.path})",
        ),
        soft_wrap=True,
    )


def _demo_specs(specs: Path, out_dir: Path) -> bool:
    """Check the shipped specs and write their summaries as HTML pages (G1)."""
    from sluis.cli.spec_view import render_problems, render_spec_line, write_summary_html
    from sluis.spec.load import check_document, read_document
    from sluis.spec.summary import summarise

    files = sorted(specs.glob("*.yaml"))
    if not files:
        raise UsageError(
            f"no spec files (*.yaml) in {specs}",
            hint="run from the repository root or give --specs",
        )
    ok = True
    for path in files:
        doc = read_document(path)
        spec, problems = check_document(doc)
        render_problems(out, problems)
        if spec is None or problems:
            ok = False
            continue
        page = write_summary_html(out_dir / f"spec-{path.stem}.html", summarise(spec, doc.sha256))
        render_spec_line(out, path, spec, page)
    return ok
