"""Small-cell risk analysis (G5): measures, treatment and the risk report.

Before microdata leave, the delivering party measures how far combinations of key
variables isolate persons (fk, Fk, individual and global risk, SUDA2 and DIS scores,
household risk, l-diversity, longitudinal risk of quarterly trajectories), treats the data
(global recoding along declared hierarchies, local suppression to k) and writes a report a
data protection officer can read. Measures follow sdcMicro's names and definitions and
reproduce its figures (see docs/scra.md and the reference tests); the work runs on numpy
arrays and numba kernels over whole columns, never Python loops over records. The flow
calls :func:`sluis.scra.driver.run_spec_scra` on a staged extract; both it and ``sluis scra
FILE --keys`` go through one driver (:mod:`sluis.scra.driver`).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# at once, as the function ``frequencies`` must hide the module of that name (importing a
# module of a package sets the package's attribute of its name to the module)
from sluis.scra.frequencies import KeyCodes, encode_keys, frequencies

if TYPE_CHECKING:
    from sluis.scra.household import household_risk
    from sluis.scra.ldiversity import distinct_l_diversity
    from sluis.scra.longitudinal import longitudinal_risk
    from sluis.scra.risk import global_risk, individual_risk
    from sluis.scra.suda import suda2
    from sluis.scra.suppress import (
        global_recode,
        local_suppression,
        strict_frequencies,
        wildcard_frequencies,
    )

#: each name below from its module, imported on first use: importing one module of the
#: package (``sluis scra FILE`` starts reading its file from :mod:`sluis.scra.inputs`) then
#: loads only that module and the frequencies, and ``suda2`` loads numba (about 0.5 s) only
#: when asked for
_EXPORTS = {
    "household_risk": "household",
    "distinct_l_diversity": "ldiversity",
    "longitudinal_risk": "longitudinal",
    "global_risk": "risk",
    "individual_risk": "risk",
    "suda2": "suda",
    "global_recode": "suppress",
    "local_suppression": "suppress",
    "strict_frequencies": "suppress",
    "wildcard_frequencies": "suppress",
}


def __getattr__(name: str) -> Any:
    """The exported ``name`` from its module (see ``_EXPORTS``)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sluis.scra' has no attribute {name!r}")
    return getattr(import_module(f"sluis.scra.{module}"), name)


__all__ = [
    "KeyCodes",
    "distinct_l_diversity",
    "encode_keys",
    "frequencies",
    "global_recode",
    "global_risk",
    "household_risk",
    "individual_risk",
    "local_suppression",
    "longitudinal_risk",
    "strict_frequencies",
    "suda2",
    "wildcard_frequencies",
]
