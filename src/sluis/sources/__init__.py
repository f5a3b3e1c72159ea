"""Source registers (G2, X2): the contract a real extract must meet, its validation, and
each table as read on a day (:func:`on`, :func:`valid_on`, :func:`members_on`, loaded with
Ibis when first asked for: the contract alone stays light for ``sluis spec check``)."""

from typing import Any

from sluis.sources.contract import CONTRACT, Column, Table

__all__ = ["CONTRACT", "Column", "Table", "members_on", "on", "valid_on"]


def __getattr__(name: str) -> Any:
    if name in ("members_on", "on", "valid_on"):
        from sluis.sources import read

        return getattr(read, name)
    raise AttributeError(name)
