"""The rules a spec must keep (G1, G4, G5, G9, G11): against its decision, the source
contract and the project's floors.

Each rule has a stable id (``RULES``) that ``sluis spec check`` prints with the position of
the offending value. :func:`check_spec` is the one place where the checks are run; they live
by subject in :mod:`sluis.spec.rules_decision` (parties, populations, samples, window,
phases, family, retention, recipients), :mod:`sluis.spec.rules_variable` (requirements
covered, source columns, coarsening rules) and :mod:`sluis.spec.rules_scra` (SCRA and
enclave thresholds, global recoding). The decision's ceilings come from
:mod:`sluis.spec.decisions`, never from the spec itself; the project's floors
(:data:`sluis.spec.checker.FLOORS`) apply to every spec.
"""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError

from sluis.spec.checker import Checker
from sluis.spec.decisions import DECISIONS
from sluis.spec.derive import RULES as DERIVE_RULES
from sluis.spec.load import Document, Problem, iter_variables
from sluis.spec.model import Spec, Variable
from sluis.spec.rules_decision import check_decision, check_recipients, public_key_problem
from sluis.spec.rules_scra import check_scra
from sluis.spec.rules_variable import check_duplicates, check_variable, identifying, variables

__all__ = [
    "RULES",
    "check_partial",
    "check_spec",
    "identifying",
    "public_key_problem",
]

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
    "recode-not-a-state": "a trajectory check's recode step on a variable that is not one of "
    "its states",
    "unknown-research-quantity": "a scra.research entry that names no quantity of the "
    "registry, or one that reads a variable the spec does not deliver",
}
RULES |= DERIVE_RULES


def check_spec(spec: Spec, doc: Document, *, today: dt.date | None = None) -> list[Problem]:
    """Every rule on a structurally valid spec; ``today`` (default: the system's date) is
    the day a retention deadline must not precede."""
    decision = DECISIONS.get(spec.decision.id)
    c = Checker(doc, decision)
    if decision is None:
        known = ", ".join(sorted(DECISIONS))
        c.add(
            ("decision", "id"),
            "unknown-decision",
            f"no decision {spec.decision.id!r}; sluis knows {known}",
        )
    else:
        check_decision(c, spec, decision, dt.date.today() if today is None else today)
    check_recipients(c, spec)
    held = {t for p in spec.parties.values() if "provider" in p.roles for t in p.tables}
    for path, variable, dataset_paragraph in variables(spec):
        check_variable(c, path, variable, dataset_paragraph, held)
    check_duplicates(c, spec)
    check_scra(c, spec)
    return c.problems


def check_partial(doc: Document) -> list[Problem]:
    """The variable rules on every variable that is valid on its own, when the spec as a
    whole is not: a steward sees all problems in one run, not one class at a time."""
    tree = doc.tree
    raw_id = tree.get("decision", {}).get("id") if isinstance(tree.get("decision"), dict) else None
    c = Checker(doc, DECISIONS.get(raw_id) if isinstance(raw_id, str) else None)
    for path, raw in iter_variables(tree):
        try:
            variable = Variable.model_validate(raw)
        except ValidationError:
            continue  # already reported by the structural check
        dataset = tree["datasets"][path[1]]
        check_variable(c, path, variable, dataset.get("paragraph"), None)
    return c.problems
