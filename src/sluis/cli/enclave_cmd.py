"""``sluis enclave ...``: the enclave of a phase-2 run (A5, B11, G10): build its data, run
researchers' jobs in a sandbox, check their outputs, review and release them.

Thin on purpose: each verb parses, calls :mod:`sluis.enclave` and prints with Rich; a
:class:`~sluis.errors.SluisError` becomes one readable line (the app's handler). Three
groups of verbs live here: the workspace and jobs (``build``, ``submit``, ``jobs``), the
automatic checks (``check``) and review and release (``review``, ``approve``, ``reject``,
``release``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from sluis.cli.helptext import SluisTyper

if TYPE_CHECKING:
    from sluis.enclave.checks import CheckReport

enclave_app = SluisTyper(
    help="The enclave: sandboxed jobs, output checks, release (A5, B11).",
    no_args_is_help=True,
)


# ------------------------------------------------------------------ workspace and jobs
# (the enclave's data, jobs in the sandbox: sluis.enclave.workspace, .jobs, .sandbox)

_WORK_HELP = "The workspace of the phase-2 run (the enclave is in it)."
_STATE_STYLES = {
    "finished": "green",
    "failed": "red",
    "stopped": "red",
    "running": "yellow",
    "submitted": "",
}
_VERDICT_STYLES = {"pass": "green", "review": "yellow", "fail": "red", "": "dim"}


def enclave_build(
    work: Annotated[Path, typer.Option("--work", help=_WORK_HELP)],
    spec_file: Annotated[
        Path | None,
        typer.Option("--spec", help="The spec the run used (default: specs/<decision>.yaml)."),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(help="Date of the codebook and Stata files, YYYY-MM-DD (default: today)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild data the enclave already has.")] = False,
) -> None:
    """Build the enclave's read-only data from a phase-2 run (A5).

    The data are laid out exactly like the data/ folder of the phase-1 package (Parquet,
    CSV, Stata, codebook, README), so code written on phase 1 reads them unchanged. Only a
    phase whose mode is enclave has an enclave; its checkpoint (a digest of every file)
    goes to enclave/data.json and the audit log.

    Example: sluis enclave build --work out/run/25-074-phase2
    """
    import datetime as dt

    from sluis.enclave.workspace import build_data
    from sluis.errors import UsageError

    try:
        day = dt.date.fromisoformat(date) if date else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise UsageError(f"--date {date}: not a date (YYYY-MM-DD)", rule="date") from None
    built = build_data(work, spec_file, created=day, force=force)
    rows = ", ".join(f"{name} {n:,}" for name, n in built.rows.items())
    Console().print(
        Text.assemble(
            ("enclave", "bold"),
            f": {built.files} read-only files in {built.path} ({rows}); checkpoint ",
            (built.checkpoint[:16], "cyan"),
        ),
        soft_wrap=True,
    )


def enclave_submit(
    jobdir: Annotated[Path, typer.Argument(help="The job folder: job.yaml and the script.")],
    work: Annotated[Path, typer.Option("--work", help=_WORK_HELP)],
    author: Annotated[
        str | None, typer.Option(help="The job's author (default: author in job.yaml).")
    ] = None,
    wall_seconds: Annotated[
        int | None, typer.Option(help="Lower the spec's wall-time limit (seconds).")
    ] = None,
    memory_mib: Annotated[
        int | None, typer.Option(help="Lower the spec's memory limit (MiB).")
    ] = None,
    output_mib: Annotated[
        int | None, typer.Option(help="Lower the spec's output limit (MiB).")
    ] = None,
    processes: Annotated[
        int | None, typer.Option(help="Lower the spec's limit on processes.")
    ] = None,
) -> None:
    """Run a job in the sandbox and check its outputs (A5).

    The job runs with no network, read-only data in /data (SLUIS_DATA), its own writable
    /output (SLUIS_OUTPUT) and the spec's limits on wall time, memory, processes and output
    size. Its stdout and stderr are outputs too. A job that breaks a limit is stopped and
    none of its outputs can be released.

    Exit codes: 0 the job finished, 1 it failed or was stopped, 2 a usage error or a job
    file the enclave refuses.

    Example: sluis enclave submit examples/enclave/employment-by-arrival --work W
    """
    from sluis.enclave.jobs import submit
    from sluis.enclave.workspace import open_enclave

    limits = {
        "wall_seconds": wall_seconds,
        "memory_mib": memory_mib,
        "output_mib": output_mib,
        "processes": processes,
    }
    done = submit(open_enclave(work), jobdir, author=author, limits=limits)
    outcome = done.outcome
    line = [
        ("job ", ""),
        (done.id, "bold"),
        (": ", ""),
        (outcome.state, _STATE_STYLES[outcome.state]),
    ]
    if outcome.reason:
        line.append((f" ({outcome.reason})", ""))
    line.append((f" in {outcome.seconds:.1f} s; checks: ", ""))
    line.append((done.verdict or "not run", _VERDICT_STYLES.get(done.verdict, "")))
    line.append((f" ({done.folder})", "dim"))
    Console().print(Text.assemble(*line), soft_wrap=True)
    if outcome.state != "finished":
        raise typer.Exit(1)


def enclave_jobs(work: Annotated[Path, typer.Option("--work", help=_WORK_HELP)]) -> None:
    """List the enclave's jobs: state, reason, checks, author (A5).

    Example: sluis enclave jobs --work out/run/25-074-phase2
    """
    from rich.table import Table

    from sluis.enclave.jobs import list_jobs
    from sluis.enclave.workspace import open_enclave

    table = Table(title="Enclave jobs", title_justify="left")
    for column in ("job", "state", "checks", "author", "script", "submitted", "reason"):
        table.add_column(column, overflow="fold")
    for job in list_jobs(open_enclave(work)):
        table.add_row(
            job["job"],
            Text(job["state"], style=_STATE_STYLES.get(job["state"], "")),
            Text(job["verdict"] or "-", style=_VERDICT_STYLES.get(job["verdict"], "")),
            job["author"],
            f"{job['language']} {job['entry']}",
            job["submitted"][:16].replace("T", " "),
            job.get("reason", ""),
        )
    Console().print(table)


enclave_app.command("build")(enclave_build)
enclave_app.command("submit")(enclave_submit)
enclave_app.command("jobs")(enclave_jobs)


# ------------------------------------------------------------------ automatic output checks
# (sluis.enclave.checks; also for 26/050's researchers, outside any enclave: B11)

#: exit code of ``sluis enclave check`` when a person must look (2 is a usage error, 3 a bug)
CHECK_REVIEW_EXIT = 4


def enclave_check(
    outputs: Annotated[
        list[Path], typer.Argument(help="Output files or folders (folders are read whole).")
    ],
    spec_file: Annotated[
        Path, typer.Option("--spec", help="The spec whose enclave: thresholds apply.")
    ],
    released: Annotated[
        Path | None,
        typer.Option(help="Folder of earlier releases (<id>/outputs/...), for differencing."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="The data/ folder the outputs come from: finds sequence numbers."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the verdicts as JSON, as checks.json.")
    ] = False,
) -> None:
    """Check outputs for small cells and row-level data (A5, B11).

    Applies the automatic output checks of the enclave to any files: minimum frequency,
    dominance (n,k) and p% of tables, class disclosure, residual degrees of freedom of
    models, differencing against --released tables, and sequence numbers, exact dates or
    printed rows in any file, with the thresholds of the spec's enclave: section (the
    defaults of docs/enclave.md when it has none). Tables written with the helper library
    sluis_output carry the metadata the checks need. 26/050's researchers run it on what
    they want to publish.

    Exit codes: 0 every output passes, 1 an output fails a rule, 4 an output needs a
    reviewer (and none fails), 2 a usage error.

    Examples:
      sluis enclave check results/ --spec specs/26-050.yaml
      sluis enclave check out/table.csv out/table.meta.json \\
        --spec specs/25-074.yaml --released W/ksz/enclave/releases --json
    """
    import json

    from sluis.enclave.checks import Thresholds, check_outputs
    from sluis.errors import UsageError
    from sluis.spec import load_spec

    files: list[Path] = []
    for given in outputs:
        if given.is_dir():
            files += sorted(p for p in given.rglob("*") if p.is_file())
        elif given.is_file():
            files.append(given)
        else:
            raise UsageError("no such output", rule="check-usage", file=str(given))
    if not files:
        raise UsageError("no files to check", rule="check-usage", file=str(outputs[0]))
    for folder, option in ((released, "--released"), (data, "--data")):
        if folder is not None and not folder.is_dir():
            raise UsageError(f"{option} is not a folder", rule="check-usage", file=str(folder))
    spec = load_spec(spec_file)
    root = outputs[0] if len(outputs) == 1 and outputs[0].is_dir() else Path.cwd()
    report = check_outputs(
        files, root, thresholds=Thresholds.from_spec(spec), released=released, data=data
    )
    console = Console()
    if as_json:
        console.out(json.dumps(report.to_json(), indent=2), highlight=False)
    else:
        render_checks(console, report, defaults=spec.enclave is None)
    if report.verdict != "pass":
        raise typer.Exit(1 if report.verdict == "fail" else CHECK_REVIEW_EXIT)


def render_checks(console: Console, report: CheckReport, *, defaults: bool = False) -> None:
    """One row per output with its verdict and rules, then each finding on its own line
    (``file: rule: verdict: message (cells)``), then the overall verdict."""
    from rich.table import Table as RichTable

    styles = {"pass": "green", "review": "yellow", "fail": "red"}
    t = report.thresholds
    table = RichTable(
        title=f"Output checks: min frequency {t.min_frequency}, dominance "
        f"({t.dominance_n},{t.dominance_share:.0%}), p% {t.p_percent:.0%}, residual df "
        f"{t.min_residual_df}{' (defaults: the spec has no enclave section)' if defaults else ''}",
        title_justify="left",
    )
    table.add_column("output", overflow="fold")
    table.add_column("kind")
    table.add_column("verdict", no_wrap=True)
    table.add_column("rules", overflow="fold")
    for output in report.outputs:
        rules = sorted({f.rule for f in output.findings})
        table.add_row(
            output.file,
            output.kind,
            Text(output.verdict, style=styles[output.verdict]),
            ", ".join(rules) or "-",
        )
    console.print(table)
    for output in report.outputs:
        for f in output.findings:
            where = f" ({_cells(f.cells)})" if f.cells else ""
            console.print(
                Text.assemble(
                    f"{output.file}: {f.rule}: ",
                    (f.verdict, styles[f.verdict]),
                    f": {f.message}{where}",
                ),
                soft_wrap=True,
            )
    counts = {v: sum(o.verdict == v for o in report.outputs) for v in styles}
    console.print(
        Text.assemble(
            (report.verdict, f"bold {styles[report.verdict]}"),
            f": {counts['pass']} pass, {counts['review']} to review, {counts['fail']} fail",
        )
    )


def _cells(cells: list[list[object]], shown: int = 4) -> str:
    """A few cells as ``row 3 n`` or ``line 12``; the rest as a count."""
    words = [f"row {r} {c}" if c is not None else f"line {r}" for r, c in cells[:shown]]
    more = len(cells) - shown
    return ", ".join(words) + (f" and {more} more" if more > 0 else "")


enclave_app.command("check")(enclave_check)


# ------------------------------------------------------------------ review and release
# (reviewers, the review page, approve, reject, release: sluis.enclave.reviews, .release)

reviewer_app = SluisTyper(
    help="The enclave's output reviewers: add one (A5).",
    no_args_is_help=True,
)
enclave_app.add_typer(reviewer_app, name="reviewer")

WorkOption = Annotated[
    Path, typer.Option("--work", help="The workspace of the phase-2 run (the enclave is in it).")
]


def _review_enclave(work: Path) -> Path:
    """The enclave root of the phase-2 run in ``work`` (``W/ksz/enclave``), which must
    have been built."""
    from sluis.enclave.workspace import open_enclave

    enclave = open_enclave(work)
    enclave.record()  # refuses an enclave without data
    return enclave.root


@reviewer_app.command("add")
def reviewer_add(
    name: Annotated[str, typer.Argument(help="The reviewer's name, as a login: an.peeters.")],
    work: WorkOption,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="Read the password from the first line of this file (default: ask twice).",
        ),
    ] = None,
) -> None:
    """Add an output reviewer, with a password for the review page (A5).

    The password is stored as a salted scrypt hash in enclave/reviewers.json (owner only).
    On the command line (approve, reject) a reviewer is not asked for it: there the
    operator's shell account is the authentication.

    Example: sluis enclave reviewer add an.peeters --work out/run/25-074-phase2
    """
    from sluis.enclave import reviewers

    enclave = _review_enclave(work)
    reviewers.check_name(name)
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    else:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    path = reviewers.add(enclave, name, password)
    Console(highlight=False).print(Text(f"added reviewer {name} to {path}"), soft_wrap=True)


def enclave_review(
    work: WorkOption,
    port: Annotated[
        int, typer.Option(help="Port on 127.0.0.1 (default: a free one, printed).")
    ] = 0,
) -> None:
    """Serve the review page on 127.0.0.1 until Ctrl-C (A5).

    Reviewers sign in with their password, see each job's outputs with the automatic
    checks' findings (offending cells highlighted) and the researcher's notes, approve or
    reject each output with a comment, and build the release package. The page answers
    only on this computer.

    Example: sluis enclave review --work out/run/25-074-phase2
    """
    from sluis.enclave import reviewers
    from sluis.enclave.review import serve

    enclave = _review_enclave(work)
    console = Console(highlight=False)
    if not reviewers.load(enclave):
        console.print(
            Text(f"no reviewers yet: add them with sluis enclave reviewer add NAME --work {work}"),
            soft_wrap=True,
        )
    serve(
        enclave,
        port,
        ready=lambda url: console.print(
            Text(f"review page at {url} (Ctrl-C stops it)"), soft_wrap=True
        ),
    )


def _decide(work: Path, job: str, output: str, reviewer: str, comment: str, decision: str) -> None:
    from sluis.enclave.reviews import decide

    enclave = _review_enclave(work)
    review = decide(
        enclave, job, output, reviewer=reviewer, decision=decision, comment=comment, via="cli"
    )
    word = "approved" if decision == "approve" else "rejected"
    Console(highlight=False).print(
        Text(f"{reviewer} {word} {job}/{output} (sha256 {review.sha256[:16]}...)"),
        soft_wrap=True,
    )


JobArgument = Annotated[str, typer.Argument(help="The job id, e.g. j0001.")]
OutputArgument = Annotated[
    str, typer.Argument(help="The output, relative to the job folder: outputs/table.csv.")
]
ReviewerOption = Annotated[
    str, typer.Option("--reviewer", help="The reviewer's name (sluis enclave reviewer add).")
]


def enclave_approve(
    job: JobArgument,
    output: OutputArgument,
    work: WorkOption,
    reviewer: ReviewerOption,
    comment: Annotated[str, typer.Option("--comment", help="What you checked.")],
) -> None:
    """Approve one output of a job as a reviewer (A5).

    A release needs two different reviewers, neither of them the job's author; an output
    the checks fail can only be rejected. The approval holds for the file as it is now
    (its SHA-256): editing the file voids it. Authentication is the operator's shell
    account; the account is recorded with the review and in the audit log.

    Example: sluis enclave approve j0001 outputs/table.csv --work W \\
        --reviewer bart.claes --comment "all cells at least 10"
    """
    _decide(work, job, output, reviewer, comment, "approve")


def enclave_reject(
    job: JobArgument,
    output: OutputArgument,
    work: WorkOption,
    reviewer: ReviewerOption,
    comment: Annotated[str, typer.Option("--comment", help="Why it cannot leave.")],
) -> None:
    """Reject one output of a job as a reviewer (A5).

    While a reviewer's latest decision on an output is a rejection it is not released.

    Example: sluis enclave reject j0001 logs/stdout.txt --work W \\
        --reviewer chloe.maes --comment "prints rows"
    """
    _decide(work, job, output, reviewer, comment, "reject")


def enclave_release(
    job: JobArgument,
    work: WorkOption,
    today: Annotated[
        str | None,
        typer.Option(help="Decide as if today were this date, YYYY-MM-DD (the deadline)."),
    ] = None,
) -> None:
    """Build the release package of a job's approved outputs (A5, G10).

    enclave/releases/<id>/ gets the outputs two reviewers approved (with their metadata
    files), release.json (digests, check results, reviewers and comments, the audit log's
    checkpoint) and manifest-sha256.txt, and the release joins the delivery register
    (sluis retain list). Refused when nothing new is approved, and after the spec's
    retention deadline (release-after-deadline).

    Example: sluis enclave release j0001 --work out/run/25-074-phase2
    """
    from sluis.enclave.release import build_release
    from sluis.retain.clock import today as clock_today

    info = build_release(_review_enclave(work), job, today=clock_today(today))
    Console(highlight=False).print(
        Text(
            f"released {len(info.files) - 1} file(s) of job {job} as {info.id} in {info.path} "
            f"(audit checkpoint seq {info.checkpoint['seq']}); in the delivery register as "
            f"{', '.join(info.registered) or 'listed before'} (sluis retain list)"
        ),
        soft_wrap=True,
    )


enclave_app.command("review")(enclave_review)
enclave_app.command("approve")(enclave_approve)
enclave_app.command("reject")(enclave_reject)
enclave_app.command("release")(enclave_release)
