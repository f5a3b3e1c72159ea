"""Every requirement item of the two authorisations, in the order of REQUIREMENTS.md (G2).

A spec's ``covers`` must name one of these (``sluis spec check``), the run summary counts
how many of a requirement's items a spec delivers, and ``docs/source-contract.md`` lists
them. What names them in a spec is documentation of why a variable is allowed; how a
variable is computed is its ``derive`` id (:mod:`sluis.extract.derivations`) or its plain
contract column, never this text.
"""

from __future__ import annotations

from sluis.extract.derivations.items import Item
from sluis.extract.derivations.items_a6_a9 import A6, A7, A8, A9
from sluis.extract.derivations.items_a10_a13 import A10, A11, A12, A13
from sluis.extract.derivations.items_b3_b9 import B3, B4, B5, B6, B7, B8, B9

#: every item of 25/074 (A6-A13) and 26/050 (B3-B9), in the order of REQUIREMENTS.md
ITEMS: tuple[Item, ...] = (
    *A6,
    *A7,
    *A8,
    *A9,
    *A10,
    *A11,
    *A12,
    *A13,
    *B3,
    *B4,
    *B5,
    *B6,
    *B7,
    *B8,
    *B9,
)
