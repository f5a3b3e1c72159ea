"""Source tables as read on a day (G2, G6), from each table's declared time.

Select (who is resident, in which status, on a population's reference day) and extract
(each variable on each quarter's last day) ask the same question of the registers; they
ask it here, so a table is read the same way everywhere and the way is declared once, in
the contract (:mod:`sluis.sources.time`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from sluis.sources.contract import table as contract_table

if TYPE_CHECKING:
    from sluis.sources.time import Day


def valid_on(table: str, rows: ir.Table, day: Day, prefix: str = "") -> ir.BooleanValue:
    """Whether each row of ``rows`` (contract table ``table``, or a cut of it) may be read
    on ``day``: the condition of :func:`on`, for a join where ``day`` is a column of the
    other table (each row of a frame on its own day). ``prefix``: the time columns of
    ``rows`` carry it (renamed apart from the other table's columns)."""
    return contract_table(table).time.condition(rows, day, prefix)


def on(table: str, day: Day, rows: ir.Table) -> ir.Table:
    """Contract table ``table`` as read on ``day``, from ``rows`` (the source table or a cut
    of it): the rows its time says hold on that day. Where several of a person's rows
    could (the censuses before the day), the latest one."""
    t = contract_table(table)
    held = rows.filter(t.time.condition(rows, day))
    if t.time.latest is None:
        return held
    who = [k for k in t.key if k not in t.time.columns]
    rank = ibis.row_number().over(group_by=who, order_by=ibis.desc(held[t.time.latest]))
    return held.mutate(_rank=rank).filter(lambda r: r._rank == 0).drop("_rank")


def members_on(households: ir.Table, day: Day | str, rows: ir.Table) -> ir.Table:
    """The members of ``households`` (a table with a ``household_id`` column) on ``day``,
    from ``rows`` (the ``household`` table or a cut of it): one row per household and
    member, with the member's ``insz``, ``relation`` to the reference person and LIPRO
    position. ``day`` is a date, or the name of a date column of ``households`` (each
    household on its own day, which the result keeps)."""
    if isinstance(day, str):
        same = rows.household_id == households.household_id
        joined = rows.join(households, [same, valid_on("household", rows, households[day])])
        return joined.select(
            "household_id", day, insz=rows.insz, relation=rows.relation, lipro=rows.lipro
        )
    held = on("household", day, rows).semi_join(households, "household_id")
    return held.select("household_id", "insz", "relation", "lipro")
