"""What a spec will deliver, to whom, in words a data steward compares with the decision
(G1). ``sluis spec show`` renders this on the terminal and as an HTML page; both read the
same :class:`SpecSummary`, so they cannot say different things."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sluis.extract.derivations.requirements import ITEMS as DERIVATIONS
from sluis.spec.decisions import DECISIONS
from sluis.spec.model import (
    AgeRule,
    AmountRule,
    Coarsen,
    CountryRule,
    DateRule,
    Keep,
    NaceRule,
    NumericClasses,
    PlaceRule,
    Population,
    Pseudonym,
    Spec,
    TopCode,
)
from sluis.spec.rules import country_class_count

_PRECISION = {
    "day": "exact day",
    "year_month": "year and month",
    "year_quarter": "year and quarter",
    "year": "year",
}
_SCHEMES = {
    "class15": "about fifteen country classes",
    "eu4": "Belgian / EU / non-EU / other",
    "birth5": "Flemish / Walloon / Brussels region / other EU / non-EU",
    "country_code": "every country",
}


def coarsening_text(rule: Coarsen) -> str:
    """One line saying what a coarsening rule does to a value."""
    if isinstance(rule, Keep):
        return "as coded in the source"
    if isinstance(rule, Pseudonym):
        return f"{rule.domain} sequence number (pseudonym)"
    if isinstance(rule, DateRule):
        return _PRECISION[rule.precision]
    if isinstance(rule, CountryRule):
        return f"{_SCHEMES[rule.classes]} ({country_class_count(rule.classes)} classes)"
    if isinstance(rule, AmountRule):
        if rule.width is not None:
            return f"EUR classes of {rule.width:,} up to {rule.top:,}, then open"
        return "EUR classes from " + ", ".join(f"{b:,}" for b in rule.breaks or [])
    if isinstance(rule, AgeRule):
        return "age classes from " + ", ".join(str(b) for b in rule.breaks)
    if isinstance(rule, NaceRule):
        return "NACE section" if rule.digits == 1 else f"NACE {rule.digits} digits"
    if isinstance(rule, PlaceRule):
        return rule.level
    if isinstance(rule, NumericClasses):
        return "classes from " + ", ".join(f"{b:g}" for b in rule.breaks)
    if isinstance(rule, TopCode):
        return f"count, {rule.max} or more shown as {rule.max}"
    raise TypeError(rule)


def population_text(pop: Population) -> str:
    """The selection rules of a population as one sentence."""
    parts = [f"on {pop.reference_date}"]
    if pop.subset_of:
        parts.append(f"part of {pop.subset_of}")
    if pop.region:
        parts.append(f"living in region {pop.region}")
    if pop.age:
        parts.append(f"aged {pop.age.min}-{pop.age.max}")
    if pop.age_at_arrival:
        parts.append(f"aged {pop.age_at_arrival.min}-{pop.age_at_arrival.max} at arrival")
    if pop.first_registration:
        r = pop.first_registration
        parts.append(f"first registered {r.start} to {r.end}")
    if pop.naturalised:
        parts.append(f"naturalised {pop.naturalised.start} to {pop.naturalised.end}")
    if pop.not_in:
        parts.append("not " + ", not ".join(pop.not_in))
    return "; ".join(parts)


def key_fingerprint(key: str | None) -> str:
    """A short, comparable fingerprint of a public key (SHA256 as OpenSSH prints it)."""
    if not key:
        return "no key"
    if key.startswith("age1"):
        return f"{key[:12]}...{key[-6:]}"
    try:
        blob = base64.b64decode(key.split()[1])
    except (IndexError, ValueError):
        return "unreadable key"
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


@dataclass(frozen=True)
class VariableRow:
    dataset: str
    name: str
    label: str
    source: str
    coarsening: str
    paragraph: str
    covers: str


@dataclass(frozen=True)
class Coverage:
    requirement: str
    covered: int
    total: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class SpecSummary:
    """Everything ``sluis spec show`` prints, as rows and facts."""

    title: str
    facts: list[tuple[str, str]]
    parties: list[tuple[str, str, str, str]]
    researchers: list[tuple[str, str, str]]
    populations: list[tuple[str, str, str, str]]
    samples: list[tuple[str, str, str, str, str]]
    datasets: list[tuple[str, str, str, int, str]]
    variables: list[VariableRow]
    thresholds: list[tuple[str, str]]
    coverage: list[Coverage]


def summarise(spec: Spec, digest: str) -> SpecSummary:
    """The summary of ``spec`` (whose file has SHA-256 ``digest``)."""
    d = spec.decision
    limits = DECISIONS.get(d.id)
    facts = [
        ("decision", f"{d.id} of {d.date}" + "".join(f", amended {a}" for a in d.amended)),
        ("in force", str(d.in_force)),
        ("title", d.title),
        ("purpose", spec.purpose),
        ("legal basis", spec.legal_basis),
        (
            "window",
            f"{spec.window.start} to {spec.window.end}"
            + "".join(f"; {p} from {q}" for p, q in spec.window.lookback.items()),
        ),
        (
            "phases",
            "; ".join(
                f"phase {i}: {p.mode}" + (f" of at most {p.persons:,} persons" if p.persons else "")
                for i, p in spec.phases.items()
            ),
        ),
        (
            "family members",
            (", ".join(spec.family.members) + " while in the household") if spec.family else "none",
        ),
        ("delivery", f"{spec.delivery.mode.upper()}; " + ", ".join(spec.delivery.formats)),
        (
            "retention",
            f"destroy by {spec.retention.deadline}"
            + (f" (decision: {limits.retention})" if limits else ""),
        ),
        ("spec digest", f"sha256:{digest}"),
    ]
    parties = [
        (pid, p.name, ", ".join(p.roles), ", ".join(p.tables) or "-")
        for pid, p in spec.parties.items()
    ]
    researchers = [
        (r.name, r.email or "-", key_fingerprint(r.public_key)) for r in spec.recipient.researchers
    ]
    populations = [
        (pid, pop.description, population_text(pop), f"{pop.expected:,}" if pop.expected else "-")
        for pid, pop in spec.populations.items()
    ]
    samples = [
        (sid, s.population, f"{s.fraction:.0%}", str(s.seed), ", ".join(s.exclude) or "-")
        for sid, s in spec.samples.items()
    ]
    datasets = [
        (name, ds.unit.replace("_", " × "), ds.who, len(ds.variables), ds.description)
        for name, ds in spec.datasets.items()
    ]
    variables = [
        VariableRow(
            dataset=name,
            name=v.name,
            label=v.label,
            source=", ".join(v.source[:1])
            + (f" (+{len(v.source) - 1})" if len(v.source) > 1 else ""),
            coarsening=coarsening_text(v.coarsen),
            paragraph="§" + (v.paragraph or ds.paragraph or "?"),
            covers="; ".join(v.covers),
        )
        for name, ds in spec.datasets.items()
        for v in ds.variables
    ]
    s = spec.scra
    thresholds = [("SCRA k (records per key cell)", str(s.k))]
    if s.max_global_risk is not None:
        thresholds.append(("SCRA largest global risk", f"{s.max_global_risk:g}"))
    thresholds += [(f"key set {k.name}", f"{k.dataset}: {', '.join(k.keys)}") for k in s.key_sets]
    if s.household:
        thresholds.append(("household risk on", s.household))
    thresholds += [
        (f"longitudinal {lg.dataset}", f"{', '.join(lg.states)} over {lg.m} quarters, k = {lg.k}")
        for lg in s.longitudinal
    ]
    thresholds += [(f"l-diversity {x.dataset}.{x.variable}", f"l = {x.l}") for x in s.sensitive]
    if spec.enclave:
        e = spec.enclave
        thresholds.append(("enclave output: smallest cell", str(e.min_frequency)))
        thresholds.append(
            ("enclave output: dominance", f"top {e.dominance_n} at most {e.dominance_share:.0%}")
        )
    return SpecSummary(
        title=f"Spec {d.id}: what is delivered to whom",
        facts=facts,
        parties=parties,
        researchers=researchers,
        populations=populations,
        samples=samples,
        datasets=datasets,
        variables=variables,
        thresholds=thresholds,
        coverage=coverage(spec),
    )


def coverage(spec: Spec) -> list[Coverage]:
    """Per requirement of the decision: how many of its variables the spec delivers."""
    letter = {"25/074": "A", "26/050": "B"}.get(spec.decision.id)
    covered = {item for ds in spec.datasets.values() for v in ds.variables for item in v.covers}
    rows: dict[str, list[str]] = {}
    for d in DERIVATIONS:
        if d.requirement[0] == letter:
            rows.setdefault(d.requirement, []).append(f"{d.requirement}: {d.variable}")
    return [
        Coverage(
            requirement=req,
            covered=sum(item in covered for item in dict.fromkeys(items)),
            total=len(dict.fromkeys(items)),
            missing=tuple(i for i in dict.fromkeys(items) if i not in covered),
        )
        for req, items in rows.items()
    ]
