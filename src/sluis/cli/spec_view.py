"""Terminal and HTML rendering of a spec summary and of spec problems (G1, X4)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from sluis.report import write_page
from sluis.spec.load import Problem
from sluis.spec.model import Spec
from sluis.spec.summary import SpecSummary


def render_problems(console: Console, problems: list[Problem]) -> None:
    """One problem per line, ``file:line:column: rule-id: message``, as compilers print."""
    for p in problems:
        console.print(Text(str(p)), soft_wrap=True, highlight=False)


def render_spec_line(console: Console, path: Path, spec: Spec, page: Path) -> None:
    """One line per valid spec: what it delivers and where its summary page is."""
    variables = sum(len(ds.variables) for ds in spec.datasets.values())
    console.print(
        Text.assemble(
            ("spec ok", "green"),
            f"  {path}: decision {spec.decision.id}, {len(spec.datasets)} datasets, "
            f"{variables} variables, destroy by {spec.retention.deadline}; summary {page}",
        ),
        soft_wrap=True,
    )


def render_summary(console: Console, s: SpecSummary) -> None:
    console.print(Text(s.title, style="bold"))
    facts = RichTable(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="dim")
    facts.add_column()
    for label, value in s.facts:
        facts.add_row(label, value)
    console.print(facts)
    _table(console, "Parties", ("party", "name", "roles", "tables held"), s.parties)
    _table(
        console,
        "Recipients (the package is encrypted to these keys)",
        ("researcher", "email", "public key"),
        s.researchers,
    )
    _table(console, "Populations", ("population", "who", "rules", "expected"), s.populations)
    if s.samples:
        _table(console, "Samples", ("sample", "of", "fraction", "seed", "excluding"), s.samples)
    _table(
        console,
        "Datasets",
        ("dataset", "unit", "rows about", "variables", "what"),
        [(a, b, c, str(n), e) for a, b, c, n, e in s.datasets],
    )
    variables = RichTable(title="Variables", title_justify="left")
    for col in ("dataset", "variable", "label", "source", "coarsening", "§"):
        variables.add_column(col)
    for v in s.variables:
        variables.add_row(v.dataset, v.name, v.label, v.source, v.coarsening, v.paragraph)
    console.print(variables)
    _table(console, "Disclosure thresholds", ("threshold", "value"), s.thresholds)
    cover = RichTable(title="Coverage of the decision's variables", title_justify="left")
    for col, just in (("requirement", "left"), ("delivered", "right"), ("not delivered", "left")):
        cover.add_column(col, justify=just)
    for c in s.coverage:
        missing = "; ".join(m.split(": ", 1)[1] for m in c.missing) or "-"
        style = "green" if not c.missing else "yellow"
        cover.add_row(c.requirement, Text(f"{c.covered}/{c.total}", style=style), missing)
    console.print(cover)


def write_summary_html(path: Path, s: SpecSummary) -> Path:
    """The same content as the terminal summary, as one self-contained page."""
    return write_page(path, "spec.html", title=s.title, s=s)


def _table(console: Console, title: str, header: tuple[str, ...], rows: list) -> None:
    table = RichTable(title=title, title_justify="left")
    for col in header:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(x) for x in row))
    console.print(table)
