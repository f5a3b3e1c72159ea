"""The row rules of the source check (G2, X2), as SQL that DuckDB runs in one scan.

Each rule on each column is one boolean predicate, true (never NULL) on a failing row, with
the value a finding shows (masked inside the engine for an identifier column) and its
message; :mod:`sluis.sources.check` runs them and quarantines the rows that fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sluis.domain.codelists import VINTAGE_2019, codelists, municipalities
from sluis.domain.insz import insz_valid_sql
from sluis.sources.contract import DATE_MAX, DATE_MIN, Column, Table
from sluis.sources.masking import MASK, is_identifier

#: the helper column holding how often a row's key occurs (prefixed: never a real column)
DUP = "__sluis_dup_n"


@dataclass(frozen=True)
class Check:
    """One row rule on one column, as SQL: a predicate that is true (never NULL) on failure."""

    rule: str
    column: str
    fails: str
    value: str
    message: str


def row_checks(table: Table, usable: dict[str, str]) -> list[Check]:
    """Every row rule of ``table`` on the usable columns, in column order."""
    checks: list[Check] = []
    for col in table.columns:
        if col.name not in usable:
            continue
        q = ident(col.name)
        text = col.types.ibis.is_string()
        empty = f"({q} IS NULL OR trim({q}) = '')" if text else f"({q} IS NULL)"
        present = f"{q} IS NOT NULL"
        if not col.nullable:
            checks.append(
                Check(
                    "null",
                    col.name,
                    empty,
                    shown(col),
                    "'empty value in a column that may not be empty'",
                )
            )
            present = f"NOT {empty}"
        for rule, fails, message in _value_rules(col, usable):
            checks.append(Check(rule, col.name, f"({present} AND {fails})", shown(col), message))
    for start, end in table.periods:
        if start in usable and end in usable:
            s, e = ident(start), ident(end)
            checks.append(
                Check(
                    "period-order",
                    end,
                    f"coalesce({e} < {s}, false)",
                    sql_str(e),
                    f"'{end} precedes {start} (' || CAST({s} AS VARCHAR) || ')'",
                )
            )
    if table.quarter_end and table.quarter_end in usable:
        q = ident(table.quarter_end)
        checks.append(
            Check(
                "quarter-end",
                table.quarter_end,
                f"coalesce({q} <> last_day({q}) OR month({q}) % 3 <> 0, false)",
                sql_str(q),
                "'not the last day of a quarter'",
            )
        )
    if table.insz_sex and all(c in usable for c in table.insz_sex):
        checks.append(_insz_sex_check(*table.insz_sex))
    if table.key and all(k in usable for k in table.key):
        keys = ", ".join(table.key)
        checks.append(
            Check(
                "duplicate-key",
                ",".join(table.key),
                f"({DUP} IS NOT NULL)",
                f"concat_ws(', ', {', '.join(shown(table.column(k)) for k in table.key)})",
                f"'key ({keys}) occurs ' || CAST({DUP} AS VARCHAR) || ' times'",
            )
        )
    return checks


def _insz_sex_check(insz: str, sex: str) -> Check:
    """Sex against the counter parity, where the INSZ tells it: national register numbers
    (month 0-12) and BIS numbers assigned with a known sex (month + 40)."""
    i, x = ident(insz), ident(sex)
    month = f"TRY_CAST(substr({i}, 3, 2) AS INTEGER)"
    counter = f"TRY_CAST(substr({i}, 7, 3) AS INTEGER)"
    fails = (
        f"coalesce({insz_valid_sql(i)} AND ({month} < 20 OR {month} >= 40) AND {x} IN ('1', '2') "
        f"AND ({counter} % 2 = 1) <> ({x} = '1'), false)"
    )
    # the message names the rule, never the number (issue 23: no INSZ on a screen)
    message = (
        "'sex ' || " + sql_str(x) + f" || ' does not match the parity of the day counter of {insz} "
        "(odd for men, even for women)'"
    )
    return Check("insz-sex", sex, fails, sql_str(x), message)


def _value_rules(col: Column, usable: dict[str, str]) -> Iterable[tuple[str, str, str]]:
    """(rule, failure predicate on a present value, message SQL) for one column."""
    q = ident(col.name)
    if col.type == "insz":
        yield (
            "insz-check-digits",
            f"NOT {insz_valid_sql(q)}",
            "'not a valid INSZ (11 digits with a check number for a birth before or from 2000)'",
        )
    if col.type == "date":
        yield (
            "date-range",
            f"({q} < DATE '{DATE_MIN.isoformat()}' OR {q} > DATE '{DATE_MAX.isoformat()}')",
            f"'date outside {DATE_MIN.isoformat()}..{DATE_MAX.isoformat()}'",
        )
    if col.codelist == "municipality":
        yield "code-list", *_municipality_rule(q, col, usable)
    elif col.codelist is not None:
        codes = codelists()[col.codelist].codes
        yield "code-list", f"{q} NOT IN ({_in_list(codes)})", f"'not in code list {col.codelist}'"


def _municipality_rule(q: str, col: Column, usable: dict[str, str]) -> tuple[str, str]:
    """A NIS code must be valid in the vintage of the row's date: 589 list before 2019."""
    before = _in_list(m.nis for m in municipalities() if m.valid_to < VINTAGE_2019)
    after = _in_list(m.nis for m in municipalities() if m.valid_from >= VINTAGE_2019)
    cut = f"DATE '{VINTAGE_2019.isoformat()}'"
    date_col = col.vintage_date
    if date_col is None or date_col not in usable:
        return (
            f"({q} NOT IN ({before}) AND {q} NOT IN ({after}))",
            "'not a NIS code of the 589 or the 581 municipality list'",
        )
    d = ident(date_col)
    fails = (
        f"CASE WHEN {d} IS NULL THEN ({q} NOT IN ({before}) AND {q} NOT IN ({after})) "
        f"WHEN {d} < {cut} THEN {q} NOT IN ({before}) ELSE {q} NOT IN ({after}) END"
    )
    message = (
        f"CASE WHEN {d} IS NULL THEN 'not a NIS code of the 589 or the 581 municipality list' "
        f"WHEN {d} < {cut} THEN 'not a NIS code of the 589 municipalities valid until 2018-12-31 "
        f"({date_col} ' || CAST({d} AS VARCHAR) || ')' "
        f"ELSE 'not a NIS code of the 581 municipalities valid from 2019-01-01 "
        f"({date_col} ' || CAST({d} AS VARCHAR) || ')' END"
    )
    return fails, message


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def shown(col: Column) -> str:
    """A column's value as a finding shows it: masked in the engine for an identifier
    column (:func:`is_identifier`), so the full value never leaves DuckDB."""
    value = sql_str(ident(col.name))
    if is_identifier(col):
        return f"regexp_replace({value}, '[\\pL\\pN]', {lit(MASK)}, 'g')"
    return value


def _in_list(codes: Iterable[str]) -> str:
    return ", ".join(lit(c) for c in sorted(set(codes)))
