"""Source registers (G2, X2): the contract a real extract must meet, its validation, and
each table as read on a day (:func:`on`, :func:`valid_on`, :func:`members_on`)."""

from sluis.sources.contract import CONTRACT, Column, Table
from sluis.sources.read import members_on, on, valid_on

__all__ = ["CONTRACT", "Column", "Table", "members_on", "on", "valid_on"]
