"""Longitudinal risk (G5): small cells of trajectories, which no standard tool measures.

Given a person-quarter table (person id, quarter, state variables), a person's *window*
starting in quarter ``q`` is the sequence of their states in the ``m`` consecutive quarters
``q .. q+m-1``; it exists only when the person is observed in all ``m`` quarters. Its share
is the number of persons with the same sequence in the same calendar quarters (an intruder
knows when things happened). A window with share ``< k`` is at risk; a person is at risk
when any of their windows is, and a person-quarter record is at risk when it lies in a
window at risk.

The state of a person-quarter is the combination of its state variables (a missing value is
a category of its own). The windows and their shares are computed in DuckDB with window
functions; only the per-quarter summary comes back to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra.frequencies import cell_ids, encode_column


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
) -> LongitudinalRisk:
    """Windows of ``m`` consecutive quarters and the persons sharing each (see module)."""
    if m < 1:
        raise SluisError(f"the window must be at least 1 quarter, got m={m}", rule="scra-m")
    qidx = quarter_index(table.column(quarter))
    state_codes = []
    cards = []
    for name in states:
        codes, labels = encode_column(table.column(name))
        state_codes.append(codes)
        cards.append(len(labels))
    state, _ = cell_ids(state_codes, cards, table.num_rows)
    pid, _ = encode_column(table.column(person))
    rows = pa.table({"pid": pid, "q": qidx, "s": state})
    import duckdb  # here, not at the top: `sluis scra FILE` without trajectories never needs it

    con = duckdb.connect()
    try:
        con.register("rows", rows)
        dup = con.execute(
            "select count(*) from (select 1 from rows group by pid, q having count(*) > 1)"
        ).fetchone()[0]
        if dup:
            raise SluisError(
                f"{dup:,} person-quarters appear more than once",
                rule="scra-person-quarter-unique",
                column=quarter,
                hint="one row per person and quarter",
            )
        con.execute(
            f"""
            create temp table w as
            select pid, q as start, seq from (
                select pid, q,
                       list(s) over win as seq,
                       max(q) over win as last,
                       count(*) over win as n
                from rows
                window win as (partition by pid order by q
                               rows between current row and {m - 1} following)
            ) where n = {m} and last = q + {m - 1}
            """
        )
        con.execute(
            "create temp table ws as select pid, start, "
            "count(*) over (partition by start, seq) as share from w"
        )
        per_q = con.execute(
            f"select start, count(*), count(*) filter (where share < {k}) "
            "from ws group by start order by start"
        ).fetchall()
        hist = con.execute(
            f"select least(share, {k}) as s, count(*) from ws group by 1 order by 1"
        ).fetchall()
        persons, with_window, at_risk = con.execute(
            "select (select count(distinct pid) from rows), count(distinct pid), "
            f"count(distinct pid) filter (where share < {k}) from ws"
        ).fetchone()
        records_at_risk = con.execute(
            f"""
            select count(*) from rows r
            where exists (select 1 from ws where ws.pid = r.pid and ws.share < {k}
                          and r.q between ws.start and ws.start + {m - 1})
            """
        ).fetchone()[0]
    finally:
        con.close()
    textual = pa.types.is_string(table.schema.field(quarter).type)
    histogram = {(f">={k}" if s >= k else str(s)): int(c) for s, c in hist}
    return LongitudinalRisk(
        m=m,
        k=k,
        state_variables=tuple(states),
        persons=int(persons),
        persons_with_window=int(with_window),
        persons_at_risk=int(at_risk),
        windows=int(sum(r[1] for r in per_q)),
        windows_at_risk=int(sum(r[2] for r in per_q)),
        records=table.num_rows,
        records_at_risk=int(records_at_risk),
        per_quarter=tuple(
            QuarterRisk(_quarter_label(int(q), textual), int(n), int(r)) for q, n, r in per_q
        ),
        share_histogram=histogram,
    )
