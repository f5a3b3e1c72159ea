"""The treat step of the SCRA (G5): treat one dataset and write its treated file.

:func:`treat_dataset` runs the treatments of one dataset in their fixed order and writes
the result; :func:`treat_extract` then treats across the datasets of a spec's extract.

1. global recoding along the spec's hierarchies, the steps that lower the suppressions
   (:func:`sluis.scra.treat.global_recoding`);
2. local suppression to k on the union of the key sets, k raised while the global risk is
   above the spec's maximum (:func:`sluis.scra.treat.suppress_until_safe`);
3. the whole dataset recoded and suppressed (:func:`treated_table`);
4. the treated file and one explanation per suppressed value written;

and, across a spec's extract, the extract made whole (:func:`complete_extract`), the
treatments after local suppression (l-diversity, then trajectories:
:mod:`sluis.scra.further`), then (:func:`treat_extract`) values that give back a treated key
(``scra.implied``) suppressed and every other delivered column tried against the treated
values (:mod:`sluis.scra.rebuild`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sluis.atomic import atomic_path
from sluis.scra.background import Pending
from sluis.scra.frequencies import KeyCodes
from sluis.scra.inputs import load_whole
from sluis.scra.measure import Loaded
from sluis.scra.plan import DatasetPlan, Plan
from sluis.scra.result import Recoding, Treatment
from sluis.scra.suppress import (
    SUPPRESSED_COLUMN,
    Suppression,
    apply_suppression,
    explanations,
    write_explanations,
)
from sluis.scra.treat import (
    global_recoding,
    suppress_until_safe,
    suppressions_needed,
    suppressions_on_cells,
)

SEMANTICS_TEXT = {
    "strict": "a suppressed value is a category of its own (*): a record's cell after "
    "treatment is its values with suppressed ones shown as *, and every cell holds at least "
    "k records; a value missing before treatment is another category",
    "sdcmicro": "a suppressed value matches any value of its key (as sdcMicro after "
    "localSuppression); a value missing before treatment is a category of its own",
}

if TYPE_CHECKING:
    from sluis.scra.rebuild import Rebuild
    from sluis.spec.model import Coarsen, RecodeStep


@dataclass
class Treated:
    """What the treatment did to one dataset."""

    codes: KeyCodes  # the keys after global recoding (the staged values when none applied)
    k: int  # the k local suppression reached (raised for the global risk)
    suppression: Suppression | None = None
    applied: list[tuple[RecodeStep, Coarsen]] = field(default_factory=list)
    recoded: list[Recoding] = field(default_factory=list)
    recode_skipped: list[str] = field(default_factory=list)
    #: records x keys (``codes.names``): every key value suppressed by any treatment (local
    #: suppression's mask, to which a further treatment adds its own)
    suppressed: np.ndarray | None = None
    table: pa.Table | None = None  # the whole treated dataset, as written
    record: Treatment | None = None  # the report's account of local suppression
    #: the treated file's write when :func:`treat_dataset` left it running (``background``)
    written: Pending | None = None


def decide(plan: Plan, dataset: DatasetPlan, loaded: Loaded) -> Treated:
    """Steps 1 and 2: which recode steps to keep and which key values to suppress."""
    k = loaded.k
    treated = Treated(codes=loaded.encoded, k=k)
    raise_k = plan.max_k is not None
    safe = partial(
        suppress_until_safe,
        pinned=dataset.pinned,
        analysed=dataset.analysed,
        max_global_risk=plan.max_global_risk if raise_k else None,
        max_k=max(plan.max_k, k) if plan.max_k is not None else k,
        semantics=plan.semantics,
        period=dataset.period,
        weights=loaded.weights,
        households=loaded.households,
    )
    act = plan.treat and bool(dataset.key_sets)
    if dataset.has_recode_steps and not act:
        treated.recode_skipped = ["not applied: no treatment asked for"]
    elif dataset.has_recode_steps:
        assert plan.spec is not None  # recode steps come from a spec
        # strict cells without weights: each candidate costed on its distinct key cells
        on_cells = plan.semantics == "strict" and loaded.weights is None
        cost = (
            partial(
                suppressions_on_cells,
                k=k,
                analysed=dataset.analysed,
                max_global_risk=safe.keywords["max_global_risk"],
                max_k=safe.keywords["max_k"],
                fixed=([dataset.period] if dataset.period else []) + list(dataset.pinned),
            )
            if on_cells
            else partial(suppressions_needed, safe, k)
        )
        _, treated.codes, treated.applied, treated.recoded, treated.recode_skipped = (
            global_recoding(
                plan.spec,
                dataset.name,
                loaded.table,
                loaded.encoded,
                dataset.analysed,
                dataset.period,
                cost,
                weights=loaded.weights,
                k=k,
                on_cells=on_cells,
            )
        )
    if act:
        treated.suppression, treated.k = safe(treated.codes, k=k)
        treated.suppressed = treated.suppression.suppressed.copy()
    return treated


def treated_table(dataset: DatasetPlan, treated: Treated, have: pa.Table | None = None) -> pa.Table:
    """Step 3: every row of the dataset with the kept recode steps applied and the
    suppressed values null (``sdc_suppressed`` kept only where declared, G1). ``have``:
    the columns the measures read (not read again)."""
    full = load_whole(dataset.path, have)
    if treated.applied:  # a spec's recode steps (the file run never loads the rules)
        from sluis.scra.recode import period_years, recode_column

        years = period_years(full.column(dataset.period)) if dataset.period else None
    for step, current in treated.applied:  # the recoding, on every row of the staged file
        recoded = recode_column(full.column(step.variable), step.variable, current, step.to, years)
        full = full.set_column(full.schema.get_field_index(step.variable), step.variable, recoded)
    table = apply_suppression(full, treated.codes, treated.suppression)
    if not dataset.keeps_suppressed_column:
        table = table.drop_columns([SUPPRESSED_COLUMN])
    return table


def treat_dataset(
    plan: Plan, dataset: DatasetPlan, loaded: Loaded, out: Path, *, background: bool = False
) -> Treated:
    """Treat ``dataset`` (the steps of the module docstring) and write its treated file and
    explanations under ``out``. Nothing is written when there is nothing to treat.
    ``background``: the treated file is written on a second thread (``Treated.written``),
    for a caller that waits for it before anything reads it."""
    treated = decide(plan, dataset, loaded)
    sup = treated.suppression
    if sup is None:
        return treated
    explained = explanations(treated.codes, sup)  # record = 0-based row of the input
    table = treated_table(dataset, treated, loaded.table)
    treated.table = table
    write_explanations(out / dataset.explanations_file, explained)
    target = out / dataset.treated_file
    target.parent.mkdir(parents=True, exist_ok=True)
    if background:
        treated.written = Pending(partial(_write_parquet, table, target), f"write {target.name}")
    else:
        _write_parquet(table, target)
    treated.record = Treatment(
        k=sup.k,
        keys=[key for key in dataset.all_keys if key not in sup.fixed],
        order=list(sup.order),
        suppressed_values=sup.total,
        records_touched=sup.records_touched,
        per_variable=sup.per_variable,
        semantics=SEMANTICS_TEXT[plan.semantics],
        explanations_file=dataset.explanations_file,
        treated_file=dataset.treated_file,
        examples=explained.slice(0, 20).to_pylist(),
    )
    return treated


def _write_parquet(table: pa.Table, target: Path) -> None:
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)


def complete_extract(plan: Plan, out: Path) -> None:
    """Make the treated extract under ``out/staged`` whole: the datasets local suppression
    did not touch are copied as they are (the further treatments and ``scra.implied`` work
    on these files)."""
    if plan.spec is None or plan.staged is None or not plan.treat:
        return
    for other in plan.spec.datasets:
        source = plan.staged / f"{other}.parquet"
        target = out / "staged" / f"{other}.parquet"
        if source.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)


def treat_extract(plan: Plan, out: Path) -> tuple[list[tuple[str, str, int]], list[Rebuild]]:
    """Across a spec's whole treated extract under ``out/staged`` (:func:`complete_extract`):
    the ``scra.implied`` values suppressed with their key, and the rebuild attacks. Returns
    (key, column, values) per implied column touched and the attacks."""
    if plan.spec is None or plan.staged is None or not plan.treat:
        return [], []
    from sluis.scra.implied import treat_implied
    from sluis.scra.rebuild import rebuild_attacks

    treated_dir = out / "staged"
    implied = treat_implied(plan.spec, plan.staged, treated_dir, out / "suppressions")
    return implied, rebuild_attacks(plan.spec, plan.staged, treated_dir)
