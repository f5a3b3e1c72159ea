"""No national number on a screen or in a log (issue 23, G2): how the source check shows
a value.

A finding shows the row and a masked value. Values of identifier columns (INSZ columns,
``*_id``) are masked inside the engine (:func:`sluis.sources.row_rules.shown`); any other
text of a finding has its runs of nine or more digits and anything shaped like a valid INSZ
masked here, every letter and digit replaced by ``*`` (the punctuation and the length
stay, so a lost leading zero or a formatted number can still be told apart).
"""

from __future__ import annotations

import re

from sluis.domain.insz import is_valid_insz
from sluis.sources.schema import Column

#: what a masked letter or digit becomes
MASK = "*"
#: a run of nine or more digits: a national number, or most of one, or another account number
_LONG_DIGITS = re.compile(r"[0-9]{9,}")

#: an INSZ written with separators (99.09.27-001.70, 990927 001 70, ...)
_SEPARATED_INSZ = re.compile(
    r"(?<![0-9])[0-9]{2}[ ./-]?[0-9]{2}[ ./-]?[0-9]{2}[ ./-]?[0-9]{3}[ ./-]?[0-9]{2}(?![0-9])"
)


def mask(value: str) -> str:
    """``value`` with every letter and digit replaced by ``*``: its length and punctuation
    stay (what a steward needs to see a lost leading zero), nothing usable is left."""
    return re.sub(r"[^\W_]", MASK, value)


def redact(text: str) -> str:
    """``text`` with every run of nine or more digits and every separated valid INSZ
    masked: the safety net for values of columns that should never hold a national
    number, and for messages that quote a value."""

    def separated(m: re.Match[str]) -> str:
        digits = re.sub(r"[^0-9]", "", m.group())
        return mask(m.group()) if is_valid_insz(digits) else m.group()

    text = _SEPARATED_INSZ.sub(separated, text)
    return _LONG_DIGITS.sub(lambda m: MASK * len(m.group()), text)


def is_identifier(col: Column) -> bool:
    """A column whose values identify a person or lead to one: every INSZ column and the
    ``*_id`` keys (``household_id``). Its values are never shown, only masked."""
    return col.type == "insz" or col.name.endswith("_id")
