"""The backend seam (X1): the only module that knows which engine runs the pipeline.

Stages build Ibis expressions over the tables this module hands them and give expressions
back; reading the source Parquet files, materialising intermediate tables, writing Parquet
atomically and the few functions Ibis does not portably offer (HMAC-SHA256 for
pseudonymisation) live here, so a Spark backend is one more implementation of
:class:`Engine`, not a change to the stages.
"""

from sluis.engine.duckdb import Engine, connect

__all__ = ["Engine", "connect"]
