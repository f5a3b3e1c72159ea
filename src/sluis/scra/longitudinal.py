"""Longitudinal risk (G5): small cells of trajectories, which no standard tool measures.

Given a person-quarter table (person id, quarter, state variables), a person's *window*
starting in quarter ``q`` is the sequence of their states in the ``m`` consecutive quarters
``q .. q+m-1``; it exists only when the person is observed in all ``m`` quarters. Its share
is the number of persons with the same sequence in the same calendar quarters (an intruder
knows when things happened). A window with share ``< k`` is at risk; a person is at risk
when any of their windows is, and a person-quarter record is at risk when it lies in a
window at risk.

The state of a person-quarter is the combination of its state variables (a missing value is
a category of its own). With ``consecutive=False`` (a spec's ``windows: any``) a window is
any ``m`` of a person's observed quarters, its calendar the set of those quarters: the
intruder knows m moments, not m quarters in a row.

The windows are counted by numba kernels in a hash table of their patterns
(:mod:`sluis.scra.windows`, the same reading of the table as the treatment's), without a
row per window: on the 26/050 panel at scale 0.1 (8.9 M windows) a measure takes under a
second of CPU and 112 MiB above the input, where DuckDB's window lists took 13 s
(docs/scra.md); numba is imported only when a trajectory is measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError


@dataclass(frozen=True)
class QuarterRisk:
    quarter: str  # the first quarter of the windows
    windows: int
    windows_at_risk: int


@dataclass(frozen=True)
class LongitudinalRisk:
    m: int
    k: int
    state_variables: tuple[str, ...]
    persons: int
    persons_with_window: int
    persons_at_risk: int
    windows: int
    windows_at_risk: int
    records: int
    records_at_risk: int
    per_quarter: tuple[QuarterRisk, ...]
    share_histogram: dict[str, int]  # windows by share: "1", "2", ..., "k-1", ">=k"


def quarter_index(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Quarters as consecutive integers: 'YYYYQn' strings (year·4 + n − 1), dates (year·4 +
    quarter − 1) or integers as they are."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count:
        raise SluisError("a quarter is missing", rule="scra-quarter-missing")
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_upper(column)
        ok = pc.all(pc.match_substring_regex(text, r"^\d{4}Q[1-4]$")).as_py()
        if not ok:
            raise SluisError(
                "quarters must look like 2012Q3", rule="scra-quarter-format", hint="YYYYQn"
            )
        year = pc.cast(pc.utf8_slice_codeunits(text, 0, 4), pa.int64())
        q = pc.cast(pc.utf8_slice_codeunits(text, 5, 6), pa.int64())
        return (year.to_numpy() * 4 + q.to_numpy() - 1).astype(np.int64)
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return (
            pc.year(column).to_numpy().astype(np.int64) * 4
            + (pc.month(column).to_numpy().astype(np.int64) - 1) // 3
        )
    if pa.types.is_integer(kind):
        return column.to_numpy().astype(np.int64)
    raise SluisError(f"cannot read quarters of type {kind}", rule="scra-quarter-type")


def _quarter_label(index: int, textual: bool) -> str:
    return f"{index // 4}Q{index % 4 + 1}" if textual else str(index)


def longitudinal_risk(
    table: pa.Table,
    *,
    person: str,
    quarter: str,
    states: Sequence[str],
    m: int,
    k: int,
    consecutive: bool = True,
) -> LongitudinalRisk:
    """Windows of ``m`` consecutive quarters (``consecutive=False``: any ``m`` of a
    person's quarters, refused beyond :data:`sluis.scra.windows.MAX_WINDOWS`) and the
    persons sharing each (see module). One hash pass over the windows counts the patterns,
    a second reads every window's share; nothing is kept per window."""
    from sluis.scra import window_kernels as wk
    from sluis.scra.windows import PatternCounts, Windows, panel

    if m < 1:
        raise SluisError(f"the window must be at least 1 quarter, got m={m}", rule="scra-m")
    p = panel(table, person, quarter, states, freq=False)
    textual = pa.types.is_string(table.schema.field(quarter).type)
    if p.n == 0:
        return LongitudinalRisk(m, k, tuple(states), 0, 0, 0, 0, 0, 0, 0, (), {})
    win = Windows(p, m, consecutive)
    counts = PatternCounts(p, win, m, track=False)
    per_q, per_q_risk, hist, with_window, at_risk, records_at_risk = wk.measure(
        *counts._w(), k, *counts._h(), p.newp, p.qi
    )
    persons = int(np.count_nonzero(p.newp))
    histogram = {(f">={k}" if s >= k else str(s)): int(c) for s, c in enumerate(hist) if c}
    return LongitudinalRisk(
        m=m,
        k=k,
        state_variables=tuple(states),
        persons=persons,
        persons_with_window=int(with_window),
        persons_at_risk=int(at_risk),
        windows=int(per_q.sum()),
        windows_at_risk=int(per_q_risk.sum()),
        records=table.num_rows,
        records_at_risk=int(records_at_risk),
        per_quarter=tuple(
            QuarterRisk(_quarter_label(p.q0 + i, textual), int(per_q[i]), int(per_q_risk[i]))
            for i in np.flatnonzero(per_q)
        ),
        share_histogram=histogram,
    )
