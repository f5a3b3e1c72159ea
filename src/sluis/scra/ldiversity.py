"""l-diversity of sensitive variables per key cell (G5), as sdcMicro's ``ldiversity``
(distinct l-diversity, Machanavajjhala et al. 2007): for each key cell, the number of
distinct values of the sensitive variable among its records (a missing value counts as a
value). Every record gets the l of its cell; a cell with ``l < l_min`` lets an intruder who
places someone in that cell learn the sensitive value (``l = 1``) or narrow it down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sluis.scra.frequencies import cell_ids


@dataclass(frozen=True)
class LDiversity:
    variable: str
    per_record: np.ndarray
    min_l: int
    cells_below: int
    records_below: int
    l_min: int


def distinct_l_diversity(
    cell: np.ndarray, n_cells: int, sensitive: np.ndarray, variable: str, l_min: int = 2
) -> LDiversity:
    """``cell``: dense key-cell ids; ``sensitive``: dense codes of the sensitive variable."""
    card = int(sensitive.max()) + 1 if len(sensitive) else 1
    pair, _ = cell_ids([cell, sensitive], [max(n_cells, 1), card])
    # one representative per distinct (cell, value) pair -> count pairs per cell
    first = np.zeros(int(pair.max()) + 1 if len(pair) else 0, dtype=np.int64)
    first[pair] = cell
    per_cell = np.bincount(first, minlength=n_cells)
    per_record = per_cell[cell]
    return LDiversity(
        variable=variable,
        per_record=per_record,
        min_l=int(per_cell.min()) if n_cells else 0,
        cells_below=int(np.count_nonzero(per_cell < l_min)),
        records_below=int(np.count_nonzero(per_record < l_min)),
        l_min=l_min,
    )
