"""How each variable is computed: a known derivation or a plain contract column (G1, G2).

A spec variable either names a derivation of the registry (``derive: labour.employer_nace``,
:mod:`sluis.extract.derivations`) or is a *plain column*: its first ``source`` is a column
of the source contract, taken on the row's day by its table's time rule
(:mod:`sluis.extract.columns`). Anything else would reach the extract stage with no way to
compute it, so ``sluis spec check`` refuses it here, at the variable's line:

- ``unknown-derivation``: ``derive`` names an id the registry does not have;
- ``not-a-contract-column``: a variable without ``derive`` whose first source is not a
  contract column that a time rule reads.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from sluis.sources.contract import CONTRACT
from sluis.spec.load import Path_
from sluis.spec.model import Variable

#: (path inside the variable, rule, message) of one problem
Finding = tuple[Path_, str, str]

RULES = {
    "unknown-derivation": "a variable whose derive names no derivation of the registry "
    "(docs/source-contract.md lists them)",
    "not-a-contract-column": "a variable without derive whose first source is not a contract "
    "column read on the row's day",
}

_COLUMNS = {t.name: {c.name for c in t.columns} for t in CONTRACT}


def derivation_problems(v: Variable) -> list[Finding]:
    """What is wrong with how ``v`` is computed (paths relative to the variable)."""
    # the registry and the time rules load the engine (seconds): only for a spec whose
    # variables get this far, so that a malformed file is refused at once (X2)
    from sluis.extract.columns import PLAIN_TABLES
    from sluis.extract.derivations.registry import REGISTRY

    if v.derive is not None:
        if v.derive in REGISTRY:
            return []
        close = difflib.get_close_matches(v.derive, list(REGISTRY), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return [
            (
                ("derive",),
                "unknown-derivation",
                f"{v.name}: no derivation {v.derive!r}{hint} (docs/source-contract.md lists "
                "the derivations)",
            )
        ]
    ref = v.source[0]
    table, _, column = ref.partition(".")
    if column in _COLUMNS.get(table, set()) and table in PLAIN_TABLES:
        return []
    if column not in _COLUMNS.get(table, set()):
        why = f"{ref!r} is not a column of the source contract"
    else:
        why = f"no time rule reads table {table} on a day"
    return [
        (
            ("source", 0),
            "not-a-contract-column",
            f"{v.name}: a variable without derive is a plain column, but {why}; name the "
            "contract column or a derivation (derive:)",
        )
    ]


def check_derivation(v: Variable, path: Path_, add: Callable[[Path_, str, str], None]) -> None:
    """Report through ``add`` (the spec check's) each problem of ``v`` at ``path``."""
    for sub, rule, message in derivation_problems(v):
        add((*path, *sub), rule, message)
