"""What treatment cost the research (G5): information loss of the SCRA's treatment.

The SCRA's figures say how far treatment lowered the risk; these say what it took from the
researchers, measured on the staged extract before treatment (``staged``) and the treated
one (``<out>/staged``), file by file and row by row (the treated file keeps the staged
rows in order, so row ``i`` of one is row ``i`` of the other):

- **per variable**: values *suppressed* (present before, null after) and values
  *recoded* (present in both, but the delivered value is written differently, such as a
  quarter now a year, or stands for more than one staged value, such as an amount class
  merged with its neighbours), each as a count and a share of the dataset's rows, and the
  categories before and after;
- **per key set** of the spec: cells before and after and the records alone in their cell,
  counted strictly (a null is a category of its own) and within the dataset's period;
- **research quantities** (:mod:`sluis.scra.research`, the spec's ``scra.research``): the
  decision's own figures per group before and after, their difference, and the largest
  difference. A null in a group or outcome column leaves the unit out of the denominator.

Everything runs in DuckDB through the engine (SQL over the two Parquet files joined by
their row number, the quantities in Ibis); only per-variable, per-key-set and per-group
summaries come back to Python. :func:`infoloss_html` is the report's section (tables and
inline SVG plots), :func:`infoloss_dict` the part of ``scra.json``.
"""

from __future__ import annotations

import filecmp
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sluis.engine import Engine
from sluis.errors import SluisError
from sluis.scra.research import quantity
from sluis.spec.model import Spec

#: a column the treatment may add when the spec names it (each record's suppressed keys)
SUPPRESSED_COLUMN = "sdc_suppressed"


@dataclass(frozen=True)
class VariableLoss:
    """What treatment did to one delivered variable."""

    dataset: str
    variable: str
    rows: int
    #: present before and after, delivered differently or merged with other staged values
    recoded: int
    #: present before, null after
    suppressed: int
    #: distinct non-null values before and after
    categories_before: int
    categories_after: int

    @property
    def recoded_share(self) -> float:
        return self.recoded / self.rows if self.rows else 0.0

    @property
    def suppressed_share(self) -> float:
        return self.suppressed / self.rows if self.rows else 0.0

    @property
    def changed(self) -> bool:
        return bool(self.recoded or self.suppressed)


@dataclass(frozen=True)
class KeySetLoss:
    """Cells of one key set before and after treatment (strict, within the period)."""

    dataset: str
    name: str
    keys: tuple[str, ...]
    period: str | None
    rows: int
    cells_before: int
    cells_after: int
    #: records alone in their cell (fk = 1)
    alone_before: int
    alone_after: int


@dataclass(frozen=True)
class GroupValue:
    """One group of a research quantity before and after treatment."""

    group: tuple[Any, ...]
    before: float | None
    after: float | None
    #: None where the recipient's version withholds it (:func:`for_recipient`)
    units_before: int | None
    units_after: int

    @property
    def difference(self) -> float | None:
        """after - before; None for a group present on one side only."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class QuantityLoss:
    """A research quantity before and after treatment, group by group (groups in order)."""

    id: str
    title: str
    groups: tuple[str, ...]
    value: str
    description: str
    rows: tuple[GroupValue, ...]
    #: groups whose figures before treatment the recipient's version withholds
    withheld: int = 0

    @property
    def largest(self) -> GroupValue | None:
        """The group with the largest absolute difference (the first in group order on a
        tie); None when no group is on both sides."""
        both = [r for r in self.rows if r.difference is not None]
        return max(both, key=lambda r: abs(r.difference), default=None)  # type: ignore[arg-type]

    @property
    def units_before(self) -> int:
        return sum(r.units_before or 0 for r in self.rows)

    @property
    def units_after(self) -> int:
        return sum(r.units_after for r in self.rows)


@dataclass
class InfoLoss:
    """What treatment cost the research: per variable, per key set, per quantity."""

    decision: str
    #: the variables treatment could touch (keys, states, sensitive, implied, recoded) and
    #: every other variable it changed, in the spec's order
    variables: list[VariableLoss] = field(default_factory=list)
    key_sets: list[KeySetLoss] = field(default_factory=list)
    quantities: list[QuantityLoss] = field(default_factory=list)
    #: per dataset, the variables compared and found unchanged that ``variables`` leaves out
    unchanged: dict[str, int] = field(default_factory=dict)


# -- measuring ------------------------------------------------------------------------------


def information_loss(
    spec: Spec, staged: Path, treated: Path, *, engine: Engine | None = None
) -> InfoLoss:
    """Compare the staged extract ``staged`` (before treatment) with the treated one
    ``treated`` (``<out>/staged``): every dataset of the spec that has a staged file, every
    key set of ``spec.scra`` and every quantity of ``spec.scra.research``.

    A treated file that is missing, has other rows, lacks a staged column or has a value
    where the staged file has none (treatment never makes a value finer) is a
    :class:`SluisError` naming the file and column."""
    staged, treated = Path(staged), Path(treated)
    own = engine is None
    eng = engine or Engine(memory_limit="2GB")
    try:
        loss = InfoLoss(spec.decision.id)
        files: dict[str, tuple[Path, Path]] = {}
        for name in spec.datasets:
            before = staged / f"{name}.parquet"
            if not before.exists():
                continue
            after = treated / f"{name}.parquet"
            if not after.exists():
                raise SluisError(
                    f"no treated file for dataset {name!r}",
                    rule="infoloss-treated-missing",
                    file=str(after),
                    hint="give <out>/staged of the same SCRA run",
                )
            files[name] = (before, after)
        touchable = _touchable(spec)
        for name, (before, after) in files.items():
            keep = {v for d, v in touchable if d == name}
            measured, same = _variables(eng, name, before, after, keep)
            declared = spec.variable_names(name)
            order = {v: i for i, v in enumerate(declared)}
            measured.sort(key=lambda v: (order.get(v.variable, len(order)), v.variable))
            shown = [v for v in measured if v.changed or v.variable in keep]
            loss.variables += shown
            loss.unchanged[name] = len(measured) - len(shown) + same
        sc = spec.scra
        for ks in sc.key_sets if sc else []:
            if ks.dataset not in files:
                continue
            before, after = files[ks.dataset]
            loss.key_sets.append(
                _key_set(eng, ks.dataset, ks.name, ks.keys, spec.period(ks.dataset), before, after)
            )
        for id_ in sc.research if sc else []:
            loss.quantities.append(_quantity(eng, id_, files))
        return loss
    finally:
        if own:
            eng.close()


def _touchable(spec: Spec) -> set[tuple[str, str]]:
    """(dataset, variable) pairs the spec's SCRA section may treat: shown even when
    unchanged, since 'nothing suppressed' is the information a researcher wants there."""
    sc = spec.scra
    if sc is None:
        return set()
    out = {(ks.dataset, key) for ks in sc.key_sets for key in ks.keys}
    out |= {(lg.dataset, s) for lg in sc.longitudinal for s in lg.states}
    out |= {(s.dataset, s.variable) for s in sc.sensitive}
    out |= {(step.dataset, step.variable) for step in sc.recode}
    for entry in sc.implied:
        for ref in (entry.key, *entry.by):
            dataset, _, variable = ref.partition(".")
            out.add((dataset, variable))
    return {(d, v) for d, v in out if v != spec.period(d)}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file(path: Path) -> str:
    """A Parquet file as a DuckDB table function with each row's position."""
    return "read_parquet('" + str(path).replace("'", "''") + "', file_row_number = true)"


def _rows(eng: Engine, sql: str) -> list[dict[str, Any]]:
    """The (few) rows of a summary query as dicts."""
    cursor = eng.con.raw_sql(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _columns(eng: Engine, path: Path) -> list[str]:
    return [
        r["column_name"] for r in _rows(eng, f"DESCRIBE SELECT * FROM read_parquet('{_q(path)}')")
    ]


def _same_columns(before: Path, after: Path, columns: list[str]) -> set[str]:
    """The columns whose values the two files hold identically: all of them when the
    treated file is a byte copy (a dataset no treatment touched), else each compared with
    Arrow, one column at a time (the columns no treatment touched)."""
    if filecmp.cmp(before, after, shallow=False):
        return set(columns)
    same = set()
    files = pq.ParquetFile(before), pq.ParquetFile(after)
    for c in columns:
        b, a = (f.read(columns=[c]).column(c) for f in files)
        if b.type == a.type and b.equals(a):
            same.add(c)
    return same


def _variables(
    eng: Engine, name: str, before: Path, after: Path, keep: set[str]
) -> tuple[list[VariableLoss], int]:
    """Suppressed, recoded and categories of the staged columns of one dataset that
    changed or are in ``keep``, and the number of the other (unchanged) columns: one
    scan of the two files joined by row number, and one more per column with changed
    values; a column Arrow finds identical in both files is not scanned unless kept."""
    schema_before = _columns(eng, before)
    schema_after = set(_columns(eng, after))
    missing = [c for c in schema_before if c not in schema_after]
    if missing:
        raise SluisError(
            f"the treated file of {name} lacks the staged column {missing[0]!r} (treatment "
            "keeps every column)",
            rule="infoloss-columns",
            file=str(after),
            column=missing[0],
        )
    counts = _rows(
        eng,
        f"SELECT (SELECT count(*) FROM read_parquet('{_q(before)}')) AS b, "
        f"(SELECT count(*) FROM read_parquet('{_q(after)}')) AS a",
    )[0]
    if counts["b"] != counts["a"]:
        raise SluisError(
            f"the treated file of {name} has {counts['a']:,} rows, the staged one "
            f"{counts['b']:,} (treatment never drops or adds a row)",
            rule="infoloss-rows",
            file=str(after),
        )
    columns = [c for c in schema_before if c != SUPPRESSED_COLUMN]
    same = _same_columns(before, after, [c for c in columns if c not in keep])
    columns = [c for c in columns if c not in same]
    if not columns:
        return [], len(same)
    parts = []
    for i, c in enumerate(columns):
        b, a = f"b.{_ident(c)}", f"a.{_ident(c)}"
        parts += [
            f"count_if({b} IS NOT NULL AND {a} IS NULL) AS s{i}",
            f"count_if({b} IS NOT NULL AND {a} IS NOT NULL AND "
            f"CAST({b} AS VARCHAR) <> CAST({a} AS VARCHAR)) AS d{i}",
            f"count_if({b} IS NULL AND {a} IS NOT NULL) AS f{i}",
            f"count(DISTINCT {b}) AS cb{i}",
            f"count(DISTINCT {a}) AS ca{i}",
        ]
    # row i with row i: a positional join streams both files (three times faster than a
    # hash join on the row number); the row numbers it pairs are checked in the same scan,
    # and should the engine ever pair other rows, the keyed join gives the answer
    parts.append("count_if(b.file_row_number <> a.file_row_number) AS misaligned")
    joined = f"{_file(before)} b POSITIONAL JOIN {_file(after)} a"
    row = _rows(eng, f"SELECT {', '.join(parts)} FROM {joined}")[0]
    if row["misaligned"]:
        joined = f"{_file(before)} b JOIN {_file(after)} a ON b.file_row_number = a.file_row_number"
        row = _rows(eng, f"SELECT {', '.join(parts)} FROM {joined}")[0]
    out = []
    for i, c in enumerate(columns):
        if row[f"f{i}"]:
            raise SluisError(
                f"{row[f'f{i}']:,} values of {name}.{c} are missing in the staged file and "
                "present in the treated one: the files are not the same extract before and "
                "after treatment (treatment never fills a value)",
                rule="infoloss-finer",
                file=str(after),
                column=c,
            )
        recoded = _recoded(eng, joined, c) if row[f"d{i}"] else 0
        out.append(
            VariableLoss(
                name,
                c,
                counts["b"],
                recoded,
                row[f"s{i}"],
                row[f"cb{i}"],
                row[f"ca{i}"],
            )
        )
    return out, len(same)


def _q(path: Path) -> str:
    return str(path).replace("'", "''")


def _recoded(eng: Engine, joined: str, column: str) -> int:
    """Values present before and after that the delivery writes differently or that share
    their delivered value with another staged value (a class merged into a coarser one:
    the unchanged lower bound of a widened amount class counts too)."""
    b, a = f"CAST(b.{_ident(column)} AS VARCHAR)", f"CAST(a.{_ident(column)} AS VARCHAR)"
    sql = f"""
        WITH j AS (SELECT {b} AS bv, {a} AS av FROM {joined}
                   WHERE bv IS NOT NULL AND av IS NOT NULL),
             merged AS (SELECT av FROM j GROUP BY av HAVING count(DISTINCT bv) > 1)
        SELECT count(*) AS n FROM j WHERE bv <> av OR av IN (SELECT av FROM merged)
    """
    return int(_rows(eng, sql)[0]["n"])


def _key_set(
    eng: Engine,
    dataset: str,
    name: str,
    keys: Sequence[str],
    period: str | None,
    before: Path,
    after: Path,
) -> KeySetLoss:
    """Cells (distinct combinations of the keys and the period, null a value of its own)
    and records alone in their cell, before and after."""
    group = ", ".join(_ident(k) for k in dict.fromkeys([*keys, *([period] if period else [])]))
    figures = {}
    for side, path in (("before", before), ("after", after)):
        sql = (
            "SELECT count(*) AS cells, coalesce(sum(n) FILTER (WHERE n = 1), 0) AS alone, "
            f"coalesce(sum(n), 0) AS n_rows FROM (SELECT count(*) AS n FROM "
            f"read_parquet('{_q(path)}') GROUP BY {group})"
        )
        try:
            figures[side] = _rows(eng, sql)[0]
        except Exception as err:  # a key the file does not hold: the spec and file disagree
            raise SluisError(
                f"key set {name} of {dataset}: {err}".splitlines()[0],
                rule="infoloss-columns",
                file=str(path),
            ) from None
    return KeySetLoss(
        dataset,
        name,
        tuple(keys),
        period,
        int(figures["before"]["n_rows"]),
        int(figures["before"]["cells"]),
        int(figures["after"]["cells"]),
        int(figures["before"]["alone"]),
        int(figures["after"]["alone"]),
    )


def _quantity(eng: Engine, id_: str, files: dict[str, tuple[Path, Path]]) -> QuantityLoss:
    """One research quantity on both extracts, its groups matched by value."""
    q = quantity(id_)
    absent = [d for d in q.datasets if d not in files]
    if absent:
        raise SluisError(
            f"research quantity {id_} reads dataset {absent[0]!r}, which has no staged file",
            rule="infoloss-dataset-missing",
            hint="a staged extract has one <dataset>.parquet per dataset of the spec",
        )
    sides = []
    for side in (0, 1):
        tables = {d: eng.read_parquet(files[d][side]) for d in q.datasets}
        try:
            result = q.compute(tables).to_pyarrow().to_pylist()
        except Exception as err:  # a file without a column the quantity reads (Ibis, DuckDB)
            where = files[q.datasets[0]][side].parent
            raise SluisError(
                f"research quantity {id_} could not be computed: {str(err).splitlines()[0]}",
                rule="infoloss-quantity",
                file=str(where),
                hint=f"it reads {', '.join(q.needs)}",
            ) from None
        sides.append({tuple(r[g] for g in q.groups): r for r in result})
    before, after = sides
    rows = []
    for group in sorted(set(before) | set(after), key=group_order):
        b, a = before.get(group), after.get(group)
        rows.append(
            GroupValue(
                group,
                None if b is None or b["value"] is None else float(b["value"]),
                None if a is None or a["value"] is None else float(a["value"]),
                int(b["units"]) if b else 0,
                int(a["units"]) if a else 0,
            )
        )
    return QuantityLoss(q.id, q.title, q.groups, q.value, q.description, tuple(rows))


def group_order(group: tuple[Any, ...]) -> tuple:
    """Groups in order: numbers as numbers, text as text, a missing value last."""
    return tuple(
        (v is None, not isinstance(v, int | float), v if isinstance(v, int | float) else str(v))
        for v in group
    )


def for_recipient(loss: InfoLoss, min_units: int) -> InfoLoss:
    """The information loss as the recipient's report may show it (G5, G8).

    The figures after treatment are the recipient's own data; a quantity's figures
    *before* treatment are statistics of the data before suppression, and set beside
    those after they can undo it: a group that loses one person between before and after
    tells the recipient that person's group (say the origin class whose suppression the
    treatment made) and, through the value, their outcome. So, as for a result leaving the
    enclave, a group's value and units before treatment are kept only when at least
    ``min_units`` units stand behind them and the units the treatment took out of the
    group are none or at least ``min_units``; otherwise they are withheld (the group keeps
    its figures after treatment) and counted in ``withheld``."""
    quantities = []
    for q in loss.quantities:
        rows, withheld = [], 0
        for r in q.rows:
            dropped = (r.units_before or 0) - r.units_after
            safe = (r.units_before or 0) >= min_units and (
                dropped == 0 or abs(dropped) >= min_units
            )
            if r.units_before and not safe:
                r = replace(r, before=None, units_before=None)
                withheld += 1
            rows.append(r)
        quantities.append(replace(q, rows=tuple(rows), withheld=withheld))
    return replace(loss, quantities=quantities)


# -- scra.json ------------------------------------------------------------------------------


def infoloss_dict(loss: InfoLoss) -> dict[str, Any]:
    """The information loss as ``scra.json`` holds it (counts, shares, cells, and per
    quantity every group before and after with the difference and the largest one)."""

    def group(r: GroupValue) -> dict[str, Any]:
        return {
            "group": list(r.group),
            "before": r.before,
            "after": r.after,
            "difference": r.difference,
            "units_before": r.units_before,
            "units_after": r.units_after,
        }

    return {
        "variables": [
            {
                "dataset": v.dataset,
                "variable": v.variable,
                "rows": v.rows,
                "recoded": v.recoded,
                "recoded_share": v.recoded_share,
                "suppressed": v.suppressed,
                "suppressed_share": v.suppressed_share,
                "categories_before": v.categories_before,
                "categories_after": v.categories_after,
            }
            for v in loss.variables
        ],
        "unchanged_variables": dict(loss.unchanged),
        "key_sets": [
            {
                "dataset": k.dataset,
                "name": k.name,
                "keys": list(k.keys),
                "period": k.period,
                "rows": k.rows,
                "cells_before": k.cells_before,
                "cells_after": k.cells_after,
                "alone_before": k.alone_before,
                "alone_after": k.alone_after,
            }
            for k in loss.key_sets
        ],
        "research": [
            {
                "id": q.id,
                "title": q.title,
                "groups": list(q.groups),
                "value": q.value,
                "description": q.description,
                "rows": [group(r) for r in q.rows],
                "largest_difference": None if q.largest is None else group(q.largest),
                "withheld": q.withheld,
            }
            for q in loss.quantities
        ],
    }


def infoloss_html(loss: InfoLoss) -> str:
    """The report's section ``What treatment cost the research``: per-variable table and
    bar chart, key-set cells, and per research quantity a before/after figure and table
    (inline SVG, no external assets; :mod:`sluis.scra.infoloss_report`)."""
    from sluis.scra.infoloss_report import section  # matplotlib: only for the report

    return section(loss)
