"""``sluis enclave ...``: the enclave of a phase-2 run (A5, B11, G10): build its data, run
researchers' jobs in a sandbox, check their outputs, review and release them.

Thin on purpose: each verb parses, calls :mod:`sluis.enclave` and prints with Rich; a
:class:`~sluis.errors.SluisError` becomes one readable line (the app's handler). Three
groups of verbs live here: the workspace and jobs (``build``, ``submit``, ``jobs``), the
automatic checks (``check``) and review and release (``review``, ``approve``, ``reject``,
``release``).
"""

from __future__ import annotations

from sluis.cli.helptext import SluisTyper

enclave_app = SluisTyper(
    help="The enclave of a phase-2 run: build its data, run jobs in a sandbox, check, "
    "review and release their outputs (A5, B11).",
    no_args_is_help=True,
)
