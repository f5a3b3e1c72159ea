"""Command help that reads well at any terminal width (X4).

Typer (in its Rich markup mode) shows a command's docstring twice: its first paragraph in the
listing of ``sluis --help`` or of a group, and the whole docstring in the command's own
``--help``. It keeps the docstring's hard line breaks in both, except in the first paragraph
of a command's own help, so a docstring wrapped for the source file came out as ragged
half-lines on a wide terminal and as a whole paragraph per row of a listing. The commands of
sluis follow one convention instead, and :class:`SluisTyper` turns it into help that Rich
wraps to the terminal's width:

- the first paragraph is the **summary**, one short sentence: a listing shows it on one line;
- every other paragraph is **prose**; its line breaks are dropped, so Rich reflows it;
- a paragraph that starts with ``Example:`` or ``Examples:`` is kept **line by line**: each
  line is a command to copy (a long one is continued with ``\\`` on an indented line), short
  enough (:data:`EXAMPLE_WIDTH`) to stay whole on an 80-column terminal.

Blank lines separate paragraphs, as in Click and Typer.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

#: longest line of an example: 80 columns less the help's padding of one column each side
EXAMPLE_WIDTH = 78
_EXAMPLE = ("Example:", "Examples:")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def paragraphs(doc: str) -> list[str]:
    """The paragraphs of a docstring, dedented, without blank ones."""
    return [p for p in _BLANK_LINE.split(inspect.cleandoc(doc)) if p.strip()]


def is_example(paragraph: str) -> bool:
    """Whether a paragraph is an example, whose lines are kept as written."""
    return paragraph.lstrip().startswith(_EXAMPLE)


def summary(doc: str) -> str:
    """The first paragraph of a docstring on one line: what a listing shows."""
    parts = paragraphs(doc)
    return " ".join(parts[0].split()) if parts else ""


def reflow(doc: str) -> str:
    """The docstring with each prose paragraph on one line (Rich wraps it to the terminal)
    and each example paragraph line by line, paragraphs separated by a blank line."""
    return "\n\n".join(
        "\n".join(line.rstrip() for line in part.splitlines())
        if is_example(part)
        else " ".join(part.split())
        for part in paragraphs(doc)
    )


class SluisCommand(TyperCommand):
    """A command whose help is reflowed and whose listing shows its summary line."""

    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        if help:
            kwargs["short_help"] = kwargs.get("short_help") or summary(help)
            help = reflow(help)
        super().__init__(*args, help=help, **kwargs)


class SluisGroup(TyperGroup):
    """A group (``sluis``, ``sluis spec``...) with the same help as :class:`SluisCommand`."""

    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        if help:
            kwargs["short_help"] = kwargs.get("short_help") or summary(help)
            help = reflow(help)
        super().__init__(*args, help=help, **kwargs)


class SluisTyper(typer.Typer):
    """A Typer app whose groups and commands are :class:`SluisGroup` and
    :class:`SluisCommand`, so a command added later follows the convention without a
    ``cls=`` of its own."""

    def __init__(self, *, cls: type[TyperGroup] | None = SluisGroup, **kwargs: Any) -> None:
        super().__init__(cls=cls, **kwargs)

    def command(  # type: ignore[override]
        self,
        name: str | None = None,
        *,
        cls: type[TyperCommand] | None = SluisCommand,
        **kwargs: Any,
    ) -> Any:
        """Register a command as :meth:`typer.Typer.command` does, as a :class:`SluisCommand`."""
        return super().command(name, cls=cls, **kwargs)
