"""Choosing the treatment of a dataset (G5): how far to suppress, which recode steps to keep.

The treat step (:mod:`sluis.scra.treatment`) runs and writes; this module decides.
:func:`suppress_until_safe` finds the smallest k at
which local suppression brings the global risk under the spec's maximum, and
:func:`global_recoding` keeps the spec's recode steps that lower the values suppression
then has to take.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra.frequencies import KeyCodes, encode_keys, frequencies
from sluis.scra.measure import risk_measures, subset_keys
from sluis.scra.result import RecodeKeySet, Recoding
from sluis.scra.strict import counted_units, strict_global_risk
from sluis.scra.suppress import (
    Suppression,
    importance_order,
    local_suppression,
    treated_frequencies,
)

if TYPE_CHECKING:  # a spec run's: the file run does not load the spec language (pydantic, Ibis)
    from sluis.spec.model import Coarsen, RecodeStep, Spec


def _key_set_figures(
    encoded: KeyCodes, analysed: Sequence[Sequence[str]], weights: np.ndarray | None, k: int
) -> list[tuple[int, int, float]]:
    """(cells, records with fk < k, global risk) of every key set, cells within the period."""
    figures = []
    for keys_used in analysed:
        freq = frequencies(subset_keys(encoded, keys_used), weights)
        measures, _ = risk_measures(freq.fk, freq.Fk, freq.n_cells, k, None)
        figures.append((freq.n_cells, measures.records_below["k"], measures.global_risk))
    return figures


def _categories(values: pa.ChunkedArray | pa.Array) -> int:
    return len(pc.unique(values).drop_null())


def suppress_until_safe(
    encoded: KeyCodes,
    analysed: Sequence[Sequence[str]],
    k: int,
    *,
    max_global_risk: float | None,
    max_k: int,
    semantics: str,
    period: str | None,
    weights: np.ndarray | None,
    households: np.ndarray | None,
    pinned: Sequence[str] = (),
) -> tuple[Suppression, int]:
    """Local suppression to ``k``; when a key set's global risk is then above the spec's
    maximum, to the smallest larger k (at most ``max_k``) that brings it down. Returns the
    suppression and the k used."""

    def attempt(k_try: int) -> tuple[Suppression, bool]:
        sup = local_suppression(
            encoded,
            max(k_try, 1),
            semantics=semantics,
            fixed=([period] if period else []) + list(pinned),
        )
        if max_global_risk is None:
            return sup, True
        worst = 0.0
        for keys_used in analysed:
            keys = subset_keys(encoded, keys_used)
            idx = [encoded.names.index(key) for key in keys_used]
            fk_a, Fk_a, shown = treated_frequencies(
                keys, sup.suppressed[:, idx], semantics, weights
            )
            worst = max(worst, risk_measures(fk_a, Fk_a, shown, k, households)[0].global_risk)
        return sup, worst <= max_global_risk

    # the global risk falls as k rises: the smallest k that holds, by bisection
    sup, ok = attempt(k)
    if ok or k >= max_k:
        return sup, k
    best, best_k = attempt(max_k)[0], max_k
    low, high = k, max_k  # fails at low, holds (or is the last resort) at high
    while high - low > 1:
        mid = (low + high) // 2
        trial, ok = attempt(mid)
        if ok:
            best, best_k, high = trial, mid, mid
        else:
            low = mid
    return best, best_k


def suppressions_needed(
    safe: Callable[..., tuple[Suppression, int]], k: int, codes: KeyCodes, counts: None = None
) -> int:
    """The values :func:`suppress_until_safe` takes from the records ``codes``."""
    return safe(codes, k=k)[0].total


def suppressions_on_cells(
    codes: KeyCodes,
    counts: np.ndarray,
    k: int,
    *,
    analysed: Sequence[Sequence[str]],
    max_global_risk: float | None,
    max_k: int,
    fixed: Sequence[str],
) -> int:
    """:func:`suppressions_needed` under strict semantics without weights, counted on the
    distinct key cells ``codes`` standing for ``counts`` records each: the same k, the same
    values (each record's suppressed keys are a prefix of the order, so its level counts
    them), in the time of the cells. What :func:`global_recoding` evaluates per candidate."""
    fixed = list(dict.fromkeys(fixed))
    records = int(counts.sum())
    order = importance_order(codes, fixed)
    pos = [codes.names.index(name) for name in order]
    fpos = [codes.names.index(name) for name in fixed]
    cards = list(codes.cardinalities)
    used = [[codes.names.index(key) for key in keys] for keys in analysed]

    def attempt(k_try: int) -> tuple[int, bool]:
        if not fixed and 0 < records < k_try:  # as local_suppression on the records
            raise SluisError(
                f"{records} records cannot reach k={k_try}: even suppressing every key "
                "leaves fewer than k",
                rule="scra-k-unreachable",
            )
        units, cell_codes = counted_units(
            list(codes.codes), cards, counts, pos, fpos, max(k_try, 1)
        )
        total = int(np.sum(units.level * units.count))
        if max_global_risk is None:
            return total, True
        worst = max(
            (strict_global_risk(units, cell_codes, cards, pos, idx) for idx in used), default=0.0
        )
        return total, worst <= max_global_risk

    total, ok = attempt(k)  # the bisection of suppress_until_safe
    if ok or k >= max_k:
        return total
    best = attempt(max_k)[0]
    low, high = k, max_k
    while high - low > 1:
        mid = (low + high) // 2
        trial, ok = attempt(mid)
        if ok:
            best, high = trial, mid
        else:
            low = mid
    return best


def _recode_steps(
    table: pa.Table,
    steps: Sequence[RecodeStep],
    rules: dict[str, Coarsen],
    years: np.ndarray | None,
) -> tuple[pa.Table, list[tuple[RecodeStep, Coarsen]]]:
    """``table`` with ``steps`` applied in order, and the rule each step started from."""
    from sluis.scra.recode import recode_column

    rules = dict(rules)
    applied = []
    for step in steps:
        current = rules[step.variable]
        recoded = recode_column(table.column(step.variable), step.variable, current, step.to, years)
        table = table.set_column(
            table.schema.get_field_index(step.variable), step.variable, recoded
        )
        applied.append((step, current))
        rules[step.variable] = step.to
    return table, applied


def distinct_cells(table: pa.Table, columns: Sequence[str]) -> tuple[pa.Table, np.ndarray]:
    """The distinct rows of ``table``'s ``columns`` and the records of each: what a
    recoding and its suppressions are counted on (recoding maps values, never rows)."""
    grouped = table.select(list(columns)).group_by(list(columns)).aggregate([([], "count_all")])
    counts = grouped.column("count_all").to_numpy().astype(np.int64)
    return grouped.drop_columns(["count_all"]), counts


def global_recoding(
    spec: Spec,
    name: str,
    table: pa.Table,
    encoded: KeyCodes,
    analysed: Sequence[Sequence[str]],
    period: str | None,
    cost: Callable[[KeyCodes, np.ndarray | None], int],
    *,
    weights: np.ndarray | None = None,
    k: int,
    on_cells: bool = False,
) -> tuple[pa.Table, KeyCodes, list[tuple[RecodeStep, Coarsen]], list[Recoding], list[str]]:
    """Choose the spec's recode steps of dataset ``name`` that lower ``cost`` (the values
    local suppression must take to make the thresholds hold), so that recoding along the
    spec's hierarchies comes before suppression and a variable is never made coarser for
    nothing (G5).

    The steps are tried in the spec's order, cumulatively (a step may help only together
    with a later one: birth year and registration year); the shortest prefix with the
    fewest suppressions is taken, then each of its steps is dropped again when the others
    do as well without it. Nothing is recoded when the thresholds hold without suppression
    or no prefix lowers the suppressions. ``on_cells``: each candidate is recoded and
    costed on the distinct key cells with their record counts (``cost(codes, counts)``),
    else on the records (``cost(codes, None)``). Returns the recoded table and key codes,
    the steps kept with the rule each started from, their records and why the other steps
    were not kept."""
    from sluis.scra.implied import pinned_keys
    from sluis.scra.recode import period_years, rule_text

    sc = spec.scra
    pinned = pinned_keys(spec, name)
    steps = [step for step in sc.recode if step.dataset == name and step.variable not in pinned]
    rules = {v.name: v.coarsen for v in spec.datasets[name].variables}
    names = list(encoded.names)
    if on_cells:
        candidates, counts = distinct_cells(
            table, list(dict.fromkeys(names + ([period] if period else [])))
        )
    else:
        candidates, counts = table, None
    years = period_years(candidates.column(period)) if period else None

    costs: dict[tuple[int, ...], int] = {}

    def cost_of(chosen: Sequence[RecodeStep]) -> int:
        key = tuple(id(step) for step in chosen)
        if key not in costs:
            recoded = _recode_steps(candidates, chosen, rules, years)[0]
            costs[key] = cost(encode_keys(recoded, names), counts)
        return costs[key]

    base = cost_of([])
    if base == 0:
        return (
            table,
            encoded,
            [],
            [],
            [
                f"{s.variable} to {rule_text(s.to)}: not needed, the thresholds hold without "
                "suppression"
                for s in steps
            ],
        )
    best, best_cost = 0, base
    for i in range(1, len(steps) + 1):
        c = cost_of(steps[:i])
        if c < best_cost:
            best, best_cost = i, c
        if c == 0:
            break
    chosen = list(steps[:best])
    for step in list(chosen):
        trial = [s for s in chosen if s is not step]
        if cost_of(trial) <= best_cost:
            chosen = trial
    skipped = [
        f"{s.variable} to {rule_text(s.to)}: "
        + (
            "not needed, the steps before it leave nothing to suppress"
            if best_cost == 0 and i >= best
            else "not kept, it does not lower the suppressions "
            f"({base:,} without recoding, {best_cost:,} with the steps kept)"
        )
        for i, s in enumerate(steps)
        if all(s is not c for c in chosen)
    ]
    figures = _key_set_figures(encoded, analysed, weights, k)
    records: list[Recoding] = []
    key_set_names = [ks.name for ks in sc.key_sets if ks.dataset == name]
    suppressions = base
    years = period_years(table.column(period)) if period and chosen else None
    after_table, after_codes, applied = table, encoded, []
    for i, step in enumerate(chosen):  # one step at a time on the records
        before_table = after_table
        after_table, done = _recode_steps(before_table, [step], rules, years)
        rules = {**rules, step.variable: step.to}
        applied += done
        after_codes = encode_keys(after_table, names)
        after = _key_set_figures(after_codes, analysed, weights, k)
        after_cost = cost_of(chosen[: i + 1])
        records.append(
            Recoding(
                dataset=name,
                variable=step.variable,
                from_rule=rule_text(applied[-1][1]),
                to_rule=rule_text(step.to),
                to=step.to.model_dump(mode="json", exclude_none=True),
                categories_before=_categories(before_table.column(step.variable)),
                categories_after=_categories(after_table.column(step.variable)),
                key_sets=[
                    RecodeKeySet(ks, a[0], b[0], a[1], b[1], a[2], b[2])
                    for ks, a, b in zip(key_set_names, figures, after, strict=True)
                ],
                suppressions_before=suppressions,
                suppressions_after=after_cost,
            )
        )
        figures, suppressions = after, after_cost
    return after_table, after_codes, applied, records, skipped
