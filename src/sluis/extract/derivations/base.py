"""What every derivation is and works on (G6, G7).

A :class:`Derivation` is one derived variable declared once, next to its code: its id (the
name a spec's ``derive:`` gives), the requirement items it serves, the contract columns it
reads, a description for ``docs/source-contract.md`` and its implementation, a builder that
adds the variable's column to the dataset's wide table. The helpers here (:func:`attach`,
:func:`latest`, :func:`school_year`) are what most builders share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from sluis.engine import Engine
from sluis.extract.frame import Frames
from sluis.select.population import Sources
from sluis.select.sample import Selection
from sluis.spec.model import Spec, Variable


@dataclass
class Context:
    """What the derivations of one dataset work on."""

    engine: Engine
    sources: Sources
    spec: Spec
    selection: Selection
    frames: Frames
    frame: ir.Table  # person, subject, qend (dated datasets) [, job]
    keys: tuple[str, ...]
    #: the wide table once its plain columns are joined (the dataset's rows)
    base: ir.Table | None = None

    def of(self, table: str) -> ir.Table:
        """A source table cut to the run's subjects (computed once per run)."""
        return self.frames.restricted(self.engine, self.sources, table)


#: adds the variable's column (named ``variable.name``) to the wide table
Build = Callable[[Context, ir.Table, Variable], ir.Table]


@dataclass(frozen=True)
class Derivation:
    """One derived variable: what it serves, what it reads, what it does and how."""

    #: ``domain.name``: what a spec's ``derive:`` says
    id: str
    #: the requirement items it serves (``"A12: NACE of the employer"``, see ``covers``)
    serves: tuple[str, ...]
    #: the contract columns it reads (``table.column``)
    columns: tuple[str, ...]
    description: str
    build: Build
    #: the frame column it is, when the frame computes it (a cohort, a job's number): kept
    #: when the frame is cut to the dataset's columns
    frame: str | None = None

    @property
    def requirements(self) -> tuple[str, ...]:
        """The requirement IDs it serves (``A12``), in order, once each."""
        return tuple(dict.fromkeys(item.split(":", 1)[0] for item in self.serves))


def frame_column(column: str) -> Build:
    """The value the frame computed as ``column``."""

    def build(ctx: Context, w: ir.Table, v: Variable) -> ir.Table:
        return w.mutate(**{v.name: w[column]})

    return build


def attach(
    ctx: Context, w: ir.Table, values: ir.Table, on: tuple[str, ...], name: str, default=None
) -> ir.Table:
    """Left-join one computed column ``_v`` of ``values`` (keyed by ``on``) as ``name``.

    ``values`` is computed once into a small table; the joins onto the dataset stay lazy
    and run as one query at the end."""
    values = ctx.engine.materialise(values.select(*on, "_v"))
    r = values.rename({f"_on_{k}": k for k in on})
    value = r._v if default is None else ibis.coalesce(r._v, default)
    # one select per attached column: a dataset attaches dozens, and each nested layer
    # costs the query's compilation and planning time
    j = w.left_join(r, [w[k] == r[f"_on_{k}"] for k in on])
    return j.select(*[w[c] for c in w.columns if c != name], **{name: value})


def latest(t: ir.Table, keys: tuple[str, ...], by: str) -> ir.Table:
    """One row per key: the one with the latest ``by`` (deterministic)."""
    w = ibis.row_number().over(group_by=[t[k] for k in keys], order_by=[ibis.desc(t[by])])
    return t.mutate(_n=w).filter(lambda x: x._n == 0).drop("_n")


def school_year(day: ir.DateValue) -> ir.IntegerValue:
    """School year Y runs from 1 September Y to 31 August Y+1."""
    return day.year() - (day.month() < 9).cast("int64")
