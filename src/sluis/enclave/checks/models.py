"""Models (A5, B11): a model fitted on few observations more than it has parameters can
give individual values away (a regression through a handful of points reproduces them),
so a released model needs at least ``min_residual_df`` residual degrees of freedom.

The residual degrees of freedom come from the helper library's model sidecar or, for a
model printed to a text output, from what R (``summary(lm)``: "on 4 degrees of freedom",
``glm``: "Residual deviance: ... on 4 degrees of freedom") and statsmodels ("Df
Residuals: 4") print.
"""

from __future__ import annotations

import re

from sluis.enclave.checks.report import Finding, plural

_PRINTED_DF = re.compile(
    r"\bon\s+(?P<r>[0-9]+)\s+degrees\s+of\s+freedom|\bDf\s+Residuals:\s+(?P<s>[0-9]+)"
)


def check_residual_df(residual_df: int, minimum: int, where: str) -> list[Finding]:
    """One finding when ``residual_df`` is below ``minimum``."""
    if residual_df >= minimum:
        return []
    return [
        Finding(
            "min-residual-df",
            "fail",
            f"{where}: {residual_df} residual degrees of freedom, fewer than {minimum}: a "
            "model this close to its data can reproduce individual values",
        )
    ]


def printed_models(lines: list[str], minimum: int) -> list[Finding]:
    """Models printed in a text output with fewer than ``minimum`` residual degrees of
    freedom, by line."""
    low = []
    for number, line in enumerate(lines, start=1):
        for match in _PRINTED_DF.finditer(line):
            df = int(match.group("r") or match.group("s"))
            if df < minimum:
                low.append((number, df))
    if not low:
        return []
    return [
        Finding(
            "min-residual-df",
            "fail",
            f"{plural(len(low), 'printed model')} with fewer than {minimum} residual degrees of "
            f"freedom (lowest {min(df for _, df in low)})",
            [[number, None] for number, _ in low],
        )
    ]
