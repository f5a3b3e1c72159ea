"""Sequence numbers for persons and households, and replacing identifiers by them (G3, B4).

A domain's sequence number of an identifier is its rank, 1..N, among all distinct
identifiers of the delivery ordered by HMAC-SHA256(subkey, identifier), with the identifier
itself as a tie-break that makes the order total (a tie needs an HMAC collision). So the
numbers are dense, carry nothing of the identifier (not its order, birth date or sex),
come out the same from the same data and key (X3), and differ for another key or project.

One mapping per domain serves every table and every reference column of a delivery (the
person's own INSZ, partner, children, reference person), so numbers agree across tables.
Everything runs in the engine: the identifiers never reach Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from sluis.errors import SluisError
from sluis.pseudo.keys import Domain, ProjectKey

if TYPE_CHECKING:
    from sluis.engine import Engine

ID = "id"
SEQ = "seq"


class PseudonymisationError(SluisError):
    """Identifiers that cannot be replaced by sequence numbers (G3)."""


def distinct_ids(*columns: ir.Column) -> ir.Table:
    """The distinct non-null values of several identifier columns (of one or more tables)
    as one table with the column ``id``: e.g. the persons' own INSZ together with their
    partners' and reference persons' INSZ, so that one mapping covers every reference."""
    if not columns:
        raise PseudonymisationError("no identifier columns given", rule="no-ids")
    types = {str(c.type().copy(nullable=True)) for c in columns}
    if len(types) > 1:
        raise PseudonymisationError(
            f"identifier columns of different types cannot share numbers: {sorted(types)}",
            rule="id-type",
        )
    tables = [c.name(ID).as_table() for c in columns]
    union = tables[0] if len(tables) == 1 else ibis.union(*tables, distinct=True)
    return union.filter(union[ID].notnull()).distinct()


def sequence_numbers(
    engine: Engine,
    ids: ir.Table,
    key: ProjectKey,
    domain: Domain,
    column: str = ID,
    *,
    materialise: bool = True,
) -> ir.Table:
    """The mapping ``(id, seq)`` of the distinct non-null values of ``ids[column]``, with
    ``seq`` = 1..N the rank of HMAC-SHA256 under the ``domain`` subkey of ``key``.

    ``id`` keeps the type of ``column``; a non-string identifier is hashed in its text
    form. The mapping is the link between identifier and number, so it stays at the
    pseudonymiser: it is materialised as a temporary engine table (computed once, used by
    every table of the delivery) and never written into a delivery.
    """
    if column not in ids.columns:
        raise PseudonymisationError(
            f"no column {column!r} among {', '.join(ids.columns)}", rule="id-column"
        )
    subkey = key.subkey(domain)
    values = ids.select(**{ID: ids[column]})
    values = values.filter(values[ID].notnull()).distinct()
    digest = engine.hmac_sha256(values[ID].cast("string"), subkey)
    mapping = values.select(
        values[ID], **{SEQ: (ibis.row_number().over(order_by=[digest, values[ID]]) + 1)}
    )
    return engine.materialise(mapping) if materialise else mapping


def pseudonymise(
    engine: Engine,
    table: ir.Table,
    columns: dict[str, ir.Table],
    *,
    check: bool = True,
) -> ir.Table:
    """``table`` with each column named in ``columns`` replaced by its sequence number
    from the mapping given for it (an ``(id, seq)`` table from :func:`sequence_numbers`).

    Columns keep their names and positions; rename them in the caller if a delivery
    wants e.g. ``person_seq`` rather than ``insz``. A null identifier stays null. An
    identifier that is missing from its mapping is an error, never a silent null: with
    ``check`` (the default) one aggregate query in the engine counts them and a
    :class:`PseudonymisationError` names the column and the counts. The result stays an
    Ibis expression.
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PseudonymisationError(
            f"no column {', '.join(map(repr, missing))} to pseudonymise", rule="id-column"
        )
    used = set(table.columns)
    result = table
    seqs: dict[str, str] = {}
    for i, (name, mapping) in enumerate(columns.items()):
        if not {ID, SEQ} <= set(mapping.columns):
            raise PseudonymisationError(
                f"the mapping for {name!r} has no ({ID}, {SEQ}) columns",
                rule="mapping",
                column=name,
            )
        want = table[name].type().copy(nullable=True)
        have = mapping[ID].type().copy(nullable=True)
        if want != have:
            raise PseudonymisationError(
                f"column {name!r} is {want} but its mapping's ids are {have}",
                rule="id-type",
                column=name,
            )
        ident, seq = _fresh(used, f"_sluis_id_{i}"), _fresh(used, f"_sluis_seq_{i}")
        right = mapping.select(**{ident: mapping[ID], seq: mapping[SEQ]})
        result = result.left_join(right, result[name] == right[ident])
        seqs[name] = seq
    if check:
        _check_mapped(engine, result, seqs)
    return result.select(
        *[result[seqs[c]].name(c) if c in seqs else result[c] for c in table.columns]
    )


def _check_mapped(engine: Engine, joined: ir.Table, seqs: dict[str, str]) -> None:
    metrics = {}
    for i, (name, seq) in enumerate(seqs.items()):
        unmapped = joined[name].notnull() & joined[seq].isnull()
        metrics[f"rows_{i}"] = joined[name].count(where=unmapped)
        metrics[f"values_{i}"] = joined[name].nunique(where=unmapped)
    counts = engine.to_arrow(joined.aggregate(**metrics)).to_pylist()[0]
    problems = [
        (name, counts[f"values_{i}"] or 0, counts[f"rows_{i}"] or 0)
        for i, name in enumerate(seqs)
        if counts[f"rows_{i}"]
    ]
    if problems:
        listed = "; ".join(
            f"{name!r}: {_n(values, 'value')} in {_n(rows, 'row')}"
            for name, values, rows in problems
        )
        raise PseudonymisationError(
            f"identifiers without a sequence number: {listed}",
            rule="unmapped-id",
            column=problems[0][0],
            hint="build the mapping from every identifier of the delivery (distinct_ids)",
        )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _fresh(used: set[str], name: str) -> str:
    while name in used:
        name = f"_{name}"
    used.add(name)
    return name
