"""The coarsening stage (G4): every delivered value as coarse as its spec's rule.

:func:`coarsen_dataset` turns a raw dataset (columns named as the spec's variables, raw
values) into its coarsened form, as Ibis expressions in the engine; :func:`classes` gives
each classed rule's codes and labels for the codebook; :func:`check_coarsened` refuses a
table that carries a column the spec does not name or any value finer than its rule, and
is called just before a coarsened table leaves its party. Representation and class lists:
``docs/coarsening.md``.
"""

from sluis.coarsen.apply import coarsen_dataset
from sluis.coarsen.check import check_coarsened
from sluis.coarsen.classes import classes, codes, describe
from sluis.coarsen.errors import CoarseningError, Offence

__all__ = [
    "CoarseningError",
    "Offence",
    "check_coarsened",
    "classes",
    "coarsen_dataset",
    "codes",
    "describe",
]
