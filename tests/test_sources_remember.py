"""G2, X2 (issue 23): the remembered sources check trusts content, not size and modification
time. A register changed in place with the same size and modification time is re-checked,
and the file that changed is named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sluis.errors import SourceError
from sluis.sources.remember import (
    NO_FULL_DIGEST,
    SMALL_FILE,
    STAMP,
    check_remembered,
    full_digest,
    sample_digest,
    sample_ranges,
)
from source_tables import PEOPLE

TABLES = frozenset({"person", "household"})


def _edit_in_place(path: Path, old: bytes, new: bytes) -> None:
    """Replace bytes of ``path`` in place, keeping its size and modification time."""
    assert len(old) == len(new)
    st = path.stat()
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def _uncompressed(sources: Path, name: str, extra: pa.Table | None = None) -> Path:
    """Rewrite a table without compression or dictionary, so its values are in its bytes."""
    path = sources / f"{name}.parquet"
    t = pq.read_table(path)
    if extra is not None:
        for field in extra.schema:
            t = t.append_column(field, extra.column(field.name))
    pq.write_table(t, path, compression="none", use_dictionary=False)
    return path


def test_g2_x2_a_register_changed_in_place_is_rechecked_and_named(
    sources: Path, tmp_path: Path
) -> None:
    """The issue's case: same size, same modification time, other content. The next run
    re-checks the table, names the file, and refuses the registers it now breaks."""
    path = _uncompressed(sources, "person")
    work = tmp_path / "work"
    first = check_remembered(sources, work, TABLES)
    assert first.checked == ("household", "person") and first.changes == ()
    again = check_remembered(sources, work, TABLES)
    assert again.checked == () and again.changes == ()

    # the last check digit of the first person's number: no longer a valid INSZ
    bad = PEOPLE[0][:-1] + str((int(PEOPLE[0][-1]) + 1) % 10)
    _edit_in_place(path, PEOPLE[0].encode(), bad.encode())
    heard: list[str] = []
    with pytest.raises(SourceError) as err:
        check_remembered(sources, work, TABLES, notify=heard.append)
    assert heard == ["person.parquet changed since the last sources check (content); re-checking"]
    assert "person.parquet (content)" in str(err.value)
    assert err.value.rule == "sources-invalid"
    assert bad not in str(err.value)  # and the finding it quotes is masked (item 5)
    # the failed check is not remembered: the file is named again on the next run
    heard.clear()
    with pytest.raises(SourceError):
        check_remembered(sources, work, TABLES, notify=heard.append)
    assert heard and "person.parquet" in heard[0]


def test_g2_a_valid_change_is_rechecked_once_and_alone(sources: Path, tmp_path: Path) -> None:
    """A valid change in place is re-checked once, alone, and then remembered."""
    path = _uncompressed(sources, "household")
    work = tmp_path / "work"
    check_remembered(sources, work, TABLES)
    _edit_in_place(path, b"household_id-0", b"household_id-7")
    heard: list[str] = []
    done = check_remembered(sources, work, TABLES, notify=heard.append)
    assert done.checked == ("household",)
    assert [(c.file, c.reason) for c in done.changes] == [("household.parquet", "content")]
    assert heard == [
        "household.parquet changed since the last sources check (content); re-checking"
    ]
    assert check_remembered(sources, work, TABLES).checked == ()


def test_g2_new_removed_and_touched_files_are_named(sources: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    check_remembered(sources, work, TABLES)
    person = sources / "person.parquet"
    st = person.stat()
    os.utime(person, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    done = check_remembered(sources, work, TABLES)
    assert [(c.file, c.reason) for c in done.changes] == [("person.parquet", "modification time")]

    (sources / "household").mkdir()
    (sources / "household.parquet").rename(sources / "household" / "part-0.parquet")
    done = check_remembered(sources, work, TABLES)
    assert sorted((c.file, c.reason) for c in done.changes) == [
        ("household.parquet", "file removed"),
        ("household/part-0.parquet", "new file"),
    ]
    assert done.checked == ("household",)


def test_g2_other_data_or_tables_are_checked_afresh(sources: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    check_remembered(sources, work, {"person"})
    done = check_remembered(sources, work, TABLES)
    assert (done.checked, done.first) == (("household",), ("household",))
    stamp = json.loads((work / STAMP).read_text())
    assert sorted(stamp["tables"]) == ["household", "person"]
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("person", "household"):
        (copy / f"{name}.parquet").write_bytes((sources / f"{name}.parquet").read_bytes())
    assert check_remembered(copy, work, TABLES).checked == ("household", "person")


def test_g2_paranoid_sees_a_change_between_the_samples(sources: Path, tmp_path: Path) -> None:
    """A large file is digested cheaply (footer and sampled blocks); an edit between the
    samples, keeping size and modification time, is the one change only --paranoid sees."""
    padding = pa.table({"padding": pa.array([b"\x00" * (SMALL_FILE // 2)] * 3, pa.binary())})
    path = _uncompressed(sources, "person", padding)
    assert path.stat().st_size > SMALL_FILE
    work = tmp_path / "work"
    check_remembered(sources, work, TABLES)
    done = check_remembered(sources, work, TABLES, paranoid=True)
    assert [(c.file, c.reason) for c in done.changes] == [("person.parquet", NO_FULL_DIGEST)]
    assert check_remembered(sources, work, TABLES, paranoid=True).checked == ()

    data = bytearray(path.read_bytes())
    sampled = sample_ranges(path)
    start = data.find(b"\x00" * (SMALL_FILE // 2))
    spot = next(
        i
        for i in range(start + 1000, start + SMALL_FILE // 2, 997)
        if not any(a <= i < a + n for a, n in sampled)
    )
    st = path.stat()
    before = (sample_digest(path), full_digest(path))
    data[spot] = 1
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert sample_digest(path) == before[0]  # the documented limit of the cheap digest
    assert full_digest(path) != before[1]
    assert check_remembered(sources, work, TABLES).checked == ()
    heard: list[str] = []
    done = check_remembered(sources, work, TABLES, paranoid=True, notify=heard.append)
    assert done.checked == ("person",)
    assert heard == ["person.parquet changed since the last sources check (content); re-checking"]


def test_g2_the_cheap_digest_covers_the_footer_and_reads_little(tmp_path: Path) -> None:
    """A rewrite with other values changes the footer (statistics), which is always
    digested; a large file is read in about SMALL_FILE bytes plus its footer."""
    path = tmp_path / "big.parquet"
    values = list(range(400_000))
    pq.write_table(pa.table({"x": values}), path, compression="none")
    assert path.stat().st_size > 2 * SMALL_FILE
    digest = sample_digest(path)
    pq.write_table(pa.table({"x": [*values[:-1], values[-1] + 1]}), path, compression="none")
    assert sample_digest(path) != digest
    assert sum(n for _, n in sample_ranges(path)) <= SMALL_FILE + 64 * 1024
