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
- with ``treat``: keeps the spec's ``scra.recode`` steps of the dataset that lower the
  values local suppression must take (:func:`sluis.scra.treat.global_recoding`); the
  recoded values are what the suppression works on and what the treated files hold
  (``scra.json`` lists the steps);
- with ``treat``: suppresses locally on the union of the key sets of each dataset (the
  period and keys pinned by ``scra.implied`` are never suppressed) to k, or for a sample to
  the k its estimated population frequency needs, and further while the global risk is
  above the spec's maximum (:mod:`sluis.scra.treat`), under ``semantics`` (``strict``: a
  suppressed value is its own category; ``sdcmicro``: a wildcard), writes the treated
  datasets to ``<out>/staged/`` (datasets without key sets are copied unchanged, so
  ``<out>/staged`` is the whole treated extract), one explanation per suppressed value to
  ``<out>/suppressions/<dataset>.parquet``, and measures everything again;
- suppresses with each key the values that give it back (``scra.implied``,
  :mod:`sluis.scra.implied`) and tries every other delivered column against the treated
  values (:mod:`sluis.scra.rebuild`);
- checks the thresholds after treatment (k on every key set, ``max_global_risk``, the cap
  on the share suppressed per variable, no column giving back treated values, the
  longitudinal k, l) and writes ``<out>/scra.json`` and ``<out>/scra.html`` (and the
  recipient's version under ``<out>/recipient/``).

A treated dataset keeps the input's columns, rows and types; a suppressed value becomes
null (the spec may name a variable ``sdc_suppressed`` on a dataset, which then lists each
record's suppressed keys; otherwise the explanations are the record of what was
suppressed, and no column the spec does not name is added, G1).
"""

from __future__ import annotations

import json
import shutil
import time
from functools import partial
from pathlib import Path

import numpy as np
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
from sluis.scra.recode import period_years, recode_column
from sluis.scra.report import (
    SEMANTICS_TEXT,
    ScraInputError,
    bar_figure,
    load_table,
    risk_measures,
)
from sluis.scra.result import (
    DatasetRun,
    LDiversitySummary,
    LongitudinalCheck,
    Measures,
    PeriodRisk,
    Recoding,
    SpecKeySet,
    SpecScraResult,
    Threshold,
    Treatment,
)
from sluis.scra.suppress import (
    SUPPRESSED_COLUMN,
    apply_suppression,
    check_semantics,
    explanations,
    treated_frequencies,
    write_explanations,
)
from sluis.scra.treat import (
    global_recoding,
    sample_k,
    subset_keys,
    suppress_until_safe,
    suppressions_needed,
)
from sluis.spec.model import Coarsen, RecodeStep, Spec

PERSON = "person_seq"
QUARTER = "quarter"
WEIGHT = "weight"


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


def run_spec_scra(
    spec: Spec,
    staged: Path,
    out: Path,
    *,
    treat: bool = True,
    semantics: str = "strict",
    design_weight: float | None = None,
    shown_as: Path | None = None,
) -> SpecScraResult:
    """Measure (and treat) the staged extract ``staged`` as ``spec.scra`` asks; write
    ``scra.json``, ``scra.html`` and, with ``treat``, ``staged/`` and ``suppressions/``
    under ``out`` (see the module docstring). ``out/staged`` must not be ``staged``.
    ``shown_as`` is the extract's name in the report when ``staged`` is a private copy
    (a sealed extract opened through the vault).

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
                    file=str(Path(shown_as or staged) / f"{name}.parquet"),
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
                partial(suppressions_needed, safe, k_eff),
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
            keys = subset_keys(original, keys_used)
            freq = frequencies(keys, weights)
            before, _ = risk_measures(freq.fk, freq.Fk, freq.n_cells, k_eff, hh_ids)
            for s, codes in sens_codes:
                ld = distinct_l_diversity(freq.cell, freq.n_cells, codes, s.variable, s.l)
                before.ldiversity.append(
                    LDiversitySummary(s.variable, s.l, ld.min_l, ld.cells_below, ld.records_below)
                )
            after: Measures | None = None
            fk_after = None
            if sup is not None:
                keys = subset_keys(encoded, keys_used)
                idx = [encoded.names.index(key) for key in keys_used]
                mask = sup.suppressed[:, idx]
                fk_after, Fk_after, n_shown = treated_frequencies(keys, mask, semantics, weights)
                after, _ = risk_measures(fk_after, Fk_after, n_shown, k_eff, hh_ids)
                cells, n_cells = _shown_cells(keys, mask)
                for s, codes in sens_codes:
                    ld = distinct_l_diversity(cells, n_cells, codes, s.variable, s.l)
                    after.ldiversity.append(
                        LDiversitySummary(
                            s.variable, s.l, ld.min_l, ld.cells_below, ld.records_below
                        )
                    )
            per_period = (
                _period_risk(subset_keys(encoded, [period]), freq.fk, k_eff, fk_after)
                if period
                else []
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

        shown = str(Path(shown_as or staged) / f"{name}.parquet")
        run = DatasetRun(name, spec.datasets[name].unit, shown, n, period, weight, household)
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
        staged=str(shown_as or staged),
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
            "sizes": svg(bar_figure(f"{label}: records by cell size fk", sizes, "fk")),
            "risks": svg(bar_figure(f"{label}: records by individual risk", risks, "risk")),
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
