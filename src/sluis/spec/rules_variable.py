"""The variable rules of a spec (G1, G3, G4): every delivered variable covers an item of
its decision's requirements, reads columns of the source contract that a provider holds,
and is coarsened by a rule that fits its source column and stays within the decision's
limits (:meth:`sluis.coarsen.rule.Rule.limit_problems`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluis.coarsen.rule import Limits
from sluis.extract.derivations.requirements import ITEMS as DERIVATIONS
from sluis.sources.contract import CONTRACT, Column
from sluis.spec.checker import FLOORS, Checker
from sluis.spec.derive import check_derivation
from sluis.spec.load import Path_
from sluis.spec.model import Spec, Variable

_TABLES = {t.name: t for t in CONTRACT}
#: the structural variables every panel needs besides the requirements' own (G6, G7, B2)
STRUCTURAL = frozenset(
    {
        "G6: quarter",
        "G6: year",
        "G7: member left the household",
        "B2: cohort",
    }
)
_ITEMS = {f"{d.requirement}: {d.variable}" for d in DERIVATIONS} | STRUCTURAL
#: what the selection stage sets (A2, B2): a sample flag or a cohort, derived from who the
#: person is and never the person's number itself
SELECTION_ITEMS = frozenset(
    {
        f"{d.requirement}: {d.variable}"
        for d in DERIVATIONS
        if d.rule.startswith("set by the selection")
    }
    | {"B2: cohort"}
)
#: the items whose value is a person's or household's identity: they leave as pseudonyms
IDENTIFIER_ITEMS = frozenset(
    f"{d.requirement}: {d.variable}" for d in DERIVATIONS if d.variable.endswith("sequence number")
)
#: a source column holding a name (given names, surname): none in today's contract, but a
#: register that adds one may not deliver it
_NAME_COLUMN = re.compile(r"(^|_)(name|names|surname|surnames)$")


def variables(spec: Spec) -> Iterator[tuple[Path_, Variable, str | None]]:
    """Every variable of the spec with its path and its dataset's paragraph."""
    for name, dataset in spec.datasets.items():
        for i, variable in enumerate(dataset.variables):
            yield ("datasets", name, "variables", i), variable, dataset.paragraph


def check_duplicates(c: Checker, spec: Spec) -> None:
    """No two variables of one dataset share a name."""
    for name, dataset in spec.datasets.items():
        seen: set[str] = set()
        for i, variable in enumerate(dataset.variables):
            if variable.name in seen:
                c.add(
                    ("datasets", name, "variables", i, "name"),
                    "duplicate-variable",
                    f"{name} has two variables named {variable.name!r}",
                )
            seen.add(variable.name)


def check_variable(
    c: Checker, path: Path_, v: Variable, dataset_paragraph: str | None, held: set[str] | None
) -> None:
    """Every rule on one variable; ``held`` are the tables the spec's providers hold (None:
    not known, the spec as a whole did not load)."""
    for i, item in enumerate(v.covers):
        if item not in _ITEMS:
            c.add(
                (*path, "covers", i),
                "unknown-item",
                f"{item!r} is not a variable of the requirement (see docs/source-contract.md)",
            )
        elif (
            c.decision is not None
            and item[0] != "G"
            and item[0] != _REQUIREMENT_LETTER[c.decision.id]
        ):
            c.add(
                (*path, "covers", i),
                "unknown-item",
                f"{item!r} belongs to the other authorisation, not {c.decision.id}",
            )
    if v.paragraph is None and dataset_paragraph is None:
        c.add(
            path,
            "no-paragraph",
            f"{v.name}: give the paragraph of the decision this variable comes from",
        )
    columns: list[Column | None] = []
    for i, ref in enumerate(v.source):
        columns.append(_source_column(c, (*path, "source", i), ref, held))
    check_derivation(v, path, c.add)
    value = columns[0] if columns else None
    _coarsening(c, (*path, "coarsen"), v, value)
    if v.computed is not None:
        _computed_value(c, (*path, "coarsen"), v, columns)
    if any(item in IDENTIFIER_ITEMS for item in v.covers) and not v.coarsen.pseudonymises:
        c.add(
            (*path, "coarsen"),
            "identifier-in-delivery",
            f"{v.name}: a sequence number stands for a person or household and leaves only as "
            "a pseudonym (kind: pseudonym), whatever computes it",
        )


def identifying(col: Column | None) -> str | None:
    """What identifies a person in a source column: ``"national number"`` (INSZ),
    ``"name"``, or ``None``. A household id identifies a household and is handled apart:
    household types, sizes and leaver flags are computed from it."""
    if col is None:
        return None
    if col.type == "insz":
        return "national number"
    if col.type == "string" and _NAME_COLUMN.search(col.name):
        return "name"
    return None


def _computed_value(c: Checker, path: Path_, v: Variable, columns: list[Column | None]) -> None:
    """A computed value kept as computed (``keep``) may not be a national number, a name or
    an exact date, whatever stage computes it (G3, G4). The selection stage's own values
    (sample flags, cohorts) are computed from the person's number but are not the number;
    a code computed from dates (an exemption in a quarter, a leaver flag) names its code
    column first, so the first source being a date means the value is that date."""
    if not v.coarsen.keeps_value:
        return
    selection = v.computed == "selection" and all(item in SELECTION_ITEMS for item in v.covers)
    for ref, col in zip(v.source, columns, strict=True):
        what = identifying(col)
        if what == "name" or (what is not None and not selection):
            why = (
                "the selection stage sets only sample flags and cohorts"
                if v.computed == "selection"
                else f"a value computed from it and kept as it is can be the {what} itself"
            )
            c.add(
                path,
                "identifier-in-delivery",
                f"{v.name}: {ref} is a {what}; {why} (give a pseudonym, or a rule that "
                "classes the value)",
            )
            return
    value = columns[0] if columns else None
    if value is not None and value.type == "date":
        c.add(
            path,
            "date-precision",
            f"{v.name}: {v.source[0]} is an exact date, kept as it is; give kind: date with a "
            "precision",
        )


_REQUIREMENT_LETTER = {"25/074": "A", "26/050": "B"}


def _source_column(c: Checker, path: Path_, ref: str, held: set[str] | None) -> Column | None:
    table_name, dot, column_name = ref.partition(".")
    table = _TABLES.get(table_name)
    if not dot or table is None:
        c.add(
            path,
            "unknown-source",
            f"no table {table_name!r} in the source contract (write table.column)",
        )
        return None
    if column_name not in {col.name for col in table.columns}:
        c.add(path, "unknown-source", f"table {table_name} has no column {column_name!r}")
        return None
    if held is not None and table_name not in held:
        c.add(
            path,
            "source-not-held",
            f"no provider party of the spec lists table {table_name} under tables",
        )
    return table.column(column_name)


def _coarsening(c: Checker, path: Path_, v: Variable, col: Column | None) -> None:
    """The rule within the decision's limits (or the project's, without a known decision),
    then fitting its source column."""
    d = c.decision
    month_allowed = any("(y+m)" in item for item in v.covers)
    limits = Limits(
        finest_date="year_month" if month_allowed else (d.date_precision if d else "year_quarter"),
        max_country_classes=d.max_country_classes if d else 15,
        min_amount_width=d.min_amount_width if d else 150,
        min_age_width=FLOORS["age_class_width"],
    )
    for problem in v.coarsen.limit_problems(limits):
        c.add((*path, *problem.field), problem.rule, f"{v.name}: {problem.message}")
    if col is not None and v.computed is None:
        _fits_source(c, path, v, col)


#: what a source column can hold that only one rule kind reads (:attr:`Rule.reads`): that
#: kind's name, and the spec-check rule a ``keep`` of such a column breaks
_NEEDS = {
    "country": ("country", "country-classes"),
    "municipality": ("place", "municipality-in-delivery"),
    "EUR": ("amount", "amount-class-width"),
}


def _fits_source(c: Checker, path: Path_, v: Variable, col: Column) -> None:
    """The value column's type asks for a rule: dates, countries, places, amounts and
    national numbers may not leave as the source has them."""
    rule = v.coarsen
    if identifying(col) == "name":
        c.add(path, "identifier-in-delivery", f"{v.name}: {col.name} is a name; it never leaves")
        return
    if col.type == "insz" or (col.name == "household_id"):
        if not rule.pseudonymises:
            c.add(
                path,
                "identifier-in-delivery",
                f"{v.name}: {col.name} leaves only as a pseudonym (kind: pseudonym)",
            )
        return
    if rule.pseudonymises:
        c.add(
            path,
            "coarsen-mismatch",
            f"{v.name}: only a national number or household id becomes a pseudonym, not {col.name}",
        )
        return
    if col.type == "date":
        if rule.keeps_value:
            c.add(
                path,
                "date-precision",
                f"{v.name}: {col.name} is an exact date; give kind: date with a precision",
            )
        elif rule.reads != "date":
            c.add(path, "coarsen-mismatch", f"{v.name}: {col.name} is a date; use kind: date")
        return
    if rule.reads == "date":
        c.add(path, "coarsen-mismatch", f"{v.name}: {col.name} is not a date")
        return
    holds = {
        "country": col.codelist == "country",
        "municipality": col.codelist == "municipality",
        "EUR": col.unit == "EUR",
    }
    for what, (needed, rule_id) in _NEEDS.items():
        if holds[what] and rule.reads != what:
            c.add(
                path,
                rule_id if rule.keeps_value else "coarsen-mismatch",
                f"{v.name}: {col.name} needs kind: {needed}",
            )
            return
        if not holds[what] and rule.reads == what:
            c.add(path, "coarsen-mismatch", f"{v.name}: kind {needed} does not fit {col.name}")
            return
    nace = col.codelist is not None and col.codelist.startswith("nace")
    if nace and not (rule.keeps_value or rule.reads == "nace"):
        c.add(path, "coarsen-mismatch", f"{v.name}: {col.name} is a NACE code")
