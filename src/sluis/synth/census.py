"""Statbel's register-based censuses of 1 January 2011 and 2021, for one chunk (B5).

A census describes the population on 1 January, so it is read from the state at the end of
the previous quarter (31 December 2010 and 2020): the same positions, jobs and households
as the DWH and National Register tables, in the census's own classes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sluis.synth import labour as lb
from sluis.synth.panel import HIGH, LOW, MID
from sluis.synth.rows import codes, flags, ints

#: census year -> the quarter whose end is the day before the census day
CENSUS_QUARTERS = {2011: 43, 2021: 83}
OWNER_SHARE = np.array([0.72, 0.70, 0.40])  # by region (APPROX)


def household_draws(hh: np.ndarray, salt: int) -> np.ndarray:
    """A uniform draw per household id, the same for every member (a hash, so it needs
    no state shared between quarters)."""
    x = (hh.astype(np.uint64) + np.uint64(salt)) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(29)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(32)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def census_table(quarters: dict[int, lb.Quarter], labour: lb.Labour) -> pa.Table:
    """The census rows of the chunk for 2011 and 2021."""
    parts = [_census(year, quarters[q], labour) for year, q in CENSUS_QUARTERS.items()]
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    order = np.argsort(columns["person"], kind="stable")
    c = {name: values[order] for name, values in columns.items()}
    employed = c["jobs"] > 0
    return pa.table(
        {
            "insz": pa.array(c["person"].astype(np.int64)),
            "census_year": ints(c["year"].astype(np.int16)),
            "household_size": ints(c["size"].astype(np.int16)),
            "arrival_year": ints(c["arrival"].astype(np.int16), c["arrival"] > 0),
            "education_level": codes(tuple("123"), c["education"]),
            "labour_situation": codes(tuple("1234567"), c["situation"]),
            "jobseeker": flags(c["situation"] == 1),
            "ocmw_aid": flags(c["ocmw"]),
            "inactive": flags(c["situation"] >= 2),
            "disability": flags(c["situation"] == 4),
            "student": flags(c["situation"] == 2),
            "agency_work": flags(c["agency"]),
            "service_vouchers": flags(c["vouchers"]),
            "professional_status": codes(tuple(f"{i:02d}" for i in range(1, 11)), c["status"]),
            "occupation": codes(tuple("0123456789"), c["occupation"]),
            "occupation_imputed": flags(c["imputed"], employed),
            "jobs": ints(c["jobs"].astype(np.int8)),
            "sector": codes(tuple("ABCDEFGHIJKLMNOPQRSTU"), c["sector"]),
            "same_province": flags(c["same_province"], employed),
            "performance_type": codes(tuple("12345"), c["performance"]),
            "working_time": codes(tuple("1234"), c["working_time"]),
            "ownership": codes(tuple("1234"), c["ownership"]),
            "rooms_per_occupant": pa.array(np.round(c["rooms"], 2)),
        }
    )


def _census(year: int, Q: lb.Quarter, L: lb.Labour) -> dict[str, np.ndarray]:
    p, J, res, sep = L.p, L.jobs, Q.res, Q.sep
    m = len(res)
    rng = L.rng
    age = Q.age
    work = lb.working(sep)
    edu = p.edu[res]
    finished = age >= p.study_end[res]
    current = np.where(age < 18, LOW, np.where(edu == HIGH, MID, edu))
    education = np.where(age < 15, -1, np.where(finished, edu, current))
    situation = np.select(
        [
            work,
            lb.is_sep(sep, lb.JOBSEEKERS) | (sep == lb.EXEMPTED),
            (sep == lb.CHILD) & (age >= 15),
            lb.is_sep(sep, (lb.PENSIONER, lb.EARLY_RETIRED)),
            lb.is_sep(sep, (lb.INCAPACITY, lb.ACCIDENT, lb.DISABILITY)),
            age < 15,
        ],
        [0, 1, 2, 3, 4, 6],
        5,
    )
    employee = Q.employee_jobs > 0
    own = Q.self_job > 0
    white = J.white_collar[res]
    civil = L.civil[res] & J.public[res]
    status = np.select(
        [employee & own, Q.self_job == lb.HELPER, own & J.staff[res], own,
         civil, J.apprentice[res] & employee, J.agency[res] & employee,
         employee & J.public[res], employee & white, employee],
        [9, 8, 7, 6, 3, 4, 5, 2, 1, 0],
        -1,
    )  # fmt: skip
    skill = p.skill[res]
    occupation = np.select(
        [~work, own & (J.section_of[J.self_nace[res]] == 0), civil | (white & (edu == HIGH)),
         white & (edu == MID), white, skill > 0.5],
        [-1, 6, 1 + (skill * 3).astype(int) % 3, 3 + (skill * 7).astype(int) % 3, 4, 7],
        8 + (skill * 5).astype(int) % 2,
    )  # fmt: skip
    imputed = rng.random(m) < (0.3 if year == 2011 else 0.15)
    section = np.where(
        employee, J.section_of[J.nace[res]], np.where(own, J.section_of[J.self_nace[res]], -1)
    )
    performance = np.select(
        [~work, employee & (J.agency[res] | J.seasonal[res] | J.home_work[res]),
         employee & (Q.pct < 100), employee, own],
        [-1, 2, 1, 0, 3],
        4,
    )  # fmt: skip
    working_time = np.select([~work, own & ~employee, Q.pct == 100, Q.pct >= 50], [-1, 3, 0, 1], 2)
    hh = p.hh[res, Q.q]
    region = Q.region
    u = household_draws(hh, year)
    owner = OWNER_SHARE[region]
    ownership = np.select([u < owner, u < owner + (1 - owner) * 0.75, u < 0.985], [0, 1, 2], 3)
    rooms = (3 + np.floor(household_draws(hh, year + 7) * 4)) / np.maximum(Q.household_size, 1)
    first = p.first_reg[res].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    arrival = np.where(p.immigrant[res], 1970 + first, 0)
    return {
        "person": res,
        "year": np.full(m, year, dtype=np.int16),
        "size": Q.household_size,
        "arrival": arrival.astype(np.int16),
        "education": education.astype(np.int8),
        "situation": situation.astype(np.int8),
        "ocmw": lb.is_sep(sep, (lb.LEEFLOON, lb.SOCIAL_AID)),
        "agency": employee & J.agency[res],
        "vouchers": employee & J.vouchers[res],
        "status": status.astype(np.int8),
        "occupation": occupation.astype(np.int8),
        "imputed": imputed,
        "jobs": (Q.employee_jobs + own).astype(np.int8),
        "sector": section.astype(np.int8),
        "same_province": rng.random(m) < np.where(region == 2, 0.6, 0.8),
        "performance": performance.astype(np.int8),
        "working_time": working_time.astype(np.int8),
        "ownership": ownership.astype(np.int8),
        "rooms": rooms,
    }
