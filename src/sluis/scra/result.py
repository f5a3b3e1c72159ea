"""The result record of a small-cell risk analysis (G5): small, typed, JSON-ready.

Large per-record arrays stay out of it; it holds the figures the report and the terminal
summary show, before and after treatment, and whether each threshold holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sluis.scra.longitudinal import LongitudinalRisk


@dataclass
class SudaSummary:
    records_with_score: int
    score_sum: float
    score_max: float
    records_dis_above_0_1: int
    dis_sum: float
    msu_per_size: list[int]


@dataclass
class HouseholdSummary:
    households: int
    mean_risk: float
    expected_households_reidentified: float
    records_above_0_5: int


@dataclass
class LDiversitySummary:
    variable: str
    l_min: int
    min_l: int
    cells_below: int
    records_below: int


@dataclass
class Measures:
    """Risk measures of one key set on one version of the data (before or after)."""

    cells: int
    records_below: dict[str, int]  # "2", "3", "5", "k" -> records with fk < that
    global_risk: float
    expected_reidentifications: float
    max_risk: float
    cell_size_histogram: dict[str, int]  # records by fk: "1".."9", "10-19", ...
    risk_histogram: dict[str, int]  # records by individual risk band
    household: HouseholdSummary | None = None
    suda: SudaSummary | None = None
    ldiversity: list[LDiversitySummary] = field(default_factory=list)


@dataclass
class KeySetResult:
    name: str
    keys: list[str]
    before: Measures
    after: Measures | None = None


@dataclass
class Threshold:
    name: str
    limit: str
    value: str
    holds: bool


@dataclass
class Treatment:
    k: int
    keys: list[str]
    order: list[str]
    suppressed_values: int
    records_touched: int
    per_variable: dict[str, int]
    semantics: str
    explanations_file: str
    treated_file: str
    examples: list[dict[str, Any]]


@dataclass
class ScraResult:
    """Everything ``scra.json`` holds."""

    file: str
    records: int
    k: int
    weight: str | None
    household: str | None
    key_sets: list[KeySetResult]
    thresholds: list[Threshold]
    treatment: Treatment | None = None
    longitudinal: LongitudinalRisk | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(t.holds for t in self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data
