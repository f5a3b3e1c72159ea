"""Verdicts of the output checks (A5, B11): a finding per broken rule, an output's verdict,
the job's verdict, and the thresholds they were judged by.

Three verdicts, ordered: ``pass`` (no rule broken), ``review`` (a person must look: the
checks could not decide), ``fail`` (a rule is broken: the output may not leave as it is).
An output's verdict is the worst of its findings'; a report's the worst of its outputs'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sluis.spec.model import Spec

Verdict = Literal["pass", "review", "fail"]
_ORDER: dict[str, int] = {"pass": 0, "review": 1, "fail": 2}
#: the smallest cell when a spec has no ``enclave:`` section (26/050's researchers publish
#: aggregates too, B11): the threshold of 25/074 and of most statistical offices
DEFAULT_MIN_FREQUENCY = 10


def worst(verdicts: list[Verdict] | tuple[Verdict, ...]) -> Verdict:
    """The most severe of ``verdicts`` (``pass`` for none)."""
    return max(verdicts, key=_ORDER.__getitem__, default="pass")


@dataclass(frozen=True)
class Thresholds:
    """The numbers the rules compare with, from the spec's ``enclave:`` section.

    ``p_percent`` is a share (0.10 is the 10% rule); ``dominance_share`` likewise."""

    min_frequency: int = DEFAULT_MIN_FREQUENCY
    dominance_n: int = 2
    dominance_share: float = 0.85
    p_percent: float = 0.10
    min_residual_df: int = 10

    @classmethod
    def from_spec(cls, spec: Spec) -> Thresholds:
        """The spec's thresholds; the defaults above when it has no ``enclave:`` section."""
        enclave = spec.enclave
        if enclave is None:
            return cls()
        return cls(
            min_frequency=enclave.min_frequency,
            dominance_n=enclave.dominance_n,
            dominance_share=enclave.dominance_share,
            p_percent=enclave.p_percent,
            min_residual_df=enclave.min_residual_df,
        )


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one output. ``cells`` are ``[row, column]``: the data row
    (1 = the first row after the header) and the column's name of a table, or ``[line,
    None]`` in a text file; never a value."""

    rule: str
    verdict: Verdict
    message: str
    cells: list[list[Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict,
            "message": self.message,
            "cells": self.cells,
        }


@dataclass
class OutputReport:
    """The findings on one file, named relative to the checked root."""

    file: str
    kind: str
    #: the digest of the file as checked: a review of a file that changed since is void
    sha256: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst([f.verdict for f in self.findings])

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "sha256": self.sha256,
            "verdict": self.verdict,
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class CheckReport:
    """Every output's findings; ``to_json()`` is what ``checks.json`` holds."""

    thresholds: Thresholds
    outputs: list[OutputReport] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst([o.verdict for o in self.outputs])

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "thresholds": vars(self.thresholds),
            "outputs": [o.to_json() for o in self.outputs],
        }


def plural(count: int, word: str) -> str:
    """``1 cell``, ``2 cells``: the messages read right at any count."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"
