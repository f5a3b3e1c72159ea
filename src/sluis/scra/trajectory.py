"""Trajectory treatment (G5): suppress or recode state values until no window isolates anyone.

:mod:`sluis.scra.longitudinal` measures it: a person's *window* is their states over ``m``
consecutive observed quarters, its *share* the persons with the same sequence in the same
calendar quarters, and a window with share ``< k`` is at risk. No standard tool treats
this; here the treated table has no window at risk, or says how many could not be helped.

**Semantics** (strict, as the rest of the SCRA): a suppressed value is written as null and a
null is a category of its own, so a recount is a plain GROUP BY over the treated table.

**Suppression** is a deterministic greedy in rounds
(:func:`sluis.scra.trajectory_greedy.suppress`, numba kernels over the windows it touches):

1. every window at risk picks one non-null state value of its own to null: the one whose
   nulling moves the window to the pattern that lacks the fewest windows to reach ``k``
   (``k - min(share, k)`` of the pattern it would join; 0 when it joins a safe group),
   then the rarest, the fewest persons with that (quarter, variable, value) in the input;
   then the variable order of ``states``, then the earliest quarter. Taking the rarest
   value makes persons isolated by the same rare value null the same cell and so pool
   into one pattern (figures in docs/scra.md);
2. all picks of the round are applied at once (a value picked by several windows once);
3. only the windows containing a changed value get a new pattern key, and the counts of
   the keys they left and joined are updated; the next round's windows at risk are the
   members of keys now below ``k``;
4. a window at risk whose states are all null cannot pick: its all-null pattern is
   completed to ``k`` with the windows of the same quarters that have the fewest values
   left, suppressed whole.

Since a value only ever becomes null, rounds end: when no window is at risk, or when every
window still at risk lies in calendar quarters that fewer than ``k`` persons share
(suppression cannot help there; they are never touched). Those are ``unreachable``; the
driver's enforced threshold fails on them. Then a **give-back pass** restores suppressed
values that later rounds made unnecessary (a value whose windows' patterns all keep 0 or
at least ``k`` windows without it), in passes until none can be given back alone: the
result is minimal in that sense, not globally.

**Recoding** (``recode``): candidates ``(name, variable, function)`` are tried alone in the
given order, cumulatively; one is kept when the information the treatment takes from the
states is smaller with it than without it. That information is counted in bits per value
(the entropy measure of information loss, as mu-ARGUS weighs recoding against
suppression): a value ``x`` of a state tells ``-log2 p(x)`` bits, ``p`` its share of the
known values of its variable; suppressed, it loses them all; recoded to a class ``c``, it
keeps ``-log2 p(c)`` of them. Recoding ``111`` (one job as employee, 28% of the values) to
``11`` (employee, 30%) costs 0.1 bit a value, suppressing it 1.8 bits; recoding a rare
position into a large group costs nearly as much as suppressing it. Counting changed values
instead would never keep a recode, which changes every value of a class. A recode must merge
values (a function of the value): one that splits a value is refused
(``scra-recode-not-coarser``).

**Any m quarters** (``consecutive=False``): a window is any ``m`` of a person's observed
quarters, its calendar the set of those quarters. Exact, and refused
(``scra-trajectory-too-many``) when the windows would exceed :data:`MAX_WINDOWS`.

The suppressed values are written as nulls by clearing their validity bits: the columns'
values are not copied (three string columns of the 26/050 panel are 10 M values each at
scale 0.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra.frequencies import encode_column
from sluis.scra.trajectory_greedy import Outcome, suppress
from sluis.scra.windows import MAX_WINDOWS, Panel

Recode = tuple[str, str, Callable[[pa.ChunkedArray], pa.Array]]

__all__ = ["MAX_WINDOWS", "Recode", "TrajectoryTreatment", "treat_trajectories"]


@dataclass(frozen=True)
class TrajectoryTreatment:
    """What :func:`treat_trajectories` did (see the module docstring)."""

    table: pa.Table  # the input, state values suppressed (null) and/or recoded
    suppressed: int  # state values suppressed
    per_variable: dict[str, int]  # suppressed values per state variable
    recoded: tuple[str, ...]  # names of the recode candidates kept, in order
    explanations: pa.Table  # person_seq, quarter, variable, window, rule (no state value)
    windows_at_risk_before: int
    windows_at_risk_after: int  # 0 unless unreachable
    unreachable: int  # windows still below k when nothing more can be suppressed
    rounds: int
    #: the table row and the index into ``states`` of each explanation, in its order
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    variables: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _nulled(column: pa.ChunkedArray, rows: np.ndarray) -> pa.ChunkedArray:
    """``column`` with ``rows`` (ascending) null: only the validity bitmaps are rewritten
    when the type allows it, the values stay where they are."""
    fast = not (pa.types.is_nested(column.type) or pa.types.is_dictionary(column.type))
    out, start = [], 0
    for chunk in column.chunks:
        end = start + len(chunk)
        lo, hi = np.searchsorted(rows, [start, end])
        if lo == hi:
            out.append(chunk)
        elif fast:
            valid = np.ones(len(chunk), dtype=bool)
            if chunk.null_count:
                valid = np.asarray(chunk.is_valid())
            valid[rows[lo:hi] - start] = False
            # the bitmap counts from the buffers' first value, ``chunk.offset`` before ours
            bits = np.r_[np.ones(chunk.offset, dtype=bool), valid]
            bitmap = pa.py_buffer(np.packbits(bits, bitorder="little"))
            buffers = [bitmap, *chunk.buffers()[1:]]
            out.append(
                pa.Array.from_buffers(
                    chunk.type, len(chunk), buffers, int(len(chunk) - valid.sum()), chunk.offset
                )
            )
        else:
            mask = np.zeros(len(chunk), dtype=bool)
            mask[rows[lo:hi] - start] = True
            out.append(pc.if_else(pa.array(mask), pa.scalar(None, chunk.type), chunk))
        start = end
    return pa.chunked_array(out, column.type)


def _bits(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Each row's information in bits, ``-log2`` of its value's share of the known values
    (a null tells nothing: 0)."""
    codes, labels = encode_column(column)
    counts = np.bincount(codes, minlength=len(labels)).astype(np.float64)
    known = len(codes) - (int(counts[-1]) if labels and labels[-1] is None else 0)
    if labels and labels[-1] is None:
        counts[-1] = known  # a null: -log2(1) = 0 bits
    return -np.log2(counts[codes] / max(known, 1))


def _bits_lost(
    before: pa.ChunkedArray, after: pa.ChunkedArray | pa.Array, suppressed: np.ndarray
) -> float:
    """The information (bits) a state column loses from ``before`` to ``after`` with the
    rows ``suppressed`` nulled on top (see the module docstring, "Recoding")."""
    had = _bits(before)
    left = _bits(after)
    left[suppressed] = 0.0
    return float(np.sum(had - left))


def _apply_recode(table: pa.Table, name: str, variable: str, fn: Callable) -> pa.Table:
    old = table.column(variable)
    new = fn(old)
    if isinstance(new, pa.ChunkedArray):
        new = new.combine_chunks()
    if len(new) != len(old):
        raise SluisError(
            f"recode {name} gives {len(new):,} values for {len(old):,} rows",
            rule="scra-recode-length",
            column=variable,
        )
    pairs = pa.table({"a": old, "b": new}).group_by(["a", "b"]).aggregate([])
    if pairs.num_rows != len(pc.unique(old)):
        raise SluisError(
            f"recode {name} splits a value of {variable} into several",
            rule="scra-recode-not-coarser",
            column=variable,
            hint="a recode must map every value to one coarser value",
        )
    return table.set_column(table.schema.get_field_index(variable), variable, new)


def _quarter_labels(index: np.ndarray, textual: bool) -> pa.Array:
    distinct, inverse = np.unique(index, return_inverse=True)
    labels = [f"{i // 4}Q{i % 4 + 1}" if textual else str(i) for i in distinct.tolist()]
    return pa.array(labels, pa.string()).take(pa.array(inverse.astype(np.int64)))


def _explanations(
    persons: pa.ChunkedArray,
    q: np.ndarray,
    textual: bool,
    out: Outcome,
    states: Sequence[str],
    m: int,
    k: int,
    consecutive: bool,
) -> pa.Table:
    """One row per suppressed value: person, quarter, variable, window and rule."""
    rows = pa.array(out.rows.astype(np.int64))
    first = _quarter_labels(out.starts, textual)
    last = _quarter_labels(out.lasts, textual)
    head = f"trajectory m={m} k={k}" + ("" if consecutive else f" (any {m} quarters)")
    share = pc.cast(pa.array(out.shares.astype(np.int64)), pa.string())
    window = pc.binary_join_element_wise(f"{head}: window ", first, "-", last, "")
    isolated = pc.binary_join_element_wise(window, " shared by ", share, f" < {k}", "")
    completes = pc.binary_join_element_wise(
        window,
        " suppressed whole to join its ",
        share,
        f" windows with every state suppressed ({k} needed)",
        "",
    )
    rule = pc.if_else(pa.array(out.borrowed, pa.bool_()), completes, isolated)
    return pa.table(
        {
            "person_seq": persons.take(rows),
            "quarter": _quarter_labels(q[out.rows], textual),
            "variable": pa.array(np.asarray(states, dtype=object)[out.variables], pa.string())
            if len(out.rows)
            else pa.array([], pa.string()),
            "window": first,
            "rule": rule,
        }
    )


def treat_trajectories(
    table: pa.Table,
    *,
    person: str,
    quarter: str,
    states: Sequence[str],
    m: int,
    k: int,
    consecutive: bool = True,
    recode: Sequence[Recode] = (),
) -> TrajectoryTreatment:
    """Treat ``table`` (one row per person and quarter) until every window of ``m``
    quarters of ``states`` is shared by at least ``k`` persons, or nothing more can be done
    (see the module docstring). Rows, their order, columns and the types of the state
    columns stay (a kept recode gives its column the type it returns)."""
    if m < 1:
        raise SluisError(f"the window must be at least 1 quarter, got m={m}", rule="scra-m")
    if k < 1:
        raise SluisError(f"k must be at least 1, got k={k}", rule="scra-k")
    for name in (person, quarter, *states):
        if name not in table.column_names:
            raise SluisError(f"no column {name}", rule="scra-column", column=name)
    for _, variable, _ in recode:
        if variable not in states:
            raise SluisError(
                f"a recode candidate names {variable}, not a state variable",
                rule="scra-recode-variable",
                column=variable,
            )
    states = list(states)
    persons = table.column(person)
    if table.num_rows == 0:
        empty = pa.table(
            {"person_seq": persons}
            | {
                name: pa.array([], pa.string())
                for name in ("quarter", "variable", "window", "rule")
            }
        )
        return TrajectoryTreatment(table, 0, dict.fromkeys(states, 0), (), empty, 0, 0, 0, 0)
    quarters = table.column(quarter)
    textual = not pa.types.is_integer(quarters.type)

    def run(t: pa.Table) -> tuple[Outcome, Panel]:
        return suppress(
            t, person=person, quarter=quarter, states=states, m=m, k=k, consecutive=consecutive
        )

    def cost(t: pa.Table, out: Outcome) -> float:
        return sum(
            _bits_lost(table.column(name), t.column(name), out.rows[out.variables == v])
            for v, name in enumerate(states)
        )

    current, (outcome, p) = table, run(table)
    before = outcome.windows_at_risk_before
    kept: list[str] = []
    if recode:
        best = cost(table, outcome)
        for name, variable, fn in recode:
            trial = _apply_recode(current, name, variable, fn)
            trial_out, trial_p = run(trial)
            trial_cost = cost(trial, trial_out)
            if trial_cost < best:
                current, outcome, p, best = trial, trial_out, trial_p, trial_cost
                kept.append(name)
    treated = current
    per_variable = {}
    for v, name in enumerate(states):
        rows = outcome.rows[outcome.variables == v]
        per_variable[name] = len(rows)
        if len(rows):
            column = _nulled(treated.column(name), rows)
            treated = treated.set_column(treated.schema.get_field_index(name), name, column)
    q_index = p.q0 + p.qi if p.order is None else np.empty(p.n, dtype=np.int64)
    if p.order is not None:
        q_index[p.order] = p.q0 + p.qi
    return TrajectoryTreatment(
        table=treated,
        suppressed=outcome.suppressed,
        per_variable=per_variable,
        recoded=tuple(kept),
        explanations=_explanations(persons, q_index, textual, outcome, states, m, k, consecutive),
        windows_at_risk_before=before,
        windows_at_risk_after=outcome.unreachable,
        unreachable=outcome.unreachable,
        rounds=outcome.rounds,
        rows=outcome.rows,
        variables=outcome.variables,
    )
