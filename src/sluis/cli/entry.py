"""The ``sluis`` console script: ``sluis scra FILE`` without loading every other verb (G5, X2).

``sluis.cli.app`` registers every verb, and importing it loads what they all need (Ibis,
pandas, asyncssh, the spec model, ...): about a second before any work starts. The
small-cell risk analysis of a file is a command a steward runs on a million records and
expects back in well under a second, as fast as the analysis itself, so ``sluis scra``
without ``--spec``/``--staged`` is parsed by :mod:`sluis.cli.scra_fast` (no Typer, no
Pydantic), or, for help and usage errors, by an app that holds only the ``scra`` command:
the same function, options, help text and exit codes, and the same one-line errors
(:func:`guarded`). Every other command line goes to :func:`sluis.cli.app.main`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sluis.errors import SluisError

#: exit code of an unexpected exception (a bug in sluis, not in the user's input)
BUG_EXIT = 3
#: options that need the whole app (the spec-driven run reads specs and sealed extracts)
_FULL_APP_OPTIONS = ("--spec", "--staged")


def main() -> None:
    """Entry point of the console script (see the module docstring)."""
    args = sys.argv[1:]
    if args[:1] == ["scra"] and not any(
        a in _FULL_APP_OPTIONS or a.startswith(tuple(o + "=" for o in _FULL_APP_OPTIONS))
        for a in args
    ):
        from sluis.cli.scra_fast import parse, run

        parsed = parse(args[1:])
        if parsed is not None:
            # no linear algebra here: OpenBLAS need not start a thread per core at import
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            with _pandas_hidden():
                guarded(lambda: run(parsed))
        else:
            guarded(_scra_app())
        return
    from sluis.cli.app import main as full_main

    full_main()


@contextmanager
def _pandas_hidden() -> Iterator[None]:
    """``import pandas`` fails while the analysis of a file runs.

    pyarrow imports pandas (0.3-0.5 s, more than reading a million records) the first time
    it converts an array, only to tell a pandas object from other input, and again when it
    converts to numpy; the analysis never hands it or asks it for a pandas object, and
    pyarrow and DuckDB work without pandas. Should a later change need pandas here, the
    run stops with an ImportError naming it (a bug, caught by ``tests/test_scra_fast.py``).
    """
    finder = _NoPandas()
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)


class _NoPandas:
    """A module finder under which ``import pandas`` fails (see above)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not loaded by `sluis scra FILE` (sluis.cli.entry)")


def _scra_app() -> Callable[[], None]:
    """A Typer app with the one command ``scra`` (what ``sluis scra`` is in the full app)."""
    from sluis.cli.helptext import SluisTyper
    from sluis.cli.scra_cmd import scra

    app = SluisTyper(
        name="sluis", add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True
    )

    @app.callback()
    def _group() -> None:
        """Provision research data exactly as an authorisation allows."""

    app.command("scra")(scra)
    return app


def guarded(run: Callable[[], None]) -> None:
    """Run ``run`` (a Typer app), printing user errors as one line without a traceback.

    A termination signal (SIGTERM, as a scheduler or ``kill`` sends) stops the run like an
    interrupt: every ``finally`` runs, so received source data is destroyed and temporary
    engine files are removed; exit code 143. Rich is imported when a line is printed (a
    file run reads its file while Rich and the analysis load, :mod:`sluis.cli.scra_fast`)."""
    from sluis.errors import SluisError

    signal.signal(signal.SIGTERM, _terminate)
    try:
        run()
    except SluisError as err:
        _print_line("error", error_text(err))
        sys.exit(2)
    except Exception as err:  # anything else is a bug: one line, the traceback kept
        _print_line("bug", bug_text(err))
        sys.exit(BUG_EXIT)


def _print_line(label: str, text: str) -> None:
    """``label: text`` on stderr, one line whatever the terminal width; the message is
    text, never Rich markup."""
    from rich.console import Console
    from rich.text import Text

    Console(stderr=True).print(Text.assemble((label, "bold red"), f": {text}"), soft_wrap=True)


def bug_text(err: Exception) -> str:
    """One line for an exception no user input should cause: what it was (redacted, as the
    message may quote data) and the owner-only file that holds the full traceback (X2)."""
    import tempfile
    import traceback

    from sluis.sources.masking import redact

    fd, name = tempfile.mkstemp(prefix="sluis-bug-", suffix=".txt")  # mode 0600
    with open(fd, "w", encoding="utf-8") as f:
        f.write("".join(traceback.format_exception(err)))
    first = (str(err).splitlines() or [""])[0]
    what = f"{type(err).__name__}: {redact(first)}" if first else type(err).__name__
    return (
        f"this is a bug in sluis, not in your input ({what}); "
        f"the full traceback is in {name}; please report it"
    )


def error_text(err: SluisError) -> str:
    """The error after the ``error:`` prefix; an error without its own rule id has the
    default one, ``error``, which is not repeated (``error: error: ...`` before)."""
    if err.rule != "error":
        return str(err)
    where = ":".join(str(p) for p in (err.file, err.line, err.column, err.row) if p is not None)
    text = f"{where}: {err.message}" if where else err.message
    return f"{text} (hint: {err.hint})" if err.hint else text


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
