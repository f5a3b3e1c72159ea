"""Every coarsening rule kind (G4), and the type a spec's ``coarsen:`` entry loads into.

The ``kind`` key picks the class; :mod:`sluis.spec.model` uses :data:`Coarsen` for a
variable's rule and a recode step's target. A new kind is added here once its class exists
(``docs/coarsening.md``, "How to add a coarsening rule").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sluis.coarsen.rule_country import CountryRule
from sluis.coarsen.rule_date import DateRule
from sluis.coarsen.rule_numeric import AgeRule, AmountRule, NumericClasses
from sluis.coarsen.rule_place import NaceRule, PlaceRule
from sluis.coarsen.rule_plain import Keep, Pseudonym, TopCode
from sluis.coarsen.rule_sep import SepRule

#: every kind, in the order the spec reference lists them
KINDS = (
    Keep,
    Pseudonym,
    DateRule,
    CountryRule,
    AmountRule,
    AgeRule,
    NaceRule,
    SepRule,
    PlaceRule,
    NumericClasses,
    TopCode,
)

Coarsen = Annotated[
    Keep
    | Pseudonym
    | DateRule
    | CountryRule
    | AmountRule
    | AgeRule
    | NaceRule
    | SepRule
    | PlaceRule
    | NumericClasses
    | TopCode,
    Field(discriminator="kind"),
]

__all__ = [
    "KINDS",
    "AgeRule",
    "AmountRule",
    "Coarsen",
    "CountryRule",
    "DateRule",
    "Keep",
    "NaceRule",
    "NumericClasses",
    "PlaceRule",
    "Pseudonym",
    "SepRule",
    "TopCode",
]
