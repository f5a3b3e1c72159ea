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


# -- the spec-driven run on a staged extract ------------------------------------------------


@dataclass
class PeriodRisk:
    """Records of one quarter (or year) of a key set and how many are below k."""

    period: str
    records: int
    below_before: int
    below_after: int | None = None


@dataclass
class SpecKeySet:
    """One key set of the spec on its dataset, before and after treatment."""

    name: str
    dataset: str
    keys: list[str]
    period: str | None  # the period column the cells are taken within (quarter, year)
    before: Measures
    after: Measures | None = None
    per_period: list[PeriodRisk] = field(default_factory=list)


@dataclass
class LongitudinalCheck:
    dataset: str
    before: LongitudinalRisk
    after: LongitudinalRisk | None = None


@dataclass
class RecodeKeySet:
    """A key set's figures just before and just after one recode step (before suppression)."""

    name: str
    cells_before: int
    cells_after: int
    below_k_before: int
    below_k_after: int
    global_risk_before: float
    global_risk_after: float


@dataclass
class Recoding:
    """One global recoding step applied to a dataset (G5): the variable's values went from
    the rule ``from_rule`` to the coarser rule ``to`` (the rule as the spec writes it, for the
    delivery stage: the delivered column follows ``to``, not the variable's own rule)."""

    dataset: str
    variable: str
    from_rule: str
    to_rule: str
    to: dict[str, Any]
    categories_before: int
    categories_after: int
    key_sets: list[RecodeKeySet] = field(default_factory=list)


@dataclass
class DatasetRun:
    """What the run read and wrote for one dataset of the spec."""

    name: str
    unit: str
    file: str
    records: int
    period: str | None
    weight: str | None
    household: str | None
    treated_file: str | None = None
    treatment: Treatment | None = None
    unreachable: int = 0  # records in periods with fewer than k records
    #: recode steps of the spec for this dataset that were not applied, and why
    recode_skipped: list[str] = field(default_factory=list)


@dataclass
class SpecScraResult:
    """Everything ``scra.json`` of a spec-driven run holds."""

    decision: str
    staged: str
    out: str
    k: int
    max_global_risk: float | None
    semantics: str
    treat: bool
    datasets: list[DatasetRun]
    key_sets: list[SpecKeySet]
    longitudinal: list[LongitudinalCheck]
    thresholds: list[Threshold]
    seconds: dict[str, float] = field(default_factory=dict)
    #: the global recoding steps applied, in order (the treated files hold their ``to`` rule)
    recoded: list[Recoding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.holds for t in self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data
