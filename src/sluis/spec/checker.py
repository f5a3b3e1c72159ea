"""What every spec check shares (G1): the collector of problems, and the project's own
floors and ceilings, which apply to every spec whatever its decision allows."""

from __future__ import annotations

from sluis.spec.decisions import DecisionLimits
from sluis.spec.load import Document, Path_, Problem

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


class Checker:
    """Collects the problems of one document, each with its position (``file:line``)."""

    def __init__(self, doc: Document, decision: DecisionLimits | None) -> None:
        self.doc = doc
        self.decision = decision
        self.problems: list[Problem] = []

    def add(self, path: Path_, rule: str, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, rule, message, key=key))
