"""The building blocks of the source contract: tables, columns and their types (G2).

Kept apart from the declarations (:mod:`sluis.sources.contract` and the part-2 modules per
register) so that each register's tables live in a module of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["insz", "string", "code", "date", "int", "float"]

#: the earliest and latest dates a source may hold (birth dates of the oldest residents in
#: 2000 through the end of the synthetic window 2024Q4)
DATE_MIN = dt.date(1890, 1, 1)
DATE_MAX = dt.date(2024, 12, 31)


@dataclass(frozen=True)
class Column:
    """One column: its name, type, whether it may be empty, its code list and meaning.

    ``serves`` names the requirement IDs (A6-A13, B5-B9) whose variables the column feeds, so
    the contract document can map every variable of the authorisations to a column.
    """

    name: str
    type: ColumnType
    description: str
    nullable: bool = False
    codelist: str | None = None
    #: for a municipality code: the date column whose date picks the NIS vintage
    vintage_date: str | None = None
    serves: tuple[str, ...] = ()
    #: "EUR" for an amount in euros: the spec language requires amount classes on it (G4)
    unit: str | None = None


@dataclass(frozen=True)
class Table:
    """One source table: a register extract, one Parquet file or folder of Parquet parts."""

    name: str
    register: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    #: pairs (start, end) of date columns where end, when present, may not precede start
    periods: tuple[tuple[str, str], ...] = field(default=())
    #: (insz column, sex column): the INSZ day counter is odd for men and even for women
    #: (national register numbers and BIS numbers assigned with a known sex)
    insz_sex: tuple[str, str] | None = None
    #: a date column that must be the last day of a quarter (the DWH reference day, G6)
    quarter_end: str | None = None

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


def flag(name: str, description: str, serves: tuple[str, ...], nullable: bool = False) -> Column:
    """A 0/1 indicator column."""
    return Column(name, "code", description, nullable, "flag", serves=serves)


def amount(name: str, description: str, serves: tuple[str, ...], nullable: bool = True) -> Column:
    """An amount in whole euros."""
    return Column(name, "int", description, nullable, serves=serves, unit="EUR")
