"""S3: national numbers (INSZ/NISS) have valid check digits; the SQL predicate used by
``sluis sources check`` (X2) agrees with the Python rule."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluis.domain.insz import (
    century_of,
    check_digits,
    insz_valid_sql,
    is_bis,
    is_valid_insz,
    make_insz,
    make_insz_array,
    sex_of,
)

# REFERENCE.md §2: number, birth date, counter, BIS, century, sex
VECTORS = [
    ("85073003328", dt.date(1985, 7, 30), 33, False, 1900, 1),
    ("17073003384", dt.date(2017, 7, 30), 33, False, 2000, 1),
    ("98472899765", dt.date(1998, 7, 28), 997, True, 1900, 1),
    ("01490700185", dt.date(2001, 9, 7), 1, True, 2000, 1),
    ("01031500108", dt.date(2001, 3, 15), 1, False, 2000, 1),
    ("85073003427", dt.date(1985, 7, 30), 34, False, 1900, 2),
]

births = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
counters = st.integers(min_value=1, max_value=998)
eleven_digits = st.text(alphabet="0123456789", min_size=11, max_size=11)


@pytest.mark.parametrize(("number", "birth", "counter", "bis", "century", "sex"), VECTORS)
def test_s3_reference_vectors(
    number: str, birth: dt.date, counter: int, bis: bool, century: int, sex: int
) -> None:
    assert is_valid_insz(number)
    assert make_insz(birth, counter, bis=bis) == number
    assert century_of(number) == century
    assert sex_of(number) == sex
    assert is_bis(number) == bis


def test_s3_insz_check_digits_both_centuries() -> None:
    # the same nine digits need a different check number before and from 2000
    assert check_digits("850730033", False) == 28
    assert check_digits("170730033", True) == 84
    assert make_insz(dt.date(1917, 7, 30), 33) != make_insz(dt.date(2017, 7, 30), 33)
    assert century_of(make_insz(dt.date(1917, 7, 30), 33)) == 1900
    assert century_of(make_insz(dt.date(2017, 7, 30), 33)) == 2000


@pytest.mark.parametrize(
    "value",
    ["85073003329", "8507300332", "850730033280", "8507300332a", "", "85.07.30-033.28"],
)
def test_s3_invalid_numbers_are_rejected(value: str) -> None:
    assert not is_valid_insz(value)


def test_s3_only_ascii_digits_count() -> None:
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in "85073003328")
    assert not is_valid_insz(arabic_indic)
    assert not is_valid_insz("²" * 11)


def test_s3_century_of_refuses_an_invalid_number() -> None:
    with pytest.raises(ValueError):
        century_of("85073003329")


@pytest.mark.parametrize("counter", [0, 999])
def test_s3_make_insz_refuses_counters_out_of_range(counter: int) -> None:
    with pytest.raises(ValueError):
        make_insz(dt.date(1985, 7, 30), counter)


@given(birth=births, counter=counters, bis=st.booleans(), sex_known=st.booleans())
def test_s3_make_insz_round_trip(birth: dt.date, counter: int, bis: bool, sex_known: bool) -> None:
    number = make_insz(birth, counter, bis=bis, sex_known=sex_known)
    assert len(number) == 11
    assert is_valid_insz(number)
    assert century_of(number) == (2000 if birth.year >= 2000 else 1900)
    assert sex_of(number) == (1 if counter % 2 else 2)
    assert is_bis(number) == bis


@given(st.lists(st.tuples(births, counters, st.booleans()), min_size=1, max_size=50))
def test_s3_make_insz_array_agrees_with_make_insz(rows: list[tuple[dt.date, int, bool]]) -> None:
    year = np.array([b.year for b, _, _ in rows])
    month = np.array([b.month for b, _, _ in rows])
    day = np.array([b.day for b, _, _ in rows])
    counter = np.array([c for _, c, _ in rows])
    bis = np.array([x for _, _, x in rows])
    numbers = make_insz_array(year, month, day, counter, bis)
    assert list(numbers) == [make_insz(b, c, bis=x) for b, c, x in rows]


_con = duckdb.connect()


def _sql_valid(values: list[str]) -> list[bool | None]:
    rows = _con.execute(
        f"SELECT {insz_valid_sql('v')} FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(v, i) "
        "ORDER BY i",
        [values],
    ).fetchall()
    return [r[0] for r in rows]


@given(st.lists(eleven_digits, min_size=1, max_size=50))
def test_s3_sql_predicate_agrees_on_any_eleven_digits(values: list[str]) -> None:
    assert _sql_valid(values) == [is_valid_insz(v) for v in values]


@given(st.lists(st.text(max_size=13), min_size=1, max_size=50))
def test_s3_sql_predicate_agrees_on_any_text(values: list[str]) -> None:
    assert _sql_valid(values) == [is_valid_insz(v) for v in values]


@given(st.lists(st.tuples(births, counters, st.booleans()), min_size=1, max_size=50))
def test_s3_sql_predicate_accepts_generated_numbers(rows: list[tuple[dt.date, int, bool]]) -> None:
    values = [make_insz(b, c, bis=x) for b, c, x in rows]
    assert _sql_valid(values) == [True] * len(values)


def test_s3_sql_predicate_is_null_on_null() -> None:
    assert _con.execute(f"SELECT {insz_valid_sql('NULL::VARCHAR')}").fetchone() == (None,)
