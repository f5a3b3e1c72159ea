"""``sluis retain ...``: the delivery register, deadlines and destruction (G9, G10; issue 18).

Thin on purpose: the verbs call :mod:`sluis.retain` and render with Rich. Every deadline
decision reads one date, :func:`sluis.retain.clock.today` (``--today``, default the date in
Brussels). Register it on the app as a ``retain`` sub-app::

    retain_app = SluisTyper(help="...", no_args_is_help=True)
    app.add_typer(retain_app, name="retain")
    retain_app.command("list")(retain_list)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sluis.errors import UsageError

if TYPE_CHECKING:
    from sluis.retain.register import Entry

WORK_HELP = "The workspace of the run and delivery (the party's register is in it)."
PARTY_HELP = "The delivering party (default: the one party in --work that keeps a register)."
TODAY_HELP = "Decide as if today were this date, YYYY-MM-DD (default: today in Brussels)."

#: a state's name in the table when the full one is too wide for 80 columns
SHORT = {"destruction-requested": "requested"}
#: the colour of each state in the table
STATE_STYLE = {
    "overdue": "bold red",
    "destruction-requested": "yellow",
    "delivered": "",
    "destroyed": "green",
    "released": "cyan",
}


def party_home(work: Path, party: str | None) -> Path:
    """``<work>/<party>``: the given party's, else the one party directory in ``work`` that
    keeps a register (or, before any delivery, an audit log)."""
    from sluis.retain.register import FILE

    work = Path(work)
    if party:
        home = work / party
        if not home.is_dir():
            raise UsageError(
                f"no workspace of party {party!r} in {work}", rule="no-party", file=str(home)
            )
        return home
    found = sorted(p.parent for p in work.glob(f"*/{FILE}")) or sorted(
        p.parent for p in work.glob("*/audit.log")
    )
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise UsageError(
            f"cannot tell whose register to read in {work} (parties: {names})",
            rule="no-party",
            file=str(work),
            hint="name it with --party",
        )
    return found[0]


def retain_list(
    work: Annotated[Path, typer.Option(help=WORK_HELP)],
    due_within: Annotated[
        str | None,
        typer.Option(
            "--due-within",
            help="Only entries not destroyed whose deadline is within this span: 90d, 12w.",
        ),
    ] = None,
    today: Annotated[str | None, typer.Option(help=TODAY_HELP)] = None,
    party: Annotated[str | None, typer.Option(help=PARTY_HELP)] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the entries as JSON, for scripts.")
    ] = False,
) -> None:
    """Show the delivery register and its deadlines (G9).

    One row per delivery, key the party holds, enclave's data and enclave release (the
    kind column): recipient, deadline, days left and state (delivered or held,
    released, destruction-requested, destroyed, overdue), overdue first. An entry past
    its deadline and not destroyed is overdue; a release never is (anonymous results).
    --json gives every field: decision, researchers, archive digest, audit checkpoint,
    files, data key.

    Examples:
      sluis retain list --work out/run/25-074-phase1
      sluis retain list --work W --due-within 90d --json
    """
    from sluis.retain.clock import parse_days
    from sluis.retain.clock import today as clock_today
    from sluis.retain.register import entries

    day = clock_today(today)
    found = entries(party_home(work, party), today=day)
    if due_within is not None:
        span = parse_days(due_within)
        found = [
            e
            for e in found
            if e.state != "destroyed"
            and e.kind != "release"
            and e.days_left is not None
            and e.days_left <= span
        ]
    if as_json:
        typer.echo(json.dumps([e.as_json() for e in found], indent=2, sort_keys=True))
        return
    render_register(Console(highlight=False), found, day)


def render_register(console: Console, found: list[Entry], day: object) -> None:
    """The register as a Rich table, or one line when it is empty."""
    if not found:
        console.print(Text(f"no entries in the register (on {day})"))
        return
    table = Table(
        title=f"delivery register on {day}",
        title_justify="left",
        box=box.SIMPLE,
        pad_edge=False,
        padding=(0, 1, 0, 0),  # with the box's blank divider: two spaces between columns
    )
    table.add_column("delivery", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("recipient", no_wrap=True, min_width=10)
    table.add_column("deadline", no_wrap=True)
    table.add_column("days", justify="right", no_wrap=True)
    # "destruction-requested" is the one long state: it may fold, names may not
    table.add_column("state", overflow="fold", min_width=9)
    for e in found:
        table.add_row(
            e.delivery,
            e.kind,
            e.recipient,
            e.deadline.isoformat() if e.deadline else "none",
            "" if e.days_left is None or e.state in ("destroyed", "released") else str(e.days_left),
            Text(SHORT.get(e.state, e.state), style=STATE_STYLE.get(e.state, "")),
        )
    console.print(table)


def destroy_received(package: Path, key: Path, certificate: Path | None = None) -> None:
    """The researcher's form of ``sluis retain destroy`` (``--package DIR --key KEY``):
    destroy a package `sluis receive` opened and write the signed destruction certificate
    (G9, A14, B10). ``retain destroy`` calls this when ``--package`` is given."""
    from sluis.retain.certificate import destroy_package

    path, cert = destroy_package(package, key, certificate=certificate)
    size = sum(item["bytes"] for item in cert["files"])
    Console(highlight=False).print(
        Text.assemble(
            ("destroyed", "bold green"),
            f": {cert['package']}: {len(cert['files'])} files, {size:,} bytes overwritten and "
            f"removed; certificate signed with your key: {path} (send it to the provider, "
            "who imports it with sluis retain confirm)",
        ),
        soft_wrap=True,
    )


def retain_confirm(
    certificate: Annotated[
        Path, typer.Argument(help="The researcher's destruction certificate (JSON).")
    ],
    work: Annotated[Path, typer.Option(help=WORK_HELP)],
    today: Annotated[str | None, typer.Option(help=TODAY_HELP)] = None,
    party: Annotated[str | None, typer.Option(help=PARTY_HELP)] = None,
) -> None:
    """Close a delivery with its researcher's certificate (G9, G10).

    The certificate must be signed by one of the researchers the delivery was encrypted
    to (their ssh-ed25519 key in the spec, as the register recorded it), name a delivery
    of the register with its archive's SHA-256, and be the first confirmed for it. Then
    certificate-confirmed is appended to the register and the audit log. A forged,
    altered, replayed, other-package or other-researcher certificate is refused, naming
    the rule (certificate-signature, certificate-format, certificate-replayed,
    certificate-package, certificate-digest, certificate-researcher).

    Exit codes: 0 confirmed, 2 refused or a usage error.

    Example:
      sluis retain confirm 25-074-uantwerpen-20261201.destruction.json \\
        --work out/run/25-074-phase1
    """
    from sluis.flow.lock import command_line, workspace_lock
    from sluis.retain.certificate import confirm
    from sluis.retain.clock import today as clock_today

    home = None if party is None else party_home(work, party)
    # one command at a time: a second confirm of the same certificate waits for the
    # first to be in the register, and is then refused as a replay
    with workspace_lock(work, command_line(), wait=True):
        line = confirm(
            certificate, work, today=clock_today(today), party=home.name if home else None
        )
    Console(highlight=False).print(
        Text.assemble(
            ("confirmed", "bold green"),
            f": {line['delivery']}: the researcher {line['researcher']} destroyed "
            f"{line['files']} files on {line['destroyed_at']}; recorded in the register and "
            f"the audit log (seq {line['audit_seq']})",
        ),
        soft_wrap=True,
    )


def retain_destroy(
    delivery: Annotated[
        str | None,
        typer.Argument(help="The delivery (package name) or key (key:26-050) to destroy."),
    ] = None,
    work: Annotated[Path, typer.Option(help=WORK_HELP)] = Path("."),
    due: Annotated[
        bool, typer.Option("--due", help="Destroy every entry whose deadline is reached.")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option(help="Why it goes now; needed before the deadline (into the audit log)."),
    ] = None,
    today: Annotated[str | None, typer.Option(help=TODAY_HELP)] = None,
    party: Annotated[str | None, typer.Option(help=PARTY_HELP)] = None,
    package: Annotated[
        Path | None,
        typer.Option(help="At the researcher: the package sluis receive opened, to destroy."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(help="At the researcher: your ssh-ed25519 private key, to sign with."),
    ] = None,
    certificate: Annotated[
        Path | None, typer.Option(help="At the researcher: where to write the certificate.")
    ] = None,
) -> None:
    """Destroy a delivery or every due one: crypto-shredding (G9).

    First records the request with every file's size and SHA-256, then destroys the data
    key that seals the files (every copy, on a backup too, becomes unreadable), then the
    files, and only then records the destruction, signed by an audit checkpoint, in the
    audit log, the register and destruction/DELIVERY.json. A destruction that was killed
    is completed by running the command again. Before the deadline it needs --reason.

    At the researcher, --package DIR --key KEY destroys the package sluis receive opened
    and writes a destruction certificate signed with the researcher's key, for the
    provider's sluis retain confirm.

    Exit codes: 0 destroyed, 1 refused (early without a reason, destroyed already), 2 a
    usage error.

    Examples:
      sluis retain destroy 25-074-uantwerpen-20261201 --work W \\
        --reason "the research is finished"
      sluis retain destroy --due --work W
      sluis retain destroy --package ~/inbox/25-074-uantwerpen-20261201 \\
        --key ~/.ssh/id_ed25519
    """
    from sluis.flow.retain import destroy_due, destroy_one
    from sluis.retain.clock import today as clock_today
    from sluis.retain.shred import DestructionRefused

    if package is not None:
        if key is None or delivery is not None or due:
            raise UsageError(
                "--package needs --key (your private key) and no DELIVERY or --due",
                rule="destroy-what",
            )
        destroy_received(package, key, certificate)
        return
    if (delivery is None) == (not due):
        raise UsageError(
            "name one DELIVERY, give --due, or at the researcher --package and --key",
            rule="destroy-what",
        )
    day = clock_today(today)
    home = party_home(work, party)
    console = Console(highlight=False)
    try:
        done = [destroy_one(home, delivery, today=day, reason=reason)] if delivery else []
        if due:
            done = destroy_due(home, today=day, reason=reason)
    except DestructionRefused as err:
        Console(stderr=True, highlight=False).print(
            Text.assemble(("refused", "bold red"), f": {err}"), soft_wrap=True
        )
        raise typer.Exit(1) from None
    if not done:
        console.print(Text(f"nothing is due on {day}"))
    for shredded in done:
        key = f"data key {shredded.key_id}" if shredded.key_id else "no data key"
        again = " (completed an interrupted destruction)" if shredded.resumed else ""
        console.print(
            Text(
                f"destroyed {shredded.delivery}: {len(shredded.files)} file(s), {key}"
                f"{again}; record {shredded.record}"
            ),
            soft_wrap=True,
        )
