"""Extract the raw datasets of a spec from the source registers (G6, G7, A6-A13).

A *raw dataset* has one column per variable of the spec's dataset, named as the spec names
it, holding the value before pseudonymisation and coarsening (an INSZ, an exact date, an
amount in euros). It never leaves the pseudonymiser's workspace; :mod:`sluis.pseudo` and
:mod:`sluis.coarsen` turn it into what may be delivered.
"""

from sluis.extract.datasets import extract_dataset
from sluis.extract.frame import Frames, build_frames

__all__ = ["Frames", "build_frames", "extract_dataset"]
