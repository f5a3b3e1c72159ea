"""``sluis scra FILE --keys ...`` parsed without Typer (G5, X2).

Typer builds a Pydantic adapter for every option before it runs a command: importing Typer
and Pydantic and building those adapters cost about a quarter of a second of every run, as
much as measuring a million records. The console script (:mod:`sluis.cli.entry`) therefore
parses a well-formed file command line with the standard library's ``argparse`` into the
options :func:`sluis.cli.scra_cmd.scra` declares, and calls the same
:func:`~sluis.cli.scra_view.run_file`. Anything else (``--help``, an unknown or misspelt
option, a value that is not a number, a missing FILE or ``--keys``) is left to the Typer
command, so help texts and usage errors stay Typer's and there is one definition of what
they say. ``tests/test_scra_fast.py`` checks that both parsers know the same options.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn


class _NotFast(Exception):
    """The command line is not one this parser handles: Typer's app takes it."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # never print or exit: let Typer say it
        raise _NotFast(message)


def _parser() -> _Parser:
    p = _Parser(prog="sluis scra", add_help=False, allow_abbrev=False)
    p.add_argument("file", nargs="?", type=Path)
    p.add_argument("--out", dest="out_dir", type=Path, required=True)
    p.add_argument("--keys", action="append")
    for name in ("weight", "household", "sensitive", "person", "quarter", "states"):
        p.add_argument(f"--{name}")
    p.add_argument("--suppression", default="strict")
    p.add_argument("-k", "--k", dest="k", type=int, default=5)
    p.add_argument("--l-min", dest="l_min", type=int, default=2)
    p.add_argument("--max-global-risk", dest="max_global_risk", type=float)
    p.add_argument("-m", "--window", dest="window", type=int, default=4)
    for name, default in (("suda", False), ("suppress", False), ("treat", True)):
        p.add_argument(f"--{name}", dest=name, action="store_true", default=default)
        p.add_argument(f"--no-{name}", dest=name, action="store_false")
    return p


def option_strings() -> set[str]:
    """Every option string this parser accepts (compared with Typer's in the tests)."""
    return set(_parser()._option_string_actions)


def parse(args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of :func:`~sluis.cli.scra_view.run_file` for ``args`` (after
    ``scra``), or None when Typer's command should handle the command line."""
    if any(a in ("--help", "-h") for a in args):
        return None
    try:
        ns = _parser().parse_args(args)
    except _NotFast:
        return None
    if ns.file is None or not ns.keys:
        return None
    kwargs = vars(ns)
    del kwargs["treat"]  # without --spec it changes nothing (as in the Typer command)
    return kwargs


def run(kwargs: dict[str, Any]) -> None:
    """Run the parsed command; exit 1 when a threshold does not hold (as the command).

    The file's columns are read on a second core (:func:`sluis.scra.inputs.prefetch`)
    while Rich, the analysis and the report are imported."""
    from sluis.scra.inputs import forget_prefetched, prefetch

    kwargs = dict(kwargs)
    file, out_dir = kwargs.pop("file"), kwargs.pop("out_dir")
    prefetch(file, _columns(kwargs))
    try:
        from sluis.cli.scra_view import run_file

        if not run_file(file, out_dir, **kwargs):
            raise SystemExit(1)
    finally:
        forget_prefetched()


def _columns(kwargs: dict[str, Any]) -> list[str]:
    """The columns the options name (what the plan's measures read, in another order)."""
    lists = [*kwargs["keys"], kwargs["sensitive"] or "", kwargs["states"] or ""]
    named = [kwargs[name] for name in ("weight", "household", "person", "quarter")]
    return [c.strip() for v in lists for c in v.split(",") if c.strip()] + [c for c in named if c]
