"""One run of an authorisation: the stages in order, each party in its own workspace."""

from sluis.flow.run import RunSummary, run_spec

__all__ = ["RunSummary", "run_spec"]
