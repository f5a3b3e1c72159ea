"""The SCRA stage on a file (G5): read Parquet or CSV, measure, treat, write the report.

:func:`run_scra` reads only the columns it needs, measures every key set before treatment,
optionally suppresses to k (on the union of the key sets, which guarantees k on each of
them), measures again under the suppression semantics, and writes atomically:

- ``scra.json``: the :class:`~sluis.scra.result.ScraResult`;
- ``scra.html``: the report for a data protection officer (tables and inline plots);
- with suppression: ``treated.parquet`` (the data with suppressed values missing and the
  ``sdc_suppressed`` column) and ``suppressions.parquet`` (one row per suppressed value).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sluis.atomic import atomic_path, write_text
from sluis.errors import SluisError
from sluis.report import write_page
from sluis.report.charts import bar_chart
from sluis.scra.frequencies import KeyCodes, encode_column, encode_keys, frequencies
from sluis.scra.household import household_ids, household_risk
from sluis.scra.ldiversity import distinct_l_diversity
from sluis.scra.longitudinal import longitudinal_risk
from sluis.scra.result import (
    HouseholdSummary,
    KeySetResult,
    LDiversitySummary,
    Measures,
    ScraResult,
    SudaSummary,
    Threshold,
    Treatment,
)
from sluis.scra.risk import global_risk, individual_risk
from sluis.scra.suppress import (
    apply_suppression,
    check_semantics,
    explanations,
    local_suppression,
    treated_frequencies,
    write_explanations,
)

if TYPE_CHECKING:  # matplotlib (bar_figure) and duckdb (CSV) load only when used
    from matplotlib.figure import Figure

SEMANTICS_TEXT = {
    "strict": "a suppressed value is a category of its own (*): a record's cell after "
    "treatment is its values with suppressed ones shown as *, and every cell holds at least "
    "k records; a value missing before treatment is another category",
    "sdcmicro": "a suppressed value matches any value of its key (as sdcMicro after "
    "localSuppression); a value missing before treatment is a category of its own",
}
_SIZE_BANDS = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 9), (10, 19), (20, 49), (50, None)]
_RISK_EDGES = [0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0]


class ScraInputError(SluisError):
    """An input file or column the analysis cannot use (G5)."""


def load_table(path: Path, columns: Sequence[str]) -> pa.Table:
    """Read ``columns`` of a Parquet file or directory, or of a CSV file."""
    path = Path(path)
    if not path.exists():
        raise ScraInputError("no such file", rule="scra-input-missing", file=str(path))
    wanted = list(dict.fromkeys(columns))
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"} or (suffix == ".gz" and path.stem.endswith(".csv")):
        import duckdb  # only for CSV: it costs a Parquet run about 0.1 s to import

        try:
            relation = duckdb.read_csv(str(path))
            names = relation.columns
            _require(path, names, wanted)
            quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in wanted)
            return relation.select(quoted).to_arrow_table()
        except duckdb.Error as err:
            raise _unreadable(path, err) from err
    try:
        if path.is_file():  # not pq.read_table: its dataset layer imports pandas (0.4 s)
            parquet = pq.ParquetFile(path)
            _require(path, parquet.schema_arrow.names, wanted)
            return parquet.read(columns=wanted)
        schema = pq.ParquetDataset(path).schema
        _require(path, schema.names, wanted)
        return pq.read_table(path, columns=wanted)
    except (pa.ArrowInvalid, OSError) as err:
        raise _unreadable(path, err) from err


def _unreadable(path: Path, err: Exception) -> ScraInputError:
    return ScraInputError(
        f"cannot read the file: {err}".splitlines()[0],
        rule="scra-input-unreadable",
        file=str(path),
        hint="give a Parquet file or directory, or a CSV file with a header",
    )


def _require(path: Path, present: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        raise ScraInputError(
            f"no column {missing[0]!r} (columns: {', '.join(present)})",
            rule="scra-column-missing",
            file=str(path),
            column=missing[0],
            hint="name key, weight and household columns as they appear in the file",
        )


def _size_histogram(fk: np.ndarray) -> dict[str, int]:
    out = {}
    for lo, hi in _SIZE_BANDS:
        label = str(lo) if lo == hi else (f"{lo}-{hi}" if hi else f"{lo}+")
        mask = fk >= lo if hi is None else (fk >= lo) & (fk <= hi)
        out[label] = int(np.count_nonzero(mask))
    return out


def _risk_histogram(risk: np.ndarray) -> dict[str, int]:
    """Records per risk band, as ``np.histogram(np.clip(risk, 0, 1), _RISK_EDGES)`` (the
    last band closed) without sorting every record."""
    clipped = np.clip(risk, 0.0, 1.0)
    band = np.searchsorted(np.asarray(_RISK_EDGES), clipped[~np.isnan(clipped)], side="right")
    counts = np.bincount(np.minimum(band, len(_RISK_EDGES) - 1) - 1, minlength=len(_RISK_EDGES) - 1)
    return {
        f"{lo:g}-{hi:g}": int(c)
        for lo, hi, c in zip(_RISK_EDGES[:-1], _RISK_EDGES[1:], counts, strict=True)
    }


def risk_measures(
    fk: np.ndarray,
    Fk: np.ndarray,
    n_cells: int,
    k: int,
    household: np.ndarray | None,
) -> tuple[Measures, np.ndarray]:
    """The risk measures of one key combination (global and individual risk, records
    below each threshold) and each record's individual risk; shared by the report on the
    recipient's file, the staged-data check and the treatment's stopping rule."""
    risk = individual_risk(fk, Fk)
    g = global_risk(risk)
    below = {str(t): int(np.count_nonzero(fk < t)) for t in (2, 3, 5)}
    below["k"] = int(np.count_nonzero(fk < k))
    measures = Measures(
        cells=n_cells,
        records_below=below,
        global_risk=g.global_risk,
        expected_reidentifications=g.expected_reidentifications,
        max_risk=g.max_risk,
        cell_size_histogram=_size_histogram(fk),
        risk_histogram=_risk_histogram(risk),
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
    """Measure (and treat) ``path`` and write the report to ``out_dir`` (see module);
    ``semantics`` of a suppressed value: ``strict`` (its own category) or ``sdcmicro``."""
    check_semantics(semantics)
    if k < 1:
        raise ScraInputError(f"k must be at least 1, got {k}", rule="scra-k")
    key_sets = [list(dict.fromkeys(ks)) for ks in key_sets if ks]
    if not key_sets:
        raise ScraInputError("name at least one key variable", rule="scra-keys-missing")
    all_keys = list(dict.fromkeys(key for ks in key_sets for key in ks))
    extra = [c for c in (weight, household) if c] + list(sensitive)
    longitudinal = bool(person or quarter or states)
    if longitudinal and not (person and quarter and states):
        raise ScraInputError(
            "longitudinal risk needs --person, --quarter and --states together",
            rule="scra-longitudinal-options",
        )
    if longitudinal:
        extra += [person, quarter, *states]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    table = load_table(path, all_keys + extra)
    timings["read"] = time.perf_counter() - t0
    n = table.num_rows
    weights = None
    if weight:
        weights = table.column(weight).to_numpy().astype(np.float64)
        if np.isnan(weights).any() or (weights < 1).any():
            raise ScraInputError(
                "survey weights must be present and at least 1",
                rule="scra-weight-invalid",
                file=str(path),
                column=weight,
            )
    hh_ids = household_ids(table.column(household)) if household else None
    sens_codes = [(name, encode_column(table.column(name))[0]) for name in sensitive]

    t0 = time.perf_counter()
    encoded_all = encode_keys(table, all_keys)
    timings["encode"] = time.perf_counter() - t0

    def subset(names: Sequence[str]) -> KeyCodes:
        idx = [all_keys.index(name) for name in names]
        return KeyCodes(
            tuple(names),
            tuple(encoded_all.codes[i] for i in idx),
            tuple(encoded_all.labels[i] for i in idx),
        )

    results: list[KeySetResult] = []
    t0 = time.perf_counter()
    for i, names in enumerate(key_sets):
        keys = subset(names)
        freq = frequencies(keys, weights)
        before, _ = risk_measures(freq.fk, freq.Fk, freq.n_cells, k, hh_ids)
        for sname, scodes in sens_codes:
            ld = distinct_l_diversity(freq.cell, freq.n_cells, scodes, sname, l_min)
            before.ldiversity.append(
                LDiversitySummary(sname, l_min, ld.min_l, ld.cells_below, ld.records_below)
            )
        if suda:
            from sluis.scra.suda import suda2  # numba: about 0.5 s to import, only for SUDA2

            t1 = time.perf_counter()
            s = suda2(keys)
            timings[f"suda2 K{i + 1}"] = time.perf_counter() - t1
            before.suda = SudaSummary(
                s.records_with_score,
                s.score_sum,
                s.score_max,
                s.records_dis_above(0.1),
                s.dis_sum,
                [int(x) for x in s.msu_per_size],
            )
        results.append(KeySetResult(f"K{i + 1}", list(names), before))
    timings["measures"] = time.perf_counter() - t0

    treatment = None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if suppress:
        t0 = time.perf_counter()
        sup = local_suppression(encoded_all, k, semantics=semantics)
        timings["suppression"] = time.perf_counter() - t0
        for res in results:
            idx = [all_keys.index(name) for name in res.keys]
            keys = subset(res.keys)
            fk, Fk, n_shown = treated_frequencies(keys, sup.suppressed[:, idx], semantics, weights)
            res.after, _ = risk_measures(fk, Fk, n_shown, k, hh_ids)
        explained = explanations(encoded_all, sup)  # record = 0-based row of the input
        write_explanations(out_dir / "suppressions.parquet", explained)
        full = load_table(path, _all_columns(path))
        treated = apply_suppression(full, encoded_all, sup)
        with atomic_path(out_dir / "treated.parquet") as tmp:
            pq.write_table(treated, tmp)
        treatment = Treatment(
            k=k,
            keys=all_keys,
            order=list(sup.order),
            suppressed_values=sup.total,
            records_touched=sup.records_touched,
            per_variable=sup.per_variable,
            semantics=SEMANTICS_TEXT[semantics],
            explanations_file="suppressions.parquet",
            treated_file="treated.parquet",
            examples=explained.slice(0, 20).to_pylist(),
        )

    trajectories = None
    if longitudinal:
        t0 = time.perf_counter()
        trajectories = longitudinal_risk(
            table, person=person, quarter=quarter, states=list(states), m=window, k=k
        )
        timings["longitudinal"] = time.perf_counter() - t0

    thresholds = []
    if trajectories is not None:
        thresholds.append(
            Threshold(
                f"persons whose {window}-quarter trajectory is shared by < {k} persons",
                "0",
                f"{trajectories.persons_at_risk:,}",
                trajectories.persons_at_risk == 0,
            )
        )
    for res in results:
        final = res.after or res.before
        stage = "after treatment" if res.after else "before treatment"
        thresholds.append(
            Threshold(
                f"{res.name}: records with fk < {k} ({stage})",
                "0",
                f"{final.records_below['k']:,}",
                final.records_below["k"] == 0,
            )
        )
        if max_global_risk is not None:
            thresholds.append(
                Threshold(
                    f"{res.name}: global risk ({stage})",
                    f"<= {max_global_risk:g}",
                    f"{final.global_risk:.6g}",
                    final.global_risk <= max_global_risk,
                )
            )
    result = ScraResult(
        file=str(path),
        records=n,
        k=k,
        weight=weight,
        household=household,
        key_sets=results,
        thresholds=thresholds,
        treatment=treatment,
        longitudinal=trajectories,
        seconds={name: round(v, 3) for name, v in timings.items()},
    )
    write_text(out_dir / "scra.json", json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    write_html(out_dir / "scra.html", result)
    return result


def _all_columns(path: Path) -> list[str]:
    if Path(path).suffix.lower() in {".csv", ".txt"}:
        import duckdb

        return list(duckdb.read_csv(str(path)).columns)
    schema = pq.read_schema(path) if Path(path).is_file() else pq.ParquetDataset(path).schema
    return list(schema.names)


def bar_figure(
    title: str, series: dict[str, dict[str, int]], xlabel: str, ylabel: str = "records"
) -> Figure:
    """A grouped bar chart of counts per class, as a matplotlib figure (the spec-driven
    report's plots; :func:`write_html` draws the same chart as plain SVG with
    :func:`sluis.report.charts.bar_chart`, without importing matplotlib)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.add_subplot()
    labels = list(next(iter(series.values())).keys())
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + i * width, [values[lab] for lab in labels], width, label=name)
    ax.set_xticks(x + width * (len(series) - 1) / 2, labels)
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def write_html(path: Path, result: ScraResult) -> Path:
    """The report a data protection officer reads: thresholds first, then per key set the
    cell sizes and risks before and after treatment, then what was suppressed."""
    plots = {}
    for res in result.key_sets:
        sizes = {"before": res.before.cell_size_histogram}
        risks = {"before": res.before.risk_histogram}
        if res.after:
            sizes["after"] = res.after.cell_size_histogram
            risks["after"] = res.after.risk_histogram
        plots[res.name] = {
            "sizes": bar_chart(f"{res.name}: records by cell size fk", sizes, "fk"),
            "risks": bar_chart(f"{res.name}: records by individual risk", risks, "risk"),
        }
    suppression_plot = None
    if result.treatment and result.treatment.suppressed_values:
        per_var = {v: n for v, n in result.treatment.per_variable.items()}
        suppression_plot = bar_chart(
            "suppressed values per key", {"suppressed": per_var}, "key", "values"
        )
    return write_page(
        path,
        "scra.html",
        title="Small-cell risk analysis",
        result=result,
        plots=plots,
        suppression_plot=suppression_plot,
        spec_run=False,
    )
