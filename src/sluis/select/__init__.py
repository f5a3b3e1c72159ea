"""Select the populations of a spec on their reference dates and draw the samples (A1, A2,
B2). Everything is an Ibis expression over the source tables; samples come from a keyed
hash of the person, never an engine's ``sample()``, so every engine draws the same persons.
"""

from sluis.select.population import Sources, population
from sluis.select.sample import Selection, draw, select_samples

__all__ = ["Selection", "Sources", "draw", "population", "select_samples"]
