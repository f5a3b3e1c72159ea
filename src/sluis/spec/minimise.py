"""Data minimisation at every border (G1): a table leaves a party only with the columns the
spec names for it, in no other shape.

Every stage that hands a table to another party (a provider to the trusted third party, the
pseudonymiser to the recipient, the enclave to a researcher) calls :func:`require_named`
with the table's column names just before it writes. A column the spec does not name stops
the run with an error that names the dataset, the columns and the spec; nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable

from sluis.errors import SluisError
from sluis.spec.model import Spec


class MinimisationError(SluisError):
    """A table about to leave a party carries columns its spec does not name."""


def require_named(spec: Spec, dataset: str, columns: Iterable[str], *, party: str) -> None:
    """Refuse ``columns`` unless every one is a variable of ``dataset`` in ``spec``.

    ``party`` is who is about to send the table (for the message and the audit log). The
    order of the columns does not matter; a missing named column is not an error here
    (a flow may deliver a dataset in parts).
    """
    where = f"spec {spec.decision.id}"
    if dataset not in spec.datasets:
        raise MinimisationError(
            f"{party} may not send dataset {dataset!r}: {where} names no such dataset "
            f"(it has {', '.join(spec.datasets)})",
            rule="not-in-spec",
        )
    named = set(spec.variable_names(dataset))
    extra = [c for c in columns if c not in named]
    if extra:
        raise MinimisationError(
            f"{party} may not send column(s) {', '.join(map(repr, extra))} of dataset "
            f"{dataset!r}: {where} does not name them",
            rule="not-in-spec",
            column=extra[0],
            hint="deliver only what the authorisation names (G1); add the variable to the "
            "spec only if the decision allows it",
        )
