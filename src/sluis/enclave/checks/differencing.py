"""Differencing (A5, B11): two tables, each safe, whose difference describes a handful of
persons. ACRO flags this for a person to look at; sluis decides it where it can.

What is compared, precisely. A new table N is compared with every table R already
released for the project (``releases/*/outputs/``, through their sidecars; a CSV without
one through the count heuristic) and with every other new table of the same check, when
both count the same unit (``unit``, persons unless the helper library was told
otherwise). Let S be the dimensions N and R share (none: their grand totals). Both are
summed to their margin over S, the persons in each margin cell (contributors of a
magnitude table); a category absent from one table counts 0 there. Let d be the
difference of the two margins cell by cell and D the sum of |d|.

- D = 0: the margins agree (the same table again, or tables of one population): pass.
- every d of one sign and 0 < D < min_frequency: one population is the other plus D
  persons, and subtracting the tables gives a table of those D persons: **fail**
  (``differencing``). A total that differs from a released total by 1 to min_frequency-1
  is the case S = none.
- d of both signs and 0 < D < min_frequency: a few persons moved between cells (the same
  population at another date, say): review.

When both tables name their population and the names differ, the researcher says they
describe different groups: the same finding goes to review instead of failing, for a
reviewer to confirm. The margins are computed with numpy on integer codes of the keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sluis.enclave.checks.load import (
    SidecarError,
    read_csv,
    read_sidecar,
    table_from_sidecar,
    tables_from_csv,
)
from sluis.enclave.checks.policy import SIDECAR_SUFFIX
from sluis.enclave.checks.report import Finding
from sluis.enclave.checks.tables import CellTable, cell_codes


def released_tables(released: Path) -> list[CellTable]:
    """Every table of every release under ``released`` (``<id>/outputs/...``), named
    ``<id>/outputs/<file>``. A sidecar describes its CSV; a CSV without one is read with
    the count heuristic; anything else is not a table."""
    tables: list[CellTable] = []
    for outputs in sorted(released.glob("*/outputs")):
        described: set[Path] = set()
        for sidecar in sorted(outputs.rglob(f"*{SIDECAR_SUFFIX}")):
            try:
                meta = read_sidecar(sidecar)
            except SidecarError:
                continue
            if meta["kind"] == "model":
                continue
            target = sidecar.parent / str(meta.get("file") or "")
            described.add(target)
            tables.append(table_from_sidecar(meta, _name(released, target)))
        for file in sorted([*outputs.rglob("*.csv"), *outputs.rglob("*.tsv")]):
            if file in described:
                continue
            try:
                found, _ = tables_from_csv(read_csv(file), _name(released, file))
            except (OSError, ValueError):
                continue
            tables.extend(found)
    return tables


def compare(new: CellTable, old: CellTable, k: int) -> list[Finding]:
    """The differencing finding of ``new`` against ``old`` (see the module's docstring)."""
    if new.unit != old.unit or new.size == 0 or old.size == 0:
        return []
    shared = [d for d in new.dimensions if d in old.dimensions]
    codes = (
        cell_codes({d: np.concatenate([new.keys[d], old.keys[d]]) for d in shared}, shared)
        if shared
        else np.zeros(new.size + old.size, dtype=np.int64)
    )
    new_codes, old_codes = codes[: new.size], codes[new.size :]
    groups = int(codes.max(initial=0)) + 1
    margin_new = np.bincount(new_codes, weights=new.persons(), minlength=groups)
    margin_old = np.bincount(old_codes, weights=old.persons(), minlength=groups)
    diff = margin_new - margin_old
    spread = float(np.abs(diff).sum())
    if spread == 0 or spread >= k:
        return []
    one_sign = bool((diff >= 0).all() or (diff <= 0).all())
    different_groups = (
        new.population is not None
        and old.population is not None
        and new.population != old.population
    )
    verdict = "fail" if one_sign and not different_groups else "review"
    over = f"their margins over {', '.join(shared)}" if shared else "their totals"
    if one_sign:
        what = (
            f"{over} differ by {spread:g} {new.unit}: subtracting one table from the other "
            f"gives a table of fewer than {k}"
        )
    else:
        what = f"{over} differ in both directions by {spread:g} {new.unit} in all"
    if different_groups:
        what += f" (populations {new.population!r} and {old.population!r}: confirm they differ)"
    return [
        Finding(
            "differencing",
            verdict,
            f"compared with {old.name}: {what}",
            new.cells(diff[new_codes] != 0),
        )
    ]


def _name(released: Path, file: Path) -> str:
    return file.relative_to(released).as_posix()
