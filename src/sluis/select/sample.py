"""Seeded samples (A2) and the phase-1 draw (A4) from a keyed hash of the person.

A sample of fraction f of N persons is the round(f·N) (half up) persons with the smallest
HMAC-SHA256(seed key, INSZ): exact in size, the same on every engine, and independent of
row order. The seed key is derived from the decision, the sample's name and its seed, so two
samples of one spec (or two specs) never reuse the same ordering.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from sluis.engine import Engine
from sluis.errors import SourceError
from sluis.select.population import Sources, population
from sluis.spec.model import Spec

GENERAL, SUPPLEMENTARY, FAMILY = "1", "2", "3"


def seed_key(decision: str, label: str, seed: int) -> bytes:
    """The HMAC key of one draw: public (a seed is not a secret), distinct per draw."""
    return hashlib.sha256(f"sluis/sample/v1/{decision}/{label}/{seed}".encode()).digest()


def draw(engine: Engine, persons: ir.Table, size: ir.IntegerValue | int, key: bytes) -> ir.Table:
    """The ``size`` persons of ``persons`` (column ``insz``) with the smallest keyed hash."""
    ranked = persons.select("insz").mutate(_h=engine.hmac_sha256(persons.insz, key))
    ranked = ranked.mutate(_rank=ibis.row_number().over(order_by=[ranked._h, ranked.insz]))
    return ranked.filter(ranked._rank < size).select("insz")


@dataclass(frozen=True)
class Selection:
    """The sampled persons of a spec, each with the sample flag that first drew them."""

    persons: ir.Table  # insz, sample (GENERAL / SUPPLEMENTARY)
    populations: dict[str, ir.Table]


def select_samples(engine: Engine, sources: Sources, spec: Spec) -> Selection:
    """Every population and sample of ``spec``; samples in spec order, each excluding the
    persons of the samples it names. The size of a sample is its fraction of the whole
    population (25/074 §3: 25% of the naturalised, drawn among those not in the general
    sample)."""
    pops = {name: engine.materialise(population(sources, spec, name)) for name in spec.populations}
    drawn: dict[str, ir.Table] = {}
    parts = []
    for flag, (name, sample) in enumerate(spec.samples.items(), start=1):
        pool = pops[sample.population]
        total = pool.count()
        for other in sample.exclude:
            pool = pool.anti_join(drawn[other], "insz")
        size = (total * sample.fraction).round().cast("int64")
        key = seed_key(spec.decision.id, name, sample.seed)
        drawn[name] = engine.materialise(draw(engine, pool, size, key))
        parts.append(drawn[name].mutate(sample=ibis.literal(str(flag))))
    persons = engine.materialise(parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0])
    if engine.count(persons) == 0:
        raise no_one_selected(engine, sources, spec, pops)
    return Selection(persons=persons, populations=pops)


def no_one_selected(
    engine: Engine, sources: Sources, spec: Spec, pops: dict[str, ir.Table]
) -> SourceError:
    """The error of a selection without anyone: a run has nothing to extract, and the
    stages after it (the small-cell risk analysis above all) have no meaning on no rows
    (X2). It names an empty source table when one is the cause (a table read so far, or
    one every population reads)."""
    for name in ("person", "residence"):
        if sources.allowed is None or name in sources.allowed:
            sources[name]
    empty = sources.empty()
    if empty:
        return SourceError(
            f"table {empty[0]} has no rows, so spec {spec.decision.id} selects no one",
            rule="empty-table",
            file=sources.where(empty[0]),
        )
    sizes = ", ".join(f"{name} {engine.count(t)}" for name, t in pops.items())
    return SourceError(
        f"spec {spec.decision.id} selects no one from these registers (population sizes: "
        f"{sizes}); there is no one to extract",
        rule="empty-selection",
        file=str(sources.directory),
    )
