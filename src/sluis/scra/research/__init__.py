"""The decisions' own research quantities (G5), declared once: what treatment cost the
analysis (:mod:`sluis.scra.infoloss`).

Each module declares the quantities of one decision as
:class:`~sluis.scra.research.base.Quantity` entries (id, title, groups, the columns read,
a description and the Ibis computation). A spec lists the ids in ``scra.research``;
``sluis spec check`` refuses an id that is not here, or one that reads a variable the spec
does not deliver (``unknown-research-quantity``, :func:`research_problems`). How to add
one: a function from the staged tables to one row per group (group columns, ``units``,
``value``) in a module here, its entry in that module's ``QUANTITIES``, the module in
:func:`_collect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sluis.errors import SluisError
from sluis.scra.research import activation, naturalisation
from sluis.scra.research.base import Quantity

__all__ = ["REGISTRY", "Quantity", "quantity", "research_problems"]


def _collect() -> dict[str, Quantity]:
    out: dict[str, Quantity] = {}
    for module in (naturalisation, activation):
        for q in module.QUANTITIES:
            if q.id in out:
                raise AssertionError(f"research quantity {q.id} declared twice")
            out[q.id] = q
    return out


#: every research quantity by id
REGISTRY: dict[str, Quantity] = _collect()


def quantity(id_: str) -> Quantity:
    """The quantity ``id_``; a spec that passed ``sluis spec check`` names only known ones."""
    try:
        return REGISTRY[id_]
    except KeyError:
        raise SluisError(
            f"no research quantity {id_!r} (known: {', '.join(REGISTRY)})",
            rule="unknown-research-quantity",
        ) from None


def research_problems(ids: Sequence[str], variables: Mapping[str, Sequence[str]]) -> list[str]:
    """What is wrong with the ``scra.research`` list ``ids`` of a spec whose datasets hold
    ``variables`` (dataset -> variable names): one message per entry, ``""`` when it is
    fine (so the messages line up with the entries)."""
    out = []
    for id_ in ids:
        q = REGISTRY.get(id_)
        if q is None:
            import difflib

            close = difflib.get_close_matches(id_, list(REGISTRY), n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(REGISTRY)})"
            out.append(f"no research quantity {id_!r}{hint}")
            continue
        missing = [
            need
            for need in q.needs
            if need.partition(".")[2] not in variables.get(need.partition(".")[0], ())
        ]
        out.append(
            f"{id_} reads {', '.join(missing)}, which the spec does not deliver" if missing else ""
        )
    return out
