"""Reading the SCRA's input (G5): only the columns a plan needs, with clear errors.

Both entry points read through here: a Parquet file or directory, or a CSV file, for
``sluis scra FILE --keys``, and one ``<dataset>.parquet`` per dataset of a staged extract.
A missing file or column is a :class:`ScraInputError` naming the file and the column.

A run that writes a treated file needs every column of the file after it measured a few:
:func:`load_whole` is handed the columns the measures read and reads only the others, so a
Parquet file is read once.

``sluis scra FILE`` starts reading its Parquet file (:func:`prefetch`) before it imports the
analysis and the report (Jinja, the result types, the measures: a tenth of a second of
Python); Arrow reads without the GIL, so the file is read meanwhile on the second core, and
:func:`load_table` takes the columns read (the same table a read then would give).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sluis.errors import SluisError
from sluis.scra.background import Pending


class ScraInputError(SluisError):
    """An input file or column the analysis cannot use (G5)."""


@dataclass
class _Early:
    """A read :func:`prefetch` started: the file as it was then, the columns, the read."""

    stat: tuple[int, int]  # (mtime in ns, size): a file changed since is read again
    columns: list[str]
    read: Pending | None = None
    table: pa.Table | None = None


#: reads started by :func:`prefetch`, by file; taken by the next :func:`load_table`
_EARLY: dict[Path, _Early] = {}


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def prefetch(path: Path, columns: Sequence[str]) -> None:
    """Start reading ``columns`` of the Parquet file ``path`` on a second thread, for the
    next :func:`load_table` of it. Anything unusual (not a Parquet file, a column missing,
    an unreadable file) is left to that call, which reads as always and says why."""
    path = Path(path)
    if _is_csv(path) or not path.is_file():
        return
    early = _Early(_stat(path), list(dict.fromkeys(columns)))

    def read() -> None:
        parquet = pq.ParquetFile(path)
        if all(c in parquet.schema_arrow.names for c in early.columns):
            early.table = parquet.read(columns=early.columns)

    early.read = Pending(read, "prefetch")
    _EARLY[path] = early


def forget_prefetched() -> None:
    """Drop reads :func:`prefetch` started that no :func:`load_table` took (a run that
    stopped before reading), waiting for them to end."""
    while _EARLY:
        _, early = _EARLY.popitem()
        _wait_quietly(early)


def _wait_quietly(early: _Early) -> None:
    try:
        if early.read is not None:
            early.read.wait()
    except Exception:  # the read is done again by load_table, which reports the error
        early.table = None


def _prefetched(path: Path, wanted: list[str]) -> pa.Table | None:
    """The columns ``wanted`` of a read :func:`prefetch` started, if it read them and the
    file has not changed since; else None."""
    early = _EARLY.pop(path, None)
    if early is None:
        return None
    _wait_quietly(early)
    if early.table is None or _stat(path) != early.stat or not set(wanted) <= set(early.columns):
        return None
    return early.table.select(wanted)


def _is_csv(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in {".csv", ".txt"} or (suffix == ".gz" and path.stem.endswith(".csv"))


def load_table(path: Path, columns: Sequence[str]) -> pa.Table:
    """Read ``columns`` of a Parquet file or directory, or of a CSV file."""
    path = Path(path)
    if not path.exists():
        raise ScraInputError("no such file", rule="scra-input-missing", file=str(path))
    wanted = list(dict.fromkeys(columns))
    if _is_csv(path):
        import duckdb  # only for CSV: it costs a Parquet run about 0.1 s to import

        try:
            relation = duckdb.read_csv(str(path))
            names = relation.columns
            _require(path, names, wanted)
            quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in wanted)
            return relation.select(quoted).to_arrow_table()
        except duckdb.Error as err:
            raise _unreadable(path, err) from err
    try:
        if path.is_file():  # not pq.read_table: its dataset layer imports pandas (0.4 s)
            early = _prefetched(path, wanted)
            if early is not None:
                return early
            parquet = pq.ParquetFile(path)
            _require(path, parquet.schema_arrow.names, wanted)
            return parquet.read(columns=wanted)
        schema = pq.ParquetDataset(path).schema
        _require(path, schema.names, wanted)
        return pq.read_table(path, columns=wanted)
    except (pa.ArrowInvalid, OSError) as err:
        raise _unreadable(path, err) from err


def _unreadable(path: Path, err: Exception) -> ScraInputError:
    return ScraInputError(
        f"cannot read the file: {err}".splitlines()[0],
        rule="scra-input-unreadable",
        file=str(path),
        hint="give a Parquet file or directory, or a CSV file with a header",
    )


def load_whole(path: Path, have: pa.Table | None = None) -> pa.Table:
    """Every column of ``path``: what the treated file is written from (the measures read
    only the columns they need). A staged dataset is read as it is; a file of the CLI
    through :func:`load_table`, so a CSV file is read as the measures read it. ``have``:
    columns already read from this Parquet file (:func:`load_table`, the same file
    unchanged since), taken as they are instead of read again."""
    path = Path(path)
    if _is_csv(path):
        import duckdb

        return load_table(path, list(duckdb.read_csv(str(path)).columns))
    if not path.is_file():
        return load_table(path, list(pq.ParquetDataset(path).schema.names))
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    if have is None or len(set(schema.names)) != len(schema.names):
        return parquet.read()  # (duplicate column names: by position only)
    rest = [name for name in schema.names if name not in have.column_names]
    read = parquet.read(columns=rest) if rest else have
    columns = [(have if name in have.column_names else read).column(name) for name in schema.names]
    return pa.Table.from_arrays(columns, schema=schema)


def _require(path: Path, present: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        raise ScraInputError(
            f"no column {missing[0]!r} (columns: {', '.join(present)})",
            rule="scra-column-missing",
            file=str(path),
            column=missing[0],
            hint="name key, weight and household columns as they appear in the file",
        )
