"""The synthetic Belgium (S1-S4): registers in the source contract, deterministic, chunked."""

from sluis.synth.run import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
