"""The enclave in ``sluis demo`` (A5, X4): phase 2 of 25/074 at demo scale, its enclave,
the example job on the phase-1 package (outside) and in the enclave (inside), the automatic
checks, two demo reviewers approving from the command line, and the release package.

Each step that a person would type is printed as its command line (``$ sluis enclave
...``) and then run through the same verb function, so the demo shows the commands a data
steward, a researcher and two reviewers use.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sluis.cli import enclave_cmd
from sluis.cli.render import render_written

#: the example job the demo runs, relative to the repository
EXAMPLE = Path("examples/enclave/employment-by-arrival")
#: the demo's reviewers (never the job's author, an.researcher)
REVIEWERS = ("bart.claes", "chloe.maes")
#: the date of the enclave's codebook and Stata files (the demo's delivery date)
DAY = dt.date(2026, 11, 23)


def _say(out: Console, *words: str) -> None:
    out.print(Text("$ sluis " + " ".join(words), style="bold cyan"), soft_wrap=True)


def run_outside(script: Path, data: Path, output: Path) -> subprocess.CompletedProcess[bytes]:
    """Run a job's script as a researcher does on the decrypted phase-1 package: a plain
    process with ``SLUIS_DATA`` set and the helper library next to it."""
    from sluis.enclave.jobs import LIBRARY

    shutil.rmtree(output, ignore_errors=True)
    # absolute: the script runs in its own folder, and the demo's folders are relative to
    # where it was started (out/demo from a fresh clone)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLUIS_DATA": str(data.resolve()),
        "SLUIS_OUTPUT": str(output.resolve()),
        "PYTHONPATH": str(LIBRARY),
    }
    script = script.resolve()
    return subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, check=False, cwd=script.parent
    )


def demo_enclave(
    out: Console, console: Console, spec_file: Path, sources: Path, out_dir: Path
) -> bool:
    """The enclave part of the demo; False when a step did not come out as it should."""
    from sluis.cli.run_view import render_run, run_progress, write_run_report
    from sluis.enclave.workspace import remove_tree
    from sluis.flow import run_spec

    if os.geteuid() != 0:
        out.print("[yellow]enclave: skipped, the sandbox needs root (see docs/enclave.md)[/]")
        return True
    work = out_dir / "run-25-074-phase2"
    remove_tree(work)  # the demo owns its directory: no jobs of an earlier demo
    out.print(Text("25/074 phase 2: the enclave at KSZ (decision §4, §29)", style="bold"))
    with run_progress(console) as progress:
        summary = run_spec(
            spec_file, sources, phase=2, work=work, progress=progress, force=True, check=False
        )
    render_run(out, summary)
    render_written(out, write_run_report(work / "run.html", summary), "the run report")
    _say(out, "enclave build --work", str(work))
    enclave_cmd.enclave_build(work, spec_file, DAY.isoformat(), force=False)
    example = spec_file.resolve().parent.parent / EXAMPLE

    packages = sorted((out_dir / "recipient-25-074" / "opened").glob("*/data"))
    if packages:
        outside = out_dir / "researcher-25-074" / "output"
        done = run_outside(example / "script.py", packages[-1], outside)
        files = ", ".join(sorted(p.name for p in outside.glob("*.csv")))
        out.print(
            Text.assemble(
                ("researcher", "bold"),
                f": ran {EXAMPLE / 'script.py'} on the phase-1 package ({packages[-1]}): ",
                ("exit 0", "green") if done.returncode == 0 else (f"exit {done.returncode}", "red"),
                f", wrote {files} in {outside}",
            ),
            soft_wrap=True,
        )
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip().splitlines()
            out.print(f"[red]{err[-1] if err else 'no error output'}[/]", soft_wrap=True)
            return False
    _say(out, "enclave submit", str(EXAMPLE), "--work", str(work))
    from sluis.enclave.jobs import submit
    from sluis.enclave.workspace import open_enclave

    job = submit(open_enclave(work), example)
    out.print(
        Text(f"job {job.id}: {job.outcome.state} in {job.outcome.seconds:.1f} s", style="bold"),
        soft_wrap=True,
    )
    if job.outcome.state != "finished":
        return False
    return _review_and_release(out, work, job.id)


def _review_and_release(out: Console, work: Path, job_id: str) -> bool:
    """Show the checks, let the two demo reviewers approve from the command line, release."""
    from sluis.enclave.reviews import load_job

    root = work / "ksz" / "enclave"
    job = load_job(root, job_id)
    table = Table(title=f"Automatic checks of job {job_id}", title_justify="left")
    for column in ("output", "verdict", "rules"):
        table.add_column(column, overflow="fold")
    styles = {"pass": "green", "review": "yellow", "fail": "red"}
    for output in job.outputs:
        rules = ", ".join(sorted({str(f.get("rule")) for f in output.findings})) or "-"
        table.add_row(
            output.file, Text(output.verdict, style=styles.get(output.verdict, "")), rules
        )
    out.print(table)
    approvable = [o for o in job.outputs if o.verdict in ("pass", "review")]
    if len(approvable) != len(job.outputs):
        out.print("[red]enclave: an output failed its checks; nothing is released[/]")
        return False
    passwords = work / "demo-reviewers"
    passwords.mkdir(exist_ok=True, mode=0o700)
    for name in REVIEWERS:
        secret = passwords / f"{name}.txt"
        secret.write_text(f"demo password of {name}\n")
        _say(out, "enclave reviewer add", name, "--work", str(work), "--password-file", str(secret))
        enclave_cmd.reviewer_add(name, work, secret)
    for name in REVIEWERS:
        for output in approvable:
            comment = f"checked {output.file}: automatic checks {output.verdict}"
            words = [job_id, output.file, "--work", str(work), "--reviewer", name]
            _say(out, "enclave approve", *words, "--comment", repr(comment))
            enclave_cmd.enclave_approve(job_id, output.file, work, name, comment)
    _say(out, "enclave release", job_id, "--work", str(work))
    enclave_cmd.enclave_release(job_id, work)
    from sluis.audit import verify

    log = work / "ksz" / "audit.log"
    report = verify(log)
    out.print(
        Text.assemble(
            ("audit", "bold"),
            f": {log}: ",
            ("intact", "green") if report.ok else ("NOT intact", "red"),
            " (the build, the job, its checks, every review and the release are records in it)",
        ),
        soft_wrap=True,
    )
    return report.ok
