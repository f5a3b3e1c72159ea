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

from sluis.scra.plan import DatasetPlan, Plan, SensitivePlan
from sluis.scra.rebuild import Rebuild
from sluis.scra.result import KeySetResult, LongitudinalCheck, Threshold
from sluis.scra.treatment import Treated


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
        out.append(
            Threshold(
                f"{named}persons whose {lg.m}-quarter trajectory of "
                f"{', '.join(lg.states)} is shared by < {lg.k} persons ({stage})",
                "0",
                f"{final_lr.persons_at_risk:,}",
                final_lr.persons_at_risk == 0,
                enforced=lg.enforce,
            )
        )
    return out


def ldiversity_thresholds(
    sensitive: Sequence[tuple[str, SensitivePlan]], key_sets: Sequence[KeySetResult]
) -> list[Threshold]:
    """Per checked sensitive variable (in the spec's order) and key set on its dataset: no
    record in a cell with fewer than l distinct values; without a key set on its dataset
    it cannot be evaluated and fails."""
    out = []
    for dataset, s in sensitive:
        if not s.checked:
            continue
        checks = [
            (res.name, ld)
            for res in key_sets
            if res.dataset == dataset
            for ld in (res.after or res.before).ldiversity
            if ld.variable == s.variable
        ]
        if not checks:
            out.append(
                Threshold(
                    f"{dataset}: l-diversity of {s.variable} (no key set on {dataset}, "
                    "so it cannot be evaluated)",
                    f">= {s.l}",
                    "not evaluated",
                    False,
                    enforced=s.enforce,
                )
            )
        for key_set, ld in checks:
            out.append(
                Threshold(
                    f"{dataset}/{key_set}: records in cells with fewer than {ld.l_min} distinct "
                    f"values of {s.variable}",
                    "0",
                    f"{ld.records_below:,}",
                    ld.records_below == 0,
                    enforced=s.enforce,
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
