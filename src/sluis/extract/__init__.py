"""Extract the raw datasets of a spec from the source registers (G6, G7, A6-A13).

A *raw dataset* has one column per variable of the spec's dataset, named as the spec names
it, holding the value before pseudonymisation and coarsening (an INSZ, an exact date, an
amount in euros). It never leaves the pseudonymiser's workspace; :mod:`sluis.pseudo` and
:mod:`sluis.coarsen` turn it into what may be delivered.

The names below load on first use: the spec check reads the requirement items of
:mod:`sluis.extract.derivations` without paying for the engine's import (X2: a broken spec
is refused within a second).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Frames", "build_frames", "extract_dataset"]


def __getattr__(name: str) -> Any:
    if name == "extract_dataset":
        from sluis.extract.datasets import extract_dataset

        return extract_dataset
    if name in ("Frames", "build_frames"):
        from sluis.extract import frame

        return getattr(frame, name)
    raise AttributeError(f"module 'sluis.extract' has no attribute {name!r}")
