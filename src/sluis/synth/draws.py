"""Random draws the demography of :mod:`sluis.synth.population` shares: weighted picks
without replacement, quarterly hazards, whole counts that add up to the margins, and
municipalities drawn by population within a group.
"""

from __future__ import annotations

import numpy as np


def pick(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Draw ``k`` positions without replacement, with probability by weight
    (Efraimidis and Spirakis 2006); positions come back sorted."""
    positive = np.flatnonzero(weights > 0)
    k = min(k, len(positive))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    keys = np.log(rng.random(len(positive))) / weights[positive]
    chosen = positive[np.argpartition(-keys, k - 1)[:k]]
    return np.sort(chosen)


def hazard(rng: np.random.Generator, annual: np.ndarray) -> np.ndarray:
    """Bernoulli draws for a quarter of an annual hazard rate."""
    annual = np.asarray(annual, dtype=np.float32)
    return rng.random(len(annual), dtype=np.float32) < -np.expm1(annual / -4.0)


class Carry:
    """Turns fractional expected counts into integers without losing the remainder, so
    that chunk totals add up to the margins."""

    def __init__(self) -> None:
        self.rest: dict[object, float] = {}

    def __call__(self, key: object, expected: float) -> int:
        value = expected + self.rest.get(key, 0.0)
        count = int(np.floor(value))
        self.rest[key] = value - count
        return max(count, 0)


class GroupSampler:
    """Draws municipalities with probability by population, within a group (arrondissement,
    region, or the whole country)."""

    def __init__(self, group: np.ndarray, weights: np.ndarray) -> None:
        self.order = np.argsort(group, kind="stable")
        self.cum = np.cumsum(weights[self.order])
        bounds = np.searchsorted(group[self.order], np.arange(group.max() + 2))
        self.lo = np.where(bounds[:-1] > 0, self.cum[np.maximum(bounds[:-1] - 1, 0)], 0.0)
        self.hi = self.cum[np.maximum(bounds[1:] - 1, 0)]

    def draw(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        pos = self.lo[groups] + u * (self.hi[groups] - self.lo[groups])
        idx = np.searchsorted(self.cum, pos, side="right")
        return self.order[np.minimum(idx, len(self.order) - 1)].astype(np.int16)
