"""The spec model: one authorisation as data (G1).

Every field a flow needs to run, check and document one decision. Pydantic v2 with
``extra="forbid"``: an unknown key is an error, not a silently ignored typo. Structure and
types live here; the rules that compare a spec with its decision, the source contract and
the project's floors live in :mod:`sluis.spec.rules`, so that one place says what a spec may
*contain* and another what it may *ask for*.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# the rule kinds are classes of the coarsening stage; callers read them from here too
from sluis.coarsen.kinds import (  # noqa: F401
    AgeRule,
    AmountRule,
    Coarsen,
    CountryRule,
    DateRule,
    Keep,
    NaceRule,
    NumericClasses,
    PlaceRule,
    Pseudonym,
    TopCode,
)
from sluis.errors import UsageError

QUARTER = r"^(19|20)\d\dQ[1-4]$"
#: delivered names: Stata's limit is 32 characters, lowercase keeps every target happy
NAME = r"^[a-z][a-z0-9_]{0,31}$"
#: "A6: birth date (y+q)": a requirement ID and one of its items (sluis.extract.derivations.items)
COVERS = r"^(A|B|G)\d{1,2}: .+$"

Quarter = Annotated[str, Field(pattern=QUARTER)]
Name = Annotated[str, Field(pattern=NAME)]
#: a paragraph (randnummer) of the decision, optionally a footnote: "6", "2 note 3"
Paragraph = Annotated[
    str,
    BeforeValidator(lambda v: str(v) if isinstance(v, int) else v),
    Field(pattern=r"^\d{1,3}( note \d{1,2})?$"),
]


class Strict(BaseModel):
    """Every spec object: unknown keys refused, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Decision(Strict):
    """The decision of the Information Security Committee the spec implements."""

    id: Annotated[str, Field(pattern=r"^\d\d/\d{3}$")]
    title: str
    date: dt.date
    amended: list[dt.date] = []
    in_force: dt.date


class Party(Strict):
    """An organisation taking part in the flow; providers list the tables they hold."""

    name: str
    roles: list[Literal["provider", "pseudonymiser", "recipient", "supervisor"]]
    tables: list[str] = []


class Researcher(Strict):
    """A named researcher of the recipient; the package is encrypted to these keys (G11)."""

    name: str
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    #: an age X25519 recipient (``age1...``) or an OpenSSH ed25519 public key
    public_key: str | None = None


class Recipient(Strict):
    party: str
    researchers: list[Researcher] = []


class Range(Strict):
    """A closed interval of ages or years."""

    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class DateRange(Strict):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Population(Strict):
    """Who is selected on a reference date (A1, B2)."""

    description: str
    paragraph: Paragraph | None = None
    reference_date: dt.date
    subset_of: str | None = None
    region: str | None = None
    age: Range | None = None
    age_at_arrival: Range | None = None
    first_registration: DateRange | None = None
    naturalised: DateRange | None = None
    not_in: list[Literal["working", "retired", "studying"]] = []
    #: the size the decision states at full scale, for the run summary
    expected: int | None = None


class Sample(Strict):
    """A seeded random part of a population (A2): a keyed hash decides, not an engine."""

    population: str
    fraction: Annotated[float, Field(gt=0, le=1)]
    seed: int
    exclude: list[str] = []
    paragraph: Paragraph | None = None


class Window(Strict):
    """The quarters observed (A3, A15, B8): start, end and per-population look-back."""

    start: Quarter
    end: Quarter
    lookback: dict[str, Quarter] = {}
    paragraph: Paragraph | None = None

    def first(self) -> str:
        """The earliest quarter any dataset may hold: the start or an earlier look-back."""
        return min([self.start, *self.lookback.values()])


class Phase(Strict):
    """A phase of the research: a delivery of at most ``persons`` sampled persons, or an
    enclave where the full data are analysed on site (A4, A5)."""

    mode: Literal["delivery", "enclave"]
    persons: Annotated[int, Field(gt=0)] | None = None
    #: a population whose ``expected`` size ``persons`` is meant for: a run on a population
    #: of another size (the synthetic Belgium at a small scale) draws the same share of it,
    #: so that the delivery carries the risk the real one does
    sized_to: str | None = None
    paragraph: Paragraph | None = None


class Family(Strict):
    """Which household members are followed with a sampled person (G7)."""

    members: list[Literal["partner", "children", "cohabiting"]]
    while_in_household: bool = True
    leavers_indicator: bool = True
    paragraph: Paragraph | None = None


# -- coarsening rules (G4): one class per kind, with its behaviour, in sluis.coarsen ------


class Variable(Strict):
    """One delivered column: where it comes from, how it is coarsened, why it is allowed."""

    name: Name
    label: Annotated[str, Field(min_length=1, max_length=80)]
    covers: list[Annotated[str, Field(pattern=COVERS)]] = Field(min_length=1)
    source: list[str] = Field(min_length=1)
    #: the id of the derivation that computes the value (sluis.extract.derivations); none:
    #: a plain column, the first ``source`` read on the row's day
    derive: str | None = None
    coarsen: Coarsen
    #: the stage that computes the value from ``source`` (selection, extract, link); the
    #: source-type checks then apply to the computed value's rule only
    computed: Literal["selection", "extract", "link"] | None = None
    paragraph: Paragraph | None = None
    note: str | None = None


class Dataset(Strict):
    """One delivered table: its unit of observation, whom its rows describe, its columns."""

    description: str
    unit: Literal[
        "person", "person_quarter", "job_quarter", "person_year", "household_year", "move"
    ]
    who: Literal["sampled", "partner", "child", "member", "population"]
    paragraph: Paragraph | None = None
    variables: list[Variable] = Field(min_length=1)


#: the period column of a dataset by its unit: cells, windows and trajectories are taken
#: within it, and it must lie inside the spec's window
PERIOD = {
    "person_quarter": "quarter",
    "job_quarter": "quarter",
    "person_year": "year",
    "household_year": "year",
}


class KeySet(Strict):
    """Quasi-identifiers analysed together (G5)."""

    name: Name
    dataset: str
    keys: list[str] = Field(min_length=1)


class StateRecode(Strict):
    """A state variable of a trajectory check recoded to the coarser rule ``to`` (its own
    rule's hierarchy, ``kind: sep`` levels for the socio-economic position), tried by the
    trajectory treatment before it suppresses states (G5)."""

    variable: str
    to: Coarsen


class Longitudinal(Strict):
    """Trajectory risk: persons sharing the same states over ``m`` consecutive quarters."""

    dataset: str
    states: list[str] = Field(min_length=1)
    m: Annotated[int, Field(ge=1)]
    k: int
    #: ``consecutive``: windows of m consecutive observed quarters (an intruder who knows a
    #: stretch of someone's history); ``any``: any m of a person's observed quarters (one who
    #: knows m moments of it), far more windows, bounded by sluis.scra.trajectory
    windows: Literal["consecutive", "any"] = "consecutive"
    #: state variables the treatment may recode along their rule's hierarchy, in order (a
    #: step is kept only where it changes fewer values than suppression alone would)
    recode: list[StateRecode] = []
    #: false: measured and reported, but not a condition of the delivery (say why in note)
    enforce: bool = True
    note: str | None = None


class Sensitive(Strict):
    """A sensitive variable: every key cell must hold at least ``l`` distinct known values
    of it, or none (sluis.scra.diversity)."""

    variable: str
    dataset: str
    l: int  # noqa: E741 (the measure's name in the literature)
    #: the key set whose cells are checked when it lies on another dataset (26/050's
    #: poverty_risk on income, the demography key set on demobel): the sensitive value is
    #: joined onto the key set's rows by person and period
    key_set: str | None = None
    #: columns of ``dataset`` that give the sensitive value back (the income class gives
    #: poverty_risk): withheld with it, on the same row
    carried_by: list[str] = []
    enforce: bool = True
    note: str | None = None


class Implied(Strict):
    """Delivered columns that carry a key's fact (G5): ``by`` columns (``dataset.variable``)
    whose value, read at the key's precision, gives back the value of ``key``
    (``dataset.variable``): the date a nationality held from birth was acquired is the birth
    date. The treatment covers them: where the key is suppressed or recoded, their values
    that agree with the key's value are suppressed too; a ``by`` column that is a dataset's
    period cannot be suppressed, so the key is kept as it is (never suppressed or recoded)."""

    key: str
    by: list[str] = Field(min_length=1)


class RecodeStep(Strict):
    """One step of global recoding (G5): the staged values of ``variable`` (coarsened by its
    own rule) recoded to the coarser rule ``to``, applied only while the thresholds fail."""

    dataset: str
    variable: str
    to: Coarsen


class Scra(Strict):
    """Thresholds the delivery must meet before it leaves (G5), and the global recoding
    steps (``recode``, in order) the treatment may take before local suppression."""

    k: int
    key_sets: list[KeySet] = Field(min_length=1)
    max_global_risk: Annotated[float, Field(gt=0, le=1)] | None = None
    #: the largest k local suppression may go to while the global risk is above its maximum
    max_k: Annotated[int, Field(ge=2, le=100)] = 25
    #: the largest share of a key variable's values local suppression may take (0..1); a
    #: treatment that needs more fails, naming the variable (recode it coarser instead)
    max_suppression_share: Annotated[float, Field(gt=0, le=1)] = 0.05
    household: str | None = None
    longitudinal: list[Longitudinal] = []
    sensitive: list[Sensitive] = []
    missing_is_category: bool = True
    recode: list[RecodeStep] = []
    implied: list[Implied] = []
    #: the decision's own research quantities (ids of :mod:`sluis.scra.research`), computed
    #: before and after treatment to show what treatment cost the analysis
    research: list[str] = []


class Enclave(Strict):
    """Output checks on results leaving the enclave, and the limits a job runs under (A5,
    B11). The thresholds are the automatic checks' (sluis.enclave.checks); the limits are
    the sandbox's (sluis.enclave.sandbox), which the command line may lower, never raise."""

    min_frequency: int
    dominance_n: Annotated[int, Field(ge=1)] = 2
    dominance_share: Annotated[float, Field(gt=0, le=1)] = 0.85
    #: p% rule: a cell fails when the total minus the two largest contributions estimates
    #: the largest to within this share of it (0..1)
    p_percent: Annotated[float, Field(gt=0, le=1)] = 0.10
    #: the fewest residual degrees of freedom a released model may have
    min_residual_df: Annotated[int, Field(ge=1)] = 10
    #: a job's wall-clock limit, seconds
    wall_seconds: Annotated[int, Field(ge=1)] = 3600
    #: a job's address-space limit, MiB
    memory_mib: Annotated[int, Field(ge=64)] = 4096
    #: the most a job may write to its output folder (and each file), MiB
    output_mib: Annotated[int, Field(ge=1)] = 100
    #: the most processes (and threads) a job may have at once
    processes: Annotated[int, Field(ge=1)] = 64


class Delivery(Strict):
    mode: Literal["sftp"] = "sftp"
    formats: list[Literal["parquet", "stata", "csv"]] = Field(min_length=1)


class Retention(Strict):
    deadline: dt.date | None = None
    paragraph: Paragraph | None = None


class Spec(Strict):
    """One authorisation as code."""

    sluis: Literal[1]
    decision: Decision
    purpose: str
    legal_basis: str
    parties: dict[str, Party]
    recipient: Recipient
    populations: dict[str, Population]
    samples: dict[str, Sample] = {}
    window: Window
    phases: dict[int, Phase]
    family: Family | None = None
    datasets: dict[str, Dataset]
    scra: Scra
    enclave: Enclave | None = None
    delivery: Delivery
    retention: Retention

    @property
    def pseudonymiser(self) -> str:
        """The party (its name in ``parties``) that pseudonymises: it selects, links and
        treats the data, holds the project key and sends the package. ``sluis spec check``
        refuses a spec where no party has that role."""
        for name, party in self.parties.items():
            if "pseudonymiser" in party.roles:
                return name
        raise UsageError(
            f"spec {self.decision.id}: no party has the pseudonymiser role",
            rule="party-beyond-decision",
        )

    @property
    def slug(self) -> str:
        """The project's id in file, folder and key names: the decision id with a dash for
        the slash (``25-074`` for decision 25/074)."""
        return self.decision.id.replace("/", "-")

    def variable_names(self, dataset: str) -> list[str]:
        """The columns a dataset may carry, in spec order."""
        return [v.name for v in self.datasets[dataset].variables]

    def period(self, dataset: str) -> str | None:
        """The period column of ``dataset`` (``quarter`` or ``year``), None when it has none."""
        name = PERIOD.get(self.datasets[dataset].unit)
        return name if name in self.variable_names(dataset) else None
