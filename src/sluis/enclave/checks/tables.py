"""The table rules (A5, B11): minimum frequency, dominance (n,k), the p% rule and class
disclosure, on a table of cells held as numpy arrays (no Python loop over cells).

A :class:`CellTable` is one row per cell: the cell's keys (one text array per dimension),
its count, its contributors (distinct persons), and for a magnitude table its total and
its two largest contributions. It comes from the helper library's sidecar or, without one,
from the file itself (:mod:`sluis.enclave.checks.load`). The rules follow the terms of the
field: the threshold rule, the (n,k) dominance rule and the p% rule as in Hundepool et al.,
*Statistical Disclosure Control* (2012), §4.2, and ACRO's ``threshold``, ``nk-rule`` and
``p-ratio`` checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sluis.enclave.checks.report import Finding, Thresholds, plural

#: cells listed in one finding at most (the message gives the full number)
MAX_CELLS = 200


@dataclass
class CellTable:
    """One table, one entry per cell, in the order of the file's rows."""

    name: str
    kind: str  # "count" or "magnitude"
    dimensions: list[str]
    keys: dict[str, np.ndarray]  # text keys per dimension ("" for a missing value)
    count: np.ndarray | None = None
    contributors: np.ndarray | None = None
    total: np.ndarray | None = None
    top1: np.ndarray | None = None
    top2: np.ndarray | None = None
    #: the column a finding points at (the counts' or the totals' column)
    column: str = "n"
    unit: str = "persons"
    population: str | None = None
    #: row in the file of each cell (1 = first data row)
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if len(self.rows) == 0:
            self.rows = np.arange(1, self.size + 1)

    @property
    def size(self) -> int:
        for values in (self.count, self.contributors, self.total):
            if values is not None:
                return len(values)
        return len(next(iter(self.keys.values()))) if self.keys else 0

    def columns(self) -> set[str]:
        """The file's columns this table reads: its dimensions and its values' column."""
        return {*self.dimensions, self.column}

    def persons(self) -> np.ndarray:
        """The number of persons behind each cell: its contributors, else its count."""
        if self.contributors is not None:
            return self.contributors
        assert self.count is not None
        return self.count

    def cells(self, mask: np.ndarray) -> list[list[object]]:
        """``[row, column]`` of the cells in ``mask``, at most :data:`MAX_CELLS`."""
        return [[int(r), self.column] for r in self.rows[mask][:MAX_CELLS]]


def check_table(table: CellTable, thresholds: Thresholds) -> list[Finding]:
    """Every table rule on ``table``; an empty list when all hold."""
    findings = structure(table)
    if findings:
        return findings
    findings += min_frequency(table, thresholds.min_frequency)
    findings += class_disclosure(table)
    if table.kind == "magnitude":
        findings += dominance(table, thresholds.dominance_n, thresholds.dominance_share)
        findings += p_percent(table, thresholds.p_percent)
    return findings


def structure(table: CellTable) -> list[Finding]:
    """A table the rules cannot read: counts that are not whole non-negative numbers, or a
    cell named twice (its keys repeat), goes to review."""
    persons = table.persons()
    bad = ~np.isfinite(persons) | (persons < 0) | (persons != np.round(persons))
    if bad.any():
        return [
            Finding(
                "not-counts",
                "review",
                f"{plural(int(bad.sum()), 'cell')} of {table.name} with a count that is not a "
                "whole number of 0 or more: the table rules cannot be applied",
                table.cells(bad),
            )
        ]
    if table.dimensions:
        codes = cell_codes(table.keys, table.dimensions)
        _, first, counts = np.unique(codes, return_index=True, return_counts=True)
        if (counts > 1).any():
            dup = np.ones(table.size, dtype=bool)
            dup[first[counts == 1]] = False
            return [
                Finding(
                    "duplicate-cells",
                    "review",
                    f"{plural(int((counts > 1).sum()), 'cell')} of {table.name} on more than one "
                    f"row (same {', '.join(table.dimensions)}): the rules need one row per "
                    "cell",
                    table.cells(dup),
                )
            ]
    return []


def min_frequency(table: CellTable, k: int) -> list[Finding]:
    """Threshold rule: a cell of 1 to k-1 persons fails (an empty cell is no person)."""
    persons = table.persons()
    small = (persons > 0) & (persons < k)
    if not small.any():
        return []
    what = "contributors" if table.kind == "magnitude" else table.unit
    return [
        Finding(
            "min-frequency",
            "fail",
            f"{plural(int(small.sum()), 'cell')} of 1 to {k - 1} {what} (minimum frequency {k})",
            table.cells(small),
        )
    ]


def class_disclosure(table: CellTable) -> list[Finding]:
    """A line of the table (one dimension varies, the others are fixed) whose cells are all
    empty but one: everyone in that line has the non-empty cell's category, so knowing a
    person is in the line reveals their class. A combination of categories absent from the
    table counts as an empty cell (a GROUP BY leaves empty cells out). Lines of one
    category and lines that are all empty disclose nothing."""
    if not table.dimensions:
        return []
    nonzero = table.persons() > 0
    flagged = np.zeros(table.size, dtype=bool)
    lines: list[str] = []
    for dim in table.dimensions:
        _, categories = category_codes(table.keys[dim])
        if categories < 2:
            continue
        others = [d for d in table.dimensions if d != dim]
        line = cell_codes(table.keys, others) if others else np.zeros(table.size, np.int64)
        _, line = np.unique(line, return_inverse=True)
        filled = np.bincount(line, weights=nonzero, minlength=line.max(initial=-1) + 1)
        hit = nonzero & (filled[line] == 1)
        if hit.any():
            flagged |= hit
            lines.append(dim)
    if not flagged.any():
        return []
    return [
        Finding(
            "class-disclosure",
            "fail",
            f"{plural(int(flagged.sum()), 'cell')} alone in a line of empty cells across "
            f"{', '.join(lines)}: every person in that line has that category (merge or "
            "leave out the empty categories; a structural zero is for the reviewers)",
            table.cells(flagged),
        )
    ]


def dominance(table: CellTable, n: int, share: float) -> list[Finding]:
    """(n,k) rule: a cell whose n largest contributions make more than ``share`` of its
    total fails. The sidecar holds the two largest, so n above 2 goes to review; a cell
    whose largest contribution exceeds its total (contributions of both signs) goes to
    review too: the rule is for values of one sign."""
    if table.total is None or table.top1 is None or table.top2 is None:
        return [Finding("dominance", "review", "no top contributions: cannot check")]
    if n > 2:
        return [
            Finding(
                "dominance",
                "review",
                f"the (n,k) rule with n={n} needs the {n} largest contributions; the "
                "helper library records two",
            )
        ]
    total = np.abs(table.total)
    top = table.top1 + (table.top2 if n == 2 else 0)
    mixed = table.top1 > total * (1 + 1e-9)
    findings = []
    if mixed.any():
        findings.append(
            Finding(
                "mixed-sign",
                "review",
                f"{plural(int(mixed.sum()), 'cell')} with contributions of both signs: the "
                "dominance and p% rules do not apply, a reviewer judges them",
                table.cells(mixed),
            )
        )
    dominated = ~mixed & (total > 0) & (top > share * total)
    if dominated.any():
        findings.append(
            Finding(
                "dominance",
                "fail",
                f"{plural(int(dominated.sum()), 'cell')}: the {n} largest contributions make more "
                f"than {share:.0%} of the cell's total ({n},{share:.0%}) rule",
                table.cells(dominated),
            )
        )
    return findings


def p_percent(table: CellTable, p: float) -> list[Finding]:
    """p% rule: the second-largest contributor, subtracting its own value from the total,
    learns the largest contribution to within the rest of the total; a cell fails when that
    rest is less than ``p`` times the largest contribution."""
    if table.total is None or table.top1 is None or table.top2 is None:
        return []
    total = np.abs(table.total)
    rest = total - table.top1 - table.top2
    mixed = table.top1 > total * (1 + 1e-9)
    weak = ~mixed & (table.top1 > 0) & (rest < p * table.top1)
    if not weak.any():
        return []
    return [
        Finding(
            "p-percent",
            "fail",
            f"{plural(int(weak.sum()), 'cell')}: the second-largest contributor could estimate the "
            f"largest contribution to within {p:.0%} (p% rule)",
            table.cells(weak),
        )
    ]


def cell_codes(keys: dict[str, np.ndarray], dims: list[str]) -> np.ndarray:
    """One integer per cell for its combination of ``dims`` (equal keys, equal code)."""
    code = np.zeros(len(next(iter(keys.values()))) if keys else 0, dtype=np.int64)
    for dim in dims:
        inverse, categories = category_codes(keys[dim])
        code = code * categories + inverse
        if len(dims) > 2:  # keep the codes small before the next product
            _, code = np.unique(code, return_inverse=True)
    return code


def category_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """The category of each value as an integer, and the number of categories (a hash
    table in Arrow: no sort of the text)."""
    encoded = pc.dictionary_encode(pa.array(values, pa.string()))
    return encoded.indices.to_numpy().astype(np.int64), len(encoded.dictionary)
