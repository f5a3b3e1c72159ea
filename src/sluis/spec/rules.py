"""The rules a spec must keep (G1, G4, G5, G9, G11): against its decision, the source
contract and the project's floors.

Each rule has a stable id (``RULES``) that ``sluis spec check`` prints with the position of
the offending value. The decision's ceilings come from :mod:`sluis.spec.decisions`, never
from the spec itself; the floors below are the project's own and apply to every spec.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from itertools import pairwise
from typing import Any

from pydantic import ValidationError

from sluis.domain.codelists import read_csv
from sluis.extract.derivations.requirements import ITEMS as DERIVATIONS
from sluis.sources.contract import CONTRACT, Column
from sluis.spec.decisions import DECISIONS, DecisionLimits
from sluis.spec.derive import RULES as DERIVE_RULES
from sluis.spec.derive import check_derivation
from sluis.spec.load import Document, Path_, Problem, iter_variables
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
    Pseudonym,
    Spec,
    TopCode,
    Variable,
)

#: the project's floors: no spec may ask for less protection than this
FLOORS = {
    "scra.k": 3,  # fewer than 3 records in a key cell is never safe
    "scra.longitudinal.k": 3,
    "scra.sensitive.l": 2,
    "enclave.min_frequency": 10,  # the usual output-checking rule of thumb
    "age_class_width": 5,  # years
}
#: the project's ceilings on thresholds that are maxima
CEILINGS = {
    "scra.max_global_risk": 0.05,
    "enclave.dominance_share": 0.85,
}

RULES: dict[str, str] = {
    "yaml-syntax": "the file is not valid YAML (UTF-8)",
    "yaml-too-large": "a file or tree larger than a spec may be",
    "yaml-too-deep": "mappings and sequences nested deeper than a spec may be",
    "yaml-aliases": "too many aliases, an alias that expands the tree past the node cap, or "
    "one inside the node it names",
    "duplicate-key": "a key appears twice in one mapping",
    "not-a-mapping": "the file is not a mapping of sections",
    "unknown-key": "a key the spec language does not have",
    "missing-key": "a required key is absent",
    "unknown-kind": "a coarsening kind the spec language does not have",
    "bad-type": "a value of the wrong type",
    "bad-value": "a value outside what the field allows",
    "unknown-decision": "the decision id is not one sluis knows",
    "decision-mismatch": "the decision's dates differ from the decision",
    "unknown-party": "a party, population, sample, dataset or variable that is not declared",
    "party-beyond-decision": "a party the decision does not name in that role",
    "unknown-source": "a source table or column that is not in the source contract",
    "source-not-held": "a source table no provider party of the spec holds",
    "unknown-item": "covers a variable the decision's requirements do not list",
    "no-paragraph": "a variable without the decision paragraph it comes from",
    "duplicate-variable": "two variables with one name in a dataset",
    "identifier-in-delivery": "a national number, name or household id as a delivered value "
    "(not replaced by a pseudonym), whatever the variable's computed flag",
    "date-precision": "a date finer than the decision allows (an exact date kept as it is, "
    "whatever the variable's computed flag)",
    "country-classes": "more country classes than the decision allows",
    "amount-class-width": "an amount class narrower than the decision allows",
    "age-class-width": "an age class narrower than the project floor",
    "nace-digits": "economic activity finer than NACE two digits",
    "municipality-in-delivery": "a municipality (or finer place) in a delivery",
    "place-precision": "a place finer than the region",
    "coarsen-mismatch": "a coarsening rule that does not fit the source column's type",
    "population-beyond-decision": "a population wider than the decision allows",
    "sample-beyond-decision": "a sample larger than the decision allows",
    "phase-beyond-decision": "a phase or phase size the decision does not allow",
    "phase-mode-beyond-decision": "a phase mode (delivery or enclave) the decision does not "
    "allow in that phase",
    "window-beyond-decision": "quarters outside the decision's window or look-back",
    "family-beyond-decision": "family members the decision does not allow",
    "threshold-floor": "a disclosure threshold below the project's floor",
    "retention-missing": "no retention deadline",
    "retention-beyond-decision": "a retention deadline later than the decision's",
    "retention-before-decision": "a retention deadline before the decision's date",
    "retention-passed": "a retention deadline that has passed (before today)",
    "no-recipient-keys": "a delivery without named researchers' public keys",
    "bad-public-key": "a public key that is not a valid age X25519 or ssh-ed25519 recipient "
    "(broken base64 or bech32 checksum, wrong length, not a curve point)",
    "recode-not-coarser": "a recode step whose target is finer than, or not nested in, the "
    "variable's rule",
    "recode-not-a-key": "a recode step on a variable no key set of its dataset names, or on "
    "its period",
}
RULES |= DERIVE_RULES

_TABLES = {t.name: t for t in CONTRACT}
#: the structural variables every panel needs besides the requirements' own (G6, G7, B2)
STRUCTURAL = frozenset(
    {
        "G6: quarter",
        "G6: year",
        "G7: member left the household",
        "B2: cohort",
    }
)
_ITEMS = {f"{d.requirement}: {d.variable}" for d in DERIVATIONS} | STRUCTURAL
#: what the selection stage sets (A2, B2): a sample flag or a cohort, derived from who the
#: person is and never the person's number itself
SELECTION_ITEMS = frozenset(
    {
        f"{d.requirement}: {d.variable}"
        for d in DERIVATIONS
        if d.rule.startswith("set by the selection")
    }
    | {"B2: cohort"}
)
#: the items whose value is a person's or household's identity: they leave as pseudonyms
IDENTIFIER_ITEMS = frozenset(
    f"{d.requirement}: {d.variable}" for d in DERIVATIONS if d.variable.endswith("sequence number")
)
#: a source column holding a name (given names, surname): none in today's contract, but a
#: register that adds one may not deliver it
_NAME_COLUMN = re.compile(r"(^|_)(name|names|surname|surnames)$")
_DATE_ORDER = {"day": 0, "year_month": 1, "year_quarter": 2, "year": 3}
_PLACE_ORDER = {"municipality": 0, "arrondissement": 1, "province": 2, "region": 3}


def country_class_count(scheme: str) -> int:
    """Substantive classes of a country scheme (the unknown class not counted)."""
    if scheme == "class15":
        return len({r["class15"] for r in read_csv("country_class_labels.csv")} - {"99"})
    if scheme == "country_code":
        return len({r["nis_country_code"] for r in read_csv("country_classes.csv")})
    return {"eu4": 3, "birth5": 5}[scheme]


class _Checker:
    """Collects problems for one document."""

    def __init__(self, doc: Document, decision: DecisionLimits | None) -> None:
        self.doc = doc
        self.decision = decision
        self.problems: list[Problem] = []

    def add(self, path: Path_, rule: str, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, rule, message, key=key))


def check_spec(spec: Spec, doc: Document, *, today: dt.date | None = None) -> list[Problem]:
    """Every rule on a structurally valid spec; ``today`` (default: the system's date) is
    the day a retention deadline must not precede."""
    decision = DECISIONS.get(spec.decision.id)
    c = _Checker(doc, decision)
    if decision is None:
        known = ", ".join(sorted(DECISIONS))
        c.add(
            ("decision", "id"),
            "unknown-decision",
            f"no decision {spec.decision.id!r}; sluis knows {known}",
        )
    else:
        _decision(c, spec, decision)
        _parties(c, spec, decision)
        _populations(c, spec, decision)
        _samples(c, spec, decision)
        _window_phases_family(c, spec, decision)
        _retention(c, spec, decision, dt.date.today() if today is None else today)
    _recipients(c, spec)
    held = {t for p in spec.parties.values() if "provider" in p.roles for t in p.tables}
    for path, variable, dataset_paragraph in _variables(spec):
        _variable(c, path, variable, dataset_paragraph, held)
    _duplicates(c, spec)
    _scra(c, spec)
    return c.problems


def check_partial(doc: Document) -> list[Problem]:
    """The variable rules on every variable that is valid on its own, when the spec as a
    whole is not: a steward sees all problems in one run, not one class at a time."""
    tree = doc.tree
    raw_id = tree.get("decision", {}).get("id") if isinstance(tree.get("decision"), dict) else None
    c = _Checker(doc, DECISIONS.get(raw_id) if isinstance(raw_id, str) else None)
    for path, raw in iter_variables(tree):
        try:
            variable = Variable.model_validate(raw)
        except ValidationError:
            continue  # already reported by the structural check
        dataset = tree["datasets"][path[1]]
        _variable(c, path, variable, dataset.get("paragraph"), None)
    return c.problems


# -- the decision: parties, populations, samples, window, retention -----------------------


def _decision(c: _Checker, spec: Spec, d: DecisionLimits) -> None:
    for field, given, expected in (
        ("date", spec.decision.date, d.date),
        ("in_force", spec.decision.in_force, d.in_force),
    ):
        if given != expected:
            c.add(
                ("decision", field),
                "decision-mismatch",
                f"decision {d.id} {field} is {expected}, not {given}",
            )
    if tuple(spec.decision.amended) != d.amended:
        c.add(
            ("decision", "amended"),
            "decision-mismatch",
            f"decision {d.id} was amended on {_dates(d.amended) or 'no date'}",
        )


def _parties(c: _Checker, spec: Spec, d: DecisionLimits) -> None:
    for pid, party in spec.parties.items():
        if "provider" in party.roles and pid not in d.providers:
            c.add(
                ("parties", pid, "roles"),
                "party-beyond-decision",
                f"{pid} is not a provider under decision {d.id} "
                f"(providers: {', '.join(sorted(d.providers))})",
            )
        if "pseudonymiser" in party.roles and pid != d.pseudonymiser:
            c.add(
                ("parties", pid, "roles"),
                "party-beyond-decision",
                f"decision {d.id} names {d.pseudonymiser} as the party that pseudonymises",
            )
        for i, table in enumerate(party.tables):
            if table not in _TABLES:
                c.add(
                    ("parties", pid, "tables", i),
                    "unknown-source",
                    f"no table {table!r} in the source contract",
                )
    pseudonymisers = [p for p, party in spec.parties.items() if "pseudonymiser" in party.roles]
    if not pseudonymisers:
        c.add(("parties",), "party-beyond-decision", "no party has the pseudonymiser role")
    if spec.recipient.party not in spec.parties:
        c.add(
            ("recipient", "party"),
            "unknown-party",
            f"recipient {spec.recipient.party!r} is not one of the parties",
        )
    elif "recipient" not in spec.parties[spec.recipient.party].roles:
        c.add(
            ("recipient", "party"),
            "unknown-party",
            f"party {spec.recipient.party!r} does not have the recipient role",
        )


def _populations(c: _Checker, spec: Spec, d: DecisionLimits) -> None:
    for pid, pop in spec.populations.items():
        path = ("populations", pid)
        limit = d.populations.get(pid)
        if limit is None:
            c.add(
                path,
                "population-beyond-decision",
                f"decision {d.id} authorises no population {pid!r} "
                f"(it has {', '.join(d.populations)})",
                key=True,
            )
            continue
        if pop.reference_date != limit.reference_date:
            c.add(
                (*path, "reference_date"),
                "population-beyond-decision",
                f"decision {d.id} §{limit.paragraph} selects on {limit.reference_date}",
            )
        if pop.subset_of != limit.subset_of:
            c.add(
                (*path, "subset_of"),
                "population-beyond-decision",
                f"{pid} is a part of {limit.subset_of or 'no other population'} in decision {d.id}",
            )
        if limit.region is not None and pop.region != limit.region:
            c.add(
                (*path, "region"),
                "population-beyond-decision",
                f"decision {d.id} §{limit.paragraph} selects in region {limit.region}",
            )
        for field in ("age", "age_at_arrival"):
            allowed, given = getattr(limit, field), getattr(pop, field)
            if allowed is not None and (
                given is None or given.min < allowed[0] or given.max > allowed[1]
            ):
                c.add(
                    (*path, field),
                    "population-beyond-decision",
                    f"{field} must stay within {allowed[0]}-{allowed[1]} "
                    f"(decision {d.id} §{limit.paragraph})",
                )
        for field in ("first_registration", "naturalised"):
            allowed, given = getattr(limit, field), getattr(pop, field)
            if allowed is not None and (
                given is None or given.start < allowed[0] or given.end > allowed[1]
            ):
                c.add(
                    (*path, field),
                    "population-beyond-decision",
                    f"{field} must stay within {allowed[0]} to {allowed[1]} "
                    f"(decision {d.id} §{limit.paragraph})",
                )
        missing = limit.not_in - set(pop.not_in)
        if missing:
            c.add(
                (*path, "not_in"),
                "population-beyond-decision",
                f"decision {d.id} §{limit.paragraph} excludes persons who are "
                f"{', '.join(sorted(missing))}",
            )
        if pop.subset_of is not None and pop.subset_of not in spec.populations:
            c.add((*path, "subset_of"), "unknown-party", f"no population {pop.subset_of!r}")


def _samples(c: _Checker, spec: Spec, d: DecisionLimits) -> None:
    for sid, sample in spec.samples.items():
        path = ("samples", sid)
        if sample.population not in spec.populations:
            c.add((*path, "population"), "unknown-party", f"no population {sample.population!r}")
            continue
        limit = d.sample_fraction.get(sample.population, 1.0 if d.whole_population else 0.0)
        if sample.fraction > limit:
            c.add(
                (*path, "fraction"),
                "sample-beyond-decision",
                f"decision {d.id} allows a fraction of at most {limit:g} of "
                f"{sample.population}, not {sample.fraction:g}",
            )
        for i, other in enumerate(sample.exclude):
            if other not in spec.samples or other == sid:
                c.add((*path, "exclude", i), "unknown-party", f"no other sample {other!r}")
    if not d.whole_population:
        sampled = {s.population for s in spec.samples.values()}
        for pid in spec.populations:
            if pid not in sampled and not any(
                p.subset_of == pid for p in spec.populations.values()
            ):
                c.add(
                    ("populations", pid),
                    "population-beyond-decision",
                    f"decision {d.id} allows samples only; {pid} is not sampled",
                    key=True,
                )


def _window_phases_family(c: _Checker, spec: Spec, d: DecisionLimits) -> None:
    first, last = d.window
    if spec.window.start < first or spec.window.end > last:
        c.add(
            ("window",),
            "window-beyond-decision",
            f"decision {d.id} allows {first} to {last}, not "
            f"{spec.window.start} to {spec.window.end}",
            key=True,
        )
    for pid, quarter in spec.window.lookback.items():
        allowed = d.lookback.get(pid)
        if allowed is None or quarter < allowed:
            c.add(
                ("window", "lookback", pid),
                "window-beyond-decision",
                f"decision {d.id} allows a look-back for {pid} from "
                f"{allowed or 'no quarter'}, not {quarter}",
            )
    for phase_id, phase in spec.phases.items():
        path = ("phases", phase_id)
        if phase_id not in d.phases:
            c.add(
                path,
                "phase-beyond-decision",
                f"decision {d.id} has phases {', '.join(map(str, d.phases))}",
                key=True,
            )
            continue
        if phase.sized_to is not None and not (
            phase.sized_to in spec.populations and spec.populations[phase.sized_to].expected
        ):
            c.add(
                (*path, "sized_to"),
                "unknown-party",
                f"sized_to names {phase.sized_to!r}, which is not a population with an "
                "expected size",
            )
        mode, paragraphs = d.phase_modes[phase_id]
        if phase.mode != mode:
            c.add(
                (*path, "mode"),
                "phase-mode-beyond-decision",
                f"decision {d.id} §{paragraphs}: phase {phase_id} is {_MODE_SAYS[mode]}, so "
                f"its mode is {mode}, not {phase.mode}",
            )
        limit = d.phases[phase_id]
        if limit is not None and (phase.persons is None or phase.persons > limit):
            c.add(
                (*path, "persons"),
                "phase-beyond-decision",
                f"decision {d.id} allows at most {limit:,} persons in phase {phase_id}",
            )
    if spec.family is not None:
        extra = set(spec.family.members) - d.family
        if extra:
            c.add(
                ("family", "members"),
                "family-beyond-decision",
                f"decision {d.id} allows {', '.join(sorted(d.family)) or 'no members'}, "
                f"not {', '.join(sorted(extra))}",
            )
        if not spec.family.while_in_household:
            c.add(
                ("family", "while_in_household"),
                "family-beyond-decision",
                "members are followed only while they belong to the household (G7)",
            )


_MODE_SAYS = {
    "delivery": "delivered to the researchers",
    "enclave": "analysed only on site (the data never leave the provider)",
}


def _retention(c: _Checker, spec: Spec, d: DecisionLimits, today: dt.date) -> None:
    """The deadline lies between the decision's date and its own deadline, and is not past:
    data kept after it must be destroyed, never delivered."""
    deadline = spec.retention.deadline
    if deadline is None:
        c.add(
            ("retention",),
            "retention-missing",
            f"give the deadline; decision {d.id} §{d.retention_paragraph} sets {d.retention}",
            key=True,
        )
    elif deadline > d.retention:
        c.add(
            ("retention", "deadline"),
            "retention-beyond-decision",
            f"decision {d.id} §{d.retention_paragraph} requires destruction by "
            f"{d.retention}, not {deadline}",
        )
    elif deadline < d.date:
        c.add(
            ("retention", "deadline"),
            "retention-before-decision",
            f"{deadline} is before decision {d.id} itself ({d.date}); it sets {d.retention} "
            f"(§{d.retention_paragraph})",
        )
    elif deadline < today:
        c.add(
            ("retention", "deadline"),
            "retention-passed",
            f"the deadline {deadline} has passed (today is {today}): the data must be "
            "destroyed, not delivered",
        )


def _recipients(c: _Checker, spec: Spec) -> None:
    delivers = any(p.mode == "delivery" for p in spec.phases.values())
    keyed = [r for r in spec.recipient.researchers if r.public_key]
    if delivers and not keyed:
        c.add(
            ("recipient", "researchers"),
            "no-recipient-keys",
            "a delivery is encrypted to named researchers: give at least one researcher "
            "with a public_key (age1... or ssh-ed25519)",
            key=True,
        )
    for i, researcher in enumerate(spec.recipient.researchers):
        key = researcher.public_key
        why = None if key is None else public_key_problem(key)
        if why is not None:
            c.add(
                ("recipient", "researchers", i, "public_key"),
                "bad-public-key",
                f"{researcher.name}: {why}",
            )


#: an OpenSSH ed25519 public key blob: string "ssh-ed25519", then a string of 32 bytes
_SSH_ED25519_BLOB = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"


def public_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a researcher's recipient, ``None`` when it can. The key is
    parsed by the parser the encryption uses (:func:`sluis.deliver.encrypt.parse_recipient`:
    bech32 checksum of an ``age1`` key, a point on the curve), so a key that passes here is
    one the delivery can encrypt to; the wire format of an ssh-ed25519 key (strict base64,
    exactly 51 bytes) is checked first, since that parser ignores bytes after the key."""
    from sluis.deliver.encrypt import EncryptionError, parse_recipient

    parts = key.split()
    if parts[:1] == ["ssh-ed25519"]:
        try:
            blob = base64.b64decode(parts[1] if len(parts) > 1 else "", validate=True)
        except ValueError:
            return "the ssh-ed25519 key's base64 is broken"
        if not blob.startswith(_SSH_ED25519_BLOB) or len(blob) != len(_SSH_ED25519_BLOB) + 32:
            return (
                f"the ssh-ed25519 key holds {len(blob)} bytes, not the 51 of a type name "
                "and a 32-byte key"
            )
    elif not key.startswith("age1"):
        return "not an age X25519 recipient (age1...) or an ssh-ed25519 public key"
    try:
        parse_recipient(key)
    except EncryptionError:
        if key.startswith("age1"):
            return "the age1 key is not a valid X25519 recipient (its bech32 checksum or length)"
        return "the ssh-ed25519 key is not a point of the curve (a damaged key)"
    return None


# -- variables --------------------------------------------------------------------------


def _variables(spec: Spec) -> Iterator[tuple[Path_, Variable, str | None]]:
    for name, dataset in spec.datasets.items():
        for i, variable in enumerate(dataset.variables):
            yield ("datasets", name, "variables", i), variable, dataset.paragraph


def _duplicates(c: _Checker, spec: Spec) -> None:
    for name, dataset in spec.datasets.items():
        seen: set[str] = set()
        for i, variable in enumerate(dataset.variables):
            if variable.name in seen:
                c.add(
                    ("datasets", name, "variables", i, "name"),
                    "duplicate-variable",
                    f"{name} has two variables named {variable.name!r}",
                )
            seen.add(variable.name)


def _variable(
    c: _Checker, path: Path_, v: Variable, dataset_paragraph: str | None, held: set[str] | None
) -> None:
    for i, item in enumerate(v.covers):
        if item not in _ITEMS:
            c.add(
                (*path, "covers", i),
                "unknown-item",
                f"{item!r} is not a variable of the requirement (see docs/source-contract.md)",
            )
        elif (
            c.decision is not None
            and item[0] != "G"
            and item[0] != _REQUIREMENT_LETTER[c.decision.id]
        ):
            c.add(
                (*path, "covers", i),
                "unknown-item",
                f"{item!r} belongs to the other authorisation, not {c.decision.id}",
            )
    if v.paragraph is None and dataset_paragraph is None:
        c.add(
            path,
            "no-paragraph",
            f"{v.name}: give the paragraph of the decision this variable comes from",
        )
    columns: list[Column | None] = []
    for i, ref in enumerate(v.source):
        columns.append(_source_column(c, (*path, "source", i), ref, held))
    check_derivation(v, path, c.add)
    value = columns[0] if columns else None
    _coarsening(c, (*path, "coarsen"), v, value)
    if v.computed is not None:
        _computed_value(c, (*path, "coarsen"), v, columns)
    if any(item in IDENTIFIER_ITEMS for item in v.covers) and not isinstance(v.coarsen, Pseudonym):
        c.add(
            (*path, "coarsen"),
            "identifier-in-delivery",
            f"{v.name}: a sequence number stands for a person or household and leaves only as "
            "a pseudonym (kind: pseudonym), whatever computes it",
        )


def identifying(col: Column | None) -> str | None:
    """What identifies a person in a source column: ``"national number"`` (INSZ),
    ``"name"``, or ``None``. A household id identifies a household and is handled apart:
    household types, sizes and leaver flags are computed from it."""
    if col is None:
        return None
    if col.type == "insz":
        return "national number"
    if col.type == "string" and _NAME_COLUMN.search(col.name):
        return "name"
    return None


def _computed_value(c: _Checker, path: Path_, v: Variable, columns: list[Column | None]) -> None:
    """A computed value kept as computed (``keep``) may not be a national number, a name or
    an exact date, whatever stage computes it (G3, G4). The selection stage's own values
    (sample flags, cohorts) are computed from the person's number but are not the number;
    a code computed from dates (an exemption in a quarter, a leaver flag) names its code
    column first, so the first source being a date means the value is that date."""
    if not isinstance(v.coarsen, Keep):
        return
    selection = v.computed == "selection" and all(item in SELECTION_ITEMS for item in v.covers)
    for ref, col in zip(v.source, columns, strict=True):
        what = identifying(col)
        if what == "name" or (what is not None and not selection):
            why = (
                "the selection stage sets only sample flags and cohorts"
                if v.computed == "selection"
                else f"a value computed from it and kept as it is can be the {what} itself"
            )
            c.add(
                path,
                "identifier-in-delivery",
                f"{v.name}: {ref} is a {what}; {why} (give a pseudonym, or a rule that "
                "classes the value)",
            )
            return
    value = columns[0] if columns else None
    if value is not None and value.type == "date":
        c.add(
            path,
            "date-precision",
            f"{v.name}: {v.source[0]} is an exact date, kept as it is; give kind: date with a "
            "precision",
        )


_REQUIREMENT_LETTER = {"25/074": "A", "26/050": "B"}


def _source_column(c: _Checker, path: Path_, ref: str, held: set[str] | None) -> Column | None:
    table_name, dot, column_name = ref.partition(".")
    table = _TABLES.get(table_name)
    if not dot or table is None:
        c.add(
            path,
            "unknown-source",
            f"no table {table_name!r} in the source contract (write table.column)",
        )
        return None
    if column_name not in {col.name for col in table.columns}:
        c.add(path, "unknown-source", f"table {table_name} has no column {column_name!r}")
        return None
    if held is not None and table_name not in held:
        c.add(
            path,
            "source-not-held",
            f"no provider party of the spec lists table {table_name} under tables",
        )
    return table.column(column_name)


def _coarsening(c: _Checker, path: Path_, v: Variable, col: Column | None) -> None:
    rule = v.coarsen
    d = c.decision
    month_allowed = any("(y+m)" in item for item in v.covers)
    if isinstance(rule, DateRule):
        finest = "year_month" if month_allowed else (d.date_precision if d else "year_quarter")
        if _DATE_ORDER[rule.precision] < _DATE_ORDER[finest]:
            c.add(
                (*path, "precision"),
                "date-precision",
                f"{v.name}: {rule.precision} is finer than {finest}, the finest the decision "
                "allows here",
            )
    if isinstance(rule, CountryRule):
        limit = d.max_country_classes if d else 15
        count = country_class_count(rule.classes)
        if count > limit:
            c.add(
                (*path, "classes"),
                "country-classes",
                f"{v.name}: {rule.classes} has {count} classes; at most {limit}",
            )
    if isinstance(rule, AmountRule):
        _amount(c, path, v, rule, d.min_amount_width if d else 150)
    if isinstance(rule, AgeRule):
        widths = [b - a for a, b in pairwise(rule.breaks)]
        if min(widths) < FLOORS["age_class_width"]:
            c.add(
                (*path, "breaks"),
                "age-class-width",
                f"{v.name}: an age class of {min(widths)} years; at least "
                f"{FLOORS['age_class_width']}",
            )
    if isinstance(rule, NaceRule) and rule.digits > 2:
        c.add((*path, "digits"), "nace-digits", f"{v.name}: NACE at most two digits (G4)")
    if isinstance(rule, PlaceRule) and rule.level != "region":
        which = "municipality-in-delivery" if rule.level == "municipality" else "place-precision"
        c.add(
            (*path, "level"),
            which,
            f"{v.name}: places at most as the region (plus classed municipal context, G4)",
        )
    if col is not None and v.computed is None:
        _fits_source(c, path, v, col)


def _amount(c: _Checker, path: Path_, v: Variable, rule: AmountRule, minimum: int) -> None:
    if rule.width is not None:
        if rule.width < minimum:
            c.add(
                (*path, "width"),
                "amount-class-width",
                f"{v.name}: classes of EUR {rule.width}; at least EUR {minimum}",
            )
        return
    breaks = rule.breaks or []
    for i, (a, b) in enumerate(pairwise(breaks)):
        if b - a < minimum:
            c.add(
                (*path, "breaks", i + 1),
                "amount-class-width",
                f"{v.name}: class {a}-{b} is EUR {b - a} wide; at least EUR {minimum}",
            )


def _fits_source(c: _Checker, path: Path_, v: Variable, col: Column) -> None:
    """The value column's type asks for a rule: dates, countries, places, amounts and
    national numbers may not leave as the source has them."""
    rule = v.coarsen
    kind = rule.kind
    if identifying(col) == "name":
        c.add(path, "identifier-in-delivery", f"{v.name}: {col.name} is a name; it never leaves")
        return
    if col.type == "insz" or (col.name == "household_id"):
        if not isinstance(rule, Pseudonym):
            c.add(
                path,
                "identifier-in-delivery",
                f"{v.name}: {col.name} leaves only as a pseudonym (kind: pseudonym)",
            )
        return
    if isinstance(rule, Pseudonym):
        c.add(
            path,
            "coarsen-mismatch",
            f"{v.name}: only a national number or household id becomes a pseudonym, not {col.name}",
        )
        return
    if col.type == "date":
        if isinstance(rule, Keep):
            c.add(
                path,
                "date-precision",
                f"{v.name}: {col.name} is an exact date; give kind: date with a precision",
            )
        elif kind not in ("date", "age"):
            c.add(path, "coarsen-mismatch", f"{v.name}: {col.name} is a date; use kind: date")
        return
    if kind in ("date", "age"):
        c.add(path, "coarsen-mismatch", f"{v.name}: {col.name} is not a date")
        return
    checks: Iterable[tuple[bool, str, str]] = (
        (col.codelist == "country", "country", "country-classes"),
        (col.codelist == "municipality", "place", "municipality-in-delivery"),
        (col.unit == "EUR", "amount", "amount-class-width"),
    )
    for applies, needed, rule_id in checks:
        if applies and kind != needed:
            c.add(
                path,
                rule_id if isinstance(rule, Keep) else "coarsen-mismatch",
                f"{v.name}: {col.name} needs kind: {needed}",
            )
            return
        if not applies and kind == needed:
            c.add(path, "coarsen-mismatch", f"{v.name}: kind {needed} does not fit {col.name}")
            return
    if col.codelist and col.codelist.startswith("nace") and kind not in ("keep", "nace"):
        c.add(path, "coarsen-mismatch", f"{v.name}: {col.name} is a NACE code")


# -- SCRA and enclave thresholds -----------------------------------------------------------


def _scra(c: _Checker, spec: Spec) -> None:
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
        if lg.k < FLOORS["scra.longitudinal.k"]:
            c.add(
                (*path, "k"),
                "threshold-floor",
                f"k = {lg.k}; the project floor is {FLOORS['scra.longitudinal.k']}",
            )
    for i, sv in enumerate(s.sensitive):
        path = ("scra", "sensitive", i)
        _keys_exist(c, spec, path, sv.dataset, [sv.variable], "variable")
        if sv.l < FLOORS["scra.sensitive.l"]:
            c.add(
                (*path, "l"),
                "threshold-floor",
                f"l = {sv.l}; the project floor is {FLOORS['scra.sensitive.l']}",
            )
    _recode(c, spec)
    _implied(c, spec)
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


# -- global recoding (G5) -------------------------------------------------------------------

#: country schemes a scheme nests in exactly (class15 -> eu4 only in some years, below)
_COUNTRY_NESTS = {
    "country_code": {"country_code", "class15", "eu4"},
    "class15": {"class15", "eu4"},
    "birth5": {"birth5", "eu4"},
    "eu4": {"eu4"},
}


def numeric_bounds(rule: Coarsen) -> list[float] | None:
    """Lower bounds of a numeric class rule (amount, age, classes), as in
    :func:`sluis.coarsen.classes.bounds`; the last opens a class without end."""
    if isinstance(rule, AmountRule):
        if rule.breaks is not None:
            return [float(b) for b in rule.breaks]
        assert rule.width is not None and rule.top is not None
        return [float(b) for b in (*range(0, rule.top, rule.width), rule.top)]
    if isinstance(rule, AgeRule | NumericClasses):
        return [float(b) for b in rule.breaks]
    return None


@cache
def class15_eu_status(year: int) -> dict[str, str]:
    """Per class15 class its eu4 class in ``year``: ``'02'`` when every country of the class
    is an EU member on 31 December of ``year``, ``'03'`` when none is, ``'mixed'`` otherwise
    (the United Kingdom in class 04 from 2020, Poland before 2004, Croatia before 2013...)."""
    members: dict[str, set[bool]] = {}
    for r in read_csv("country_classes.csv"):
        accession = int(r["eu_accession_year"]) if r["eu_accession_year"] else None
        exit_year = int(r["eu_exit"][:4]) if r["eu_exit"] else None
        member = (
            accession is not None and accession <= year and (exit_year is None or year < exit_year)
        )
        members.setdefault(r["class15"], set()).add(member)
    status = {c: "mixed" if len(m) > 1 else "02" if True in m else "03" for c, m in members.items()}
    status["01"] = "01"  # Belgium
    status["99"] = "99"  # unknown, stateless, not stated
    return status


def recode_problem(current: Coarsen, target: Coarsen, years: Sequence[int] | None) -> str | None:
    """Why recoding values coarsened by ``current`` to ``target`` would not be a coarsening
    along a hierarchy (every class of ``current`` inside one class of ``target``); ``None``
    when it is. ``years`` are the reference years of the rows (for ``class15`` to ``eu4``,
    whose EU membership changes over time), ``None`` when the dataset has no period."""
    if current.kind != target.kind:
        return f"a {current.kind} variable cannot be recoded to kind {target.kind}"
    if isinstance(current, Keep | Pseudonym):
        return f"kind {current.kind} declares no hierarchy to recode along"
    if isinstance(current, DateRule) and isinstance(target, DateRule):
        if _DATE_ORDER[target.precision] < _DATE_ORDER[current.precision]:
            return f"{target.precision} is finer than {current.precision}"
        return None
    if isinstance(current, TopCode) and isinstance(target, TopCode):
        if target.max > current.max:
            return f"top {target.max} is finer than top {current.max}"
        return None
    if isinstance(current, NaceRule) and isinstance(target, NaceRule):
        if target.digits > current.digits:
            return f"NACE {target.digits} digits is finer than {current.digits}"
        return None
    if isinstance(current, PlaceRule) and isinstance(target, PlaceRule):
        if _PLACE_ORDER[target.level] < _PLACE_ORDER[current.level]:
            return f"{target.level} is finer than {current.level}"
        return None
    if isinstance(current, CountryRule) and isinstance(target, CountryRule):
        if target.classes not in _COUNTRY_NESTS[current.classes]:
            return f"the {current.classes} classes do not nest in {target.classes}"
        if target.classes == "eu4" and current.classes in ("class15", "country_code"):
            if years is None:
                return (
                    f"{current.classes} nests in eu4 only for a known reference year, and "
                    "this dataset has no period (quarter or year)"
                )
            if current.classes == "class15":
                mixed = sorted(y for y in years if "mixed" in class15_eu_status(y).values())
                if mixed:
                    return (
                        f"class15 does not nest in eu4 in {_year_ranges(mixed)} (a class "
                        "holds EU members and other countries then, e.g. the United Kingdom "
                        "from 2020)"
                    )
        return None
    old, new = numeric_bounds(current), numeric_bounds(target)
    if old is not None and new is not None:
        finer = [b for b in new if b not in set(old)]
        if finer:
            return (
                f"bound {finer[0]:g} is not a bound of the variable's rule (every new class "
                "must be a union of its classes)"
            )
        return None
    return f"kind {current.kind} cannot be recoded"  # pragma: no cover


def _year_ranges(years: list[int]) -> str:
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def period_years(spec: Spec, dataset: str) -> list[int] | None:
    """The reference years a dataset's rows can have: the years of the spec's window and
    look-back for a dataset with a period, ``None`` for one without."""
    if spec.period(dataset) is None:
        return None
    first = spec.window.first()
    return list(range(int(first[:4]), int(spec.window.end[:4]) + 1))


def _implied(c: _Checker, spec: Spec) -> None:
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


def _recode(c: _Checker, spec: Spec) -> None:
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
        why = recode_problem(rule, step.to, period_years(spec, step.dataset))
        if why is not None:
            c.add((*path, "to"), "recode-not-coarser", f"{step.variable}: {why}")
            continue
        current[(step.dataset, step.variable)] = step.to


def _keys_exist(
    c: _Checker, spec: Spec, path: Path_, dataset: str, names: list[str], field: str
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
            where = (*path, field, i) if field in ("keys", "states") else (*path, field)
            c.add(where, "unknown-party", f"dataset {dataset} has no variable {name!r}")


def _dates(dates: Any) -> str:
    return ", ".join(str(x) for x in dates)
