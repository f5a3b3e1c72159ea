"""The final re-measure of a dataset on its treated file (G5, issue 19 item 3).

The measures after treatment that :mod:`sluis.scra.driver` takes per dataset see what the
dataset's own treatments did. Treatments across the extract come later: ``scra.implied``
suppresses, in the treated files, values that give back a treated key, and such a column
may itself be a key of another key set (25/074 suppresses ``panel.nationality``, a key of
the panel's key set, with ``person.first_nationality``). :func:`remeasure` therefore takes
every key set's and trajectory's measures again from what is delivered: the treated file,
with the mask of every suppressed value rebuilt from the explanation file (every
suppression, implied ones included, has a row there), so that a suppressed value (``*``)
is still told from a value missing before treatment.

Not wired into the run yet: the lead adds it with the treatments of issue 19 (it changes the
figures of 25/074's panel, and the run must then fail or treat again when a threshold no
longer holds).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sluis.scra.longitudinal import LongitudinalRisk
from sluis.scra.measure import load, measure_key_sets, measure_trajectories
from sluis.scra.plan import DatasetPlan, Plan
from sluis.scra.result import Measures


def suppressed_mask(explanations: Path, keys: Sequence[str], n: int) -> np.ndarray:
    """Records x ``keys``: the values an explanation file lists as suppressed."""
    mask = np.zeros((n, len(keys)), dtype=bool)
    if not explanations.exists():
        return mask
    table = pq.read_table(explanations, columns=["record", "variable"])
    for j, key in enumerate(keys):  # a loop over keys, not records
        rows = pc.filter(table["record"], pc.equal(table["variable"], key))
        mask[rows.to_numpy(zero_copy_only=False), j] = True
    return mask


def remeasure(
    plan: Plan, dataset: DatasetPlan, out: Path
) -> tuple[list[Measures], list[LongitudinalRisk]]:
    """The measures of every key set and trajectory of ``dataset`` on its treated file
    under ``out`` (after every treatment of the run), the suppressed values as the
    explanation file lists them, counted under the plan's semantics."""
    treated = dataclasses.replace(dataset, path=out / dataset.treated_file)
    loaded = load(treated, plan.k)
    mask = suppressed_mask(out / dataset.explanations_file, list(loaded.encoded.names), loaded.n)
    measures = measure_key_sets(
        dataset, loaded, loaded.encoded, mask if dataset.key_sets else None,
        semantics=plan.semantics,
    )  # fmt: skip
    return [m for m, _ in measures], measure_trajectories(dataset, loaded.table)
