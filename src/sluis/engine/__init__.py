"""The backend seam (X1): the only module that knows which engine runs the pipeline.

Stages build Ibis expressions over the tables this module hands them and give expressions
back; reading the source Parquet files, materialising intermediate tables, writing Parquet
atomically and the few functions Ibis does not portably offer (HMAC-SHA256 for
pseudonymisation) live here, so a Spark backend is one more implementation of
:class:`Engine`, not a change to the stages. What the engine may use of the machine (its
memory limit, its spill directory in the workspace) is in :mod:`sluis.engine.resources`,
which loads without the engine (the workspace lock sweeps spill directories with it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Engine", "connect"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sluis.engine import duckdb

        return getattr(duckdb, name)
    raise AttributeError(f"module 'sluis.engine' has no attribute {name!r}")
