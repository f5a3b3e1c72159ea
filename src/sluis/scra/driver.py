"""The SCRA driver (G5): one plan, one measure step, one treat step, one result.

``sluis scra FILE --keys ...`` (:func:`run_scra`), ``sluis scra --spec --staged`` and the
flow (:func:`run_spec_scra`) build a :class:`~sluis.scra.plan.Plan` and call :func:`run`,
which for every dataset of the plan:

1. reads and encodes what the measures need and measures every key set before treatment
   (:mod:`sluis.scra.measure`);
2. treats it when asked (:mod:`sluis.scra.treatment`: global recoding, local suppression,
   the treated file and its explanations; further treatments have their place there);
3. measures every key set and trajectory again on the treated data, the final state of
   the dataset's treatment (cells under the plan's suppression semantics);
4. checks its thresholds (:mod:`sluis.scra.thresholds`);

then checks the l-diversity of the sensitive variables, treats across a spec's extract
(``scra.implied``, the rebuild attacks), and writes ``scra.json`` and ``scra.html`` (and a
spec run's recipient version, :mod:`sluis.scra.html`).

A spec run writes ``<out>/staged/<dataset>.parquet`` (the whole treated extract) and
``<out>/suppressions/<dataset>.parquet``; a file run ``<out>/treated.parquet`` (with the
``sdc_suppressed`` column) and ``<out>/suppressions.parquet``. A treated dataset keeps the
input's columns, rows and types; a suppressed value becomes null (docs/scra.md).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sluis.atomic import write_text
from sluis.errors import SluisError
from sluis.scra.background import Pending
from sluis.scra.frequencies import KeyCodes
from sluis.scra.html import write_html
from sluis.scra.inputs import ScraInputError, load_table
from sluis.scra.measure import (
    Loaded,
    load,
    measure_key_sets,
    measure_trajectories,
    measure_treated,
    period_risk,
    subset_keys,
)
from sluis.scra.plan import DatasetPlan, Plan, plan_from_file, plan_from_spec
from sluis.scra.result import (
    DatasetRun,
    FurtherTreatment,
    KeySetResult,
    LongitudinalCheck,
    Measures,
    Recoding,
    ScraResult,
    Threshold,
)
from sluis.scra.thresholds import (
    dataset_thresholds,
    extract_thresholds,
    further_thresholds,
    guess_thresholds,
    ldiversity_thresholds,
)
from sluis.scra.treatment import Treated, complete_extract, treat_dataset, treat_extract

if TYPE_CHECKING:
    from sluis.scra.rebuild import Rebuild
    from sluis.spec.model import Spec


@dataclass
class _Run:
    """What the run collects over its datasets."""

    timings: dict[str, float] = field(default_factory=dict)
    datasets: list[DatasetRun] = field(default_factory=list)
    key_sets: list[KeySetResult] = field(default_factory=list)
    longitudinal: list[LongitudinalCheck] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    recoded: list[Recoding] = field(default_factory=list)
    #: per dataset, its final file's state and what was measured on it (:func:`_measured`)
    measured: dict[str, tuple[tuple, tuple]] = field(default_factory=dict)


@dataclass
class _Treated:
    """One dataset measured before and treated by local suppression (steps 1 and 2)."""

    dataset: DatasetPlan
    loaded: Loaded
    before: list[tuple[Measures, np.ndarray]]
    treated: Treated


def _measure_and_treat(plan: Plan, dataset: DatasetPlan, out: Path, run: _Run) -> _Treated:
    """Steps 1 and 2 of one dataset: its measures before treatment, then its treatment."""
    name = dataset.name
    t0 = time.perf_counter()
    loaded = load(dataset, plan.k)
    before = measure_key_sets(dataset, loaded, loaded.encoded, suda=plan.suda, timings=run.timings)
    run.timings[f"{name}: measures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # a file run's treated file is read by nothing after it: written while the run goes on
    treated = treat_dataset(plan, dataset, loaded, out, background=plan.spec is None)
    run.recoded += treated.recoded
    run.timings[f"{name}: treatment"] = time.perf_counter() - t0
    return _Treated(dataset, loaded, before, treated)


def _final_table(
    plan: Plan, done: _Treated, out: Path
) -> tuple[pa.Table | None, np.ndarray | None]:
    """The dataset as delivered after every treatment, and the mask of its suppressed key
    values (local suppression's, and every value present before and null now). A spec
    run reads its treated file again: treatments after local suppression and
    ``scra.implied`` may have changed it since (issue 19 item 3)."""
    dataset, loaded, treated = done.dataset, done.loaded, done.treated
    path = out / dataset.treated_file
    if plan.spec is None or not plan.treat or not path.exists():
        return treated.table, treated.suppressed
    from sluis.scra.further import newly_null  # a spec run's (the file run stays light)

    table = load_table(path, dataset.columns)
    mask = newly_null(loaded.table, table, dataset.all_keys)
    if treated.suppressed is not None:
        mask |= treated.suppressed
    elif not mask.any() and table.equals(loaded.table):
        return None, None  # nothing treated this dataset
    return table, mask


def _measured(
    plan: Plan, done: _Treated, out: Path, run: _Run
) -> tuple[pa.Table | None, np.ndarray | None, KeyCodes, list[tuple[Measures, np.ndarray]] | None]:
    """The final table, its mask, key codes and measures after treatment
    (:func:`_final_table`, :func:`measure_treated`), measured once per state of the
    treated file: the rounds' check and the final measures read it once when no round
    changed it."""
    dataset, treated = done.dataset, done.treated
    path = out / dataset.treated_file
    state: tuple = ()
    if path.exists():
        st = path.stat()
        mask_count = None if treated.suppressed is None else int(treated.suppressed.sum())
        state = (st.st_ino, st.st_mtime_ns, st.st_size, mask_count)
        cached = run.measured.get(dataset.name)
        if cached is not None and cached[0] == state:
            return cached[1]  # type: ignore[return-value]
    table, mask = _final_table(plan, done, out)
    after, final = None, treated.codes
    if table is not None and mask is not None and dataset.key_sets:
        final, after = measure_treated(dataset, done.loaded, table, mask, plan.semantics)
    result = (table, mask, final, after)
    if state:
        run.measured[dataset.name] = (state, result)
    return result


def _dataset(plan: Plan, done: _Treated, out: Path, run: _Run) -> None:
    """Steps 3 and 4 of one dataset: its measures on the final treated data, thresholds."""
    dataset, loaded, treated = done.dataset, done.loaded, done.treated
    name = dataset.name
    t0 = time.perf_counter()
    table, _, final, after = _measured(plan, done, out, run)
    key_sets = []
    for i, ks in enumerate(dataset.key_sets):
        (measures, fk), later = done.before[i], (after[i] if after else (None, None))
        per_period = (
            period_risk(subset_keys(final, [dataset.period]), fk, loaded.k, later[1])
            if dataset.period
            else []
        )
        key_sets.append(
            KeySetResult(
                ks.name, name, list(ks.keys), dataset.period, measures, later[0], per_period
            )
        )
    run.timings[f"{name}: measures"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    trajectories = [
        LongitudinalCheck(name, lr) for lr in measure_trajectories(dataset, loaded.table)
    ]
    if table is not None:
        for check, lr in zip(trajectories, measure_trajectories(dataset, table), strict=True):
            check.after = lr
    if dataset.longitudinal:
        run.timings[f"{name}: longitudinal"] = time.perf_counter() - t0
    run.key_sets += key_sets
    run.longitudinal += trajectories
    run.thresholds += dataset_thresholds(
        plan, dataset, treated, loaded.k, loaded.n, key_sets, trajectories
    )
    record = DatasetRun(
        name,
        dataset.unit,
        dataset.shown,
        loaded.n,
        dataset.period,
        loaded.weight,
        dataset.household,
    )
    record.recode_skipped = treated.recode_skipped
    if treated.record is not None or (table is not None and plan.spec is not None):
        record.treated_file = str(out / dataset.treated_file)
    if treated.record is not None:
        record.treatment = treated.record
        record.unreachable = treated.suppression.unreachable if treated.suppression else 0
    run.datasets.append(record)


#: rounds of local suppression after the later treatments (each only adds suppressions, so
#: the treatment ends; a threshold still failing after them fails the run)
_ROUNDS = 10


def _k_fails(plan: Plan, done: _Treated, out: Path, run: _Run) -> bool:
    """Whether a key set of the dataset is below its k (or above the global risk) on its
    final treated file."""
    if not done.dataset.key_sets:
        return False
    table, mask, _, after = _measured(plan, done, out, run)
    if table is None or mask is None or after is None:
        return False
    k = max(done.loaded.k, 1)
    risk = plan.max_global_risk
    return (
        any(
            m.records_below["k"] > 0 or (risk is not None and m.global_risk > risk)
            for m, _ in after
        )
        and k >= 1
    )


def _suppress_again(plan: Plan, done: _Treated, out: Path) -> None:
    """Local suppression once more, on the dataset's final treated file (its earlier
    suppressions kept and listed with the new ones)."""
    from sluis.scra.implied import EXPLANATION, append_explanations

    dataset = done.dataset
    path = out / dataset.treated_file
    explained = out / dataset.explanations_file
    earlier = pq.read_table(explained) if explained.exists() else None
    current = dataclasses.replace(dataset, path=path, has_recode_steps=False)
    loaded = load(current, plan.k)
    again = treat_dataset(plan, current, loaded, out)
    if again.suppressed is None:
        return
    # a value already null (suppressed by a later treatment) needs no second suppression
    new = pq.read_table(explained)
    new = new.filter(pc.is_valid(new.column("value"))).cast(EXPLANATION)
    explained.unlink()
    append_explanations(explained, [new] + ([earlier.cast(EXPLANATION)] if earlier else []))
    counted = dict(Counter(new.column("variable").to_pylist()))
    if again.record is not None:
        again.record.per_variable = counted
        again.record.suppressed_values = new.num_rows
    first = done.treated
    first.suppressed = (
        again.suppressed if first.suppressed is None else first.suppressed | again.suppressed
    )
    first.k = max(first.k, again.k)
    if first.record is None:
        first.record = again.record
    elif again.record is not None:
        first.record.suppressed_values += again.record.suppressed_values
        for var, n in again.record.per_variable.items():
            first.record.per_variable[var] = first.record.per_variable.get(var, 0) + n


def _merge_implied(
    first: list[tuple[str, str, int]], more: list[tuple[str, str, int]]
) -> list[tuple[str, str, int]]:
    """The implied columns' counts of two passes, in the first pass's order."""
    counts = {(key, column): n for key, column, n in first}
    for key, column, n in more:
        counts[(key, column)] = counts.get((key, column), 0) + n
    return [(key, column, n) for (key, column), n in counts.items()]


def run(plan: Plan, out: Path) -> ScraResult:
    """Measure (and treat) what ``plan`` asks, write ``scra.json`` and ``scra.html`` (and
    the treated files) under ``out`` and return the result (see the module docstring)."""
    out = Path(out)
    if plan.staged is not None and (out / "staged").resolve() == plan.staged.resolve():
        raise ScraInputError(
            "the treated files would overwrite the staged extract",
            rule="scra-output-overwrites-input",
            file=str(out),
            hint="write to another directory",
        )
    out.mkdir(parents=True, exist_ok=True)
    state = _Run()
    done = [_measure_and_treat(plan, dataset, out, state) for dataset in plan.datasets]
    further: list[FurtherTreatment] = []
    implied: list[tuple[str, str, int]] = []
    attacks: list[Rebuild] = []
    if plan.spec is not None and plan.treat:
        from sluis.scra.further import treat_further  # DuckDB: a spec run's only

        t0 = time.perf_counter()
        complete_extract(plan, out)
        further = treat_further(plan, out, {d.dataset.name: d.treated.k for d in done})
        state.timings["l-diversity and trajectories"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        implied, attacks = treat_extract(plan, out)
        state.timings["rebuild attacks"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        # a later treatment may have undone k (a suppressed value is its own category
        # under strict semantics; as a wildcard it only widens cells): treat again
        for _ in range(_ROUNDS if plan.semantics == "strict" else 0):
            again = [d for d in done if _k_fails(plan, d, out, state)]
            if not again:
                break
            for d in again:
                _suppress_again(plan, d, out)
            names = {d.dataset.name for d in again}
            further += treat_further(plan, out, {d.dataset.name: d.treated.k for d in done}, names)
            more, attacks = treat_extract(plan, out)
            implied = _merge_implied(implied, more)
        state.timings["treated again"] = time.perf_counter() - t0
    for d in done:  # every threshold measured again on the final treated extract
        _dataset(plan, d, out, state)
    for d in done:  # a file run's treated files, written meanwhile (treat_dataset)
        if d.treated.written is not None:
            d.treated.written.wait()
    if plan.sensitive:  # (a file run's --sensitive is reported, not a threshold)
        state.thresholds += ldiversity_thresholds(plan, out)
    state.thresholds += further_thresholds(
        plan, further, {d.dataset.name: d.loaded.n for d in done}
    )
    if plan.spec is not None and plan.treat:
        state.thresholds += guess_thresholds(plan, out, further)
        state.recoded += [r for t in further for r in t.recoded]
    if plan.spec is not None and plan.treat:
        state.thresholds += extract_thresholds(implied, attacks)
    loss, loss_error = None, None
    if plan.spec is not None and plan.treat and plan.staged is not None:
        t0 = time.perf_counter()
        from sluis.scra.infoloss import information_loss  # Ibis: a spec run's only

        try:
            loss = information_loss(plan.spec, plan.staged, out / "staged")
        except SluisError as err:  # the report says why; the thresholds do not depend on it
            loss_error = f"{err.rule}: {err.message}" if err.rule else err.message
        state.timings["information loss"] = time.perf_counter() - t0
    enclave = plan.spec.enclave if plan.spec is not None else None
    result = ScraResult(
        decision=plan.decision,
        staged=plan.shown,
        out=str(out),
        k=plan.k,
        max_global_risk=plan.max_global_risk,
        semantics=plan.semantics,
        treat=plan.treat,
        datasets=state.datasets,
        key_sets=state.key_sets,
        longitudinal=state.longitudinal,
        thresholds=state.thresholds,
        seconds={name: round(v, 3) for name, v in state.timings.items()},
        recoded=state.recoded,
        max_suppression_share=plan.max_suppression_share,
        further=further,
        information_loss=loss,
        information_loss_error=loss_error,
        information_loss_min_units=enclave.min_frequency if enclave is not None else 10,
    )
    text = json.dumps(result.to_dict(), indent=2, default=str) + "\n"
    # the two reports at once: each write waits for the disk (fsync) most of its time
    written = Pending(partial(write_text, out / "scra.json", text), "write scra.json")
    write_html(out / "scra.html", result)
    written.wait()
    return result


def run_spec_scra(
    spec: Spec,
    staged: Path,
    out: Path,
    *,
    treat: bool = True,
    semantics: str = "strict",
    design_weight: float | None = None,
    shown_as: Path | None = None,
) -> ScraResult:
    """Measure (and treat) the staged extract ``staged`` as ``spec.scra`` asks; write
    ``scra.json``, ``scra.html`` and, with ``treat``, ``staged/`` and ``suppressions/``
    under ``out``. ``out/staged`` must not be ``staged``. ``shown_as`` is the extract's
    name in the report when ``staged`` is a private copy (a sealed extract opened through
    the vault).

    ``design_weight`` is the number of persons of the population each record stands for
    when the staged extract is a sample (population size / persons delivered); the risk
    measures then follow sdcMicro's ``indivRisk(survey=TRUE)`` with Fk = weight x fk. A
    dataset with a ``weight`` variable uses that column instead."""
    plan = plan_from_spec(
        spec, staged, treat=treat, semantics=semantics, design_weight=design_weight,
        shown_as=shown_as,
    )  # fmt: skip
    return run(plan, out)


def run_scra(
    path: Path,
    out_dir: Path,
    *,
    key_sets: Sequence[Sequence[str]],
    k: int = 5,
    weight: str | None = None,
    household: str | None = None,
    sensitive: Sequence[str] = (),
    l_min: int = 2,
    suda: bool = False,
    suppress: bool = False,
    max_global_risk: float | None = None,
    person: str | None = None,
    quarter: str | None = None,
    states: Sequence[str] = (),
    window: int = 4,
    semantics: str = "strict",
) -> ScraResult:
    """Measure (and with ``suppress`` treat) the file ``path`` and write the report to
    ``out_dir``; ``semantics`` of a suppressed value: ``strict`` (its own category) or
    ``sdcmicro`` (a wildcard). See :func:`sluis.scra.plan.plan_from_file`."""
    plan = plan_from_file(
        path, key_sets=key_sets, k=k, weight=weight, household=household,
        sensitive=sensitive, l_min=l_min, suda=suda, suppress=suppress,
        max_global_risk=max_global_risk, person=person, quarter=quarter, states=states,
        window=window, semantics=semantics,
    )  # fmt: skip
    return run(plan, out_dir)
