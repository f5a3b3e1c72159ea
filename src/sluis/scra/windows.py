"""A person-quarter panel as the trajectory measure and treatment see it (G5): rows in
(person, quarter) order, the states of a row as one integer, the windows of m quarters and
the number of windows per pattern.

Shared by :mod:`sluis.scra.longitudinal` (the measure) and :mod:`sluis.scra.trajectory`
(the treatment), so that both read the table the same way and neither materialises a
window: a consecutive window is the row it starts on, its pattern key is computed from
``s`` when needed and counted in a hash table (:mod:`sluis.scra.window_kernels`). Memory
per window (figures in docs/scra.md): the measure keeps nothing per window; the treatment
keeps the pattern id of each window and the windows listed by pattern (4 + 4 bytes).

Codes are in order of first appearance (one hash pass per column chunk): nothing
downstream depends on their order, only on which values are equal; a missing value is a
code of its own, 0 (``nulls[v]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.errors import SluisError
from sluis.scra import trajectory_kernels as tk
from sluis.scra import window_kernels as wk

#: Most windows ``consecutive=False`` enumerates (sum over persons of C(quarters, m)).
MAX_WINDOWS = 20_000_000


def _numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column.to_numpy(zero_copy_only=False)


def dictionary_codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    """Codes 0..L-1 of the distinct values (first appearance), a missing value coded L;
    returns the codes (int32) and L."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    encoded = pc.dictionary_encode(column)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    n_values = len(chunks[-1].dictionary) if chunks else 0  # one dictionary, grown in order
    indices = pa.chunked_array([c.indices for c in chunks], pa.int32())
    if column.null_count:
        indices = pc.fill_null(indices, n_values)
    return _numpy(indices).astype(np.int32, copy=False), n_values


def quarter_codes(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """:func:`sluis.scra.longitudinal.quarter_index` of every row: 'YYYYQn' strings parsed
    from their bytes in one pass, other types as that function reads them."""
    from sluis.scra.longitudinal import quarter_index

    if column.null_count:
        raise SluisError("a quarter is missing", rule="scra-quarter-missing")
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        out, pos = np.empty(len(column), dtype=np.int32), 0
        width = np.int32 if pa.types.is_string(column.type) else np.int64
        for chunk in chunks:
            offsets = np.frombuffer(chunk.buffers()[1], dtype=width)
            offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
            data = chunk.buffers()[2]
            data = (
                np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
            )
            if not wk.parse_quarters(offsets, data, out[pos : pos + len(chunk)]):
                # not all 'YYYYQn': read as that function does (its error names the rule)
                return quarter_index(column)
            pos += len(chunk)
        return out
    return quarter_index(column)


@dataclass
class Panel:
    """The rows of a table in (person, quarter) order (``order[i]``: the table row of row
    ``i``; None when the table is in that order already): ``newp`` 1 on a person's first
    row, the quarter ``q0 + qi`` and the states ``s`` = sum over variables of code *
    ``radix[v]``."""

    order: np.ndarray | None
    newp: np.ndarray
    q0: int
    qi: np.ndarray
    s: np.ndarray
    cards: list[int]  # codes per variable, the missing one included
    nulls: list[int]  # the code of a missing value per variable
    radix: list[int]
    freq: list[np.ndarray]  # rows per qi * cards[v] + code, as read

    @property
    def n(self) -> int:
        return len(self.s)

    @property
    def space(self) -> int:
        return math.prod(self.cards)

    def code(self, v: int, rows: np.ndarray) -> np.ndarray:
        """The current code of variable ``v`` on ``rows``."""
        return (self.s[rows] // self.radix[v]) % self.cards[v]


def _short_strings(column: pa.ChunkedArray) -> bool:
    """Whether every value of ``column`` is a string of at most 7 bytes."""
    if not pa.types.is_string(column.type):
        return False
    for chunk in column.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        if len(chunk) and int(np.diff(offsets).max()) > 7:
            return False
    return True


def _validity(array: pa.Array) -> np.ndarray:
    bitmap = array.buffers()[0] if array.null_count else None
    return np.frombuffer(bitmap, dtype=np.uint8) if bitmap else np.zeros(0, dtype=np.uint8)


def _add_states(states: list[np.ndarray], column: pa.ChunkedArray, radix: int) -> int:
    """``s += code * radix`` for the values of ``column`` (table order), chunk by chunk,
    ``s = states[0]`` made int64 before a chunk could overflow its int32: a missing value
    is code 0, the others 1.. in order of first appearance. Returns the number of codes.
    No array of codes for the whole column is made; short strings (state codes such as
    '111' or 'RMI-EMP') are read from their bytes, other values through Arrow's hashing."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if _short_strings(column):
        return _add_short_strings(states, column, radix)
    seen: dict[object, int] = {}
    pos = 0
    for chunk in column.chunks:
        n = len(chunk)
        if n == 0:
            continue
        encoded = pc.dictionary_encode(chunk)
        if states[0].dtype == np.int32 and radix * (len(seen) + n + 1) >= 2**31:
            states[0] = states[0].astype(np.int64)
        remap = np.array(
            [seen.setdefault(v, len(seen) + 1) for v in encoded.dictionary.to_pylist()] + [0],
            dtype=np.int64,
        )
        indices = encoded.indices
        local = np.frombuffer(indices.buffers()[1], dtype=np.int32)
        local = local[indices.offset : indices.offset + n]
        s = states[0][pos : pos + n]
        wk.add_chunk(s, local, remap, radix, _validity(indices), indices.offset)
        pos += n
    return len(seen) + 1


def _add_short_strings(states: list[np.ndarray], column: pa.ChunkedArray, radix: int) -> int:
    """:func:`_add_states` of a column of short strings, by :func:`window_kernels.
    add_short_strings` (its table doubled whenever it is half full)."""
    bits = 6
    tkeys = np.full(1 << bits, -1, dtype=np.int64)
    tcode = np.zeros(1 << bits, dtype=np.int32)
    n_codes, pos = 0, 0
    for chunk in column.chunks:
        n = len(chunk)
        if states[0].dtype == np.int32 and radix * (n_codes + n + 1) >= 2**31:
            states[0] = states[0].astype(np.int64)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32) if n else None
        data = chunk.buffers()[2] if n else None
        data = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, np.uint8)
        done = 0
        while done < n:
            at = chunk.offset + done
            n_codes, more = wk.add_short_strings(
                states[0][pos + done : pos + n], offsets[at : chunk.offset + n + 1], data,
                _validity(chunk), at, radix, tkeys, tcode, bits, n_codes,
            )  # fmt: skip
            done += more
            if done < n:
                bits += 1
                tkeys, tcode = wk.rehash(tkeys, tcode, bits)
        pos += n
    return n_codes + 1


def panel(
    table: pa.Table, person: str, quarter: str, states: Sequence[str], *, freq: bool = True
) -> Panel:
    """Read ``table``'s persons, quarters and states (see :class:`Panel`); refuses a
    missing person or quarter and a person-quarter given twice. Holds 9 bytes per row (the
    states, the quarter, the first row of each person) and nothing per row while reading
    a column but what Arrow reads it with."""
    persons = table.column(person)
    if persons.null_count:
        raise SluisError("a person is missing", rule="scra-person-missing", column=person)
    q = quarter_codes(table.column(quarter))
    if pa.types.is_integer(persons.type):
        chunks = [c.to_numpy().astype(np.int64, copy=False) for c in persons.chunks if len(c)]
    else:
        chunks = [dictionary_codes(persons)[0].astype(np.int64)]
    newp = np.empty(len(q), dtype=np.uint8)
    ordered, dup, pos, last_p, last_q = True, 0, 0, np.int64(0), np.int64(0)
    for c in chunks:
        at = slice(pos, pos + len(c))
        ordered, d = wk.person_order(c, q[at], newp[at], pos == 0, last_p, last_q)
        if not ordered:
            break
        dup += d
        pos += len(c)
        last_p, last_q = c[-1], q[pos - 1]
    order = None
    if not ordered:
        pid = np.concatenate(chunks)
        order = np.lexsort((q, pid))
        pid, q = pid[order], q[order]
        newp = np.r_[True, pid[1:] != pid[:-1]].astype(np.uint8)
        dup = int(np.count_nonzero((pid[1:] == pid[:-1]) & (q[1:] == q[:-1])))
        del pid
    del chunks
    if dup:
        raise SluisError(
            f"{dup:,} person-quarters appear more than once",
            rule="scra-person-quarter-unique",
            column=quarter,
            hint="one row per person and quarter",
        )
    q0 = int(q.min()) if len(q) else 0
    q -= q0
    qi = q.astype(np.int32, copy=False)  # a parsed quarter is int32 already
    cards = [0] * len(states)
    radix = [0] * len(states)
    holder = [np.zeros(len(qi), dtype=np.int32)]
    for v in range(len(states) - 1, -1, -1):  # the last variable varies fastest
        radix[v] = math.prod(cards[v + 1 :])
        cards[v] = _add_states(holder, table.column(states[v]), radix[v])
    s = holder[0] if order is None else holder[0][order]
    n_q = int(qi.max()) + 1 if len(qi) else 1
    sizes = [n_q * c if freq else 0 for c in cards]
    off = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    counts = np.zeros(int(off[-1]), dtype=np.int64)
    if freq and len(states):
        wk.count_states(
            s, qi, np.asarray(radix, np.int64), np.asarray(cards, np.int64), counts, off
        )
    per_variable = [counts[off[v] : off[v + 1]] for v in range(len(states))]
    return Panel(order, newp, q0, qi, s, cards, [0] * len(cards), radix, per_variable)


class Windows:
    """The windows of a panel: of m consecutive quarters (window = the row it starts on,
    ``valid`` where one does) or of any m of a person's quarters (window = an index into
    ``combos``, m rows each; refused beyond :data:`MAX_WINDOWS`). ``wcal``: the calendar of
    each window (which quarters, a dense id); ``cal_size``: windows per calendar."""

    def __init__(self, p: Panel, m: int, consecutive: bool) -> None:
        self.m, self.cons, self.q0, self.qi = m, consecutive, p.q0, p.qi
        if consecutive:
            self.valid = wk.consecutive_starts(p.newp, p.qi, m)
            self.combos = np.zeros((0, m), dtype=np.int32)
            self.wcal = p.qi
            self.n_cal = int(self.wcal.max()) + 1 if p.n else 0
        else:
            self.combos = _combinations(p.newp, m)
            self.valid = np.ones(len(self.combos), dtype=np.uint8)
            span = int(p.qi.max()) + 1 if p.n else 1
            if span**m < 2**62:
                qkey = np.zeros(len(self.combos), dtype=np.int64)
                for j in range(m):
                    qkey = qkey * span + p.qi[self.combos[:, j]]
                _, cal = np.unique(qkey, return_inverse=True)
            else:
                _, cal = np.unique(p.qi[self.combos], axis=0, return_inverse=True)
            self.wcal = cal.astype(np.int32).ravel()
            self.n_cal = int(self.wcal.max()) + 1 if len(self.wcal) else 0
            flat = self.combos.ravel()
            at = np.argsort(flat, kind="stable")
            self.row_off = np.searchsorted(flat[at], np.arange(p.n + 1))
            self.by_row = (at // m).astype(np.int32)  # the windows of each row, ascending
        self.cal_size = tk.cal_sizes(self.valid, self.wcal, self.n_cal)
        self.n = int(self.cal_size.sum())

    def all(self) -> np.ndarray:
        """Every window, ascending."""
        return np.flatnonzero(self.valid)

    def cal(self, w: np.ndarray) -> np.ndarray:
        return self.wcal[w]

    def rows_of(self, w: np.ndarray) -> np.ndarray:
        """Rows covered by windows ``w``: (len(w), m)."""
        if self.cons:
            return w[:, None] + np.arange(self.m, dtype=np.int64)
        return self.combos[w].astype(np.int64)

    def span(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last quarter of windows ``w``."""
        rows = self.rows_of(w)
        return self.q0 + self.qi[rows[:, 0]], self.q0 + self.qi[rows[:, -1]]

    def containing(self, rows: np.ndarray) -> np.ndarray:
        """Distinct windows (ascending) that cover any of ``rows``."""
        if self.cons:
            return tk.containing(rows, self.valid, self.m)
        lo, hi = self.row_off[rows], self.row_off[rows + 1]
        return np.unique(self.by_row[_expand(lo, hi)]).astype(np.int64)


def _expand(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """All integers of the ranges [lo, hi), concatenated."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.cumsum(lengths) - lengths
    return np.repeat(lo - first, lengths) + np.arange(total, dtype=np.int64)


def _combinations(newp: np.ndarray, m: int) -> np.ndarray:
    """Rows of every m-subset of each person's rows (rows sorted by person, quarter), in
    order of the rows, refused beyond MAX_WINDOWS; the loop runs over the distinct numbers
    of quarters."""
    import itertools

    bounds = np.r_[np.flatnonzero(newp), len(newp)]
    first, size = bounds[:-1], np.diff(bounds)
    sizes, n_persons = np.unique(size, return_counts=True)
    total = sum(math.comb(int(t), m) * int(c) for t, c in zip(sizes, n_persons, strict=True))
    if total > MAX_WINDOWS:
        raise SluisError(
            f"any {m} quarters give {total:,} windows, more than {MAX_WINDOWS:,}",
            rule="scra-trajectory-too-many",
            hint="use consecutive windows, a larger m, or fewer quarters per person",
        )
    parts = []
    for t in sizes:
        combos = np.array(list(itertools.combinations(range(int(t)), m)), dtype=np.int32)
        if not len(combos):
            continue
        who = first[size == t].astype(np.int32)
        parts.append((who[:, None, None] + combos[None, :, :]).reshape(-1, m))
    if not parts:
        return np.zeros((0, m), dtype=np.int32)
    rows = np.concatenate(parts)
    return rows[np.lexsort(rows.T[::-1])]


class PatternCounts:
    """Windows per pattern key (calendar and states), in a hash table that grows; with
    ``track``, the id of each window's pattern (``wid``) and the windows of each initial
    pattern (``off``, ``members``) for :meth:`below`."""

    def __init__(self, p: Panel, win: Windows, m: int, *, track: bool) -> None:
        self.p, self.win, self.m = p, win, m
        space = p.space
        if max(win.n_cal, 1) * space**m >= 2**63:
            raise SluisError(
                f"{space:,} combinations of the state variables over {m} quarters are "
                "too many to count exactly",
                rule="scra-trajectory-states",
                hint="recode the state variables coarser or name fewer of them",
            )
        self.spm = np.int64(space**m)
        self.place = np.array([space ** (m - 1 - j) for j in range(m)], dtype=np.int64)
        self.bits = 16
        self.hkeys = np.full(1 << self.bits, -1, dtype=np.int64)
        self.hid = np.zeros(1 << self.bits, dtype=np.int32)
        self.count = np.zeros(1 << (self.bits - 1), dtype=np.int32)
        #: when each pattern's count last changed (the treatment's moves; see give_back)
        self.changed_at = np.zeros(len(self.count), dtype=np.int64)
        self.n_ids = 0
        self.wid = np.zeros(len(win.valid) if track else 0, dtype=np.int32)
        start = 0
        while start < len(win.valid):
            h = (*self._h(), self.n_ids, self.wid, start)
            start, self.n_ids = wk.count_windows(*self._w(), *h)
            if start < len(win.valid):
                self.reserve(max(self.n_ids, 1 << 16))
        if track:
            self.n0 = self.n_ids
            self.off, self.members = wk.members_by_id(win.valid, self.wid, self.n_ids)

    def _w(self) -> tuple:
        w = self.win
        return (w.valid, w.cons, w.combos, w.wcal, self.p.s, self.place, self.spm, self.m)

    def _h(self) -> tuple:
        return (self.hkeys, self.hid, self.count, self.bits)

    def reserve(self, extra: int) -> None:
        """Room for ``extra`` more ids (the table at most half full)."""
        need = self.n_ids + extra
        if need > len(self.count):
            size = max(need, 2 * len(self.count))
            grown = np.zeros(size, dtype=np.int32)
            grown[: self.n_ids] = self.count[: self.n_ids]
            self.count = grown
            stamps = np.zeros(size, dtype=np.int64)
            stamps[: len(self.changed_at)] = self.changed_at
            self.changed_at = stamps
        bits = self.bits
        while (1 << bits) < 2 * need:
            bits += 1
        if bits != self.bits:
            self.bits = bits
            self.hkeys, self.hid = wk.rehash(self.hkeys, self.hid, bits)
