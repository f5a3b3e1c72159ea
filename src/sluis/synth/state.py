"""The simulation state of one chunk: person and household arrays, and the event logs.

Everything is a NumPy array indexed by a chunk-local person or household number, so that a
quarter of Belgian life is a few dozen vector operations (S4). Registers are written from
the logs afterwards (:mod:`sluis.synth.tables`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

EPOCH = dt.date(1970, 1, 1)
NONE = -1
#: an empty date: day numbers are negative before 1970, so -1 cannot mean 'none'
NODATE = np.iinfo(np.int32).min

# person status
RESIDENT, ABROAD, DEAD, NONRESIDENT = 0, 1, 2, 3
# union type
NO_UNION, MARRIED, LEGAL, DEFACTO = 0, 1, 2, 3
# civil status codes (sluis_codelists.csv, provisional)
NEVER, WED, WIDOWED, DIVORCED = 1, 2, 3, 4
# residence transitions: why a period starts / ends
START_CODES = np.array(["B", "I", "R", "M", "C"])
START_BIRTH, START_IMMIGRATION, START_RETURN, START_MOVE = 0, 1, 2, 3
END_CODES = np.array(["M", "E", "X", "D", "C"])
END_MOVE, END_EMIGRATION, END_STRUCK_OFF, END_DEATH = 0, 1, 2, 3


def day(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def quarter_start(q: int) -> int:
    """First day of quarter ``q`` (0 = 2000Q1)."""
    return day(dt.date(2000 + q // 4, 3 * (q % 4) + 1, 1))


def years(days: np.ndarray | int) -> np.ndarray:
    return np.asarray(days) / 365.2425


PERSON_FIELDS: dict[str, tuple[type, int]] = {
    "sex": (np.int8, 0),
    "birth": (np.int32, 0),
    "death": (np.int32, NODATE),
    "status": (np.int8, RESIDENT),
    "hh": (np.int32, NONE),
    "father": (np.int32, NONE),
    "mother": (np.int32, NONE),
    "partner": (np.int32, NONE),
    "union": (np.int8, NO_UNION),
    "cohab": (np.int32, NONE),  # current legal-cohabitation record
    "nat": (np.int16, 0),  # current nationality (country index)
    "first_nat": (np.int16, 0),
    "cob": (np.int16, 0),  # country of birth
    "birth_muni": (np.int16, NONE),  # municipality of birth, for people born in Belgium
    "civil": (np.int8, NEVER),
    "first_reg": (np.int32, NODATE),
    "arrival": (np.int32, NODATE),  # start of the current stay in Belgium
    "left": (np.int32, NODATE),  # date of the last emigration
    "stock": (np.bool_, False),  # foreigner already resident in 2000
    "refugee": (np.bool_, False),
    "bis": (np.bool_, False),
    # previous quarter's register state, to log changes
    "p_hh": (np.int32, NONE),
    "p_ref": (np.int32, NONE),
    "p_rel": (np.int8, NONE),
    "p_lipro": (np.int8, NONE),
    "p_muni": (np.int16, NONE),
}

HOUSEHOLD_FIELDS: dict[str, tuple[type, int]] = {
    "ref": (np.int32, NONE),
    "muni": (np.int16, NONE),
    "coll": (np.bool_, False),
}


class Table:
    """Growable columns of equal length."""

    def __init__(self, fields: dict[str, tuple[type, int]], capacity: int) -> None:
        self.fields = fields
        self.n = 0
        self.cols = {k: np.full(capacity, fill, dtype=t) for k, (t, fill) in fields.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["cols"][name][: self.__dict__["n"]]
        except KeyError as err:
            raise AttributeError(name) from err

    def add(self, count: int) -> np.ndarray:
        """Append ``count`` rows with default values; return their indices."""
        need = self.n + count
        capacity = len(next(iter(self.cols.values())))
        if need > capacity:
            grow = max(need, int(capacity * 1.5))
            for k, (t, fill) in self.fields.items():
                col = np.full(grow, fill, dtype=t)
                col[: self.n] = self.cols[k][: self.n]
                self.cols[k] = col
        start, self.n = self.n, need
        return np.arange(start, need, dtype=np.int32)


@dataclass
class Log:
    """Appends arrays per step, concatenated once at the end."""

    names: tuple[str, ...]
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.parts = {n: [] for n in self.names}

    def add(self, **cols: np.ndarray | int) -> None:
        arrays = [np.size(v) for v in cols.values() if np.ndim(v) > 0]
        length = max(arrays) if arrays else 1
        for n in self.names:
            v = cols[n]
            self.parts[n].append(np.broadcast_to(np.asarray(v), (length,)).copy())

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            n: (np.concatenate(p) if p else np.empty(0, dtype=np.int64))
            for n, p in self.parts.items()
        }


@dataclass
class Logs:
    #: residence transitions: a new municipality (muni >= 0) or leaving (muni = -1)
    residence: Log = field(
        default_factory=lambda: Log(("person", "date", "muni", "start", "end", "country"))
    )
    #: register household state per period (hh = -1: no longer in a household)
    household: Log = field(
        default_factory=lambda: Log(("person", "date", "hh", "ref", "rel", "lipro"))
    )
    nationality: Log = field(default_factory=lambda: Log(("person", "date", "nat", "mode")))
    civil: Log = field(default_factory=lambda: Log(("person", "date", "civil", "spouse")))
    #: legal cohabitation records, one per couple: ended later via ``cohab_end``
    cohab: Log = field(default_factory=lambda: Log(("id", "a", "b", "start")))
    cohab_end: Log = field(default_factory=lambda: Log(("id", "date", "code")))
    reason: Log = field(default_factory=lambda: Log(("person", "reason", "date", "asylum")))
