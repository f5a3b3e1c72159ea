"""Render a page from a template in ``sluis/report/templates`` and write it atomically."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from sluis import __version__
from sluis.atomic import write_text

if TYPE_CHECKING:  # matplotlib loads only when a figure is drawn (about 0.5 s)
    from matplotlib.figure import Figure


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sluis.report", "templates"),
        autoescape=True,  # every value from data or a spec is escaped
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["num"] = _num
    # (not importlib.metadata: importing it and reading the installed metadata cost every
    # report 0.02-0.03 s of CPU)
    env.globals["sluis_version"] = __version__
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept in Jinja's per-user cache folder (0700, in the temp folder):
    compiling ``scra.html`` took a quarter of a second of every ``sluis scra`` run. The
    cache holds only compiled template code, never data; without a usable temp folder the
    templates are compiled each time."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


def render_page(template: str, *, title: str, **context: Any) -> str:
    """The HTML of ``template`` (which extends ``base.html``) with ``context``."""
    return _environment().get_template(template).render(title=title, **context)


def write_page(path: Path, template: str, *, title: str, **context: Any) -> Path:
    """Render and write atomically; returns the path."""
    return write_text(path, render_page(template, title=title, **context))


def svg(figure: Figure) -> Markup:
    """A matplotlib figure as inline SVG markup.

    Build figures with ``matplotlib.figure.Figure`` (no pyplot: no global state, no GUI
    backend). SVG text is kept as text and the id salt fixed, so the same data give the same
    bytes (X3).
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "sluis"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return Markup(text[text.index("<svg") :])


def _num(value: Any, digits: int = 0) -> str:
    """Numbers with thin thousands separators, as in the rest of sluis's output."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)
