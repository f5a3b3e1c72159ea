"""The SCRA and enclave thresholds of a spec (G5, A5, B11): the project's floors, key sets
and trajectories that name the spec's variables, global recoding steps that coarsen a
key along its rule's hierarchy (:meth:`sluis.coarsen.rule.Rule.recode_problem`), and
research quantities the registry knows and the spec delivers the columns of
(:mod:`sluis.scra.research`)."""

from __future__ import annotations

from sluis.spec.checker import CEILINGS, FLOORS, Checker
from sluis.spec.load import Path_
from sluis.spec.model import Coarsen, Longitudinal, Spec


def check_scra(c: Checker, spec: Spec) -> None:
    """The SCRA's and the enclave's thresholds, key sets, recode steps and implied keys."""
    s = spec.scra
    if s.k < FLOORS["scra.k"]:
        c.add(
            ("scra", "k"), "threshold-floor", f"k = {s.k}; the project floor is {FLOORS['scra.k']}"
        )
    if s.max_global_risk is not None and s.max_global_risk > CEILINGS["scra.max_global_risk"]:
        c.add(
            ("scra", "max_global_risk"),
            "threshold-floor",
            f"a global risk of {s.max_global_risk:g} is above the project ceiling "
            f"{CEILINGS['scra.max_global_risk']:g}",
        )
    for i, ks in enumerate(s.key_sets):
        _keys_exist(c, spec, ("scra", "key_sets", i), ks.dataset, ks.keys, "keys")
    if s.household is not None:
        _keys_exist(
            c,
            spec,
            ("scra",),
            s.household.split(".")[0],
            [s.household.partition(".")[2]],
            "household",
        )
    for i, lg in enumerate(s.longitudinal):
        path = ("scra", "longitudinal", i)
        _keys_exist(c, spec, path, lg.dataset, lg.states, "states")
        _state_recode(c, spec, path, lg)
        if lg.k < FLOORS["scra.longitudinal.k"]:
            c.add(
                (*path, "k"),
                "threshold-floor",
                f"k = {lg.k}; the project floor is {FLOORS['scra.longitudinal.k']}",
            )
    for i, sv in enumerate(s.sensitive):
        path = ("scra", "sensitive", i)
        _keys_exist(c, spec, path, sv.dataset, [sv.variable], "variable")
        _keys_exist(c, spec, path, sv.dataset, sv.carried_by, "carried_by")
        if sv.key_set is not None:
            _sensitive_key_set(c, spec, path, sv.dataset, sv.key_set)
        if sv.l < FLOORS["scra.sensitive.l"]:
            c.add(
                (*path, "l"),
                "threshold-floor",
                f"l = {sv.l}; the project floor is {FLOORS['scra.sensitive.l']}",
            )
    _recode(c, spec)
    _implied(c, spec)
    _research(c, spec)
    if spec.enclave is not None:
        e = spec.enclave
        if e.min_frequency < FLOORS["enclave.min_frequency"]:
            c.add(
                ("enclave", "min_frequency"),
                "threshold-floor",
                f"{e.min_frequency}; the project floor is {FLOORS['enclave.min_frequency']}",
            )
        if e.dominance_share > CEILINGS["enclave.dominance_share"]:
            c.add(
                ("enclave", "dominance_share"),
                "threshold-floor",
                f"{e.dominance_share:g}; the project ceiling is "
                f"{CEILINGS['enclave.dominance_share']:g}",
            )


def period_years(spec: Spec, dataset: str) -> list[int] | None:
    """The reference years a dataset's rows can have: the years of the spec's window and
    look-back for a dataset with a period, ``None`` for one without."""
    if spec.period(dataset) is None:
        return None
    first = spec.window.first()
    return list(range(int(first[:4]), int(spec.window.end[:4]) + 1))


def _implied(c: Checker, spec: Spec) -> None:
    """Each ``scra.implied`` entry names a key of a key set and variables of the spec."""
    keys = {f"{ks.dataset}.{k}" for ks in spec.scra.key_sets for k in ks.keys}
    variables = {f"{n}.{v.name}" for n, ds in spec.datasets.items() for v in ds.variables}
    for i, entry in enumerate(spec.scra.implied):
        path = ("scra", "implied", i)
        if entry.key not in keys:
            c.add((*path, "key"), "unknown-party", f"{entry.key} is not a key of a key set")
        for j, name in enumerate(entry.by):
            if name not in variables:
                c.add((*path, "by", j), "unknown-party", f"no variable {name} in the spec")


def _research(c: Checker, spec: Spec) -> None:
    """Each ``scra.research`` id names a quantity of the registry whose columns the spec
    delivers (``unknown-research-quantity``): one the run could not compute would only fail
    after the extract was built."""
    if not spec.scra.research:
        return
    # the registry loads Ibis: only for a spec that names quantities (X2: a malformed file
    # is refused at once)
    from sluis.scra.research import research_problems

    variables = {name: spec.variable_names(name) for name in spec.datasets}
    for i, message in enumerate(research_problems(spec.scra.research, variables)):
        if message:
            c.add(("scra", "research", i), "unknown-research-quantity", message)


def _recode(c: Checker, spec: Spec) -> None:
    """Each recode step: a variable of its dataset that a key set names (not the period),
    recoded to a rule coarser than or equal to its rule after the earlier steps."""
    current: dict[tuple[str, str], Coarsen] = {}
    for i, step in enumerate(spec.scra.recode):
        path = ("scra", "recode", i)
        if step.dataset not in spec.datasets:
            c.add((*path, "dataset"), "unknown-party", f"no dataset {step.dataset!r}")
            continue
        variables = {v.name: v for v in spec.datasets[step.dataset].variables}
        if step.variable not in variables:
            c.add(
                (*path, "variable"),
                "unknown-party",
                f"dataset {step.dataset} has no variable {step.variable!r}",
            )
            continue
        keys = {k for ks in spec.scra.key_sets if ks.dataset == step.dataset for k in ks.keys}
        if step.variable == spec.period(step.dataset):
            c.add(
                (*path, "variable"),
                "recode-not-a-key",
                f"{step.variable} is the period of {step.dataset}: cells are taken within it, "
                "it is never recoded",
            )
            continue
        if step.variable not in keys:
            c.add(
                (*path, "variable"),
                "recode-not-a-key",
                f"no key set on {step.dataset} names {step.variable}, so recoding it cannot "
                "help k or the global risk",
            )
            continue
        rule = current.get((step.dataset, step.variable), variables[step.variable].coarsen)
        why = rule.recode_problem(step.to, period_years(spec, step.dataset))
        if why is not None:
            c.add((*path, "to"), "recode-not-coarser", f"{step.variable}: {why}")
            continue
        current[(step.dataset, step.variable)] = step.to


def _state_recode(c: Checker, spec: Spec, path: Path_, lg: Longitudinal) -> None:
    """Each recode step of a trajectory check: one of its state variables, recoded to a rule
    its current rule nests in (after the earlier steps on the same variable)."""
    if lg.dataset not in spec.datasets:
        return
    variables = {v.name: v for v in spec.datasets[lg.dataset].variables}
    current: dict[str, Coarsen] = {}
    for i, step in enumerate(lg.recode):
        where = (*path, "recode", i)
        if step.variable not in lg.states or step.variable not in variables:
            c.add(
                (*where, "variable"),
                "recode-not-a-state",
                f"{step.variable!r} is not a state variable of this trajectory check "
                f"({', '.join(lg.states)})",
            )
            continue
        rule = current.get(step.variable, variables[step.variable].coarsen)
        why = rule.recode_problem(step.to, None)
        if why is not None:
            c.add((*where, "to"), "recode-not-coarser", f"{step.variable}: {why}")
            continue
        current[step.variable] = step.to


def _sensitive_key_set(c: Checker, spec: Spec, path: Path_, dataset: str, name: str) -> None:
    """A sensitive variable checked on another dataset's key set is joined by person and
    that dataset's period: both must be variables of the sensitive variable's dataset."""
    found = [ks for ks in spec.scra.key_sets if ks.name == name]
    if not found:
        c.add((*path, "key_set"), "unknown-party", f"no key set {name!r} in scra.key_sets")
        return
    other = found[0].dataset
    if other == dataset or dataset not in spec.datasets:
        return
    on = ["person_seq", *([spec.period(other)] if spec.period(other) else [])]
    missing = [v for v in on if v not in spec.variable_names(dataset)]
    if missing:
        c.add(
            (*path, "key_set"),
            "unknown-party",
            f"the sensitive value is joined onto {other} by {', '.join(on)}; dataset "
            f"{dataset} has no {', '.join(missing)}",
        )


def _keys_exist(
    c: Checker, spec: Spec, path: Path_, dataset: str, names: list[str], field: str
) -> None:
    if dataset not in spec.datasets:
        c.add(
            (*path, "dataset") if field != "household" else (*path, "household"),
            "unknown-party",
            f"no dataset {dataset!r}",
        )
        return
    known = set(spec.variable_names(dataset))
    for i, name in enumerate(names):
        if name not in known:
            where = (
                (*path, field, i) if field in ("keys", "states", "carried_by") else (*path, field)
            )
            c.add(where, "unknown-party", f"dataset {dataset} has no variable {name!r}")
