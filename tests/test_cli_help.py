"""X4: ``sluis --help`` and every verb's help read well at any terminal width.

Each command's docstring is a one-line summary, prose paragraphs and an example. The summary
is what ``sluis --help`` and a group's listing show, on one line; the prose is reflowed by
Rich to the terminal's width, never cut into the half-lines of the docstring's own line
breaks; the example keeps its lines, each unbroken at 80 columns. These tests read the help
as a user sees it (Typer's runner with ``COLUMNS``, and the installed entry point with
``TERMINAL_WIDTH``) and compare it with the docstrings the commands were declared with.
"""

from __future__ import annotations

import inspect
import itertools
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from typer.testing import CliRunner

from sluis.cli.app import app
from sluis.cli.helptext import reflow, summary

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BLANK = re.compile(r"\n[ \t]*\n")
#: the help body is printed with one column of padding on each side
PADDING = 2
#: widths the help must fit; an example line must stay whole from here up
NARROWEST, EXAMPLE_WIDTH = 60, 80


@dataclass(frozen=True)
class Command:
    """One command or group as declared: its path under ``sluis`` and its docstring."""

    path: tuple[str, ...]
    doc: str
    children: tuple[str, ...] = ()

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in BLANK.split(inspect.cleandoc(self.doc)) if p.strip()]

    @property
    def summary(self) -> str:
        return " ".join(self.paragraphs[0].split())


def _declared(typer_app: typer.Typer, path: tuple[str, ...] = ()) -> list[Command]:
    """Every command and group of an app, from what was registered (not from the help)."""
    commands = []
    children = []
    for info in typer_app.registered_commands:
        assert info.callback is not None
        name = info.name or info.callback.__name__.replace("_", "-")
        children.append(name)
        commands.append(Command((*path, name), info.help or inspect.getdoc(info.callback) or ""))
    for group in typer_app.registered_groups:
        assert group.name and group.typer_instance is not None
        children.append(group.name)
        commands += _declared(group.typer_instance, (*path, group.name))
    help_text = typer_app.info.help
    doc = help_text if isinstance(help_text, str) else ""
    return [Command(path, doc, tuple(children)), *commands]


COMMANDS = _declared(app)
BY_PATH = {command.path: command for command in COMMANDS}


def _help(path: tuple[str, ...], width: int) -> list[str]:
    """The lines of ``sluis <path> --help`` on a terminal ``width`` columns wide."""
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.output).splitlines()


def _body(lines: list[str]) -> list[list[str]]:
    """The help text between the usage line and the first panel, as paragraphs of lines."""
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Usage:"))
    end = next((i for i in range(start, len(lines)) if lines[i].lstrip().startswith("╭")), None)
    paragraphs: list[list[str]] = [[]]
    for line in lines[start + 1 : end]:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _listing(lines: list[str]) -> dict[str, list[str]]:
    """The rows of the Commands panel: each command's name and the lines of its summary."""
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("╭─ Commands"))
    rows: dict[str, list[str]] = {}
    name = ""
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("╰"):
            break
        inner = line.strip()[1:-1]  # between the panel's borders
        if inner[1:2].strip():  # a name in the first column starts a row
            name, _, text = inner.strip().partition(" ")
            rows[name] = [text.strip()]
        else:
            rows[name].append(inner.strip())
    return rows


def _is_example(paragraph: str) -> bool:
    return paragraph.startswith(("Example:", "Examples:"))


def _ragged(lines: list[str], width: int) -> list[str]:
    """Lines of a wrapped paragraph that end although the next line's first word fits."""
    return [
        line
        for line, after in itertools.pairwise(lines)
        if cell_len(line) + 1 + cell_len(after.split()[0]) <= width - PADDING
    ]


def _check_help(command: Command, width: int) -> None:
    lines = _help(command.path, width)
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, f"sluis {' '.join(command.path)} --help at {width}: {too_wide}"
    body = _body(lines)
    declared = command.paragraphs
    assert [" ".join(" ".join(p).split()) for p in body] == [
        " ".join(p.split()) for p in declared
    ], f"sluis {' '.join(command.path)}: the help shows other text than the docstring"
    for shown, paragraph in zip(body, declared, strict=True):
        if _is_example(paragraph):
            if width >= EXAMPLE_WIDTH:
                assert shown == [line.strip() for line in paragraph.splitlines()], (
                    f"sluis {' '.join(command.path)} at {width}: an example line is broken"
                )
        else:
            assert not _ragged(shown, width), (
                f"sluis {' '.join(command.path)} at {width}: ragged lines {_ragged(shown, width)}"
            )
    if width >= EXAMPLE_WIDTH:
        assert body[0] == [command.summary], f"sluis {' '.join(command.path)}: summary"


@pytest.mark.parametrize("width", [EXAMPLE_WIDTH, 200])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(("sluis", *c.path)))
def test_x4_help_reflows_to_the_width(command: Command, width: int) -> None:
    """Exit 0, nothing wider than the terminal, the docstring's text in order, prose wrapped
    to the width (no line ends where the next word would fit), examples whole."""
    _check_help(command, width)


@pytest.mark.parametrize("width", [EXAMPLE_WIDTH, 200])
@pytest.mark.parametrize(
    "group", [c for c in COMMANDS if c.children], ids=lambda c: " ".join(("sluis", *c.path))
)
def test_x4_listings_show_one_line_summaries(group: Command, width: int) -> None:
    """``sluis --help`` and each group's help list every verb with its one-line summary."""
    rows = _listing(_help(group.path, width))
    assert set(rows) == set(group.children)
    for name in group.children:
        assert rows[name] == [BY_PATH[(*group.path, name)].summary], f"{name}: {rows[name]}"


def test_x4_every_command_has_a_summary_and_an_example() -> None:
    """A summary of one short sentence, and every verb (not group) an example."""
    for command in COMMANDS:
        assert command.summary, command.path
        assert "\n" not in command.paragraphs[0].strip(), f"{command.path}: summary of 2 lines"
        if not command.children and command.path:
            assert any(_is_example(p) for p in command.paragraphs), command.path


def test_x4_paragraphs_take_fewer_lines_on_a_wider_terminal() -> None:
    """The longest paragraph of ``sluis run --help`` takes fewer lines at 200 than at 80."""
    narrow, wide = (_body(_help(("run",), width)) for width in (EXAMPLE_WIDTH, 200))
    longest = max(range(len(narrow)), key=lambda i: len(narrow[i]))
    assert len(narrow[longest]) >= 3
    assert len(wide[longest]) < len(narrow[longest])


@settings(max_examples=60, deadline=None)
@given(
    command=st.sampled_from(COMMANDS),
    width=st.integers(min_value=NARROWEST, max_value=220),
)
def test_x4_help_reads_well_at_any_width(command: Command, width: int) -> None:
    """The same properties at any width from 60 to 220 columns."""
    _check_help(command, width)


WORD = st.text(alphabet="abcdefghij-./()<>:,", min_size=1, max_size=12)


@st.composite
def _docstrings(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """A docstring wrapped at any width and indented as in a function body, with the prose
    paragraphs it holds (as word lists joined by spaces) and its example lines."""
    prose = draw(st.lists(st.lists(WORD, min_size=1, max_size=30), min_size=1, max_size=4))
    examples = draw(st.lists(st.lists(WORD, min_size=1, max_size=6), max_size=3))
    wrap, indent = draw(st.integers(10, 90)), " " * draw(st.integers(0, 8))
    parts = [
        f"\n{indent}".join(
            textwrap.wrap(" ".join(words), wrap, break_long_words=False, break_on_hyphens=False)
        )
        for words in prose
    ]
    example_lines = ["sluis " + " ".join(words) for words in examples]
    if example_lines:
        parts.append("\n".join(["Examples:", *(f"{indent}  {x}" for x in example_lines)]))
    return (
        f"\n\n{indent}".join(parts) + "\n" + indent,
        [" ".join(words) for words in prose],
        example_lines,
    )


@given(_docstrings())
def test_x4_reflow_keeps_the_words_and_the_example_lines(
    case: tuple[str, list[str], list[str]],
) -> None:
    """Whatever width a docstring was wrapped at in the source: each prose paragraph becomes
    one line with the same words, the summary is the first, examples keep their lines."""
    doc, prose, example_lines = case
    parts = reflow(doc).split("\n\n")
    assert parts[: len(prose)] == prose
    assert summary(doc) == prose[0]
    if example_lines:
        assert [x.strip() for x in parts[-1].splitlines()] == ["Examples:", *example_lines]
    else:
        assert len(parts) == len(prose)


def test_x4_entry_point_follows_terminal_width() -> None:
    """The installed ``sluis`` reads ``TERMINAL_WIDTH`` (as Typer's Rich console does)."""
    entry = Path(sys.executable).with_name("sluis")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    for width in (EXAMPLE_WIDTH, 200):
        done = subprocess.run(
            [str(entry), "run", "--help"],
            capture_output=True,
            text=True,
            check=False,
            env={**env, "TERMINAL_WIDTH": str(width)},
        )
        assert done.returncode == 0, done.stderr
        lines = ANSI.sub("", done.stdout).splitlines()
        assert max(cell_len(line) for line in lines) == width
        for shown, paragraph in zip(_body(lines), BY_PATH[("run",)].paragraphs, strict=True):
            if not _is_example(paragraph):
                assert not _ragged(shown, width), shown
