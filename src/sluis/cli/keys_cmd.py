"""``sluis keys new``: create a project key in the pseudonymiser's key store (G3, B1).

Thin on purpose: it calls :func:`sluis.pseudo.keys.new_key` and prints where the key is and
its fingerprint, never the key. Register it on the app as a ``keys`` sub-app::

    keys_app = SluisTyper(help="...", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")
    keys_app.command("new")(keys_new)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text


def keys_new(
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            help="The pseudonymiser's key store: a directory only its owner can read "
            "(created 0700), never inside a delivery or staging directory.",
        ),
    ],
    project: Annotated[
        str,
        typer.Option(
            "--project", help="Project id: lower-case letters, digits and dashes, e.g. 25-074."
        ),
    ],
) -> None:
    """Create the secret key of a project, once (G3).

    Sequence numbers are the rank of an HMAC of the national number under this key: the
    same data and key always give the same numbers, another project's key gives
    unlinkable ones. An existing key is never replaced.

    Example: sluis keys new --store ~/.sluis/keys --project 25-074
    """
    from sluis.pseudo.keys import load_key, new_key

    path = new_key(store, project)
    key = load_key(store, project)
    Console(highlight=False).print(
        Text(f"created the key of project {project} in {path} (fingerprint {key.fingerprint})"),
        soft_wrap=True,
    )
