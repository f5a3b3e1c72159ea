"""The generator writes each table in the schema the contract declares (S1, G2)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from sluis.sources.contract import table
from sluis.synth.run import conform


def _person() -> pa.Table:
    schema = table("person").arrow_schema
    return pa.table({f.name: pa.array([None], f.type) for f in schema})


def test_s1_conform_keeps_accepted_storage_and_casts_the_rest() -> None:
    t = _person()
    sex = pa.DictionaryArray.from_arrays(pa.array([0], pa.int8()), pa.array(["1", "2"]))
    t = t.set_column(t.schema.get_field_index("sex"), "sex", sex)
    stamp = pa.array([dt.datetime(1990, 5, 1)], pa.timestamp("s"))
    t = t.set_column(t.schema.get_field_index("birth_date"), "birth_date", stamp)
    # written in another order: the contract's order comes back
    t = t.select(list(reversed(t.column_names)))
    out = conform(t, "person")
    assert out.column_names == table("person").arrow_schema.names
    assert out.schema.field("sex").type == sex.type  # dictionary-encoded text stays so
    assert out.schema.field("birth_date").type == pa.date32()
    assert out.column("birth_date").to_pylist() == [dt.date(1990, 5, 1)]
    census = table("census").arrow_schema
    narrow = pa.table(
        {f.name: pa.array([1], pa.int16()) if f.name == "census_year" else pa.array([None], f.type)
         for f in census}
    )  # fmt: skip
    assert conform(narrow, "census").schema.field("census_year").type == pa.int16()


def test_s1_conform_refuses_a_missing_or_extra_column() -> None:
    t = _person()
    with pytest.raises(ValueError, match="synthetic person has columns"):
        conform(t.drop_columns(["sex"]), "person")
    with pytest.raises(ValueError, match="synthetic person has columns"):
        conform(t.append_column("extra", pa.array([1])), "person")
