"""``sluis audit verify``: check a party's audit log (G10) and say where it was changed.

Thin on purpose: it calls :func:`sluis.audit.verify` and prints the result. Exit codes: 0
the log is intact, 1 it was changed (or cut off, against ``--checkpoint``) or is empty, 2 a
usage error (no such log, not a checkpoint, not a public key: a
:class:`~sluis.errors.SluisError`, which the app prints as one line). Register it on the
app as an ``audit`` sub-app (a :class:`~sluis.cli.helptext.SluisTyper`, so that its help
reflows)::

    audit_app = SluisTyper(help="The tamper-evident audit log ... (G10).", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")
    audit_app.command("verify")(audit_verify)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from sluis.audit.verify import VerifyReport

#: problems listed after the first one before the rest is only counted
MORE_PROBLEMS = 9


def audit_verify(
    log: Annotated[Path, typer.Argument(help="The audit log (JSON lines).")],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A delivery's manifest (JSON) or a checkpoint JSON file: the log must still "
            "hold the record it signs (detects records cut off the end).",
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The party's published signing key (OpenSSH line, PEM, hex or raw): every "
            "signature must verify under it.",
        ),
    ] = None,
    witness: Annotated[
        list[Path] | None,
        typer.Option(
            "--witness",
            help="A witness file (sluis audit witness), a receipt or a delivery.json kept by "
            "another party: the log must hold each checkpoint in it at its seq with its hash "
            "(detects a log rewritten and re-signed by the key holder). Repeatable.",
        ),
    ] = None,
    still_open: Annotated[
        bool,
        typer.Option(
            "--open",
            help="The log is still being written: an end without a seal is a warning, "
            "not an error.",
        ),
    ] = False,
) -> None:
    """Verify an audit log and name the line of any change (G10).

    Detects edits, deletions, insertions and reordering; records cut off the end or appended
    without the party's key (a closed log ends with a signed seal; --open for one still
    being written); with --checkpoint (the audit-checkpoint.json of a delivered package)
    records cut off back to an earlier seal; with --witness a log rewritten and re-signed
    by the key holder. Prints the records, the checkpoints and the first problem with its
    line number.

    An empty log is an error: a run or a delivery writes to it, so it was emptied.

    Exit codes: 0 intact, 1 changed or empty, 2 a usage error.

    Example:
      sluis audit verify out/run/25-074-phase1/ksz/audit.log \\
        --checkpoint 25-074-uantwerpen-20261123/data/audit-checkpoint.json
    """
    from sluis.audit import load_checkpoint, load_witnesses, verify

    key = _public_key(public_key)
    external = load_checkpoint(checkpoint) if checkpoint is not None else None
    witnessed = [cp for path in witness or () for cp in load_witnesses(path)]
    report = verify(
        log, public_key=key, checkpoint=external, witnesses=witnessed, still_open=still_open
    )
    render_report(Console(highlight=False), report)
    if not report.ok:
        raise typer.Exit(1)


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    """The public key in ``path``, or a located :class:`AuditError`."""
    from sluis.audit import AuditError, load_public_key

    if path is None:
        return None
    try:
        return load_public_key(path.read_bytes())
    except OSError as err:
        raise AuditError(
            f"cannot read the public key: {err.strerror}", rule="key-missing", file=str(path)
        ) from None
    except AuditError as err:
        err.file = str(path)
        raise


def audit_witness(
    log: Annotated[Path, typer.Argument(help="The party's audit log (JSON lines).")],
    to: Annotated[
        Path, typer.Option("--to", help="The witness file to add the checkpoint to (JSON lines).")
    ],
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The party's published signing key."),
    ] = None,
) -> None:
    """Keep a copy of a log's latest signed checkpoint as a witness (G10).

    Another party (a recipient, the trusted third party, an auditor) runs this on a copy of
    the log and keeps the witness file. The log must verify and hold every checkpoint the
    file already holds. Later, sluis audit verify LOG --witness FILE fails if the log was
    rewritten, even if it was re-signed with the party's own key.

    Example:
      sluis audit witness ksz/audit.log --to ksz.witness.jsonl \\
        --public-key ksz.pub
    """
    from sluis.audit import witness

    checkpoint, _ = witness(log, to, public_key=_public_key(public_key))
    message = f"{to}: witnessed {log} at seq {checkpoint['seq']} ({checkpoint['hash'][:12]}...)"
    Console(highlight=False).print(Text(message), soft_wrap=True)


def render_report(console: Console, report: VerifyReport) -> None:
    """The verdict, the counts, the first problem (and a few more), then the warnings."""
    span = f"seq 1-{report.last_seq}" if report.records else "empty"
    counts = f"{report.records} record(s) ({span}), {report.checkpoints} checkpoint(s)" + (
        f", {report.after_checkpoint} after the last" if report.checkpoints else ""
    )
    if report.external is not None:
        counts += f"; external checkpoint at seq {report.external['seq']}"
    if report.witnesses:
        counts += f"; {len(report.witnesses)} witnessed checkpoint(s)"
    if report.sealed:
        counts += "; sealed"
    if report.key_source == "given":
        counts += "; signatures checked against the given public key"
    if report.ok:
        console.print(
            Text.assemble((f"{report.path}: ", "bold"), ("valid", "bold green"), f": {counts}"),
            soft_wrap=True,
        )
    elif not report.records and report.problems[0].rule == "audit-empty":
        # nothing to count or list: one line
        console.print(
            Text.assemble(
                (f"{report.path}: ", "bold"), ("EMPTY", "bold red"), f": {report.problems[0]}"
            ),
            soft_wrap=True,
        )
    else:
        first = report.problems[0]
        console.print(
            Text.assemble((f"{report.path}: ", "bold"), ("TAMPERED", "bold red"), f": {counts}"),
            soft_wrap=True,
        )
        console.print(Text(f"first problem: {first}"), soft_wrap=True)
        for problem in report.problems[1 : 1 + MORE_PROBLEMS]:
            console.print(Text(f"  then: {problem}"), soft_wrap=True)
        rest = len(report.problems) - 1 - MORE_PROBLEMS
        if rest > 0:
            console.print(Text(f"  and {rest} more problem(s)"), soft_wrap=True)
    for warning in report.warnings:
        console.print(Text.assemble(("warning", "yellow"), f": {warning}"), soft_wrap=True)


def audit_repair(
    log: Annotated[Path, typer.Argument(help="The party's audit log (JSON lines).")],
    party: Annotated[str, typer.Option(help="The party that keeps the log (e.g. ksz).")],
    store: Annotated[Path, typer.Option(help="The party's key store (holds its signing key).")],
) -> None:
    """Cut a crash's unfinished line off an audit log and seal it (G10).

    An append interrupted by a crash can leave an incomplete last line in a party's log.
    The line is cut off and the repair recorded in the log itself, with the bytes removed
    and their SHA-256, then the log is sealed with the party's key (as is a log a crash left
    unsealed). The rest of the log must verify; a log changed anywhere else is refused.

    Example:
      sluis audit repair out/run/25-074-phase1/ksz/audit.log --party ksz \\
        --store out/run/25-074-phase1/ksz/keys
    """
    from sluis.audit import open_log

    with open_log(log, party=party, store=store) as audit:
        removed = audit.repair()
        unsealed = not removed and not audit.sealed
    # one line whatever the terminal width (a long path wrapped it), as text, not markup
    message = (
        f"{log}: removed an incomplete last line of {removed} bytes; recorded as a repaired "
        "event and sealed"
        if removed
        else f"{log}: nothing to repair; sealed the log (it did not end with a seal)"
        if unsealed
        else f"{log}: nothing to repair"
    )
    Console(highlight=False).print(Text(message), soft_wrap=True)
