"""Treating together the columns that carry a key's fact (G5, ``scra.implied``).

A spec declares which delivered columns give back a key's value (:class:`Implied`). Where
the treatment suppressed or recoded the key, the values of those columns that agree with
the key's value before treatment (read at the key's precision) are suppressed too: on the
same row when the column is in the key's dataset, in every row of the person otherwise. A
column that is a dataset's period (the first quarter of a panel is the first registration)
cannot be suppressed without losing the rows, so its key is *pinned*: never suppressed or
recoded, and local suppression reaches k on the other keys.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sluis.atomic import atomic_path
from sluis.scra.rebuild import PERSON, at_precision, treated_mask
from sluis.spec.model import Spec


def _split(name: str) -> tuple[str, str]:
    dataset, _, variable = name.partition(".")
    return dataset, variable


def pinned_keys(spec: Spec, dataset: str) -> list[str]:
    """The keys of ``dataset`` that a period column gives back: never treated."""
    pinned = []
    for entry in spec.scra.implied:
        key_dataset, key = _split(entry.key)
        if key_dataset != dataset:
            continue
        if any(spec.period(d) == v for d, v in map(_split, entry.by)):
            pinned.append(key)
    return pinned


EXPLANATION = pa.schema(
    [
        ("record", pa.int64()),
        ("variable", pa.string()),
        ("value", pa.string()),
        ("cell", pa.string()),
        ("fk", pa.int64()),
        ("rule", pa.string()),
    ]
)


def append_explanations(path: Path, added: list[pa.Table]) -> None:
    """Append the explanations of the values suppressed with a key to the dataset's
    explanation file (``suppressions/<dataset>.parquet``), kept in record order."""
    if path.exists():
        added = [pq.read_table(path).cast(EXPLANATION), *added]
    table = pa.concat_tables(added)
    table = table.take(pc.sort_indices(table, [("record", "ascending")]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _explanations(rows: pa.Array, column: str, values: pa.Array, key: str) -> pa.Table:
    n = len(rows)
    return pa.table(
        {
            "record": rows.cast(pa.int64()),
            "variable": pa.array([column] * n, pa.string()),
            "value": pc.cast(values, pa.string()),
            "cell": pa.nulls(n, pa.string()),
            "fk": pa.nulls(n, pa.int64()),
            "rule": pa.array(
                [f"suppressed with {key}: this value gives it back (scra.implied)"] * n,
                pa.string(),
            ),
        },
        schema=EXPLANATION,
    )


def treat_implied(
    spec: Spec, staged: Path, treated: Path, explained: Path
) -> list[tuple[str, str, int]]:
    """Suppress, in the treated files under ``treated``, every declared ``by`` value that
    gives back a treated key value (see the module docstring), each explained in
    ``explained/<dataset>.parquet``; returns (key, column, values suppressed) for each
    column touched. Each treated file is read and written at most once."""
    rules = {(n, v.name): v.coarsen for n, ds in spec.datasets.items() for v in ds.variables}
    tables: dict[str, pa.Table] = {}  # the treated files being changed, by dataset
    notes: dict[str, list[pa.Table]] = {}  # their new explanations

    def treated_table(name: str) -> pa.Table:  # read whole only to be changed
        if name not in tables:
            tables[name] = pq.read_table(treated / f"{name}.parquet")
        return tables[name]

    def treated_column(name: str, column: str) -> pa.ChunkedArray:
        if name in tables:
            return tables[name].column(column)
        return pq.read_table(treated / f"{name}.parquet", columns=[column]).column(column)

    done = []
    for entry in spec.scra.implied:
        dataset, key = _split(entry.key)
        if not (treated / f"{dataset}.parquet").exists():
            continue
        path = staged / f"{dataset}.parquet"
        wanted_columns = [c for c in (key, PERSON) if c in pq.read_schema(path).names]
        before = pq.read_table(path, columns=wanted_columns)
        mask = treated_mask(before.column(key), treated_column(dataset, key))
        if not pc.any(mask).as_py():
            continue
        original = pc.cast(before.column(key), pa.string()).combine_chunks()
        per_person = spec.period(dataset) is None and PERSON in before.column_names
        if per_person:
            person = pc.cast(before.column(PERSON), pa.string()).combine_chunks()
            wanted = pc.binary_join_element_wise(person, original, "|").filter(mask)
        for other, column in map(_split, entry.by):
            if column == spec.period(other):
                continue  # the key is pinned instead (pinned_keys)
            target = treated / f"{other}.parquet"
            if not target.exists() or column not in pq.read_schema(target).names:
                continue
            got = at_precision(
                treated_column(other, column), rules[(other, column)], rules[(dataset, key)]
            )
            if got is None:
                continue
            if other == dataset:
                hit = pc.and_(mask, pc.equal(got, original))
            elif per_person and PERSON in pq.read_schema(target).names:
                person_other = pc.cast(treated_column(other, PERSON), pa.string()).combine_chunks()
                hit = pc.is_in(
                    pc.binary_join_element_wise(person_other, got, "|"), value_set=wanted
                )
            else:
                continue
            hit = pc.fill_null(hit, False)
            count = pc.sum(hit).as_py() or 0
            if not count:
                continue
            table = treated_table(other)
            values = table.column(column).combine_chunks()
            cleared = pc.if_else(hit, pa.nulls(len(values), values.type), values)
            index = table.schema.get_field_index(column)
            tables[other] = table.set_column(index, column, cleared)
            rows = pc.indices_nonzero(hit)
            notes.setdefault(other, []).append(
                _explanations(rows, column, values.take(rows), entry.key)
            )
            done.append((entry.key, f"{other}.{column}", count))
    for name, added in notes.items():
        with atomic_path(treated / f"{name}.parquet") as tmp:
            pq.write_table(tables[name], tmp)
        append_explanations(explained / f"{name}.parquet", added)
    return done
