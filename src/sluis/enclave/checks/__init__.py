"""Automatic output checks of the enclave, and of any file a researcher wants to publish
(A5, B11): minimum frequency, dominance and p% on tables, class disclosure, residual
degrees of freedom of models, differencing against released tables, row-level data in any
output, and a policy for the files no check can read. See docs/enclave.md, "Automatic
output checks".

One module per family of checks: :mod:`.tables` (the table rules), :mod:`.differencing`,
:mod:`.rowlevel`, :mod:`.models`, :mod:`.policy` (file types); :mod:`.load` reads the
helper library's sidecars and CSV files; :mod:`.run` puts them together.
"""

from sluis.enclave.checks.load import public_sidecar
from sluis.enclave.checks.report import CheckReport, Finding, OutputReport, Thresholds, Verdict
from sluis.enclave.checks.run import check_outputs

__all__ = [
    "CheckReport",
    "Finding",
    "OutputReport",
    "Thresholds",
    "Verdict",
    "check_outputs",
    "public_sidecar",
]
