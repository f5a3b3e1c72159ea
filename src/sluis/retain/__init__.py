"""Retention (G9): destruction of data a party may no longer hold, with its record."""

from sluis.retain.destroy import Destroyed, destroy

__all__ = ["Destroyed", "destroy"]
