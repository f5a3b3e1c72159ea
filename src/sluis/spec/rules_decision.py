"""The decision rules of a spec (G1, G11): its parties, populations, samples, window,
phases, family, retention and recipients against what its decision authorises.

The decision's ceilings come from :mod:`sluis.spec.decisions`, never from the spec itself.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from sluis.sources.contract import CONTRACT
from sluis.spec.checker import Checker
from sluis.spec.decisions import DecisionLimits
from sluis.spec.model import Spec

_TABLES = {t.name for t in CONTRACT}


def check_decision(c: Checker, spec: Spec, d: DecisionLimits, today: dt.date) -> None:
    """Every rule that compares the spec with decision ``d``; ``today`` is the day a
    retention deadline must not precede."""
    _decision(c, spec, d)
    _parties(c, spec, d)
    _populations(c, spec, d)
    _samples(c, spec, d)
    _window_phases_family(c, spec, d)
    _retention(c, spec, d, today)


def _decision(c: Checker, spec: Spec, d: DecisionLimits) -> None:
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


def _parties(c: Checker, spec: Spec, d: DecisionLimits) -> None:
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


def _populations(c: Checker, spec: Spec, d: DecisionLimits) -> None:
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


def _samples(c: Checker, spec: Spec, d: DecisionLimits) -> None:
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


def _window_phases_family(c: Checker, spec: Spec, d: DecisionLimits) -> None:
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


def _retention(c: Checker, spec: Spec, d: DecisionLimits, today: dt.date) -> None:
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


def check_recipients(c: Checker, spec: Spec) -> None:
    """A delivery names researchers with valid public keys (G11)."""
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


def _dates(dates: Any) -> str:
    return ", ".join(str(x) for x in dates)
