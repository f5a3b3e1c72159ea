"""The reference microdata of ``../shared/reference/scra`` (G5), for the tests that
reproduce sdcMicro's figures and for ``bench/scra.py``.

The shared generator's own ``generate`` needs pandas, which sluis does not use; this
assembles the generator's chunks with pyarrow instead (its file for N rows is a prefix of
any larger one, chunk by chunk).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pyarrow as pa


def reference_microdata(generator: Path, n: int) -> pa.Table:
    """The first ``n`` records of the generator at ``generator`` (``gen_microdata.py``):
    ``rid`` then its columns; a missing naturalisation year is null."""
    spec = importlib.util.spec_from_file_location("gen_microdata", generator)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    parts: dict[str, list[np.ndarray]] = {}
    for i in range((n + gen.CHUNK - 1) // gen.CHUNK):
        chunk = gen.gen_chunk(gen.DEFAULT_SEED, i)
        take = min(gen.CHUNK, n - i * gen.CHUNK)
        for name, values in chunk.items():
            parts.setdefault(name, []).append(values[:take])
    columns = {name: np.concatenate(v) for name, v in parts.items()}
    nat_year = columns["naturalisation_year"]
    columns["naturalisation_year"] = pa.array(nat_year, mask=nat_year < 0)
    return pa.table({"rid": np.arange(1, n + 1, dtype=np.int64), **columns})
