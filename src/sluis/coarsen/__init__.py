"""The coarsening stage (G4): every delivered value as coarse as its spec's rule.

Each rule kind is a class (:mod:`sluis.coarsen.kinds`, base :class:`sluis.coarsen.rule.Rule`)
that carries its engine expression, its check, its classes and its text.
:func:`coarsen_dataset` turns a raw dataset (columns named as the spec's variables, raw
values) into its coarsened form, as Ibis expressions in the engine; :func:`classes` gives
each classed rule's codes and labels for the codebook; :func:`check_coarsened` refuses a
table that carries a column the spec does not name or any value finer than its rule, and
is called just before a coarsened table leaves its party. Representation and class lists:
``docs/coarsening.md``.

The stage functions are imported on first use: the spec model loads the rule classes from
this package, and the stage functions read the spec model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sluis.coarsen.classes import classes, codes, describe
from sluis.coarsen.errors import CoarseningError, Offence

if TYPE_CHECKING:
    from sluis.coarsen.apply import coarsen_dataset
    from sluis.coarsen.check import check_coarsened

__all__ = [
    "CoarseningError",
    "Offence",
    "check_coarsened",
    "classes",
    "coarsen_dataset",
    "codes",
    "describe",
]


def __getattr__(name: str) -> Any:
    if name == "coarsen_dataset":
        from sluis.coarsen.apply import coarsen_dataset

        return coarsen_dataset
    if name == "check_coarsened":
        from sluis.coarsen.check import check_coarsened

        return check_coarsened
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
