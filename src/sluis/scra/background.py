"""Reads and writes that run on a second thread while the SCRA goes on (G5, issue 19
item 6).

Reading and writing a file is mostly work outside the interpreter: Arrow's C++ decodes,
encodes and compresses a Parquet file, and ``fsync`` waits for the disk (every write is
atomic, :mod:`sluis.atomic`), all without holding the GIL. A ``sluis scra FILE --suppress``
run measured the treated data only after its treated file of a million records was on
disk (about a tenth of a second); started here, the file is written while the run measures
the treated data and renders its report, and the run waits for it before it reports; the
file to analyse is read while the analysis is imported (:func:`sluis.scra.inputs.prefetch`).
The bytes are the same; a failed write raises in the run, where :meth:`Pending.wait` is
called.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Pending:
    """One write running on its own thread; :meth:`wait` for it before anything reads
    the file or the run reports success."""

    def __init__(self, write: Callable[[], object], name: str) -> None:
        self._error: BaseException | None = None
        self._write = write
        self._thread = threading.Thread(target=self._run, name=f"sluis-{name}")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._write()
        except BaseException as err:  # raised again in the run by wait()
            self._error = err

    def wait(self) -> None:
        """Block until the write is done; raise its error, if it failed."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
