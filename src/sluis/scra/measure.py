"""The measure step of the SCRA (G5): one dataset read, encoded and measured.

:func:`load` reads the columns a :class:`~sluis.scra.plan.DatasetPlan` needs and encodes its
keys, weights, households and sensitive variables once; :func:`measure_key_sets` takes the
risk measures of every key set (fk, Fk, records below k, individual, global and household
risk, l-diversity, SUDA2 when asked), before treatment on the staged values and after
treatment on the treated codes with their suppression mask; :func:`measure_trajectories`
the longitudinal risk. The same functions serve both entry points and every stage.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pyarrow as pa

from sluis.scra.frequencies import Frequencies, KeyCodes, cell_ids, encode_keys, frequencies
from sluis.scra.household import household_ids, household_risk
from sluis.scra.inputs import ScraInputError, load_table
from sluis.scra.ldiversity import distinct_l_diversity
from sluis.scra.longitudinal import LongitudinalRisk, longitudinal_risk
from sluis.scra.plan import DatasetPlan, SensitivePlan
from sluis.scra.result import HouseholdSummary, LDiversitySummary, Measures, PeriodRisk, SudaSummary
from sluis.scra.risk import global_risk, individual_risk, sample_k
from sluis.scra.suppress import treated_frequencies

_SIZE_BANDS = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 9), (10, 19), (20, 49), (50, None)]
_RISK_EDGES = [0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0]


def _count(mask: np.ndarray, records: np.ndarray | None) -> int:
    """Records where ``mask`` holds: its true entries, or with ``records`` (records per
    cell, ``mask`` over cells) the records of the cells where it holds."""
    return int(np.count_nonzero(mask)) if records is None else int(records[mask].sum())


def _size_histogram(fk: np.ndarray, records: np.ndarray | None = None) -> dict[str, int]:
    """Records per cell-size band, of ``fk`` per record or per cell with ``records``."""
    out = {}
    for lo, hi in _SIZE_BANDS:
        label = str(lo) if lo == hi else (f"{lo}-{hi}" if hi else f"{lo}+")
        mask = fk >= lo if hi is None else (fk >= lo) & (fk <= hi)
        out[label] = _count(mask, records)
    return out


def _risk_histogram(risk: np.ndarray, records: np.ndarray | None = None) -> dict[str, int]:
    """Records per risk band, as ``np.histogram(np.clip(risk, 0, 1), _RISK_EDGES)`` (the
    last band closed; a missing risk in none), of ``risk`` per record or per cell with
    ``records``: the records at or above each inner edge, differenced, which costs a
    comparison a record and edge instead of a search (a sort) of every record."""
    at_least = [_count(~np.isnan(risk), records)]
    at_least += [_count(risk >= edge, records) for edge in _RISK_EDGES[1:-1]]
    at_least.append(0)
    bands = zip(pairwise(_RISK_EDGES), pairwise(at_least), strict=True)
    return {f"{lo:g}-{hi:g}": n - more for (lo, hi), (n, more) in bands}


def risk_measures(
    fk: np.ndarray,
    Fk: np.ndarray,
    n_cells: int,
    k: int,
    household: np.ndarray | None,
    *,
    cells: Frequencies | None = None,
) -> tuple[Measures, np.ndarray]:
    """The risk measures of one key combination (global and individual risk, records
    below each threshold) and each record's individual risk; shared by the measures before
    and after treatment and the treatment's stopping rule. With ``cells`` (the frequencies
    ``fk`` and ``Fk`` come from) the risk is computed once a cell and the counts by cell:
    the same values (the same arithmetic on the same fk and Fk), a cell costing what a
    record did (K4 at 1 M: 5 thousand cells for a million records)."""
    if cells is None:
        risk = individual_risk(fk, Fk)
        sizes, risks, records = fk, risk, None
    else:
        risks = individual_risk(cells.cell_fk, cells.cell_Fk)
        risk = risks[cells.cell]
        sizes = records = cells.cell_fk
    g = global_risk(risk)  # summed over records, in their order: the same float as before
    below = {str(t): _count(sizes < t, records) for t in (2, 3, 5)}
    below["k"] = _count(sizes < k, records)
    measures = Measures(
        cells=n_cells,
        records_below=below,
        global_risk=g.global_risk,
        expected_reidentifications=g.expected_reidentifications,
        max_risk=g.max_risk,
        cell_size_histogram=_size_histogram(sizes, records),
        risk_histogram=_risk_histogram(risks, records),
    )
    if household is not None:
        hh = household_risk(risk, household)
        measures.household = HouseholdSummary(
            households=hh.n_households,
            mean_risk=hh.mean_risk,
            expected_households_reidentified=hh.expected_households,
            records_above_0_5=int(np.count_nonzero(hh.risk > 0.5)),
        )
    return measures, risk


def subset_keys(encoded: KeyCodes, names: Sequence[str]) -> KeyCodes:
    """The codes of the keys ``names`` out of the encoded union of the key sets."""
    idx = [encoded.names.index(name) for name in names]
    return KeyCodes(
        tuple(names),
        tuple(encoded.codes[i] for i in idx),
        tuple(encoded.labels[i] for i in idx),
    )


@dataclass
class Loaded:
    """One dataset as the measures and the treatment see it."""

    table: pa.Table  # the columns the measures read (DatasetPlan.columns)
    encoded: KeyCodes  # the union of the key sets, staged values
    weights: np.ndarray | None
    weight: str | None  # the weight column, or the design weight as the report names it
    k: int  # the k frequencies must reach (sample_k of a sample with a design weight)
    households: np.ndarray | None  # dense household ids (per period on a panel)
    sensitive: list[tuple[SensitivePlan, np.ndarray]]  # dense codes per sensitive variable

    @property
    def n(self) -> int:
        return self.table.num_rows


def load(dataset: DatasetPlan, k: int) -> Loaded:
    """Read and encode what ``dataset``'s measures need; survey weights must be >= 1."""
    table = load_table(dataset.path, dataset.columns)
    n = table.num_rows
    weights, weight = None, dataset.weight
    if not weight and dataset.design_weight is not None and dataset.design_weight > 1:
        # a sample without a weight column: every record stands for design_weight persons
        weights = np.full(n, float(dataset.design_weight))
        weight = f"design weight {dataset.design_weight:.4g}"
    elif weight:
        weights = table.column(weight).to_numpy(zero_copy_only=False).astype(np.float64)
        if np.isnan(weights).any() or (weights < 1).any():
            raise ScraInputError(
                "survey weights must be present and at least 1",
                rule="scra-weight-invalid",
                file=dataset.shown,
                column=weight,
            )
    encoded = encode_keys(table, dataset.all_keys)
    households = None
    if dataset.household:
        households = household_ids(table.column(dataset.household))
        if dataset.period:  # a household is counted per period (the household of that quarter)
            per = encode_keys(table, [dataset.period])
            households, _ = cell_ids(
                [households, per.codes[0]], [int(households.max()) + 1, per.cardinalities[0]], n
            )
    sensitive = [(s, encode_keys(table, [s.variable]).codes[0]) for s in dataset.sensitive]
    # a sample with one design weight: k holds on the estimated population frequency
    designed = weights is not None and not dataset.weight
    k_eff = sample_k(k, dataset.design_weight) if designed else k
    return Loaded(table, encoded, weights, weight, k_eff, households, sensitive)


def shown_cells(keys: KeyCodes, suppressed: np.ndarray) -> tuple[np.ndarray, int]:
    """Cells with a suppressed value shown as one extra code per key (strict cells)."""
    shown = [
        np.where(suppressed[:, j], card, keys.codes[j]) for j, card in enumerate(keys.cardinalities)
    ]
    return cell_ids(shown, [c + 1 for c in keys.cardinalities], keys.n)


def period_risk(
    period: KeyCodes, fk: np.ndarray, k: int, after: np.ndarray | None
) -> list[PeriodRisk]:
    """Records and records below k per period (quarter, year), before and after."""
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


def measure_key_sets(
    dataset: DatasetPlan,
    loaded: Loaded,
    codes: KeyCodes,
    suppressed: np.ndarray | None = None,
    *,
    semantics: str = "strict",
    suda: bool = False,
    timings: dict[str, float] | None = None,
    sensitive: Sequence[tuple[SensitivePlan, np.ndarray]] | None = None,
) -> list[tuple[Measures, np.ndarray]]:
    """The measures of every key set of ``dataset`` and each record's fk. Before treatment
    ``codes`` are the staged values and ``suppressed`` is None; after treatment ``codes``
    are the treated (recoded) values and ``suppressed`` the mask over ``codes.names``, a
    suppressed value counted under ``semantics`` (l-diversity on the cells as shown, of
    ``sensitive`` codes when given, else the staged values)."""
    out = []
    sensitive = loaded.sensitive if sensitive is None else sensitive
    for i, keys_used in enumerate(dataset.analysed):
        keys = subset_keys(codes, keys_used)
        freq = None
        if suppressed is None:
            freq = frequencies(keys, loaded.weights)
            fk, Fk, n_cells, cells = freq.fk, freq.Fk, freq.n_cells, freq.cell
        else:
            idx = [codes.names.index(key) for key in keys_used]
            mask = suppressed[:, idx]
            fk, Fk, n_cells = treated_frequencies(keys, mask, semantics, loaded.weights)
            cells, n_shown = shown_cells(keys, mask)
        measures, _ = risk_measures(fk, Fk, n_cells, loaded.k, loaded.households, cells=freq)
        for s, sens in sensitive:
            if suppressed is None:
                ld = distinct_l_diversity(cells, n_cells, sens, s.variable, s.l)
            else:
                ld = distinct_l_diversity(cells, n_shown, sens, s.variable, s.l)
            measures.ldiversity.append(
                LDiversitySummary(s.variable, s.l, ld.min_l, ld.cells_below, ld.records_below)
            )
        if suda and suppressed is None:
            from sluis.scra.suda import suda2  # numba: compiled only when SUDA2 is asked for

            t0 = time.perf_counter()
            s2 = suda2(keys, cells=(cells, n_cells))  # the cells counted above
            if timings is not None:
                timings[f"suda2 {dataset.key_sets[i].name}"] = time.perf_counter() - t0
            measures.suda = SudaSummary(
                s2.records_with_score,
                s2.score_sum,
                s2.score_max,
                s2.records_dis_above(0.1),
                s2.dis_sum,
                [int(x) for x in s2.msu_per_size],
            )
        out.append((measures, fk))
    return out


def measure_treated(
    dataset: DatasetPlan,
    loaded: Loaded,
    table: pa.Table,
    suppressed: np.ndarray,
    semantics: str,
) -> tuple[KeyCodes, list[tuple[Measures, np.ndarray]]]:
    """The measures after treatment, on the dataset's final treated ``table`` (its key and
    sensitive values re-encoded) with ``suppressed``, the mask of every suppressed key
    value (null in ``table``; the mask tells it from a value missing before treatment).
    Returns the treated key codes and the measures of every key set."""
    codes = encode_keys(table, dataset.all_keys)
    sensitive = [(s, encode_keys(table, [s.variable]).codes[0]) for s, _ in loaded.sensitive]
    measures = measure_key_sets(
        dataset, loaded, codes, suppressed, semantics=semantics, sensitive=sensitive
    )
    return codes, measures


def measure_trajectories(dataset: DatasetPlan, table: pa.Table) -> list[LongitudinalRisk]:
    """The longitudinal risk of every trajectory check of ``dataset`` on ``table``, over
    the windows the check names (consecutive quarters, or any m quarters: ``windows: any``)."""
    return [
        longitudinal_risk(
            table,
            person=lg.person,
            quarter=lg.quarter,
            states=list(lg.states),
            m=lg.m,
            k=lg.k,
            consecutive=lg.consecutive,
        )
        for lg in dataset.longitudinal
    ]
