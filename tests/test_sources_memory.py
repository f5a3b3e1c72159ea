"""S4, X2: the source check runs in bounded memory, with the same findings and quarantine.

A large keyed table has its duplicate keys counted in buckets sized to the memory limit
(:mod:`sluis.sources.duplicates`); these tests show that bucketing changes nothing that
the check reports or quarantines, only how much the engine holds at once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluis.domain.insz import make_insz_array
from sluis.sources.check import MEMORY_MIB, CheckReport, check_sources
from sluis.sources.duplicates import duplicate_keys, rows_per_bucket

#: a memory limit under which the large table below is counted in two buckets
SMALL_MIB = 48


def _large_positions(sources: Path, persons: int) -> int:
    """Replace ``dwh_position`` by one row per person and quarter 2000-2024, in two parts,
    with two duplicated keys (one across the parts), one bad INSZ and one bad code."""
    one = pq.read_table(sources / "dwh_position.parquet").slice(0, 1)
    quarters = np.array(
        [
            np.datetime64(f"{y}-{m:02d}-01") - np.timedelta64(1, "D")
            for y in range(2000, 2025)
            for m in (4, 7, 10)
        ]
        + [np.datetime64(f"{y}-12-31") for y in range(2000, 2025)],
        dtype="datetime64[D]",
    )
    k = np.arange(persons)
    insz = make_insz_array(
        1950 + k % 50, 1 + k % 12, 1 + k % 28, 1 + (k // 1400) % 998, np.zeros(persons, bool)
    )
    n = persons * len(quarters)
    rows = one.take(np.zeros(n, dtype=np.int64))
    rows = rows.set_column(
        rows.schema.get_field_index("insz"), "insz", pa.array(np.repeat(insz, len(quarters)))
    )
    rows = rows.set_column(
        rows.schema.get_field_index("quarter_end"),
        "quarter_end",
        pa.array(np.tile(quarters, persons)),
    )
    sep = rows.column("sep").to_pylist()
    sep[n // 3] = "x99"  # not a code
    rows = rows.set_column(rows.schema.get_field_index("sep"), "sep", pa.array(sep))
    ids = rows.column("insz").to_pylist()
    ids[n // 2] = ids[n // 2][:10] + str((int(ids[n // 2][10]) + 1) % 10)  # bad check digit
    rows = rows.set_column(rows.schema.get_field_index("insz"), "insz", pa.array(ids))
    half = n // 2
    first = pa.concat_tables([rows.slice(0, half), rows.slice(10, 1)])  # same file
    second = pa.concat_tables([rows.slice(half), rows.slice(5, 1)])  # across the files
    (sources / "dwh_position.parquet").unlink()
    folder = sources / "dwh_position"
    folder.mkdir()
    pq.write_table(first, folder / "part-0.parquet", row_group_size=50_000)
    pq.write_table(second, folder / "part-1.parquet", row_group_size=50_000)
    return n + 2


def _summary(report: CheckReport) -> tuple:
    return (
        report.total_findings,
        [str(f) for f in report.findings],
        [(t.name, t.rows_read, t.rows_quarantined, t.rule_counts) for t in report.tables],
    )


def test_s4_x2_small_memory_limit_gives_the_same_findings_and_quarantine(
    sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _large_positions(sources, persons=8_000)
    assert rows > rows_per_bucket(SMALL_MIB) * 2  # counted in three buckets, not one
    assert rows < rows_per_bucket(MEMORY_MIB)  # counted in one aggregate, as before
    # DuckDB itself needs about 64 MiB for the other tables' code lists: only this one
    roomy = check_sources(sources, tmp_path / "q-roomy", tables=["dwh_position"])
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    small = check_sources(
        sources, tmp_path / "q-small", tables=["dwh_position"], memory_mib=SMALL_MIB
    )
    # the hashed keys went to the check's own temporary directory, removed after it
    assert not any(spill.iterdir())

    assert _summary(small) == _summary(roomy)
    counts = next(t for t in small.tables if t.name == "dwh_position").rule_counts
    assert counts == {"duplicate-key": 4, "code-list": 1, "insz-check-digits": 1}
    a = pq.read_table(tmp_path / "q-roomy" / "dwh_position.parquet")
    b = pq.read_table(tmp_path / "q-small" / "dwh_position.parquet")
    assert a.num_rows == 6
    assert b.equals(a)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keys=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 6)), st.sampled_from(["a", "b", None])),
        max_size=40,
    ),
    bucket_rows=st.integers(1, 50),
)
def test_x2_duplicate_keys_in_buckets_are_those_of_one_group_by(
    keys: list[tuple[int | None, str | None]], bucket_rows: int
) -> None:
    """Whatever the bucket size, the duplicated keys and their counts are exactly those
    of one GROUP BY over the rows whose key has no NULL."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INTEGER, s VARCHAR)")
    if keys:
        con.executemany("INSERT INTO t VALUES (?, ?)", keys)
    with tempfile.TemporaryDirectory() as spill:
        name = duplicate_keys(
            con,
            "t",
            ["k", "s"],
            len(keys),
            bucket_rows=bucket_rows,
            spill=Path(spill),
            n_column="n",
        )
        found = sorted(con.execute(f"SELECT k, s, n FROM {name}").fetchall())
    expected = sorted(
        (k, s, n)
        for (k, s), n in {
            key: sum(1 for other in keys if other == key) for key in set(keys)
        }.items()
        if k is not None and s is not None and n > 1
    )
    assert found == expected
