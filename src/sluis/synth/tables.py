"""Turn one chunk's simulation logs into the contract's tables (S1, G2).

Each history table is built from a log of changes: a row starts a period that lasts until
the day before the person's next change, or until an exit (death, emigration), whose date
is the period's last day. Persons are still chunk-local numbers here; :mod:`sluis.synth.run` swaps
them for INSZ numbers once every chunk's birth dates are known.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from sluis.synth.population import Chunk
from sluis.synth.register_state import LIPRO_CODES, REL_CODES
from sluis.synth.rows import household_ids
from sluis.synth.state import END_CODES, NODATE, NONE, NONRESIDENT, START_CODES, day
from sluis.synth.world import countries, geography

RECODE_DAY = day(dt.date(2019, 1, 1))
WINDOW_END = day(dt.date(2024, 12, 31))
ACQUISITION = np.array(["", "01", "02", "03", "04"])


def _periods(
    person: np.ndarray, date: np.ndarray, is_exit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order a change log and find each period's end.

    Returns (order, valid_to): ``order`` sorts the log by person, date and arrival order and
    drops all but the last change of a person on one day; ``valid_to`` is the last day of
    each kept row's period (NODATE if open). Exit rows are kept so the caller can read their
    reason, but they start no period.
    """
    seq = np.arange(len(person))
    order = np.lexsort((seq, date, person))
    p, d = person[order], date[order]
    last_of_day = np.ones(len(order), dtype=bool)
    last_of_day[:-1] = (p[1:] != p[:-1]) | (d[1:] != d[:-1])
    order = order[last_of_day]
    p, d, ex = person[order], date[order], is_exit[order]
    same_next = np.zeros(len(order), dtype=bool)
    same_next[:-1] = p[1:] == p[:-1]
    next_date = np.roll(d, -1)
    next_exit = np.roll(ex, -1)
    valid_to = np.where(same_next, np.where(next_exit, next_date, next_date - 1), NODATE)
    return order, valid_to


def _date(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int32)
    return pa.array(values, type=pa.date32(), mask=values == NODATE)


def _ref(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    return pa.array(values, type=pa.int64(), mask=values == NONE)


def _code(codes: np.ndarray, index: np.ndarray) -> pa.Array:
    index = np.asarray(index)
    return pa.array(np.asarray(codes)[np.maximum(index, 0)], type=pa.string(), mask=index == NONE)


def build_tables(sim: Chunk, chunk: int) -> dict[str, pa.Table]:
    """The contract tables of one chunk, with persons as chunk-local int64 numbers."""
    P = sim.P
    cty = countries().code
    geo = geography()
    tables: dict[str, pa.Table] = {}
    n = P.n
    born = np.maximum(P.birth_muni, 0)
    tables["person"] = pa.table(
        {
            "insz": pa.array(np.arange(n, dtype=np.int64)),
            "register": pa.array(np.where(P.bis, "KSZ", "RR")),
            "sex": pa.array(P.sex.astype(str)),
            "birth_date": _date(P.birth),
            "death_date": _date(P.death),
            "country_of_birth": _code(cty, P.cob),
            "birth_nis_code": pa.array(
                np.where(P.birth >= RECODE_DAY, geo.nis_2019[born], geo.nis[born]),
                type=pa.string(),
                mask=P.birth_muni == NONE,
            ),
            "first_nationality": _code(cty, P.first_nat),
            "father_insz": _ref(P.father),
            "mother_insz": _ref(P.mother),
            "first_registration_date": _date(
                np.where(P.status == NONRESIDENT, NODATE, P.first_reg)
            ),
        }
    )

    log = sim.logs.nationality.arrays()
    order, valid_to = _periods(log["person"], log["date"], np.zeros(len(log["date"]), bool))
    tables["nationality"] = pa.table(
        {
            "insz": _ref(log["person"][order]),
            "valid_from": _date(log["date"][order]),
            "valid_to": _date(valid_to),
            "nationality": _code(cty, log["nat"][order]),
            "acquisition": _code(ACQUISITION, log["mode"][order]),
        }
    )

    log = sim.logs.residence.arrays()
    exit_ = log["muni"] == NONE
    order, valid_to = _periods(log["person"], log["date"], exit_)
    nxt = np.roll(order, -1)
    same_next = np.zeros(len(order), dtype=bool)
    same_next[:-1] = log["person"][order][1:] == log["person"][order][:-1]
    end = np.where(same_next, log["end"][nxt], NONE)
    dest = np.where(same_next & exit_[nxt], log["country"][nxt], NONE)
    keep = ~exit_[order]
    person, start_day = log["person"][order][keep], log["date"][order][keep]
    to, end, dest = valid_to[keep], end[keep], dest[keep]
    muni, start = log["muni"][order][keep], log["start"][order][keep]
    origin = log["country"][order][keep]
    # the 2019 NIS vintage: split periods that cross 1 January 2019 where the code changed
    recoded = geo.nis != geo.nis_2019
    cross = (start_day < RECODE_DAY) & ((to == NODATE) | (to >= RECODE_DAY)) & recoded[muni]
    idx = np.concatenate([np.arange(len(person)), np.flatnonzero(cross)])
    second = np.zeros(len(idx), dtype=bool)
    second[len(person) :] = True
    first_half = np.zeros(len(idx), dtype=bool)
    first_half[np.flatnonzero(cross)] = True
    r_from = np.where(second, RECODE_DAY, start_day[idx])
    r_to = np.where(first_half, RECODE_DAY - 1, to[idx])
    r_start = np.where(second, 4, start[idx])
    r_end = np.where(first_half, 4, end[idx])
    r_origin = np.where(second, NONE, origin[idx])
    r_dest = np.where(first_half, NONE, dest[idx])
    nis = np.where(r_from >= RECODE_DAY, geo.nis_2019[muni[idx]], geo.nis[muni[idx]])
    o = np.lexsort((r_from, person[idx]))
    tables["residence"] = pa.table(
        {
            "insz": _ref(person[idx][o]),
            "valid_from": _date(r_from[o]),
            "valid_to": _date(r_to[o]),
            "nis_code": pa.array(nis[o]),
            "start_reason": _code(START_CODES, r_start[o]),
            "end_reason": _code(END_CODES, r_end[o]),
            "origin_country": _code(cty, r_origin[o]),
            "destination_country": _code(cty, r_dest[o]),
        }
    )

    log = sim.logs.household.arrays()
    # a household carries on without a member from the day after they leave; a change on
    # 1 January 2025 falls after the extract
    inside = log["date"] <= WINDOW_END
    log = {name: values[inside] for name, values in log.items()}
    exit_ = log["hh"] == NONE
    order, valid_to = _periods(log["person"], log["date"], exit_)
    keep = ~exit_[order]
    o = order[keep]
    hh_id = household_ids(chunk, log["hh"][o])
    tables["household"] = pa.table(
        {
            "insz": _ref(log["person"][o]),
            "valid_from": _date(log["date"][o]),
            "valid_to": _date(valid_to[keep]),
            "household_id": hh_id,
            "reference_insz": _ref(log["ref"][o]),
            "relation": _code(np.array(REL_CODES), log["rel"][o]),
            "lipro": _code(np.array(LIPRO_CODES), log["lipro"][o]),
        }
    )

    log = sim.logs.civil.arrays()
    order, valid_to = _periods(log["person"], log["date"], np.zeros(len(log["date"]), bool))
    tables["civil_status"] = pa.table(
        {
            "insz": _ref(log["person"][order]),
            "valid_from": _date(log["date"][order]),
            "valid_to": _date(valid_to),
            "civil_status": pa.array(log["civil"][order].astype(str)),
            "spouse_insz": _ref(log["spouse"][order]),
        }
    )

    start, end = sim.logs.cohab.arrays(), sim.logs.cohab_end.arrays()
    end_date = np.full(len(start["id"]), NODATE, dtype=np.int32)
    end_code = np.full(len(start["id"]), NONE, dtype=np.int64)
    end_date[end["id"]] = end["date"]
    end_code[end["id"]] = end["code"]
    pos = np.argsort(start["id"], kind="stable")
    a, b, s = start["a"][pos], start["b"][pos], start["start"][pos]
    ed, ec = end_date[start["id"][pos]], end_code[start["id"][pos]]
    person = np.concatenate([a, b])
    o = np.lexsort((np.concatenate([s, s]), person))
    tables["legal_cohabitation"] = pa.table(
        {
            "insz": _ref(person[o]),
            "partner_insz": _ref(np.concatenate([b, a])[o]),
            "start_date": _date(np.concatenate([s, s])[o]),
            "start_code": pa.array(np.full(len(o), "1")),
            "end_date": _date(np.concatenate([ed, ed])[o]),
            "end_code": _code(np.array(["", "1", "2", "3", "4", "5"]), np.concatenate([ec, ec])[o]),
        }
    )

    log = sim.logs.reason.arrays()
    o = np.lexsort((log["date"], log["person"]))
    first = np.ones(len(o), dtype=bool)
    first[1:] = log["person"][o][1:] != log["person"][o][:-1]
    o = o[first]
    tables["residence_reason"] = pa.table(
        {
            "insz": _ref(log["person"][o]),
            "reason": pa.array(log["reason"][o].astype(str)),
            "registered_date": _date(log["date"][o]),
            "asylum_recognition_date": _date(log["asylum"][o]),
        }
    )
    return tables
