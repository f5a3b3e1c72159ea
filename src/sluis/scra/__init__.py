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

from typing import TYPE_CHECKING, Any

from sluis.scra.frequencies import KeyCodes, encode_keys, frequencies
from sluis.scra.household import household_risk
from sluis.scra.ldiversity import distinct_l_diversity
from sluis.scra.longitudinal import longitudinal_risk
from sluis.scra.risk import global_risk, individual_risk
from sluis.scra.suppress import (
    global_recode,
    local_suppression,
    strict_frequencies,
    wildcard_frequencies,
)

if TYPE_CHECKING:
    from sluis.scra.suda import suda2


def __getattr__(name: str) -> Any:
    """``suda2`` on first use: it loads numba (about 0.5 s), which a run without SUDA2
    never needs."""
    if name == "suda2":
        from sluis.scra.suda import suda2

        return suda2
    raise AttributeError(f"module 'sluis.scra' has no attribute {name!r}")


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
