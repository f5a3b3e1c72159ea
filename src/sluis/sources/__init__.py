"""Source registers (G2, X2): the contract a real extract must meet, and its validation."""

from sluis.sources.contract import CONTRACT, Column, Table

__all__ = ["CONTRACT", "Column", "Table"]
