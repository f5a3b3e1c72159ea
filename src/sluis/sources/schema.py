"""The building blocks of the source contract: tables, columns and their types (G2).

Kept apart from the declarations (:mod:`sluis.sources.contract` and the part-2 modules per
register) so that each register's tables live in a module of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sluis.sources.time import Quarterly, Time

if TYPE_CHECKING:  # the libraries load when a type is asked for: the contract stays light
    import ibis.expr.datatypes as idt
    import ibis.expr.schema as sch
    import pyarrow as pa

ColumnType = Literal["insz", "string", "code", "date", "int", "float"]


@dataclass(frozen=True)
class Type:
    """What a contract column type is in the two type systems sluis meets: the Arrow type
    the generator writes (and Parquet files carry), and the Ibis type the stages compute
    with; ``accepts`` says which types a real extract's column may have instead (any
    integer width for an integer, say), which the checker and the engine both apply."""

    arrow_name: str
    ibis_name: str
    #: the types a file's column may have, in words, for a wrong-type message
    accepted: str

    @property
    def arrow(self) -> pa.DataType:
        import pyarrow as pa

        return pa.type_for_alias(self.arrow_name)

    @property
    def ibis(self) -> idt.DataType:
        import ibis

        return ibis.dtype(self.ibis_name)

    def accepts(self, found: idt.DataType) -> bool:
        """Whether a column of type ``found`` can stand for this type."""
        if self.ibis.is_string():
            return found.is_string()
        if self.ibis.is_date():
            return found.is_date()
        if self.ibis.is_integer():
            return found.is_integer()
        return found.is_floating() or found.is_integer()


#: each contract column type, declared once
TYPES: dict[str, Type] = {
    "insz": Type("string", "string", "text: Arrow string, Parquet STRING"),
    "code": Type("string", "string", "text: Arrow string, Parquet STRING"),
    "string": Type("string", "string", "text: Arrow string, Parquet STRING"),
    "date": Type("date32", "date", "a date: Arrow date32, Parquet DATE"),
    "int": Type("int64", "int64", "an integer: Arrow int8..int64 or uint8..uint64"),
    "float": Type("float64", "float64", "a number: Arrow float32, float64 or an integer"),
}

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

    @property
    def types(self) -> Type:
        """The column's Arrow and Ibis types."""
        return TYPES[self.type]


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
    #: how the table is read on a day (:mod:`sluis.sources.time`)
    time: Time = field(kw_only=True)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def quarter_end(self) -> str | None:
        """The date column that must be the last day of a quarter (the DWH reference day,
        G6): a quarterly table's day."""
        return self.time.day if isinstance(self.time, Quarterly) else None

    @property
    def arrow_schema(self) -> pa.Schema:
        """The table's Arrow schema: its columns in contract order, of their Arrow types."""
        import pyarrow as pa

        return pa.schema([pa.field(c.name, c.types.arrow) for c in self.columns])

    @property
    def ibis_schema(self) -> sch.Schema:
        """The table's Ibis schema: its columns in contract order, of their Ibis types."""
        import ibis

        return ibis.schema({c.name: c.types.ibis for c in self.columns})


def flag(name: str, description: str, serves: tuple[str, ...], nullable: bool = False) -> Column:
    """A 0/1 indicator column."""
    return Column(name, "code", description, nullable, "flag", serves=serves)


def amount(name: str, description: str, serves: tuple[str, ...], nullable: bool = True) -> Column:
    """An amount in whole euros."""
    return Column(name, "int", description, nullable, serves=serves, unit="EUR")
