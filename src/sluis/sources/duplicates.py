"""The keys that occur more than once in a table, in bounded memory (G2, X2, S4).

The ``duplicate-key`` rule needs every key of a table at once: a key can repeat anywhere,
in another file or a billion rows later. One ``GROUP BY`` over the whole table holds a
group per row of a keyed table (1.1 billion for the full ``dwh_position``), and DuckDB's
aggregate stops with an out-of-memory error well before that under the check's memory
limit (issue 20). So a large table is counted in buckets instead:

1. one scan writes a 64-bit hash of each row's key into one Parquet file set per bucket
   (``hash % buckets``), in the check's own owner-only spill directory;
2. each bucket's hashes are counted on their own, so one aggregate holds at most
   :func:`rows_per_bucket` groups; a hash seen twice is a candidate;
3. the rows whose key hashes to a candidate are grouped by their real key, which keeps
   exactly the duplicated keys (two keys that merely share a hash drop out here).

The result is the same table of duplicated keys and their counts that one ``GROUP BY``
gives, whatever the number of buckets; a table small enough for one bucket is counted in
one aggregate as before.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from sluis.sources.row_rules import ident, lit

#: the groups of one aggregate per MiB of the memory limit: one aggregate of 110 million
#: hashes filled a limit of 2 GB (about 57 thousand a MiB) and failed under 200 MB; a
#: seventh of that leaves room for the scan and the engine's other buffers beside it
GROUPS_PER_MIB = 8_000

#: the name of the temporary table of duplicated keys, with their count in ``n_column``
DUPLICATES = "__sluis_dups"


def rows_per_bucket(memory_mib: int) -> int:
    """How many rows one bucket's aggregate may count under a limit of ``memory_mib``."""
    return max(1, memory_mib * GROUPS_PER_MIB)


def duplicate_keys(
    con: duckdb.DuckDBPyConnection,
    source: str,
    keys: Sequence[str],
    rows: int,
    *,
    bucket_rows: int,
    spill: Path,
    n_column: str,
) -> str:
    """Create the temporary table of the keys of ``source`` (a SQL table expression) that
    occur more than once among its ``rows`` rows, with their count in ``n_column``; return
    its name. The keys are counted in buckets of about ``bucket_rows`` rows (see
    :func:`rows_per_bucket`). A row with a NULL in its key has no key and is never a
    duplicate."""
    cols = ", ".join(ident(k) for k in keys)
    not_null = " AND ".join(f"{ident(k)} IS NOT NULL" for k in keys)
    con.execute(f"DROP TABLE IF EXISTS {DUPLICATES}")
    buckets = math.ceil(rows / max(bucket_rows, 1))
    if buckets <= 1:
        con.execute(
            f"CREATE TEMP TABLE {DUPLICATES} AS SELECT {cols}, count(*) AS {n_column} "
            f"FROM {source} WHERE {not_null} GROUP BY ALL HAVING count(*) > 1"
        )
        return DUPLICATES
    folder = spill / "keys"
    try:
        con.execute(
            f"COPY (SELECT h, h % {buckets} AS b FROM (SELECT hash({cols}) AS h "
            f"FROM {source} WHERE {not_null})) TO {lit(str(folder))} "
            f"(FORMAT parquet, PARTITION_BY (b), OVERWRITE)"
        )
        con.execute("CREATE OR REPLACE TEMP TABLE __sluis_candidates (h UBIGINT)")
        for part in sorted(p for p in folder.iterdir() if p.is_dir()):
            con.execute(
                "INSERT INTO __sluis_candidates SELECT h FROM "
                f"read_parquet({lit(str(part / '*.parquet'))}) GROUP BY h HAVING count(*) > 1"
            )
    finally:  # hashes of national numbers: gone as soon as they are counted
        shutil.rmtree(folder, ignore_errors=True)
    (n_candidates,) = con.execute("SELECT count(*) FROM __sluis_candidates").fetchone()
    # no candidate: an empty table of the keys' types, without a scan
    among = "hash({cols}) IN (SELECT h FROM __sluis_candidates)" if n_candidates else "false"
    con.execute(
        f"CREATE TEMP TABLE {DUPLICATES} AS SELECT {cols}, count(*) AS {n_column} "
        f"FROM {source} WHERE {not_null} AND {among.format(cols=cols)} "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    con.execute("DROP TABLE __sluis_candidates")
    return DUPLICATES
