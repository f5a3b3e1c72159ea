"""VDAB's quarterly job-seeker data of one chunk (B9).

A row for every Flemish resident registered as job seeker on the last day of a quarter, and
a last row for the quarter in which a registered job seeker left the register for a job
(with that job's contract, sector and place of work). Classes follow the 26/050 decision;
the lists VDAB did not publish are provisional (REFERENCE.md §1.4).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sluis.synth import labour as lb
from sluis.synth.dwh_tables import DwhRows
from sluis.synth.panel import QUARTER_END
from sluis.synth.rows import RowBuffer, codes, dates, flags, ints
from sluis.synth.state import NODATE, quarter_start
from sluis.synth.world import countries

FLANDERS = 0
QUARTER_START = np.array([quarter_start(q) for q in range(len(QUARTER_END))], dtype=np.int32)


class VdabRows:
    """Collects the VDAB rows of one chunk."""

    def __init__(self, labour: lb.Labour, dwh: DwhRows) -> None:
        self.L, self.dwh = labour, dwh
        self.rows = RowBuffer()
        n = labour.p.n
        rng = labour.rng
        self.draw = rng.random((6, n)).astype(np.float32)
        self.was_registered = np.zeros(n, dtype=bool)
        dutch_native = np.isin(countries().iso2, ["BE", "NL"])
        p = labour.p
        self.dutch = np.where(
            dutch_native[p.first_nat] | ~p.immigrant,
            3,
            np.minimum(3, (self.draw[0] * 4).astype(np.int8)),
        )
        self.dutch = np.where(self.draw[1] < 0.04, 4, self.dutch).astype(np.int8)

    def add(self, Q: lb.Quarter) -> None:
        L, q = self.L, Q.q
        res = Q.res
        flemish = Q.region == FLANDERS
        left_for_job = self.was_registered[res] & lb.working(Q.sep) & ~Q.registered
        keep = flemish & (Q.registered | left_for_job)
        self.was_registered[:] = False
        self.was_registered[res[Q.registered & flemish]] = True
        i = np.flatnonzero(keep)
        person = res[i]
        k = len(i)
        if k == 0:
            return
        d = self.draw[:, person]
        s = Q.sep[i]
        start_q = np.maximum(L.reg_start[person], 0)
        reg_start = np.minimum(
            QUARTER_START[start_q] + (d[2] * 89).astype(np.int32), QUARTER_END[q]
        )
        last_end = L.last_reg_end[person]
        earlier = (last_end >= start_q - 12) & (last_end >= 0) & (last_end < start_q)
        months = 3 * L.unemployed_q[person]
        edu = L.p.edu[person]
        long = (L.registered_q[person] >= 8) | ((edu == 0) & (d[3] < 0.3))
        distance = np.select(
            [d[4] < 0.05, long, (edu >= 1) & (L.registered_q[person] < 4)], [3, 2, 0], 1
        )
        benefit = np.select(
            [lb.is_sep(s, (211, 212)), s == 213, lb.is_sep(s, (331, 332, lb.OTHER))], [0, 1, 2], 3
        )
        action = (L.registered_q[person] >= 2) & (d[5] < 0.4)
        action_start = np.where(action, reg_start + 30, NODATE)
        action_start = np.where(action_start > QUARTER_END[q], NODATE, action_start)
        action = action_start != NODATE
        length = 90 * (1 + (d[3] * 4).astype(np.int32))
        ended = action & (action_start + length <= QUARTER_END[q])
        action_end = np.where(ended, action_start + length, NODATE)
        early = ended & (d[4] > 0.8)
        cooperation = np.select(
            [lb.is_sep(s, (331, 332)), L.p.immigrant[person] & (d[0] < 0.3), d[1] > 0.95],
            [0, 2, 1],
            -1,
        )
        J = L.jobs
        section = J.section_of[J.nace[person]]
        job = left_for_job[i]
        contract = np.where(J.agency[person], 2, np.where(J.open_ended[person], 1, 0))
        self.rows.add(
            person=person,
            q=np.full(k, q, dtype=np.int8),
            registration_start=reg_start.astype(np.int32),
            earlier=earlier,
            earlier_months=np.where(earlier, 3 * L.last_reg_len[person], -1).astype(np.int16),
            earlier_trajectory=np.where(earlier, (d[1] * 4).astype(np.int8), -1).astype(np.int8),
            aspired_contract=np.where(d[2] < 0.7, 1, np.where(d[2] < 0.9, 0, 2)).astype(np.int8),
            aspired_hours=np.select([d[3] < 0.65, d[3] < 0.85], [0, 1], 2).astype(np.int8),
            unemployment_months=months.astype(np.int16),
            distance=distance.astype(np.int8),
            work_limitation=np.select([d[0] < 0.1, d[0] > 0.95], [0, 1], -1).astype(np.int8),
            dutch=self.dutch[person],
            benefit_status=benefit.astype(np.int8),
            control=lb.is_sep(s, lb.JOBSEEKERS) & (L.rng.random(k) < 0.03),
            action_start=action_start.astype(np.int32),
            action_end=action_end.astype(np.int32),
            early=np.where(action, early, -1).astype(np.int8),
            stop_reason=np.where(early, (d[5] * 40).astype(np.int8) % 4, -1).astype(np.int8),
            cooperation=cooperation.astype(np.int8),
            job_contract=np.where(job, contract, -1).astype(np.int8),
            job_sector=np.where(job, section, -1).astype(np.int8),
            job_place=np.where(job, self.dwh.nis_index(J.workplace[person], q), -1).astype(
                np.int16
            ),
        )

    def tables(self) -> dict[str, pa.Table]:
        c = self.rows.columns()
        if not c:
            c = {name: np.zeros(0, dtype=np.int32) for name in _COLUMNS}
        return {
            "vdab_jobseeker": pa.table(
                {
                    "insz": pa.array(c["person"].astype(np.int64)),
                    "quarter_end": dates(QUARTER_END[c["q"].astype(np.int64)]),
                    "registration_start": dates(c["registration_start"]),
                    "earlier_registration": flags(c["earlier"]),
                    "earlier_months": ints(c["earlier_months"], c["earlier_months"] >= 0),
                    "earlier_trajectory": codes(tuple("1234"), c["earlier_trajectory"]),
                    "aspired_contract": codes(tuple("123"), c["aspired_contract"]),
                    "aspired_hours": codes(tuple("123"), c["aspired_hours"]),
                    "unemployment_months": ints(c["unemployment_months"]),
                    "distance": codes(("1", "2", "3", "9"), c["distance"]),
                    "work_limitation": codes(("1", "2"), c["work_limitation"]),
                    "dutch": codes(("0", "1", "2", "3", "9"), c["dutch"]),
                    "benefit_status": codes(tuple("1234"), c["benefit_status"]),
                    "control_referral": flags(c["control"]),
                    "action_start": dates(c["action_start"]),
                    "action_end": dates(c["action_end"]),
                    "action_early_stop": flags(np.maximum(c["early"], 0), c["early"] >= 0),
                    "stop_reason": codes(tuple("1234"), c["stop_reason"]),
                    "cooperation": codes(("OCMW", "RIZIV", "AGII"), c["cooperation"]),
                    "job_contract": codes(tuple("123"), c["job_contract"]),
                    "job_sector": codes(tuple(f"{i:02d}" for i in range(1, 22)), c["job_sector"]),
                    "job_nis_code": codes(self.dwh.all_nis, c["job_place"]),
                }
            )
        }


_COLUMNS = (
    "person", "q", "registration_start", "earlier", "earlier_months", "earlier_trajectory",
    "aspired_contract", "aspired_hours", "unemployment_months", "distance", "work_limitation",
    "dutch", "benefit_status", "control", "action_start", "action_end", "early", "stop_reason",
    "cooperation", "job_contract", "job_sector", "job_place",
)  # fmt: skip
