"""Can a treated value be rebuilt from the rest of the delivery? (G5)

Treatment suppresses or recodes a key's value in one column, but a delivery carries many
columns, and some carry the same fact: the date a nationality held from birth was acquired
is the birth date, the first quarter of a panel is the first registration. An attacker who
reads the whole package gets the value back, and the measured risk was too low.

:func:`rebuild_attacks` tries every other delivered column against every treated key
value. A column (not a key measured together with it) is read at the key's precision (a
month gives its quarter and year, a quarter its year; a column with the key's own rule as
it is) and compared with the value before treatment: on the same row, and, where the key
describes a person (a dataset without a period), as the person's earliest value in every
other dataset about the same persons. A column that agrees with more than a fifth of the
treated values (and with at least three) rebuilds them: the spec declares it in
``scra.implied`` so that the treatment covers it, and the run fails until it does. Only
Arrow kernels run here (group by, joins, comparisons on whole columns), never a loop over
records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sluis.coarsen.rule_date import ORDER
from sluis.spec.model import Coarsen, Spec

PERSON = "person_seq"
#: the fewest treated values a column must give back to count as a channel
MIN_REBUILT = 3


@dataclass
class Rebuild:
    """One column tried against one treated key: how many treated values it gives back."""

    key: str
    column: str
    how: str
    treated: int
    rebuilt: int

    @property
    def rebuilds(self) -> bool:
        """More than a fifth of the treated values come back, and at least
        :data:`MIN_REBUILT` of them: far above chance for a date or a class, so the column
        carries the key's fact (one value of four agreeing by chance is not a channel)."""
        return self.rebuilt >= MIN_REBUILT and 5 * self.rebuilt > self.treated


def at_precision(
    values: pa.ChunkedArray | pa.Array, rule: Coarsen, key: Coarsen
) -> pa.Array | None:
    """``values`` (coarsened by ``rule``) read at the precision of ``key``'s rule, as text;
    None when the column cannot say anything about the key (another kind, or coarser)."""
    values = pa.chunked_array([values]) if isinstance(values, pa.Array) else values
    fine, coarse = rule.date_precision(), key.date_precision()
    if fine is not None and coarse is not None:
        if "day" in (fine, coarse) or ORDER.index(fine) > ORDER.index(coarse):
            return None
        text = pc.cast(values, pa.string())
        year = pc.utf8_slice_codeunits(text, 0, 4)
        if coarse == "year":
            return year.combine_chunks()
        if coarse == fine:
            return text.combine_chunks()
        # a month read as its quarter: 'YYYY-MM' -> 'YYYYQn'
        month = pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int8())
        quarter = pc.add(pc.divide(pc.subtract(month, 1), 3), 1)
        return pc.binary_join_element_wise(
            year, pc.cast(quarter, pa.string()), "Q"
        ).combine_chunks()
    if rule == key and not rule.pseudonymises:
        return pc.cast(values, pa.string()).combine_chunks()
    return None


def _comparable(column: str, rule: Coarsen, key: str, key_rule: Coarsen) -> bool:
    """A ``keep`` column holds its own code list: it is compared with a key only when it is
    the same variable (``sex`` in two datasets), never with another list's codes."""
    return not key_rule.keeps_value or (column == key and rule == key_rule)


def treated_mask(original: pa.ChunkedArray, delivered: pa.ChunkedArray) -> pa.Array:
    """Rows whose staged value is not what the delivery shows (suppressed or recoded)."""
    before = pc.cast(original, pa.string())
    after = pc.cast(delivered, pa.string())
    changed = pc.or_kleene(pc.is_null(after), pc.not_equal(before, after))
    return pc.and_(pc.is_valid(before), pc.fill_null(changed, True)).combine_chunks()


def rebuild_attacks(spec: Spec, staged: Path, treated: Path) -> list[Rebuild]:
    """Every (treated key, other delivered column) pair with at least one treated value,
    and how many of the treated values the column gives back (see the module docstring).
    ``staged`` holds the files before treatment, ``treated`` the files delivered. Only the
    columns the rules let say something about a key are read, each once, and only the
    treated rows (or the treated persons' rows) are compared."""
    sc = spec.scra
    rules = {(name, v.name): v.coarsen for name, ds in spec.datasets.items() for v in ds.variables}
    keys = list(dict.fromkeys((ks.dataset, key) for ks in sc.key_sets for key in ks.keys))
    files = {name: treated / f"{name}.parquet" for name in spec.datasets}
    files = {name: path for name, path in files.items() if path.exists()}
    results: list[Rebuild] = []
    columns: dict[tuple[Path, str], pa.ChunkedArray] = {}
    schemas = {path: pq.read_schema(path) for path in files.values()}

    def column(path: Path, name: str) -> pa.ChunkedArray:  # each delivered column once
        if (path, name) not in columns:
            columns[(path, name)] = pq.read_table(path, columns=[name]).column(name)
        return columns[(path, name)]

    def telling(path: Path, name: str, rule: Coarsen, key: str, target: Coarsen) -> bool:
        """Whether the rules let column ``name`` say something about the key."""
        if not _comparable(name, rule, key, target):
            return False
        empty = pa.array([], schemas[path].field(name).type)
        return at_precision(empty, rule, target) is not None

    for dataset, key in keys:
        if dataset not in files or key == spec.period(dataset):
            continue
        source = staged / f"{dataset}.parquet"
        own = [c for c in (key, PERSON) if c in pq.read_schema(source).names]
        before = pa.table({c: column(source, c) for c in own})  # the staged key, its persons
        path = files[dataset]
        mask = treated_mask(before.column(key), column(path, key))
        n = pc.sum(mask).as_py() or 0
        if not n:
            continue
        original = pc.cast(before.column(key), pa.string()).combine_chunks()
        treated_values = original.filter(mask)  # only the treated values can be given back
        target = rules[(dataset, key)]
        period = spec.period(dataset)
        # the other keys of its key sets were measured with it: their joint cells are the risk
        together = {
            k for ks in sc.key_sets if ks.dataset == dataset and key in ks.keys for k in ks.keys
        }
        for name in schemas[path].names:
            if name in together:
                continue
            rule = rules[(dataset, name)]
            if not telling(path, name, rule, key, target):
                continue
            got = at_precision(column(path, name).filter(mask), rule, target)
            if got is not None:
                hits = pc.sum(pc.fill_null(pc.equal(got, treated_values), False))
                results.append(
                    Rebuild(
                        f"{dataset}.{key}", f"{dataset}.{name}", "same row", n, hits.as_py() or 0
                    )
                )
        if period is not None or PERSON not in before.column_names:
            continue
        persons = pa.table({PERSON: before.column(PERSON).combine_chunks(), "v": original}).filter(
            mask
        )
        treated_persons = persons.column(PERSON).combine_chunks()
        who = spec.datasets[dataset].who
        for other, path in files.items():
            # another dataset describing the same persons (a partner's row is the partner's)
            if other == dataset or spec.datasets[other].who != who:
                continue
            names = schemas[path].names
            if PERSON not in names:
                continue
            told = [
                name
                for name in names
                if name != PERSON
                and (other, name) in rules
                and telling(path, name, rules[(other, name)], key, target)
            ]
            if not told:
                continue
            # the rows of the treated persons only: their earliest value is all a join keeps
            rows = pc.is_in(column(path, PERSON), value_set=treated_persons)
            who_rows = column(path, PERSON).filter(rows)
            for name in told:
                got = at_precision(column(path, name).filter(rows), rules[(other, name)], target)
                if got is None:
                    continue
                first = (
                    pa.table({PERSON: who_rows, "c": got})
                    .group_by(PERSON)
                    .aggregate([("c", "min")])
                )
                joined = persons.join(first, PERSON)
                hits = pc.sum(pc.fill_null(pc.equal(joined["v"], joined["c_min"]), False))
                results.append(
                    Rebuild(
                        f"{dataset}.{key}",
                        f"{other}.{name}",
                        "the person's earliest value",
                        n,
                        hits.as_py() or 0,
                    )
                )
    return results
