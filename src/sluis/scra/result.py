"""The result record of a small-cell risk analysis (G5): small, typed, JSON-ready.

Large per-record arrays stay out of it; it holds the figures the report and the terminal
summary show, before and after treatment, and whether each threshold holds.

Two audiences read it (G5, G8). The pseudonymiser's full report keeps a few examples of
suppressed cells (original values, the row of the staged file) so that a steward can check
the treatment; the recipient's version (:func:`for_recipient`) holds thresholds, figures and
what was treated (variables, counts, shares, recodes) and never an original value, a
record's cell or a row number, since the delivered files hold the treated values in the same
rows: an example would undo the suppression it documents.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

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
class Threshold:
    """One check of the analysis. ``holds`` is what the figure says (the value against the
    limit); ``enforced`` says whether the spec makes it a condition of delivery. A check the
    spec only asks to report (``enforce: false``) never decides :attr:`ScraResult.ok`, and
    the report shows it as *not enforced*, not as holding (G5)."""

    name: str
    limit: str
    value: str
    holds: bool
    enforced: bool = True

    @property
    def state(self) -> Literal["holds", "fails", "not enforced"]:
        """How the report shows the check: holds, fails, or not enforced (whatever its value)."""
        if not self.enforced:
            return "not enforced"
        return "holds" if self.holds else "fails"


def _all_hold(thresholds: list[Threshold]) -> bool:
    """Every enforced threshold holds (a check that is only reported never blocks)."""
    return all(t.holds or not t.enforced for t in thresholds)


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
    #: the first suppressions with their original values and rows: the pseudonymiser's
    #: report only (emptied and left out of the JSON in the recipient's version)
    examples: list[dict[str, Any]]
    #: suppressed values / records of the dataset, per variable (0..1); filled by
    #: :class:`ScraResult` from ``per_variable`` and the dataset's records
    shares: dict[str, float] = field(default_factory=dict)


@dataclass
class PeriodRisk:
    """Records of one quarter (or year) of a key set and how many are below k."""

    period: str
    records: int
    below_before: int
    below_after: int | None = None


@dataclass
class KeySetResult:
    """One key set on its dataset, before and after treatment."""

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
    #: values local suppression would take to make the thresholds hold, without and with
    #: this step (a step is kept only when it lowers them)
    suppressions_before: int | None = None
    suppressions_after: int | None = None


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
class FurtherTreatment:
    """What one treatment after local suppression did (:mod:`sluis.scra.further`): the
    l-diversity of a sensitive variable on a key set, or the trajectories of a dataset."""

    kind: str  # "l-diversity" or "trajectories"
    dataset: str  # where the check's cells or windows are taken
    what: str  # the sensitive variable, or the state variables
    rule: str  # the check in words
    #: values changed per ``dataset.variable`` (suppressed keys, withheld values)
    per_variable: dict[str, int] = field(default_factory=dict)
    values: int = 0
    before: int = 0  # cells or windows at risk before the treatment
    after: int = 0  # cells or windows nothing could treat
    rounds: int = 0
    explanations_file: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)
    #: the trajectory check's recode steps kept (the delivered column follows their rule)
    recoded: list[Recoding] = field(default_factory=list)
    #: the neighbour attack on the treated trajectories (:mod:`sluis.scra.guess`): state
    #: values suppressed, guessed from equal neighbours, guessed right, and the values
    #: suppressed because they carried a guess that isolated a window
    guess: dict[str, int] = field(default_factory=dict)


@dataclass
class ScraResult:
    """Everything ``scra.json`` holds, for both entry points: a spec's run on a staged
    extract (``decision`` set) and a run on one file (``decision`` None, one dataset; its
    JSON keeps the file run's flat layout, :meth:`to_dict`)."""

    decision: str | None
    staged: str
    out: str
    k: int
    max_global_risk: float | None
    semantics: str
    treat: bool
    datasets: list[DatasetRun]
    key_sets: list[KeySetResult]
    longitudinal: list[LongitudinalCheck]
    thresholds: list[Threshold]
    seconds: dict[str, float] = field(default_factory=dict)
    #: the global recoding steps applied, in order (the treated files hold their ``to`` rule)
    recoded: list[Recoding] = field(default_factory=list)
    #: the spec's cap on the share of a variable's values that may be suppressed (0..1)
    max_suppression_share: float | None = None
    #: treatments after local suppression: l-diversity, trajectories (issue 19)
    further: list[FurtherTreatment] = field(default_factory=list)
    #: what treatment cost the research (:class:`sluis.scra.infoloss.InfoLoss`), a spec run's
    information_loss: Any = None
    #: why the information loss could not be computed (a quantity's column missing)
    information_loss_error: str | None = None
    #: the recipient's version withholds a quantity's group behind fewer units than this
    information_loss_min_units: int = 10
    #: who the report is for: the pseudonymiser (full) or the recipient (:func:`for_recipient`)
    audience: Literal["pseudonymiser", "recipient"] = "pseudonymiser"

    def __post_init__(self) -> None:
        for run in self.datasets:
            t = run.treatment
            if t is not None and not t.shares:
                t.shares = {
                    var: (round(n / run.records, 6) if run.records else 0.0)
                    for var, n in t.per_variable.items()
                }

    @property
    def ok(self) -> bool:
        return _all_hold(self.thresholds)

    @property
    def is_file_run(self) -> bool:
        """A run on one file (``sluis scra FILE --keys``), not on a spec's extract."""
        return self.decision is None

    # the one dataset of a file run, as the file run's report and JSON name it
    @property
    def file(self) -> str:
        return self.staged

    @property
    def records(self) -> int:
        return self.datasets[0].records

    @property
    def weight(self) -> str | None:
        return self.datasets[0].weight

    @property
    def household(self) -> str | None:
        return self.datasets[0].household

    @property
    def treatment(self) -> Treatment | None:
        return self.datasets[0].treatment

    def to_dict(self) -> dict[str, Any]:
        if self.is_file_run:
            return self._file_dict()
        from sluis.scra.infoloss import infoloss_dict

        loss = self.information_loss
        data = asdict(dataclasses.replace(self, information_loss=None))
        data["information_loss"] = infoloss_dict(loss) if loss is not None else None
        data["ok"] = self.ok
        if self.audience == "recipient":
            _drop_keys(data, PRIVATE_KEYS)
        return data

    def _file_dict(self) -> dict[str, Any]:
        """The file run's ``scra.json``: the file, its key sets (name, keys, before,
        after), thresholds, the treatment and the trajectories measured on the file (and
        ``longitudinal_after`` on the treated file)."""
        lc = self.longitudinal[0] if self.longitudinal else None
        data: dict[str, Any] = {
            "file": self.file,
            "records": self.records,
            "k": self.k,
            "weight": self.weight,
            "household": self.household,
            "key_sets": [
                {
                    "name": ks.name,
                    "keys": ks.keys,
                    "before": asdict(ks.before),
                    "after": asdict(ks.after) if ks.after else None,
                }
                for ks in self.key_sets
            ],
            "thresholds": [asdict(t) for t in self.thresholds],
            "treatment": asdict(self.treatment) if self.treatment else None,
            "longitudinal": asdict(lc.before) if lc else None,
        }
        if lc is not None and lc.after is not None:
            data["longitudinal_after"] = asdict(lc.after)
        data["seconds"] = dict(self.seconds)
        data["ok"] = self.ok
        return data


#: the directory, beside the full report, of the recipient's version (what a package carries)
RECIPIENT_DIR = "recipient"

#: keys of the full report the recipient's JSON never carries: suppressed cells with their
#: original values and rows (``examples``, whose rows have ``record``), and the
#: pseudonymiser's files and paths (the explanations, the staged and treated files)
PRIVATE_KEYS = frozenset(
    {"examples", "record", "explanations_file", "treated_file", "file", "staged", "out"}
)


def _drop_keys(data: Any, keys: frozenset[str]) -> None:
    if isinstance(data, dict):
        for key in keys & data.keys():
            del data[key]
        for value in data.values():
            _drop_keys(value, keys)
    elif isinstance(data, list):
        for value in data:
            _drop_keys(value, keys)


def private_keys(data: Any) -> set[str]:
    """The :data:`PRIVATE_KEYS` anywhere in a parsed report (the package refuses them)."""
    found: set[str] = set()
    if isinstance(data, dict):
        found |= PRIVATE_KEYS & data.keys()
        data = list(data.values())
    if isinstance(data, list):
        for value in data:
            found |= private_keys(value)
    return found


def for_recipient(result: ScraResult) -> ScraResult:
    """The recipient's version of a spec-driven report (G5, G8): the same thresholds,
    figures and treatment (variables, counts, shares, recodes, per-period labels, which are
    delivered anyway), without the examples of suppressed cells and without the
    pseudonymiser's paths or timings (the package is the same bytes for the same data, X3).
    The result is a copy; ``result`` is not changed."""
    view = copy.deepcopy(result)
    view.audience = "recipient"
    view.staged = ""
    view.out = ""
    view.seconds = {}
    for treatment in view.further:
        treatment.examples = []
        treatment.explanations_file = ""
    if view.information_loss is not None:
        from sluis.scra.infoloss import for_recipient as loss_for_recipient

        view.information_loss = loss_for_recipient(
            view.information_loss, view.information_loss_min_units
        )
    for run in view.datasets:
        run.file = Path(run.file).name
        run.treated_file = None
        if run.treatment is not None:
            run.treatment.examples = []
            run.treatment.explanations_file = ""
            run.treatment.treated_file = ""
    return view
