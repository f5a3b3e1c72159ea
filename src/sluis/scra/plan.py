"""What a small-cell risk analysis measures and treats, per dataset (G5): the plan.

Both entry points build one :class:`Plan` and hand it to :func:`sluis.scra.driver.run`:
:func:`plan_from_spec` for a staged extract and its spec's ``scra`` section (what the flow
and ``sluis scra --spec --staged`` run), :func:`plan_from_file` for ``sluis scra FILE
--keys ...`` (a plan with one dataset and no spec). Everything that differs between the two
is decided here, once, so the measure, treat and threshold steps have one path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sluis.scra.inputs import ScraInputError
from sluis.scra.risk import sample_k
from sluis.scra.suppress import check_semantics

PERSON = "person_seq"
QUARTER = "quarter"
WEIGHT = "weight"

if TYPE_CHECKING:
    from sluis.spec.model import Longitudinal, Spec


@dataclass(frozen=True)
class KeySetPlan:
    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class SensitivePlan:
    """A sensitive variable whose distinct l is measured per key cell. ``checked``: the
    spec's sensitive variables are thresholds; the CLI's ``--sensitive`` only reports l."""

    variable: str
    l: int  # noqa: E741 (the l of l-diversity: of a sample, the l on its own cells)
    enforce: bool = True
    checked: bool = True
    #: a key set on another dataset whose cells are checked (joined by person and period)
    key_set: str | None = None
    #: columns that give the sensitive value back, withheld with it
    carried_by: tuple[str, ...] = ()
    #: the spec's l, when ``l`` is a sample's (:func:`sluis.scra.risk.sample_k`)
    spec_l: int | None = None


@dataclass(frozen=True)
class TrajectoryPlan:
    """Windows of ``m`` consecutive quarters of ``states`` shared by at least ``k`` persons."""

    person: str
    quarter: str
    states: tuple[str, ...]
    m: int
    k: int  # of a sample, the k on its own persons (:func:`sluis.scra.risk.sample_k`)
    enforce: bool = True
    consecutive: bool = True  # windows of m consecutive quarters, else any m quarters
    spec_k: int | None = None  # the spec's k, when ``k`` is a sample's
    #: recodes of states along their rules' hierarchies the treatment tries, in order
    recode: tuple[StateRecodePlan, ...] = ()


@dataclass(frozen=True)
class StateRecodePlan:
    """One recode step of a trajectory check: ``fn`` maps a state column from its own rule
    (``from_rule``) to the step's coarser rule (``to_rule``; ``to`` as the spec writes it,
    for the codebook)."""

    name: str
    variable: str
    fn: Callable
    from_rule: str
    to_rule: str
    to: dict


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset: where it is, what is measured on it and how its treated files are named."""

    name: str
    unit: str
    path: Path  # the file read
    shown: str  # the file as the report names it
    period: str | None = None
    weight: str | None = None  # a survey weight column
    design_weight: float | None = None  # every record stands for this many persons
    household: str | None = None
    key_sets: tuple[KeySetPlan, ...] = ()
    sensitive: tuple[SensitivePlan, ...] = ()
    longitudinal: tuple[TrajectoryPlan, ...] = ()
    pinned: tuple[str, ...] = ()  # keys never suppressed (scra.implied)
    has_recode_steps: bool = False
    #: the treated file keeps the ``sdc_suppressed`` column (a spec must declare it, G1)
    keeps_suppressed_column: bool = True
    treated_file: str = "treated.parquet"  # relative to the output directory
    explanations_file: str = "suppressions.parquet"
    #: thresholds name the dataset (a spec's extract has several; a file is the one dataset)
    named: bool = True

    @property
    def analysed(self) -> list[list[str]]:
        """Each key set's keys as measured: the period added, cells taken within it."""
        return [
            list(ks.keys) + ([self.period] if self.period and self.period not in ks.keys else [])
            for ks in self.key_sets
        ]

    @property
    def all_keys(self) -> list[str]:
        """The union of the key sets (what local suppression works on), the period last."""
        keys = list(dict.fromkeys(key for keys in self.analysed for key in keys))
        if self.period and self.key_sets and self.period not in keys:
            keys.append(self.period)
        return keys

    @property
    def columns(self) -> list[str]:
        """The columns the measures read."""
        needed = self.all_keys + [c for c in (self.weight, self.household) if c]
        needed += [s.variable for s in self.sensitive]
        for lg in self.longitudinal:
            needed += [lg.person, lg.quarter, *lg.states]
        return needed


@dataclass(frozen=True)
class Plan:
    """The whole analysis: its datasets, thresholds and what treatment is asked for."""

    source: Path  # the staged extract or the file
    shown: str  # the source as the report names it
    datasets: tuple[DatasetPlan, ...]
    k: int
    semantics: str = "strict"
    treat: bool = False
    max_global_risk: float | None = None  # a threshold
    #: local suppression raises k up to this to bring the global risk under the maximum
    #: (a spec's ``max_k``); None: k is never raised (the CLI)
    max_k: int | None = None
    max_suppression_share: float | None = None
    suda: bool = False
    spec: Spec | None = None
    staged: Path | None = None  # the staged extract, for scra.implied and the rebuild attacks
    #: the sensitive variables with their dataset, in the spec's order (the thresholds')
    sensitive: tuple[tuple[str, SensitivePlan], ...] = ()

    @property
    def decision(self) -> str | None:
        return self.spec.decision.id if self.spec else None


def _state_recodes(spec: Spec, dataset: str, lg: Longitudinal) -> tuple[StateRecodePlan, ...]:
    """A trajectory check's recode steps as the trajectory treatment takes them: each maps a
    state column from the variable's own rule to the step's coarser rule (a value already
    recoded by a kept earlier step lies in the same tree and is mapped too)."""
    from sluis.scra.recode import recode_column, rule_text

    rules = {v.name: v.coarsen for v in spec.datasets[dataset].variables}
    steps = []
    for step in lg.recode:
        rule = rules[step.variable]
        steps.append(
            StateRecodePlan(
                name=f"{step.variable} {rule_text(rule)} to {rule_text(step.to)}",
                variable=step.variable,
                fn=partial(recode_column, column=step.variable, current=rule, target=step.to),
                from_rule=rule_text(rule),
                to_rule=rule_text(step.to),
                to=step.to.model_dump(mode="json", exclude_none=True),
            )
        )
    return tuple(steps)


def plan_from_spec(
    spec: Spec,
    staged: Path,
    *,
    treat: bool = True,
    semantics: str = "strict",
    design_weight: float | None = None,
    shown_as: Path | None = None,
) -> Plan:
    """The plan of a spec's ``scra`` section on the staged extract ``staged`` (see
    :func:`sluis.scra.driver.run_spec_scra`)."""
    from sluis.scra.implied import pinned_keys  # the spec's (Ibis, pydantic): not a file run's

    check_semantics(semantics)
    sc = spec.scra
    if sc is None:
        raise ScraInputError(
            f"spec {spec.decision.id} has no scra section", rule="scra-spec-missing"
        )
    if not sc.missing_is_category:
        raise ScraInputError(
            "missing_is_category: false (missing as a wildcard) is not supported by the "
            "spec-driven run yet",
            rule="scra-missing-wildcard",
            hint="keep missing_is_category: true",
        )
    staged = Path(staged)
    if not staged.is_dir():
        raise ScraInputError("no such directory", rule="scra-input-missing", file=str(staged))
    hh_dataset, hh_column = [*sc.household.split(".", 1), ""][:2] if sc.household else ("", "")
    names = list(
        dict.fromkeys(
            [ks.dataset for ks in sc.key_sets]
            + ([hh_dataset] if hh_dataset else [])
            + [lg.dataset for lg in sc.longitudinal]
            + [s.dataset for s in sc.sensitive]
        )
    )
    datasets = []
    for name in names:
        if name not in spec.datasets:
            raise ScraInputError(
                f"the scra section names dataset {name!r}, which the spec does not declare",
                rule="scra-dataset-unknown",
            )
        path = staged / f"{name}.parquet"
        if not path.exists():
            raise ScraInputError(
                f"no staged file for dataset {name!r}",
                rule="scra-staged-missing",
                file=str(path),
                hint="a staged extract has one <dataset>.parquet per dataset of the spec",
            )
        declared = spec.variable_names(name)
        # a sample with one design weight (25/074 phase 1): a trajectory or a cell of the
        # sample stands for design_weight persons of the population, as for k
        sampled = design_weight if WEIGHT not in declared else None
        datasets.append(
            DatasetPlan(
                name=name,
                unit=spec.datasets[name].unit,
                path=path,
                shown=str(Path(shown_as or staged) / f"{name}.parquet"),
                period=spec.period(name),
                weight=WEIGHT if WEIGHT in declared else None,
                design_weight=design_weight,
                household=hh_column if hh_dataset == name else None,
                key_sets=tuple(
                    KeySetPlan(ks.name, tuple(ks.keys)) for ks in sc.key_sets if ks.dataset == name
                ),
                sensitive=tuple(
                    _sensitive(s, _sampled(spec, s, design_weight))
                    for s in sc.sensitive
                    if s.dataset == name
                ),
                longitudinal=tuple(
                    TrajectoryPlan(
                        PERSON,
                        QUARTER,
                        tuple(lg.states),
                        lg.m,
                        sample_k(lg.k, sampled),
                        lg.enforce,
                        consecutive=lg.windows == "consecutive",
                        spec_k=lg.k,
                        recode=_state_recodes(spec, name, lg),
                    )
                    for lg in sc.longitudinal
                    if lg.dataset == name
                ),
                pinned=tuple(pinned_keys(spec, name)),
                has_recode_steps=any(step.dataset == name for step in sc.recode),
                keeps_suppressed_column="sdc_suppressed" in declared,
                treated_file=f"staged/{name}.parquet",
                explanations_file=f"suppressions/{name}.parquet",
            )
        )
    return Plan(
        source=staged,
        shown=str(shown_as or staged),
        datasets=tuple(datasets),
        k=sc.k,
        semantics=semantics,
        treat=treat,
        max_global_risk=sc.max_global_risk,
        max_k=sc.max_k,
        max_suppression_share=sc.max_suppression_share,
        spec=spec,
        staged=staged,
        sensitive=tuple(
            (s.dataset, _sensitive(s, _sampled(spec, s, design_weight))) for s in sc.sensitive
        ),
    )


def _sampled(spec: Spec, s, design_weight: float | None) -> float | None:
    """The design weight of the dataset whose cells a sensitive variable is checked on."""
    dataset = s.dataset
    if s.key_set is not None:
        dataset = next(ks.dataset for ks in spec.scra.key_sets if ks.name == s.key_set)
    return design_weight if WEIGHT not in spec.variable_names(dataset) else None


def _sensitive(s, sampled: float | None) -> SensitivePlan:
    """A spec's sensitive variable; in a sample (one design weight w) a cell of the sample
    discloses a value only to an intruder who knows the person is in it, which happens
    with probability 1/w: the l on the sample's cells is taken as k is (sample_k)."""
    return SensitivePlan(
        s.variable,
        sample_k(s.l, sampled),
        s.enforce,
        key_set=s.key_set,
        carried_by=tuple(s.carried_by),
        spec_l=s.l,
    )


def plan_from_file(
    path: Path,
    *,
    key_sets: Sequence[Sequence[str]],
    k: int = 5,
    weight: str | None = None,
    household: str | None = None,
    sensitive: Sequence[str] = (),
    l_min: int = 2,
    suda: bool = False,
    suppress: bool = False,
    max_global_risk: float | None = None,
    person: str | None = None,
    quarter: str | None = None,
    states: Sequence[str] = (),
    window: int = 4,
    semantics: str = "strict",
) -> Plan:
    """The plan of ``sluis scra FILE --keys ...``: one dataset, key sets K1, K2, ...; the
    thresholds are k on every key set, the global risk when given and the trajectories;
    l-diversity is reported, not checked; suppression never raises k."""
    check_semantics(semantics)
    if k < 1:
        raise ScraInputError(f"k must be at least 1, got {k}", rule="scra-k")
    sets = [list(dict.fromkeys(ks)) for ks in key_sets if ks]
    if not sets:
        raise ScraInputError("name at least one key variable", rule="scra-keys-missing")
    longitudinal = bool(person or quarter or states)
    if longitudinal and not (person and quarter and states):
        raise ScraInputError(
            "longitudinal risk needs --person, --quarter and --states together",
            rule="scra-longitudinal-options",
        )
    path = Path(path)
    dataset = DatasetPlan(
        name=path.stem,
        unit="record",
        path=path,
        shown=str(path),
        weight=weight,
        household=household,
        key_sets=tuple(KeySetPlan(f"K{i + 1}", tuple(ks)) for i, ks in enumerate(sets)),
        sensitive=tuple(SensitivePlan(s, l_min, checked=False) for s in sensitive),
        longitudinal=(
            (TrajectoryPlan(person, quarter, tuple(states), window, k),)  # type: ignore[arg-type]
            if longitudinal
            else ()
        ),
        named=False,
    )
    return Plan(
        source=path,
        shown=str(path),
        datasets=(dataset,),
        k=k,
        semantics=semantics,
        treat=suppress,
        max_global_risk=max_global_risk,
        suda=suda,
    )
