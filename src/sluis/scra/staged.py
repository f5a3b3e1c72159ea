"""The spec-driven small-cell risk analysis on a staged extract (G5): what the flow calls.

A *staged extract* is a directory with one ``<dataset>.parquet`` per dataset of the spec,
columns named exactly as the spec's variables, values already coarsened and pseudonymised
(what the 25/074 and 26/050 flows produce before delivery). Person-quarter datasets have
``person_seq`` and ``quarter`` ('YYYYQn'); person-year datasets have ``year``.

:func:`run_spec_scra` reads every dataset the spec's ``scra`` section names and:

- measures every key set on its dataset (fk, Fk, records below k, individual and global
  risk); on a dataset with a period column (``quarter``, ``year``) the cells are taken
  *within* the period, since pooling quarters would count one person once per quarter, and
  records at risk are reported per period;
- adds the household risk over ``scra.household`` (households per period) to the key sets
  on that dataset, the l-diversity of every sensitive variable to the key sets on its
  dataset, and the longitudinal risk of every ``scra.longitudinal`` entry;
- with ``treat``, when a key set of a dataset fails a threshold: applies the spec's
  ``scra.recode`` steps of that dataset in order, one at a time, until the thresholds hold
  (:func:`global_recoding`, :mod:`sluis.scra.recode`); the recoded values are what the
  suppression works on and what the treated files hold (``scra.json`` lists the steps);
- with ``treat``: suppresses locally to k on the union of the key sets of each dataset
  (the period is never suppressed), under ``semantics`` (``strict``: a suppressed value is
  its own category; ``sdcmicro``: a wildcard), writes the treated datasets to
  ``<out>/staged/`` (datasets without key sets are copied unchanged, so ``<out>/staged`` is
  the whole treated extract), one explanation per suppressed value to
  ``<out>/suppressions/<dataset>.parquet``, and measures everything again;
- checks the thresholds after treatment (k on every key set, ``max_global_risk``, the
  longitudinal k, l) and writes ``<out>/scra.json`` and ``<out>/scra.html``.

A treated dataset keeps the input's columns, rows and types; a suppressed value becomes
null (the spec may name a variable ``sdc_suppressed`` on a dataset, which then lists each
record's suppressed keys; otherwise the explanations are the record of what was
suppressed, and no column the spec does not name is added, G1).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from markupsafe import escape

from sluis.atomic import atomic_path, write_text
from sluis.report import render_page, svg
from sluis.scra.frequencies import KeyCodes, cell_ids, encode_keys, frequencies
from sluis.scra.household import household_ids
from sluis.scra.implied import pinned_keys, treat_implied
from sluis.scra.ldiversity import distinct_l_diversity
from sluis.scra.longitudinal import longitudinal_risk
from sluis.scra.rebuild import rebuild_attacks
from sluis.scra.recode import period_years, recode_column, rule_text
from sluis.scra.report import (
    SEMANTICS_TEXT,
    ScraInputError,
    _bar_figure,
    _measures,
    load_table,
)
from sluis.scra.result import (
    DatasetRun,
    LDiversitySummary,
    LongitudinalCheck,
    Measures,
    PeriodRisk,
    RecodeKeySet,
    Recoding,
    SpecKeySet,
    SpecScraResult,
    Threshold,
    Treatment,
)
from sluis.scra.suppress import (
    SUPPRESSED_COLUMN,
    Suppression,
    apply_suppression,
    check_semantics,
    explanations,
    local_suppression,
    treated_frequencies,
    write_explanations,
)
from sluis.spec.model import Coarsen, RecodeStep, Spec

PERSON = "person_seq"
QUARTER = "quarter"
WEIGHT = "weight"


def _subset(encoded: KeyCodes, names: Sequence[str]) -> KeyCodes:
    idx = [encoded.names.index(name) for name in names]
    return KeyCodes(
        tuple(names),
        tuple(encoded.codes[i] for i in idx),
        tuple(encoded.labels[i] for i in idx),
    )


def _shown_cells(keys: KeyCodes, suppressed: np.ndarray) -> tuple[np.ndarray, int]:
    """Cells with a suppressed value shown as one extra code per key (strict cells)."""
    shown = [
        np.where(suppressed[:, j], card, keys.codes[j]) for j, card in enumerate(keys.cardinalities)
    ]
    return cell_ids(shown, [c + 1 for c in keys.cardinalities], keys.n)


def _period_risk(
    period: KeyCodes, fk: np.ndarray, k: int, after: np.ndarray | None
) -> list[PeriodRisk]:
    code, labels = period.codes[0], period.labels[0]
    records = np.bincount(code, minlength=len(labels))
    before = np.bincount(code, weights=fk < k, minlength=len(labels))
    later = None if after is None else np.bincount(code, weights=after < k, minlength=len(labels))
    return [
        PeriodRisk(
            "(missing)" if labels[c] is None else str(labels[c]),
            int(records[c]),
            int(before[c]),
            None if later is None else int(later[c]),
        )
        for c in range(len(labels))
    ]


def _key_set_figures(
    encoded: KeyCodes, analysed: Sequence[Sequence[str]], weights: np.ndarray | None, k: int
) -> list[tuple[int, int, float]]:
    """(cells, records with fk < k, global risk) of every key set, cells within the period."""
    figures = []
    for keys_used in analysed:
        freq = frequencies(_subset(encoded, keys_used), weights)
        measures, _ = _measures(freq.fk, freq.Fk, freq.n_cells, k, None)
        figures.append((freq.n_cells, measures.records_below["k"], measures.global_risk))
    return figures


def _thresholds_hold(figures: list[tuple[int, int, float]], max_risk: float | None) -> bool:
    return all(below == 0 and (max_risk is None or risk <= max_risk) for _, below, risk in figures)


def _categories(values: pa.ChunkedArray | pa.Array) -> int:
    return len(pc.unique(values).drop_null())


def sample_k(k: int, design_weight: float | None) -> int:
    """The k on sample frequencies that a sample with one design weight must reach so that
    every record's estimated population frequency Fk = weight x fk is at least ``k``.

    A random sample (25/074's phase 1: about 3,000 of 638,000 persons) is not a population:
    a record alone in the sample stands for ``weight`` persons of the population. Asking
    fk >= k of a 0.5% sample would suppress nearly every value without lowering the risk
    that matters, which is measured by the individual and global risk (sdcMicro's
    ``indivRisk``, which uses the same Fk)."""
    if design_weight is None or design_weight <= 1:
        return k
    return max(1, math.ceil(k / design_weight - 1e-9))


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
            keys = _subset(encoded, keys_used)
            idx = [encoded.names.index(key) for key in keys_used]
            fk_a, Fk_a, shown = treated_frequencies(
                keys, sup.suppressed[:, idx], semantics, weights
            )
            worst = max(worst, _measures(fk_a, Fk_a, shown, k, households)[0].global_risk)
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


def _suppressions(safe: Callable[..., tuple[Suppression, int]], k: int, codes: KeyCodes) -> int:
    return safe(codes, k=k)[0].total


def _recode_steps(
    table: pa.Table,
    steps: Sequence[RecodeStep],
    rules: dict[str, Coarsen],
    years: np.ndarray | None,
) -> tuple[pa.Table, list[tuple[RecodeStep, Coarsen]]]:
    """``table`` with ``steps`` applied in order, and the rule each step started from."""
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


def global_recoding(
    spec: Spec,
    name: str,
    table: pa.Table,
    encoded: KeyCodes,
    analysed: Sequence[Sequence[str]],
    period: str | None,
    cost: Callable[[KeyCodes], int],
    *,
    weights: np.ndarray | None = None,
    k: int,
) -> tuple[pa.Table, KeyCodes, list[tuple[RecodeStep, Coarsen]], list[Recoding], list[str]]:
    """Choose the spec's recode steps of dataset ``name`` that lower ``cost`` (the values
    local suppression must take to make the thresholds hold), so that recoding along the
    spec's hierarchies comes before suppression and a variable is never made coarser for
    nothing (G5).

    The steps are tried in the spec's order, cumulatively (a step may help only together
    with a later one: birth year and registration year); the shortest prefix with the
    fewest suppressions is taken, then each of its steps is dropped again when the others
    do as well without it. Nothing is recoded when the thresholds hold without suppression
    or no prefix lowers the suppressions. Returns the recoded table and key codes, the steps
    kept with the rule each started from, their records and why the other steps were not
    kept."""
    sc = spec.scra
    pinned = pinned_keys(spec, name)
    steps = [step for step in sc.recode if step.dataset == name and step.variable not in pinned]
    rules = {v.name: v.coarsen for v in spec.datasets[name].variables}
    years = period_years(table.column(period)) if period else None
    names = list(encoded.names)

    costs: dict[tuple[int, ...], int] = {}

    def cost_of(chosen: Sequence[RecodeStep]) -> int:
        key = tuple(id(step) for step in chosen)
        if key not in costs:
            costs[key] = cost(encode_keys(_recode_steps(table, chosen, rules, years)[0], names))
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
    for i, step in enumerate(chosen):
        before_table, _ = _recode_steps(table, chosen[:i], rules, years)
        after_table, applied = _recode_steps(table, chosen[: i + 1], rules, years)
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
    recoded, applied = _recode_steps(table, chosen, rules, years)
    return recoded, encode_keys(recoded, names), applied, records, skipped


def run_spec_scra(
    spec: Spec,
    staged: Path,
    out: Path,
    *,
    treat: bool = True,
    semantics: str = "strict",
    design_weight: float | None = None,
) -> SpecScraResult:
    """Measure (and treat) the staged extract ``staged`` as ``spec.scra`` asks; write
    ``scra.json``, ``scra.html`` and, with ``treat``, ``staged/`` and ``suppressions/``
    under ``out`` (see the module docstring). ``out/staged`` must not be ``staged``.

    ``design_weight`` is the number of persons of the population each record stands for
    when the staged extract is a sample (population size / persons delivered); the risk
    measures then follow sdcMicro's ``indivRisk(survey=TRUE)`` with Fk = weight x fk. A
    dataset with a ``weight`` variable uses that column instead."""
    check_semantics(semantics)
    sc = spec.scra
    if sc is None:
        raise ScraInputError(
            f"spec {spec.decision.id} has no scra section", rule="scra-spec-missing"
        )
    if not sc.missing_is_category:
        raise ScraInputError(
            "missing_is_category: false (missing as a wildcard) is not supported by the "
            "spec-driven run yet",
            rule="scra-missing-wildcard",
            hint="keep missing_is_category: true",
        )
    staged, out = Path(staged), Path(out)
    if not staged.is_dir():
        raise ScraInputError("no such directory", rule="scra-input-missing", file=str(staged))
    treated_dir = out / "staged"
    if treated_dir.resolve() == staged.resolve():
        raise ScraInputError(
            "the treated files would overwrite the staged extract",
            rule="scra-output-overwrites-input",
            file=str(out),
            hint="write to another directory",
        )
    k = sc.k
    hh_dataset, hh_column = [*sc.household.split(".", 1), ""][:2] if sc.household else ("", "")
    datasets = list(
        dict.fromkeys(
            [ks.dataset for ks in sc.key_sets]
            + ([hh_dataset] if hh_dataset else [])
            + [lg.dataset for lg in sc.longitudinal]
            + [s.dataset for s in sc.sensitive]
        )
    )
    for name in datasets:
        if name not in spec.datasets:
            raise ScraInputError(
                f"the scra section names dataset {name!r}, which the spec does not declare",
                rule="scra-dataset-unknown",
            )
        if not (staged / f"{name}.parquet").exists():
            raise ScraInputError(
                f"no staged file for dataset {name!r}",
                rule="scra-staged-missing",
                file=str(staged / f"{name}.parquet"),
                hint="a staged extract has one <dataset>.parquet per dataset of the spec",
            )
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    runs: list[DatasetRun] = []
    key_results: list[SpecKeySet] = []
    trajectories: list[LongitudinalCheck] = []
    thresholds: list[Threshold] = []
    ld_checks: list[tuple[str, str, int, LDiversitySummary]] = []
    recoded: list[Recoding] = []

    for name in datasets:
        t0 = time.perf_counter()
        path = staged / f"{name}.parquet"
        declared = spec.variable_names(name)
        period = spec.period(name)
        weight = WEIGHT if WEIGHT in declared else None
        key_sets = [ks for ks in sc.key_sets if ks.dataset == name]
        household = hh_column if hh_dataset == name else None
        sensitive = [s for s in sc.sensitive if s.dataset == name]
        longitudinal = [lg for lg in sc.longitudinal if lg.dataset == name]
        analysed = [
            list(ks.keys) + ([period] if period and period not in ks.keys else [])
            for ks in key_sets
        ]
        all_keys = list(dict.fromkeys(key for keys in analysed for key in keys))
        if period and key_sets and period not in all_keys:
            all_keys.append(period)
        needed = list(all_keys) + [c for c in (weight, household) if c]
        needed += [s.variable for s in sensitive]
        for lg in longitudinal:
            needed += [PERSON, QUARTER, *lg.states]
        table = load_table(path, needed)
        n = table.num_rows
        weights = None
        declared_weight = weight is not None
        if not weight and design_weight is not None and design_weight > 1:
            # a sample without a weight column: every record stands for design_weight persons
            weights = np.full(n, float(design_weight))
            weight = f"design weight {design_weight:.4g}"
        elif weight:
            weights = table.column(weight).to_numpy(zero_copy_only=False).astype(np.float64)
            if np.isnan(weights).any() or (weights < 1).any():
                raise ScraInputError(
                    "survey weights must be present and at least 1",
                    rule="scra-weight-invalid",
                    file=str(path),
                    column=weight,
                )
        encoded = encode_keys(table, all_keys)
        hh_ids = None
        if household:
            hh_ids = household_ids(table.column(household))
            if period:  # a household is counted per period (the household of that quarter)
                per = encode_keys(table, [period])
                hh_ids, _ = cell_ids(
                    [hh_ids, per.codes[0]], [int(hh_ids.max()) + 1, per.cardinalities[0]], n
                )
        sens_codes = [(s, encode_keys(table, [s.variable]).codes[0]) for s in sensitive]
        original = encoded  # the measures before treatment are taken on the staged values
        # a sample with one design weight: k holds on the estimated population frequency
        k_eff = sample_k(k, design_weight) if weights is not None and not declared_weight else k
        pinned = pinned_keys(spec, name)
        safe = partial(
            suppress_until_safe,
            pinned=pinned,
            analysed=analysed,
            max_global_risk=sc.max_global_risk,
            max_k=max(sc.max_k, k_eff),
            semantics=semantics,
            period=period,
            weights=weights,
            households=hh_ids,
        )
        applied: list[tuple[RecodeStep, Coarsen]] = []
        recode_skipped: list[str] = []
        has_steps = any(step.dataset == name for step in sc.recode)
        if treat and key_sets and has_steps:
            _, encoded, applied, records, recode_skipped = global_recoding(
                spec,
                name,
                table,
                encoded,
                analysed,
                period,
                partial(_suppressions, safe, k_eff),
                weights=weights,
                k=k_eff,
            )
            recoded += records
            if applied:
                thresholds.append(
                    Threshold(
                        f"{name}: global recoding before local suppression (kept where it "
                        "lowers the suppressions): "
                        + "; ".join(f"{r.variable} {r.from_rule} to {r.to_rule}" for r in records),
                        "coarser than the spec's rule",
                        f"{len(applied)} of {len(applied) + len(recode_skipped)} steps",
                        True,
                    )
                )
        elif has_steps:
            recode_skipped = ["not applied: no treatment asked for"]
        sup = None
        k_used = k_eff
        if treat and key_sets:
            sup, k_used = safe(encoded, k=k_eff)
            if k_used > k_eff:
                thresholds.append(
                    Threshold(
                        f"{name}: local suppression raised from k = {k_eff} to k = {k_used} to "
                        f"bring the global risk to at most {sc.max_global_risk:g}",
                        f"k <= {sc.max_k}",
                        f"k = {k_used}",
                        True,
                    )
                )
            cap = sc.max_suppression_share
            for variable, count in sup.per_variable.items():
                share = count / n if n else 0.0
                if share > cap:
                    thresholds.append(
                        Threshold(
                            f"{name}: share of {variable} suppressed (the spec's cap "
                            "max_suppression_share; recode it coarser or review the key sets)",
                            f"<= {cap:.1%}",
                            f"{share:.1%} ({count:,} of {n:,})",
                            False,
                        )
                    )
            worst = max(sup.per_variable.items(), key=lambda kv: kv[1], default=("", 0))
            if worst[1] <= cap * n:
                largest = f"largest: {worst[0]}" if worst[1] else "nothing suppressed"
                thresholds.append(
                    Threshold(
                        f"{name}: share of each variable suppressed ({largest})",
                        f"<= {cap:.1%}",
                        f"{(worst[1] / n if n else 0.0):.1%}",
                        True,
                    )
                )
        for ks, keys_used in zip(key_sets, analysed, strict=True):
            keys = _subset(original, keys_used)
            freq = frequencies(keys, weights)
            before, _ = _measures(freq.fk, freq.Fk, freq.n_cells, k_eff, hh_ids)
            for s, codes in sens_codes:
                ld = distinct_l_diversity(freq.cell, freq.n_cells, codes, s.variable, s.l)
                before.ldiversity.append(
                    LDiversitySummary(s.variable, s.l, ld.min_l, ld.cells_below, ld.records_below)
                )
            after: Measures | None = None
            fk_after = None
            if sup is not None:
                keys = _subset(encoded, keys_used)
                idx = [encoded.names.index(key) for key in keys_used]
                mask = sup.suppressed[:, idx]
                fk_after, Fk_after, n_shown = treated_frequencies(keys, mask, semantics, weights)
                after, _ = _measures(fk_after, Fk_after, n_shown, k_eff, hh_ids)
                cells, n_cells = _shown_cells(keys, mask)
                for s, codes in sens_codes:
                    ld = distinct_l_diversity(cells, n_cells, codes, s.variable, s.l)
                    after.ldiversity.append(
                        LDiversitySummary(
                            s.variable, s.l, ld.min_l, ld.cells_below, ld.records_below
                        )
                    )
            per_period = (
                _period_risk(_subset(encoded, [period]), freq.fk, k_eff, fk_after) if period else []
            )
            result = SpecKeySet(ks.name, name, list(ks.keys), period, before, after, per_period)
            key_results.append(result)
            final = after or before
            stage = "after treatment" if after else "before treatment"
            within = f" within each {period}" if period else ""
            thresholds.append(
                Threshold(
                    f"{name}/{ks.name}: records with fk < {k_eff}{within}"
                    + (
                        f" (sample: estimated population frequency Fk = {design_weight:.4g} x fk "
                        f"below k = {k})"
                        if k_eff != k
                        else ""
                    )
                    + f" ({stage})",
                    "0",
                    f"{final.records_below['k']:,}",
                    final.records_below["k"] == 0,
                )
            )
            if sc.max_global_risk is not None:
                thresholds.append(
                    Threshold(
                        f"{name}/{ks.name}: global risk ({stage})",
                        f"<= {sc.max_global_risk:g}",
                        f"{final.global_risk:.6g}",
                        final.global_risk <= sc.max_global_risk,
                    )
                )
            for ld in final.ldiversity:
                ld_checks.append((name, ks.name, ld.l_min, ld))
        timings[f"{name}: measures"] = time.perf_counter() - t0

        run = DatasetRun(name, spec.datasets[name].unit, str(path), n, period, weight, household)
        run.recode_skipped = recode_skipped
        treated_table = None
        if sup is not None:
            t0 = time.perf_counter()
            explained = explanations(encoded, sup)  # record = 0-based row of the staged file
            (out / "suppressions").mkdir(parents=True, exist_ok=True)
            write_explanations(out / "suppressions" / f"{name}.parquet", explained)
            full = pq.read_table(path)
            years = period_years(full.column(period)) if period and applied else None
            for step, current in applied:  # the recoding, on every row of the staged file
                recoded_column = recode_column(
                    full.column(step.variable), step.variable, current, step.to, years
                )
                full = full.set_column(
                    full.schema.get_field_index(step.variable), step.variable, recoded_column
                )
            treated_table = apply_suppression(full, encoded, sup)
            if SUPPRESSED_COLUMN not in declared:
                treated_table = treated_table.drop_columns([SUPPRESSED_COLUMN])
            with atomic_path(treated_dir / f"{name}.parquet") as tmp:
                pq.write_table(treated_table, tmp)
            run.treated_file = str(treated_dir / f"{name}.parquet")
            run.unreachable = sup.unreachable
            run.treatment = Treatment(
                k=sup.k,
                keys=[key for key in all_keys if key not in sup.fixed],
                order=list(sup.order),
                suppressed_values=sup.total,
                records_touched=sup.records_touched,
                per_variable=sup.per_variable,
                semantics=SEMANTICS_TEXT[semantics],
                explanations_file=f"suppressions/{name}.parquet",
                treated_file=f"staged/{name}.parquet",
                examples=explained.slice(0, 20).to_pylist(),
            )
            timings[f"{name}: treatment"] = time.perf_counter() - t0
        for lg in longitudinal:
            t0 = time.perf_counter()
            kwargs = dict(person=PERSON, quarter=QUARTER, states=list(lg.states), m=lg.m, k=lg.k)
            check = LongitudinalCheck(name, longitudinal_risk(table, **kwargs))
            if treated_table is not None:
                check.after = longitudinal_risk(treated_table, **kwargs)
            trajectories.append(check)
            final_lr = check.after or check.before
            stage = "after treatment" if check.after else "before treatment"
            thresholds.append(
                Threshold(
                    f"{name}: persons whose {lg.m}-quarter trajectory of "
                    f"{', '.join(lg.states)} is shared by < {lg.k} persons ({stage})",
                    "0",
                    f"{final_lr.persons_at_risk:,}",
                    final_lr.persons_at_risk == 0,
                    enforced=lg.enforce,
                )
            )
            timings[f"{name}: longitudinal"] = time.perf_counter() - t0
        runs.append(run)

    for s in sc.sensitive:
        checks = [c for c in ld_checks if c[0] == s.dataset and c[3].variable == s.variable]
        if not checks:
            thresholds.append(
                Threshold(
                    f"{s.dataset}: l-diversity of {s.variable} (no key set on {s.dataset}, "
                    "so it cannot be evaluated)",
                    f">= {s.l}",
                    "not evaluated",
                    False,
                    enforced=s.enforce,
                )
            )
        for dataset, key_set, l_min, ld in checks:
            thresholds.append(
                Threshold(
                    f"{dataset}/{key_set}: records in cells with fewer than {l_min} distinct "
                    f"values of {s.variable}",
                    "0",
                    f"{ld.records_below:,}",
                    ld.records_below == 0,
                    enforced=s.enforce,
                )
            )

    if treat:  # the treated extract is whole: datasets without key sets are copied as they are
        for other in spec.datasets:
            source = staged / f"{other}.parquet"
            target = treated_dir / f"{other}.parquet"
            if source.exists() and not target.exists():
                with atomic_path(target) as tmp:
                    shutil.copyfile(source, tmp)
        t0 = time.perf_counter()
        for key, column, count in treat_implied(spec, staged, treated_dir, out / "suppressions"):
            thresholds.append(
                Threshold(
                    f"{column}: values that give back the treated {key} suppressed with it "
                    "(scra.implied)",
                    "treated together",
                    f"{count:,} values",
                    True,
                )
            )
        attacks = rebuild_attacks(spec, staged, treated_dir)
        for attack in attacks:
            if attack.rebuilds:
                thresholds.append(
                    Threshold(
                        f"{attack.key}: {attack.column} ({attack.how}) gives back treated "
                        "values; declare it in scra.implied so the treatment covers it",
                        "at most a fifth",
                        f"{attack.rebuilt:,} of {attack.treated:,}",
                        False,
                    )
                )
        if not any(a.rebuilds for a in attacks):
            thresholds.append(
                Threshold(
                    "no other delivered column gives back a suppressed or recoded key value "
                    f"({len(attacks):,} column and key pairs tried)",
                    "at most a fifth of a key's treated values",
                    f"at most {max((a.rebuilt for a in attacks), default=0):,}",
                    True,
                )
            )
        timings["rebuild attacks"] = time.perf_counter() - t0

    result = SpecScraResult(
        decision=spec.decision.id,
        staged=str(staged),
        out=str(out),
        k=k,
        max_global_risk=sc.max_global_risk,
        semantics=semantics,
        treat=treat,
        datasets=runs,
        key_sets=key_results,
        longitudinal=trajectories,
        thresholds=thresholds,
        seconds={name: round(v, 3) for name, v in timings.items()},
        recoded=recoded,
        max_suppression_share=sc.max_suppression_share,
    )
    write_text(out / "scra.json", json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    write_spec_html(out / "scra.html", result)
    return result


def write_spec_html(path: Path, result: SpecScraResult) -> Path:
    """The report of a spec-driven run: thresholds first, then every key set before and
    after treatment (per period where there is one), trajectories, what was suppressed.

    For the pseudonymiser's (full) report, the recipient's version is written beside it,
    ``recipient/scra.json`` and ``recipient/scra.html`` (:func:`~sluis.scra.result.for_recipient`):
    the only SCRA report a package carries (G5, G8)."""
    plots = {}
    for res in result.key_sets:
        label = f"{res.dataset}/{res.name}"
        sizes = {"before": res.before.cell_size_histogram}
        risks = {"before": res.before.risk_histogram}
        if res.after:
            sizes["after"] = res.after.cell_size_histogram
            risks["after"] = res.after.risk_histogram
        plots[label] = {
            "sizes": svg(_bar_figure(f"{label}: records by cell size fk", sizes, "fk")),
            "risks": svg(_bar_figure(f"{label}: records by individual risk", risks, "risk")),
        }
    page = render_page(
        "scra.html",
        title=f"Small-cell risk analysis of {result.decision}",
        result=result,
        plots=plots,
        spec_run=True,
    )
    marker = "<h2>Treatment</h2>"
    if marker in page:  # global recoding comes first in the treatment
        page = page.replace(marker, marker + "\n" + recoding_html(result), 1)
    written = write_text(path, page)
    if result.audience == "pseudonymiser":
        from sluis.scra.result import RECIPIENT_DIR, for_recipient

        view = for_recipient(result)
        target = path.parent / RECIPIENT_DIR
        write_text(target / "scra.json", json.dumps(view.to_dict(), indent=2, default=str) + "\n")
        write_spec_html(target / "scra.html", view)
    return written


def recoding_html(result: SpecScraResult) -> str:
    """The report's section on global recoding: every step applied, with its figures, and
    the steps that were not needed."""
    parts = ["<h3>Global recoding</h3>"]
    if result.recoded:
        parts.append(
            "<p>The spec's recode steps of a dataset are applied in order, one at a time, "
            "only while a threshold fails (records below k, global risk), before local "
            "suppression. Each merges whole classes of the variable's rule into the coarser "
            "classes of the target rule; the treated files hold the recoded values, in the "
            "target rule's representation.</p>"
        )
        parts.append(
            "<table>\n<tr><th>dataset</th><th>variable</th><th>from</th><th>to</th>"
            '<th class="n">categories</th><th>key set</th><th class="n">cells</th>'
            '<th class="n">records below k</th><th class="n">global risk</th></tr>'
        )
        for r in result.recoded:
            for ks in r.key_sets:
                text = [r.dataset, r.variable, r.from_rule, r.to_rule]
                figures = [
                    f"{r.categories_before:,} &rarr; {r.categories_after:,}",
                    f"{ks.cells_before:,} &rarr; {ks.cells_after:,}",
                    f"{ks.below_k_before:,} &rarr; {ks.below_k_after:,}",
                    f"{ks.global_risk_before:.4g} &rarr; {ks.global_risk_after:.4g}",
                ]
                row = "".join(f"<td>{escape(x)}</td>" for x in text)
                row += f'<td class="n">{figures[0]}</td><td>{escape(ks.name)}</td>'
                row += "".join(f'<td class="n">{x}</td>' for x in figures[1:])
                parts.append(f"<tr>{row}</tr>")
        parts.append("</table>")
    skipped = [(d.name, s) for d in result.datasets for s in d.recode_skipped]
    if skipped:
        parts.append("<ul>")
        parts += [f"<li>{escape(name)}: {escape(text)}</li>" for name, text in skipped]
        parts.append("</ul>")
    if not result.recoded and not skipped:
        parts.append('<p class="muted">The spec declares no recode steps.</p>')
    elif not result.recoded:
        parts.append('<p class="muted">No recoding was applied.</p>')
    return "\n".join(str(p) for p in parts) + "\n"
