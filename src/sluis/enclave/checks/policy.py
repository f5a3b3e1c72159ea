"""What the checks do with each type of file (A5, B11): the policy table of
docs/enclave.md, "Files the checks cannot read".

Tables (CSV, TSV) and text are checked; figures and documents need a person (review);
data formats, serialised objects and archives are refused, because they can hold the
microdata themselves and nothing short of loading them says they do not. A file with an
unknown suffix is read as text when it is UTF-8 and goes to review; otherwise refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Kind = Literal["table", "text", "sidecar", "figure", "data", "object", "archive", "unknown"]

SUFFIXES: dict[str, Kind] = {
    **dict.fromkeys([".csv", ".tsv"], "table"),
    **dict.fromkeys(
        [".txt", ".log", ".md", ".tex", ".html", ".htm", ".json", ".out", ".rout"], "text"
    ),
    **dict.fromkeys([".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf", ".eps"], "figure"),
    **dict.fromkeys(
        [".parquet", ".feather", ".arrow", ".dta", ".sav", ".rds", ".rdata", ".rda"], "data"
    ),
    **dict.fromkeys([".xlsx", ".xls", ".sqlite", ".db", ".duckdb", ".ods"], "data"),
    **dict.fromkeys([".pkl", ".pickle", ".joblib", ".npy", ".npz", ".h5", ".hdf5"], "object"),
    **dict.fromkeys([".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z"], "archive"),
}
SIDECAR_SUFFIX = ".meta.json"
#: what each kind means for the verdict, and why (docs/enclave.md shows this table)
POLICY: dict[Kind, tuple[str, str]] = {
    "table": ("checked", "table rules with the sidecar, else the count heuristic"),
    "text": ("checked", "exact dates, printed rows, printed models"),
    "sidecar": ("checked", "read with the table it describes"),
    "figure": ("review", "a person reads a figure; the checks cannot"),
    "data": ("fail", "a data file can hold the microdata: write aggregates as CSV"),
    "object": ("fail", "a serialised object can hold anything, and runs code when loaded"),
    "archive": ("fail", "an archive hides its files from the checks: output them one by one"),
    "unknown": ("review", "UTF-8 text is checked as text and reviewed; anything else fails"),
}


def kind_of(path: Path) -> Kind:
    """The kind of an output by its name (``unknown`` for any other suffix)."""
    name = path.name.lower()
    if name.endswith(SIDECAR_SUFFIX):
        return "sidecar"
    return SUFFIXES.get(path.suffix.lower(), "unknown")


def read_text(path: Path) -> str | None:
    """The file as text, or None when it is not UTF-8 text (a NUL byte, bad encoding)."""
    data = path.read_bytes()
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
