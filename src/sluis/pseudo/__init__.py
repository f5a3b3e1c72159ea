"""Pseudonymisation at the party that pseudonymises (G3, B1, B4): project keys and the
sequence numbers of persons and households that replace national numbers and household
ids. The key and the mapping stay with that party; a delivery carries only the numbers.
See docs/pseudonymisation.md.

The sequence functions (Ibis) load on first use, so ``sluis keys`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sluis.pseudo.keys import (
    DOMAINS,
    Domain,
    KeyStoreError,
    ProjectKey,
    check_project,
    key_path,
    load_key,
    new_key,
)

if TYPE_CHECKING:
    from sluis.pseudo.sequence import (
        PseudonymisationError,
        distinct_ids,
        pseudonymise,
        sequence_numbers,
    )

_SEQUENCE = {"PseudonymisationError", "distinct_ids", "pseudonymise", "sequence_numbers"}


def __getattr__(name: str) -> object:
    if name in _SEQUENCE:
        from sluis.pseudo import sequence

        return getattr(sequence, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DOMAINS",
    "Domain",
    "KeyStoreError",
    "ProjectKey",
    "PseudonymisationError",
    "check_project",
    "distinct_ids",
    "key_path",
    "load_key",
    "new_key",
    "pseudonymise",
    "sequence_numbers",
]
