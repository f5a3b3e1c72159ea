"""Authorisations as code (G1): the spec model, loading with positions, the rules a spec
must keep, and the data-minimisation check every later stage calls."""

from sluis.spec.load import Problem, SpecError, load_spec, spec_digest
from sluis.spec.minimise import MinimisationError, require_named
from sluis.spec.model import Spec

__all__ = [
    "MinimisationError",
    "Problem",
    "Spec",
    "SpecError",
    "load_spec",
    "require_named",
    "spec_digest",
]
