"""The thresholds of the SCRA (G5): what the run checks, from the measures before and after.

Every check is a :class:`~sluis.scra.result.Threshold`, taken on the final measures (after
treatment when there is one): per dataset the treatment's own checks (recoding kept, k
raised for the global risk, the cap on the share suppressed per variable), k and the global
risk on every key set, the trajectories; then the l-diversity of every sensitive variable,
and on a spec's extract ``scra.implied`` and the rebuild attacks. The order is fixed: it is
the order of the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sluis.scra.plan import PERSON, DatasetPlan, Plan, SensitivePlan
from sluis.scra.result import FurtherTreatment, KeySetResult, LongitudinalCheck, Threshold
from sluis.scra.treatment import Treated

if TYPE_CHECKING:
    from sluis.scra.rebuild import Rebuild


def _treatment(
    plan: Plan, dataset: DatasetPlan, treated: Treated, k: int, n: int
) -> list[Threshold]:
    """The treatment's checks: recoding kept, k raised, the share suppressed per variable."""
    out = []
    name = dataset.name
    if treated.applied:
        out.append(
            Threshold(
                f"{name}: global recoding before local suppression (kept where it "
                "lowers the suppressions): "
                + "; ".join(f"{r.variable} {r.from_rule} to {r.to_rule}" for r in treated.recoded),
                "coarser than the spec's rule",
                f"{len(treated.applied)} of {len(treated.applied) + len(treated.recode_skipped)} "
                "steps",
                True,
            )
        )
    sup = treated.suppression
    if sup is None:
        return out
    if treated.k > k:
        out.append(
            Threshold(
                f"{name}: local suppression raised from k = {k} to k = {treated.k} to "
                f"bring the global risk to at most {plan.max_global_risk:g}",
                f"k <= {plan.max_k}",
                f"k = {treated.k}",
                True,
            )
        )
    cap = plan.max_suppression_share
    if cap is None:
        return out
    for variable, count in sup.per_variable.items():
        share = count / n if n else 0.0
        if share > cap:
            out.append(
                Threshold(
                    f"{name}: share of {variable} suppressed (the spec's cap "
                    "max_suppression_share; recode it coarser or review the key sets)",
                    f"<= {cap:.1%}",
                    f"{share:.1%} ({count:,} of {n:,})",
                    False,
                )
            )
    worst = max(sup.per_variable.items(), key=lambda kv: kv[1], default=("", 0))
    if worst[1] <= cap * n:
        largest = f"largest: {worst[0]}" if worst[1] else "nothing suppressed"
        out.append(
            Threshold(
                f"{name}: share of each variable suppressed ({largest})",
                f"<= {cap:.1%}",
                f"{(worst[1] / n if n else 0.0):.1%}",
                True,
            )
        )
    return out


def dataset_thresholds(
    plan: Plan,
    dataset: DatasetPlan,
    treated: Treated,
    k: int,
    n: int,
    key_sets: Sequence[KeySetResult],
    trajectories: Sequence[LongitudinalCheck],
) -> list[Threshold]:
    """The checks of one dataset: its treatment, k and global risk per key set (``k`` is
    the k its frequencies must reach), and its trajectories."""
    out = _treatment(plan, dataset, treated, k, n)
    prefix = f"{dataset.name}/" if dataset.named else ""
    for res in key_sets:
        final = res.after or res.before
        stage = "after treatment" if res.after else "before treatment"
        within = f" within each {dataset.period}" if dataset.period else ""
        sample = (
            f" (sample: estimated population frequency Fk = {dataset.design_weight:.4g} x fk "
            f"below k = {plan.k})"
            if k != plan.k
            else ""
        )
        out.append(
            Threshold(
                f"{prefix}{res.name}: records with fk < {k}{within}{sample} ({stage})",
                "0",
                f"{final.records_below['k']:,}",
                final.records_below["k"] == 0,
            )
        )
        if plan.max_global_risk is not None:
            out.append(
                Threshold(
                    f"{prefix}{res.name}: global risk ({stage})",
                    f"<= {plan.max_global_risk:g}",
                    f"{final.global_risk:.6g}",
                    final.global_risk <= plan.max_global_risk,
                )
            )
    named = f"{dataset.name}: " if dataset.named else ""
    for lg, check in zip(dataset.longitudinal, trajectories, strict=True):
        final_lr = check.after or check.before
        stage = "after treatment" if check.after else "before treatment"
        sample = (
            f" (sample: k = {lg.spec_k} on the population is k = {lg.k} on the sample's "
            "persons, as for the key sets)"
            if lg.spec_k is not None and lg.spec_k != lg.k
            else ""
        )
        # windows: any -> the measure counted every m of a person's quarters (issue 19)
        what = (
            f"{lg.m}-quarter trajectory of {', '.join(lg.states)} is"
            if lg.consecutive
            else f"{', '.join(lg.states)} in any {lg.m} of their quarters are"
        )
        out.append(
            Threshold(
                f"{named}persons whose {what} shared by < {lg.k} persons{sample} ({stage})",
                "0",
                f"{final_lr.persons_at_risk:,}",
                final_lr.persons_at_risk == 0,
                enforced=lg.enforce,
            )
        )
    return out


def _ldiversity_view(
    plan: Plan, out: Path, dataset: str, s: SensitivePlan
) -> list[tuple[str, pa.Table, list[str], str | None, np.ndarray | None]]:
    """Per key set the sensitive variable is checked on: its name, a table of its keys,
    period and the sensitive values as delivered (after every treatment when there was one;
    joined by person and period from the sensitive variable's dataset when the key set
    lies on another), its keys and period, and the mask of key values treatment suppressed."""
    from sluis.scra.diversity_join import sensitive_onto
    from sluis.scra.further import newly_null

    home = dataset
    if s.key_set is not None and plan.spec is not None:
        home = next(ks.dataset for ks in plan.spec.scra.key_sets if ks.name == s.key_set)
    keys_plan = next(d for d in plan.datasets if d.name == home)
    treated = plan.treat and plan.spec is not None
    period = keys_plan.period

    def final(d: DatasetPlan) -> Path:
        path = out / d.treated_file
        return path if treated and path.exists() else d.path

    views = []
    for ks in keys_plan.key_sets:
        if s.key_set is not None and ks.name != s.key_set:
            continue
        keys = [k for k in ks.keys if k != period]
        columns = [*keys, *([period] if period else [])]
        read = [*columns, *([PERSON] if home != dataset else [s.variable])]
        table = pq.read_table(final(keys_plan), columns=read)
        mask = None
        if final(keys_plan) != keys_plan.path:
            mask = newly_null(pq.read_table(keys_plan.path, columns=keys), table, keys)
        if home == dataset:
            values = table.column(s.variable)
        else:
            sens_plan = next(d for d in plan.datasets if d.name == dataset)
            on = [PERSON, *([period] if period else [])]
            values = sensitive_onto(
                table,
                pq.read_table(final(sens_plan), columns=[*on, s.variable]),
                on=on,
                sensitive=s.variable,
            )
        view = table.select(columns).append_column(s.variable, values)
        views.append((f"{home}/{ks.name}", view, keys, period, mask))
    return views


def ldiversity_thresholds(plan: Plan, out: Path) -> list[Threshold]:
    """Per checked sensitive variable (in the spec's order) and key set it is checked on:
    no record in a cell that holds a known value of it but fewer than l distinct known
    values (:func:`sluis.scra.diversity.known_l_diversity`), measured on the delivered
    files; without a key set it cannot be evaluated and fails."""
    from sluis.scra.diversity import known_l_diversity

    out_list = []
    for dataset, s in plan.sensitive:
        if not s.checked:
            continue
        views = _ldiversity_view(plan, out, dataset, s)
        if not views:
            out_list.append(
                Threshold(
                    f"{dataset}: l-diversity of {s.variable} (no key set on {dataset}, "
                    "so it cannot be evaluated; name one with key_set)",
                    f">= {s.l}",
                    "not evaluated",
                    False,
                    enforced=s.enforce,
                )
            )
        sample = (
            f" (sample: a cell of the sample discloses a value with probability 1/w, "
            f"so l = {s.spec_l} on the population is l = {s.l} on the sample)"
            if s.spec_l is not None and s.spec_l != s.l
            else ""
        )
        stage = "after treatment" if plan.treat and plan.spec is not None else "before treatment"
        for label, view, keys, period, mask in views:
            ld = known_l_diversity(
                view, keys=keys, sensitive=s.variable, l=s.l, period=period, suppressed=mask
            )
            out_list.append(
                Threshold(
                    f"{label}: records in cells with a known {s.variable} but fewer than "
                    f"{s.l} distinct known values{sample} ({stage})",
                    "0",
                    f"{ld.records_below:,}",
                    ld.records_below == 0,
                    enforced=s.enforce,
                )
            )
    return out_list


def further_thresholds(
    plan: Plan, further: Sequence[FurtherTreatment], rows: dict[str, int]
) -> list[Threshold]:
    """The cap on the share of a variable's values the treatments after local suppression
    took (``max_suppression_share``), per treatment."""
    cap = plan.max_suppression_share
    out = []
    for t in further:
        if cap is None or not t.values:
            continue
        shares = {
            var: n / rows[var.split(".", 1)[0]] if rows.get(var.split(".", 1)[0]) else 0.0
            for var, n in t.per_variable.items()
        }
        worst = max(shares, key=lambda v: shares[v])
        over = [v for v, share in shares.items() if share > cap]
        out.append(
            Threshold(
                f"{t.dataset}: share of each variable suppressed by the {t.kind} treatment "
                f"of {t.what} (largest: {worst})",
                f"<= {cap:.1%}",
                f"{shares[worst]:.1%}"
                + (f" ({', '.join(over)} above the cap: recode coarser)" if over else ""),
                not over,
            )
        )
    return out


def extract_thresholds(
    implied: Sequence[tuple[str, str, int]], attacks: Sequence[Rebuild]
) -> list[Threshold]:
    """The checks across a spec's treated extract: ``scra.implied`` and the rebuild attacks."""
    out = [
        Threshold(
            f"{column}: values that give back the treated {key} suppressed with it (scra.implied)",
            "treated together",
            f"{count:,} values",
            True,
        )
        for key, column, count in implied
    ]
    for attack in attacks:
        if attack.rebuilds:
            out.append(
                Threshold(
                    f"{attack.key}: {attack.column} ({attack.how}) gives back treated "
                    "values; declare it in scra.implied so the treatment covers it",
                    "at most a fifth",
                    f"{attack.rebuilt:,} of {attack.treated:,}",
                    False,
                )
            )
    if not any(a.rebuilds for a in attacks):
        out.append(
            Threshold(
                "no other delivered column gives back a suppressed or recoded key value "
                f"({len(attacks):,} column and key pairs tried)",
                "at most a fifth of a key's treated values",
                f"at most {max((a.rebuilt for a in attacks), default=0):,}",
                True,
            )
        )
    return out


def guess_thresholds(plan: Plan, out: Path, further: Sequence[FurtherTreatment]) -> list[Threshold]:
    """Per enforced trajectory check of consecutive windows: no window that the neighbour
    attack (:mod:`sluis.scra.guess`) gives back right and leaves shared by fewer than k
    persons, measured on the final treated file (a kept recode applied to the staged values
    it is compared with)."""
    from sluis.scra.further import recoded_staged
    from sluis.scra.guess import neighbour_attack

    found = []
    for dataset in plan.datasets:
        for lg in dataset.longitudinal:
            if not lg.enforce or not lg.consecutive or lg.k <= 1:
                continue
            columns = [lg.person, lg.quarter, *lg.states]
            kept = [
                step.to_rule
                for t in further
                if t.kind == "trajectories" and t.dataset == dataset.name
                for step in t.recoded
            ]
            staged = recoded_staged(
                pq.read_table(dataset.path, columns=columns),
                lg,
                [r.name for r in lg.recode if r.to_rule in kept],
            )
            treated = pq.read_table(out / dataset.treated_file, columns=columns)
            attack = neighbour_attack(
                staged,
                treated,
                person=lg.person,
                quarter=lg.quarter,
                states=lg.states,
                m=lg.m,
                k=lg.k,
            )
            found.append(
                Threshold(
                    f"{dataset.name}: {lg.m}-quarter windows that guessing a suppressed state "
                    f"from the equal values around it gives back (right) and leaves shared by "
                    f"< {lg.k} persons; {attack.right:,} of {attack.suppressed:,} suppressed "
                    f"states guessed right (after treatment)",
                    "0",
                    f"{attack.windows_at_risk:,}",
                    attack.windows_at_risk == 0,
                    enforced=lg.enforce,
                )
            )
    return found
