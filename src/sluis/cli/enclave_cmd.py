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
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from sluis.cli.helptext import SluisTyper

enclave_app = SluisTyper(
    help="The enclave of a phase-2 run: build its data, run jobs in a sandbox, check, "
    "review and release their outputs (A5, B11).",
    no_args_is_help=True,
)


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
    """The enclave root of workspace ``work`` (``W/ksz/enclave``), which must exist."""
    from sluis.errors import UsageError

    root = work / "ksz" / "enclave"
    if not root.is_dir():
        raise UsageError(
            "no enclave in this workspace",
            rule="enclave-missing",
            file=str(root),
            hint="build it first: sluis enclave build --work W",
        )
    return root


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
    """Add an output reviewer to the enclave, with a password for the review page (A5).

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
    from sluis.enclave.review import serve

    enclave = _review_enclave(work)
    console = Console(highlight=False)
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

    Example: sluis enclave approve j0001 outputs/table.csv --work W --reviewer bart.claes
    --comment "all cells at least 10"
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

    Example: sluis enclave reject j0001 logs/stdout.txt --work W --reviewer chloe.maes
    --comment "prints rows"
    """
    _decide(work, job, output, reviewer, comment, "reject")


def enclave_release(job: JobArgument, work: WorkOption) -> None:
    """Build the release package of a job's approved outputs (A5, G10).

    enclave/releases/<id>/ gets the outputs two reviewers approved (with their metadata
    files), release.json (digests, check results, reviewers and comments, the audit log's
    checkpoint) and manifest-sha256.txt. Refused when nothing new is approved.

    Example: sluis enclave release j0001 --work out/run/25-074-phase2
    """
    from sluis.enclave.release import build_release

    info = build_release(_review_enclave(work), job)
    Console(highlight=False).print(
        Text(
            f"released {len(info.files) - 1} file(s) of job {job} as {info.id} in {info.path} "
            f"(audit checkpoint seq {info.checkpoint['seq']})"
        ),
        soft_wrap=True,
    )


enclave_app.command("review")(enclave_review)
enclave_app.command("approve")(enclave_approve)
enclave_app.command("reject")(enclave_reject)
enclave_app.command("release")(enclave_release)
