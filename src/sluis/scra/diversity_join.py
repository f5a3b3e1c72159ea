"""Bringing a sensitive value onto the key set's rows across datasets, and back (G5).

26/050 checks ``income.poverty_risk`` on the key set of ``demobel``:
:func:`sensitive_onto` joins the sensitive value onto the key rows on ``on`` (person and
year), :func:`withheld_rows` maps a value the l-diversity treatment withholds
(:mod:`sluis.scra.diversity`) back to its row of the sensitive dataset. The join is on
dense codes of both tables' ``on`` columns (numpy, no row loop); a null never matches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra.frequencies import cell_ids, encode_column


def column_of(table: pa.Table, name: str, role: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise SluisError(
            f"the {role} column {name} is not in the table",
            rule="scra-ldiversity-column",
            column=name,
            hint="columns: " + ", ".join(table.column_names),
        )
    return table.column(name)


def _join_codes(
    keys_table: pa.Table, sensitive_table: pa.Table, on: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Joint codes of ``on`` over both tables; -1 where a column of ``on`` is null (a null
    never matches, as in SQL)."""
    if not on:
        raise SluisError("the join needs at least one column", rule="scra-ldiversity-join")
    n_keys = keys_table.num_rows
    codes, cards = [], []
    invalid = np.zeros(n_keys + sensitive_table.num_rows, dtype=bool)
    for name in on:
        left = column_of(keys_table, name, "join")
        right = column_of(sensitive_table, name, "join")
        try:
            right = right.cast(left.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SluisError(
                f"the join column {name} has type {right.type} in the sensitive dataset and "
                f"{left.type} in the key set's",
                rule="scra-ldiversity-join",
                column=name,
            ) from exc
        both = pa.chunked_array(left.chunks + right.chunks, type=left.type)
        code, labels = encode_column(both)
        invalid |= ~np.asarray(pc.is_valid(both).to_numpy(zero_copy_only=False), dtype=bool)
        codes.append(code)
        cards.append(max(len(labels), 1))
    joint, n_joint = cell_ids(codes, cards, len(invalid))
    joint = np.where(invalid, -1, joint)
    return joint[:n_keys], joint[n_keys:], n_joint


def match_rows(keys_table: pa.Table, sensitive_table: pa.Table, on: Sequence[str]) -> np.ndarray:
    """For each row of ``keys_table``, its row in ``sensitive_table`` (-1: no match);
    refuses a sensitive table where ``on`` is not unique."""
    left, right, n_joint = _join_codes(keys_table, sensitive_table, on)
    valid = np.flatnonzero(right >= 0)
    counts = np.bincount(right[valid], minlength=n_joint)
    if (counts > 1).any():
        dup = valid[counts[right[valid]] > 1]
        raise SluisError(
            f"{int(np.count_nonzero(counts > 1)):,} combinations of "
            f"{', '.join(on)} occur more than once in the sensitive dataset (first at row "
            f"{int(dup[0])}), so a sensitive value cannot be given to one key row",
            rule="scra-ldiversity-join-not-unique",
            column=", ".join(on),
            row=int(dup[0]),
            hint="join on columns that identify one row of the sensitive dataset",
        )
    where = np.full(n_joint + 1, -1, dtype=np.int64)  # last slot: null join values
    where[right[valid]] = valid
    return where[np.where(left >= 0, left, n_joint)]


def sensitive_onto(
    keys_table: pa.Table,
    sensitive_table: pa.Table,
    *,
    on: Sequence[str],
    sensitive: str,
    rows: np.ndarray | None = None,
) -> pa.Array:
    """The value of ``sensitive`` for each row of ``keys_table``, taken from the row of
    ``sensitive_table`` with the same ``on`` values (26/050: ``income.poverty_risk`` onto
    demobel's rows by person and year); null where there is no such row or a join value is
    null. ``on`` must identify one row of ``sensitive_table`` (``scra-ldiversity-join-not-
    unique`` otherwise). ``rows``: :func:`match_rows` of the two tables when known."""
    if rows is None:
        rows = match_rows(keys_table, sensitive_table, on)
    values = column_of(sensitive_table, sensitive, "sensitive").combine_chunks()
    return values.take(pa.array(np.where(rows >= 0, rows, 0), mask=rows < 0))


def withheld_rows(
    keys_table: pa.Table,
    sensitive_table: pa.Table,
    *,
    on: Sequence[str],
    withheld: np.ndarray,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """The rows of ``sensitive_table`` whose value must be withheld because the key row it
    was joined to is (``withheld``: bool over ``keys_table`` rows, as
    :attr:`DiversityTreatment.sensitive_suppressed`). A sensitive row joined to several key
    rows is withheld when any of them is. ``rows``: :func:`match_rows` when known."""
    withheld = np.asarray(withheld, dtype=bool)
    if withheld.shape != (keys_table.num_rows,):
        raise SluisError(
            f"withheld has shape {withheld.shape}, expected ({keys_table.num_rows},)",
            rule="scra-ldiversity-mask",
        )
    if rows is None:
        rows = match_rows(keys_table, sensitive_table, on)
    out = np.zeros(sensitive_table.num_rows, dtype=bool)
    out[rows[withheld & (rows >= 0)]] = True
    return out
