"""The derivation registry: every derived variable declared once, next to its code (G2).

A spec variable is either a *plain column* (its first ``source`` is a contract column,
read on the row's day by its table's time rule, :mod:`sluis.extract.columns`) or names a
derivation by id (``derive: labour.employer_nace``). Each domain module (person, panel,
household, origin, education, labour) declares its derivations as
:class:`~sluis.extract.derivations.base.Derivation` entries: id, the requirement items they
serve, the contract columns they read, a description and the builder. ``sluis spec check``
refuses an id that is not here (:mod:`sluis.spec.derive`), and the derivations section of
``docs/source-contract.md`` is rendered from :data:`REGISTRY`. How to add one:
docs/derivations.md.
"""

from __future__ import annotations

from sluis.errors import SluisError
from sluis.extract.derivations import education, household, labour, origin, panel, person
from sluis.extract.derivations.base import Derivation


def _collect() -> dict[str, Derivation]:
    out: dict[str, Derivation] = {}
    for module in (person, panel, household, origin, education, labour):
        for d in module.DERIVATIONS:
            if d.id in out:
                raise AssertionError(f"derivation {d.id} declared twice")
            out[d.id] = d
    return out


#: every derivation by id, in the order of the domain modules
REGISTRY: dict[str, Derivation] = _collect()


def derivation(id_: str) -> Derivation:
    """The derivation ``id_``; a spec that passed ``sluis spec check`` names only known ones."""
    try:
        return REGISTRY[id_]
    except KeyError:
        raise SluisError(
            f"no derivation {id_!r} (known: docs/source-contract.md)", rule="unknown-derivation"
        ) from None
