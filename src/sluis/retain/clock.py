"""The one date every retention decision reads (issue 18 item 5, G9).

Deadlines in the decisions are Belgian calendar dates ("at the latest on 31 October
2029"), so "today" is the date in Brussels, not in UTC: at 00:30 on 1 November in Brussels
the 2029 deadline has passed although it is still 31 October in UTC. Tests and a data
steward who wants to see what is due on a given day pass ``--today``; every command that
decides on a deadline (deliver, retain list, retain destroy) calls :func:`today` with it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sluis.errors import UsageError

#: the decisions' deadlines are dates in Belgium
ZONE = ZoneInfo("Europe/Brussels")


def today(given: str | dt.date | None = None) -> dt.date:
    """``given`` (a date or ``YYYY-MM-DD``, e.g. from ``--today``), else today's date in
    Brussels. A string that is not a date is a usage error naming the option."""
    if given is None:
        return dt.datetime.now(ZONE).date()
    if isinstance(given, dt.date):
        return given
    try:
        return dt.date.fromisoformat(given)
    except ValueError:
        raise UsageError(f"--today {given!r} is not YYYY-MM-DD", rule="bad-date") from None


def parse_days(text: str) -> int:
    """A span such as ``90d``, ``12w`` or ``90`` (days) as a number of days, for
    ``--due-within``."""
    value = text.strip().lower()
    unit = {"d": 1, "w": 7}.get(value[-1:])
    number = value[:-1] if unit else value
    if not number.isdigit():
        raise UsageError(
            f"--due-within {text!r} is not a number of days (90d) or weeks (12w)",
            rule="bad-span",
        )
    return int(number) * (unit or 1)
