"""The default engine: DuckDB, embedded, on Parquet files (X1)."""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from sluis.atomic import atomic_path
from sluis.engine import resources
from sluis.engine.resources import SPILL_PREFIX, remove_stale_spills
from sluis.errors import SourceError
from sluis.sources.contract import CONTRACT, Table
from sluis.sources.file_schema import column_findings, table_files
from sluis.sources.masking import redact

_TABLES = {t.name: t for t in CONTRACT}
_BLOCK = 64  # SHA-256 block size, for HMAC


@ibis.udf.scalar.builtin(name="sha256")
def _sha256(value: dt.binary) -> dt.string:  # type: ignore[empty-body]
    """DuckDB's sha256 of a blob, as 64 hex digits."""


@ibis.udf.scalar.builtin(name="unhex")
def _unhex(value: dt.string) -> dt.binary:  # type: ignore[empty-body]
    """Hex digits to bytes."""


@ibis.udf.scalar.builtin(name="encode")
def _encode(value: dt.string) -> dt.binary:  # type: ignore[empty-body]
    """UTF-8 bytes of a string."""


@ibis.udf.scalar.builtin(name="concat")
def _concat(left: dt.binary, right: dt.binary) -> dt.binary:  # type: ignore[empty-body]
    """Bytes followed by bytes."""


class Engine:
    """One DuckDB connection with its spill directory, memory limit and temporary tables."""

    backend = "duckdb"

    def __init__(
        self,
        *,
        memory_limit: str | int | None = None,
        threads: int | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        """``memory_limit``: bytes or a size ('4GB'); None sets it from the machine
        (:func:`~sluis.engine.resources.memory_limit`); past it the engine spills.
        ``temp_directory``: where it spills, the workspace's :func:`spill_root` for every
        command (stale directories of killed runs in it are removed first); None, for
        library use on small data only, is the system's temporary directory."""
        root = Path(temp_directory or tempfile.gettempdir())
        remove_stale_spills(root)
        self._spill = tempfile.TemporaryDirectory(prefix=f"{SPILL_PREFIX}{os.getpid()}-", dir=root)
        self.memory_limit = resources.memory_limit(memory_limit)
        self.con = ibis.duckdb.connect(
            memory_limit=f"{self.memory_limit // 2**20}MiB",
            temp_directory=self._spill.name,
            threads=threads or os.cpu_count() or 1,
            preserve_insertion_order=False,
        )
        self._names = itertools.count()
        self._made: list[str] = []  # tables materialised and not dropped, in order
        self._read: dict[Path, str] = {}  # source files read -> their contract table

    def close(self) -> None:
        """Release the connection and remove spilled data."""
        self.con.disconnect()
        self._spill.cleanup()
        if Path(self._spill.name).parent.name == resources.SPILL_FOLDER:
            with suppress(OSError):  # the workspace's folder, when no other engine uses it
                Path(self._spill.name).parent.rmdir()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------

    def source(self, directory: Path, table: str, *, complete: bool = True) -> ir.Table:
        """A source table of the contract from a directory of register extracts (one
        ``table.parquet`` or a folder of ``*.parquet`` parts per table).

        A file that is not Parquet (truncated, or another format under a ``.parquet``
        name), a contract column that is missing (only when ``complete``: a provider's
        extract holds just the columns asked of it) or of another type is a
        :class:`SourceError` naming the file, table and column, here where the file is
        known, also when the sources check was skipped (``--no-check``, X2)."""
        spec = _TABLES[table]
        files, finding = table_files(Path(directory), spec)
        if finding is not None:
            raise SourceError(finding.message, rule=finding.rule, file=finding.file)
        self._read.update(dict.fromkeys(files, table))
        try:
            with self.located():
                for f in files:
                    self._check_columns(f, spec, complete=complete)
                t = self.con.read_parquet([str(f) for f in files], table_name=f"src_{table}")
        except SourceError:
            for f in files:
                self._read.pop(f, None)
            raise
        return t

    def read_parquet(self, path: Path | Sequence[Path]) -> ir.Table:
        """Any Parquet file(s), e.g. a staged table of an earlier stage."""
        paths = [str(path)] if isinstance(path, str | Path) else [str(p) for p in path]
        return self.con.read_parquet(paths, table_name=self._name("parquet"))

    def arrow(self, table: pa.Table) -> ir.Table:
        """A small in-memory table (keys, code lists) as an engine table."""
        return self.con.create_table(self._name("arrow"), table, temp=True)

    # -- intermediate and results ---------------------------------------------------------

    def materialise(
        self, expr: ir.Table, name: str | None = None, *, lasting: bool = False
    ) -> ir.Table:
        """Compute ``expr`` once into a temporary table, for results used several times.

        The table lives until the connection closes or it is dropped; one made inside a
        ``scratch`` block is dropped at its end unless kept or ``lasting`` (a cache that
        later stages read)."""
        name = name or self._name("t")
        sql = self.con.compile(expr)
        with self.located():
            self.con.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}').fetchall()
        if not lasting:
            self._made.append(name)
        return self.con.table(name)

    def drop(self, *tables: ir.Table) -> None:
        """Free materialised tables no stage needs any more (memory, spilled bytes, and
        for raw extracts the national numbers they hold)."""
        for table in tables:
            name = table.get_name()
            if name in self._made:
                self.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"').fetchall()
                self._made.remove(name)

    @contextmanager
    def scratch(self) -> Iterator[Callable[[ir.Table], ir.Table]]:
        """Drop, at the end of the block, every table materialised inside it except those
        passed to the function it yields (``keep(table)`` returns the table). A stage
        that builds a result through many intermediate tables keeps only the result;
        without this a full-scale run holds every intermediate until it ends."""
        before = set(self._made)
        kept: set[str] = set()

        def keep(table: ir.Table) -> ir.Table:
            kept.add(table.get_name())
            return table

        yield keep
        for name in [n for n in self._made if n not in before and n not in kept]:
            self.con.raw_sql(f'DROP TABLE IF EXISTS "{name}"').fetchall()
            self._made.remove(name)

    def count(self, expr: ir.Table) -> int:
        with self.located():
            return int(self.con.execute(expr.count()))

    def to_arrow(self, expr: ir.Expr) -> pa.Table:
        """A small result (a summary, a report table) as Arrow; never person-level data."""
        with self.located():
            return self.con.to_pyarrow(expr)

    def write_parquet(
        self, expr: ir.Table, path: Path, *, order_by: Sequence[str], mode: int = 0o600
    ) -> Path:
        """Write ``expr`` sorted by ``order_by`` to one Parquet file, atomically.

        The explicit order makes the bytes depend only on the data (X3): with insertion
        order preserved, DuckDB's parallel writer puts the sorted rows into row groups of
        a fixed size in order, the same bytes as one writer thread (a test writes with 1
        and with several threads and compares). The query itself (scans, joins, the sort)
        runs on every thread. Files are owner-only by default: staged data is personal
        data.
        """
        ordered = expr.order_by([expr[c] for c in order_by])
        with atomic_path(Path(path), mode=mode) as tmp:
            sql = self.con.compile(ordered)
            self.con.raw_sql("SET preserve_insertion_order = true").fetchall()
            try:
                with self.located():
                    self.con.raw_sql(
                        f"COPY ({sql}) TO '{_quote(tmp)}' "
                        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"
                    ).fetchall()
            finally:
                self.con.raw_sql("SET preserve_insertion_order = false").fetchall()
        return Path(path)

    # -- functions Ibis does not offer portably -----------------------------------------------

    def hmac_sha256(self, value: ir.StringValue, key: bytes) -> ir.StringValue:
        """HMAC-SHA256 (RFC 2104) of a string column under ``key``, as 64 hex digits.

        Computed in the engine, so national numbers never reach Python; a test checks it
        against the standard library's ``hmac``.
        """
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        inner = ibis.literal(bytes(b ^ 0x36 for b in key).hex())
        outer = ibis.literal(bytes(b ^ 0x5C for b in key).hex())
        digest = _unhex(_sha256(_concat(_unhex(inner), _encode(value))))
        return _sha256(_concat(_unhex(outer), digest))

    @contextmanager
    def located(self) -> Iterator[None]:
        """Turn an engine error caused by a broken source file into a :class:`SourceError`
        naming the file and its table (X2).

        DuckDB reads lazily: a damaged data page fails the first query that scans it, with
        a message such as "Out of buffer" that names no file. On such an error each source
        file read so far is scanned in full, once, and the first one that fails is named;
        when none fails the original error goes on (it is not the data's fault). Running
        out of memory or disk space is not a broken file and is never wrapped."""
        try:
            yield
        except duckdb.Error as err:
            if isinstance(err, _NOT_DATA) or "No space left" in str(err):
                raise
            for path, table in self._read.items():
                problem = _unreadable(path)
                if problem is not None:
                    raise SourceError(
                        f"table {table}: not a readable Parquet file: {redact(problem)}",
                        rule="unreadable-file",
                        file=str(path),
                    ) from err
            raise

    def _check_columns(self, path: Path, spec: Table, *, complete: bool) -> None:
        """The contract's columns of one file, by the sources check's rule: every part of a
        table is judged (DuckDB reads a folder of parts by the first part's schema, so a
        part without a column would otherwise pass unseen). Reads only the footer."""
        rows = self.con.raw_sql(f"DESCRIBE SELECT * FROM read_parquet('{_quote(path)}')").fetchall()
        types = {name: str(dtype) for name, dtype, *_ in rows}
        found = column_findings(spec, path, types, complete=complete)
        if found:
            first = found[0]
            raise SourceError(
                f"table {spec.name}: {first.message}",
                rule=first.rule,
                file=first.file,
                column=first.column,
            )

    def _name(self, prefix: str) -> str:
        return f"sluis_{prefix}_{next(self._names)}"


def connect(**options: object) -> Engine:
    """The default engine (DuckDB)."""
    return Engine(**options)  # type: ignore[arg-type]


#: engine errors that say nothing about the data read: no source file is scanned for them
#: (a query the code built wrong is a bug, and at full scale the scan would take minutes)
_NOT_DATA = (
    duckdb.OutOfMemoryException,
    duckdb.InterruptException,
    duckdb.BinderException,
    duckdb.CatalogException,
    duckdb.ParserException,
    duckdb.NotImplementedException,
)


def _unreadable(path: Path) -> str | None:
    """The first line of the error a full scan of every column of ``path`` gives, or None."""
    con = duckdb.connect()
    try:
        con.execute(f"SELECT bit_xor(hash(t)) FROM read_parquet('{_quote(path)}') AS t").fetchall()
    except duckdb.Error as err:
        return str(err).splitlines()[0]
    finally:
        con.close()
    return None


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
