"""The refusal check after coarsening (G4, G1): nothing finer than the spec, nothing
outside its window leaves.

:func:`check_coarsened` runs just before a coarsened table is handed on. It first applies
data minimisation (no column the spec does not name), then counts in the engine, in one
scan, the values of every column that are finer than its rule, and refuses the table with
one :class:`CoarseningError` listing every offending column with its rule, the number of
offending rows and one example value. A date after the spec's window, or a period outside
it, is refused the same way (``outside-window``, :mod:`sluis.coarsen.window`). Values of
pseudonym columns and values that look like a national number are never shown.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

from sluis.coarsen.errors import CoarseningError, Offence
from sluis.coarsen.rule import Rule
from sluis.coarsen.window import outside
from sluis.domain.insz import is_valid_insz
from sluis.engine import Engine
from sluis.spec import require_named
from sluis.spec.model import Spec


def check_coarsened(engine: Engine, table: ir.Table, spec: Spec, dataset: str, party: str) -> None:
    """Refuse ``table`` unless it carries only columns ``spec`` names for ``dataset`` and
    every value is as coarse as its rule (see ``docs/coarsening.md``, "The check").

    Raises :class:`sluis.spec.MinimisationError` for unnamed columns, then
    :class:`CoarseningError` listing every column with values finer than its rule.
    """
    require_named(spec, dataset, table.columns, party=party)
    rules = {v.name: v.coarsen for v in spec.datasets[dataset].variables}
    tests = {c: t for c in table.columns if (t := finer(rules[c], table[c])) is not None}
    period = spec.period(dataset)
    late = {
        c: t
        for c in table.columns
        if (t := outside(rules[c], table[c], spec, period=c == period)) is not None
    }
    if not tests and not late:
        return
    checks = [*tests.values(), *late.values()]
    counts = engine.to_arrow(
        table.aggregate(**{f"n{i}": t.fill_null(False).sum() for i, t in enumerate(checks)})
    ).to_pylist()[0]
    rows = [int(counts[f"n{i}"] or 0) for i in range(len(checks))]
    beyond = _offences(engine, table, late, rows[len(tests) :], lambda _: "window")
    if beyond:
        lines = "; ".join(f"{o.column}: {o.rows} row(s), e.g. {o.example}" for o in beyond)
        raise CoarseningError(
            f"{party} may not send dataset {dataset!r}: {len(beyond)} column(s) hold dates "
            f"outside the window {spec.window.first()}-{spec.window.end} of spec "
            f"{spec.decision.id}: {lines}",
            rule="outside-window",
            column=beyond[0].column,
            hint="a date after the window is delivered empty; a period must lie in the window",
            offences=tuple(beyond),
        )
    pseudonyms = frozenset(c for c in tests if rules[c].pseudonymises)
    offences = _offences(
        engine, table, tests, rows[: len(tests)], lambda c: rules[c].text(), pseudonyms
    )
    if offences:
        lines = "; ".join(
            f"{o.column} ({o.rule}): {o.rows} row(s), e.g. {o.example}" for o in offences
        )
        raise CoarseningError(
            f"{party} may not send dataset {dataset!r}: {len(offences)} column(s) finer than "
            f"spec {spec.decision.id} allows: {lines}",
            rule="finer-than-rule",
            column=offences[0].column,
            hint="coarsen the dataset with sluis.coarsen.coarsen_dataset before it leaves (G4)",
            offences=tuple(offences),
        )


def _offences(
    engine: Engine,
    table: ir.Table,
    tests: dict[str, ir.BooleanValue],
    rows: list[int],
    rule: Callable[[str], str],
    hidden: frozenset[str] = frozenset(),
) -> list[Offence]:
    """One :class:`Offence` per column of ``tests`` with offending rows, with one example
    (never the value of a pseudonym column)."""
    offences = []
    for (col, test), n in zip(tests.items(), rows, strict=True):
        if n == 0:
            continue
        if col in hidden:
            example = "(not shown: pseudonym column)"
        else:
            value = engine.to_arrow(table.filter(test.fill_null(False)).select(col).limit(1))
            example = _shown(value[0][0].as_py())
        offences.append(Offence(col, rule(col), n, example))
    return offences


def _shown(value: object) -> str:
    text = str(value)
    if is_valid_insz(text.replace(".", "").replace("-", "")):
        return "(not shown: looks like a national number)"
    return repr(value) if isinstance(value, str) else text


def finer(rule: Rule, x: ir.Value) -> ir.BooleanValue | None:
    """True for the rows whose value of ``x`` is finer than ``rule`` allows (null: never);
    None when no value of the column can be. An exact date (or time) is never delivered,
    whatever the rule; everything else is the rule's own test
    (:meth:`sluis.coarsen.rule.Rule.finer`)."""
    t = x.type()
    if t.is_date() or t.is_timestamp() or t.is_time():
        return x.notnull()
    return rule.finer(x)
