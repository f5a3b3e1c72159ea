"""The KSZ data-warehouse tables of one chunk from its simulated quarters (A9-A11, B8).

``DwhRows.add`` turns one :class:`~sluis.synth.labour.Quarter` into rows of ``dwh_position``,
``dwh_job`` and ``dwh_unemployment``; ``tables`` returns them as Arrow, sorted by person and
quarter, with persons still chunk-local numbers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from sluis.domain.codelists import codelists
from sluis.sources.contract_ksz import BENEFIT_COLUMNS
from sluis.synth import labour as lb
from sluis.synth.jobs import SECTIONS
from sluis.synth.panel import GERMAN_SPEAKING, QUARTER_END
from sluis.synth.rows import RowBuffer, amounts, codes, dates, flags, ints, lookup
from sluis.synth.state import NODATE, day
from sluis.synth.world import geography

SEP_LABELS = tuple(sorted(codelists()["sep"].codes, key=lambda c: (len(c), c)))
SEP_INDEX = lookup(SEP_LABELS)
PREFIXLO = ("12", "15", "22", "25", "50")
RVA_STATUS = tuple(f"{i:02d}" for i in range(1, 10))
FAMILY = ("WA+TA", "WN+TN", "WP+TP", "W+T")
OCMW_SUPPORT = ("RMI-LL", "RMI-EMP", "RMH-FIN", "RMH-EMP")
STATUTE = ("1", "2", "3", "4")
EMPLOYEE_CODE = ("015", "495", "010", "024", "484", "675")
SPECIAL = ("OO", "EO", "OA", "EA", "OI", "EI", "OH", "OS", "OW")
SERVICES = ("VDAB", "FOREM", "ACTIRIS", "ADG")
FAMILY_FROM = day(dt.date(2015, 1, 1))
#: the 2003 break of the SEP nomenclature: quarters before 2003Q1 carry vintage 1998
FIRST_2003_QUARTER = 12


class DwhRows:
    """Collects the DWH rows of one chunk."""

    def __init__(self, labour: lb.Labour) -> None:
        self.L = labour
        self.position = RowBuffer()
        self.job = RowBuffer()
        self.unemployment = RowBuffer()
        geo = geography()
        self.all_nis = tuple(sorted(set(geo.nis) | set(geo.nis_2019)))
        self.nis_index_old = np.searchsorted(self.all_nis, geo.nis).astype(np.int16)
        self.nis_index_new = np.searchsorted(self.all_nis, geo.nis_2019).astype(np.int16)
        self.german = np.isin(geo.nis, GERMAN_SPEAKING)

    def nis_index(self, muni: np.ndarray, q: int) -> np.ndarray:
        after = QUARTER_END[q] >= day(dt.date(2019, 1, 1))
        return (self.nis_index_new if after else self.nis_index_old)[muni]

    def add(self, Q: lb.Quarter) -> None:
        self._position(Q)
        self._jobs(Q)
        self._unemployment(Q)

    # -- dwh_position ---------------------------------------------------------------------
    def _position(self, Q: lb.Quarter) -> None:
        L, res, sep, q = self.L, Q.res, Q.sep, Q.q
        m = len(res)
        work = lb.working(sep)
        pensioner = sep == lb.PENSIONER
        immigrant = L.p.immigrant[res]
        combo = L.combo[res]
        t = L.t_inactive[res]
        seek = lb.is_sep(sep, lb.JOBSEEKERS)
        prefix = np.select(
            [sep == lb.CAREER_BREAK, Q.career_break & (Q.age >= 50) & (Q.pct <= 50),
             Q.career_break & (Q.age >= 50), Q.career_break & (Q.pct <= 50), Q.career_break],
            [4, 2, 3, 0, 1],
            -1,
        )  # fmt: skip
        pwa = seek & (L.unemployed_q[res] >= 8) & (combo < 0.05)
        status = np.select(
            [pwa, lb.is_sep(sep, (211, 212)), sep == 213, sep == lb.EXEMPTED,
             sep == lb.EARLY_RETIRED, sep == lb.CAREER_BREAK, Q.career_break & work,
             Q.activa, Q.temporary],
            [7, 0, 1, 2, 3, 4, 5, 6, 8],
            -1,
        )  # fmt: skip
        benefit = seek | lb.is_sep(sep, (lb.EXEMPTED, lb.EARLY_RETIRED))
        size = Q.household_size
        family = np.select([size == 1, (size >= 3) & (Q.age < 55)], [1, 0], 3)
        family = np.where(benefit & (QUARTER_END[q] >= FAMILY_FROM), family, -1)
        ocmw = np.select([sep == lb.LEEFLOON, sep == lb.SOCIAL_AID, Q.art60], [0, 2, 1], -1)
        self.position.add(
            person=res,
            q=np.full(m, q, dtype=np.int8),
            sep=SEP_INDEX[sep],
            vintage=np.full(m, q < FIRST_2003_QUARTER, dtype=bool),
            jobs_total=(Q.employee_jobs + (Q.self_job > 0)).astype(np.int8),
            jobs_employee=Q.employee_jobs,
            working_pensioner=Q.working_pensioner & work,
            pensioner_social_aid=pensioner & (L.pension_work[res] > 0.99),
            pensioner_foreign_pension=pensioner & (combo < np.where(immigrant, 0.5, 0.03)),
            working_invalidity=work & (t < 0.01),
            child_allowance_invalidity=(sep == lb.CHILD) & (Q.age >= 18) & (t < 0.005),
            nonworking_invalidity=sep == lb.INCAPACITY,
            career_break_partial=Q.career_break & work,
            career_break_type=prefix.astype(np.int8),
            rva_activation=Q.activa,
            local_employment_agency=pwa,
            rva_status=status.astype(np.int8),
            rva_family_category=family.astype(np.int8),
            ocmw_support=ocmw.astype(np.int8),
            **Q.benefits,
        )

    # -- dwh_job --------------------------------------------------------------------------
    def _jobs(self, Q: lb.Quarter) -> None:
        year = 2000 + Q.q // 4
        # employee jobs: one row per job (1 or 2), one part per job number
        emp = np.flatnonzero(Q.employee_jobs > 0)
        self._employee_jobs(Q, emp, 1, year)
        self._employee_jobs(Q, emp[Q.employee_jobs[emp] > 1], 2, year)
        self._own_activity(Q)

    def _employee_jobs(self, Q: lb.Quarter, rows: np.ndarray, number: int, year: int) -> None:
        """Rows of the ``number``-th employee job of the residents at positions ``rows``."""
        J, res, q = self.L.jobs, Q.res, Q.q
        person = res[rows]
        pct_total = Q.pct[rows]
        first_share = np.where(Q.employee_jobs[rows] > 1, np.round(pct_total * 0.6), pct_total)
        pct = (first_share if number == 1 else pct_total - first_share).astype(np.int16)
        pct = np.maximum(pct, 10)
        wage = np.round(Q.monthly_fte[rows] * 3 * pct / 100).astype(np.int32)
        civil = self.L.civil[person] & J.public[person]
        white = J.white_collar[person]
        agency, appr = J.agency[person], J.apprentice[person]
        seasonal, subsidised = J.seasonal[person], J.subsidised[person] & (year < 2016)
        flexi = J.flexi[person] & (year >= 2016)
        special = np.select(
            [appr, agency, seasonal & ~white, subsidised & ~white, flexi & ~white],
            [2 + white, 4 + white, 6, 7, 8],
            white.astype(int),
        )
        code = np.select(
            [civil, seasonal & ~white, subsidised], [5, 2, np.where(white, 4, 3)], white.astype(int)
        )
        emp_class = np.where(civil, 2, white.astype(int))  # index into "1", "2", "3"
        section = J.section_of[J.nace[person]]
        employer = np.select(
            [agency, J.vouchers[person], civil | J.public[person]],
            [5, 6, np.where(section == 15, 4, np.where(self.L.combo[person] < 0.4, 3, 2))],
            np.where(np.isin(section, (16, 18)), 1, 0),
        )  # sections P=15 education, Q=16 health, S=18 other services
        self.job.add(
            person=person,
            q=np.full(len(rows), q, dtype=np.int8),
            job=np.full(len(rows), number, dtype=np.int8),
            statute=np.where(civil, 1, 0).astype(np.int8),
            employee_code=code.astype(np.int8),
            employee_class=np.where(year <= 2016, emp_class, -1).astype(np.int8),
            employee_class_holiday=np.where(year > 2016, emp_class, -1).astype(np.int8),
            special_class=np.where(civil, -1, special).astype(np.int8),
            employer_type=employer.astype(np.int8),
            part_time_pct=pct,
            performance=np.select(
                [agency | seasonal | J.home_work[person], pct < 100], [2, 1], 0
            ).astype(np.int8),
            nace=J.nace[person],
            public=(J.public[person] | civil).astype(np.int8),
            home_work=J.home_work[person].astype(np.int8),
            seasonal=seasonal.astype(np.int8),
            vouchers=J.vouchers[person].astype(np.int8),
            occupation=np.full(len(rows), -1, dtype=np.int8),
            wage=wage,
            self_income=np.zeros(len(rows), dtype=np.int32),
            workplace=self.nis_index(J.workplace[person], q),
        )

    def _own_activity(self, Q: lb.Quarter) -> None:
        """The self-employed activity or help: one row, numbered after the employee jobs."""
        J, res, q = self.L.jobs, Q.res, Q.q
        own = np.flatnonzero(Q.self_job > 0)
        person = res[own]
        k = len(own)
        section = np.array(SECTIONS)[J.section_of[J.self_nace[person]]]
        occupation = np.select(
            [section == "A", np.isin(section, ("C", "F")), np.isin(section, ("G", "I")),
             np.isin(section, ("M", "Q"))],
            [3, 0, 1, 2],
            4,
        )  # fmt: skip
        self.job.add(
            person=person,
            q=np.full(k, q, dtype=np.int8),
            job=(Q.employee_jobs[own] + 1).astype(np.int8),
            statute=np.where(Q.self_job[own] == lb.HELPER, 3, 2).astype(np.int8),
            employee_code=np.full(k, -1, np.int8),
            employee_class=np.full(k, -1, np.int8),
            employee_class_holiday=np.full(k, -1, np.int8),
            special_class=np.full(k, -1, np.int8),
            employer_type=np.full(k, -1, np.int8),
            part_time_pct=np.full(k, -1, np.int16),
            performance=np.full(k, -1, np.int8),
            nace=J.self_nace[person],
            public=np.full(k, -1, np.int8),
            home_work=np.full(k, -1, np.int8),
            seasonal=np.full(k, -1, np.int8),
            vouchers=np.full(k, -1, np.int8),
            occupation=occupation.astype(np.int8),
            wage=np.zeros(k, dtype=np.int32),
            self_income=Q.self_income[own].astype(np.int32),
            workplace=self.nis_index(self.L.p.muni[person, q], q),
        )

    # -- dwh_unemployment -----------------------------------------------------------------
    def _unemployment(self, Q: lb.Quarter) -> None:
        L, sep, q = self.L, Q.sep, Q.q
        rng = L.rng
        seek = lb.is_sep(sep, lb.JOBSEEKERS)
        aid = lb.is_sep(sep, (lb.LEEFLOON, lb.SOCIAL_AID))
        pwa = seek & (L.unemployed_q[Q.res] >= 8) & (L.combo[Q.res] < 0.05)
        keep = seek | aid | (sep == lb.EXEMPTED) | Q.registered | Q.activa | Q.art60 | pwa
        i = np.flatnonzero(keep)
        res = Q.res[i]
        k = len(i)
        s, reg, age = sep[i], Q.registered[i], Q.age[i]
        p = L.p
        combo, t = L.combo[res], L.t_inactive[res]
        german = self.german[np.maximum(p.muni[res, q], 0)]
        service = np.where(reg, np.where(german, 3, Q.region[i].astype(np.int8)), -1)
        unemployed = lb.is_sep(s, lb.JOBSEEKERS) | (s == lb.EXEMPTED)
        exemption = np.select(
            [s == lb.EXEMPTED, lb.is_sep(s, (331, 332)) & ~reg & (combo < 0.2),
             lb.is_sep(s, (331, 332)) & ~reg, lb.is_sep(s, lb.JOBSEEKERS) & (t < 0.04)],
            [3, 1, 2, 0],
            -1,
        )  # fmt: skip
        jtype = np.select(
            [lb.is_sep(s, (211, 212)), s == 213, lb.is_sep(s, (331, 332)) & reg, reg],
            [0, 1, 2, 3],
            -1,
        )
        edu = p.edu[res]
        level = np.select(
            [p.immigrant[res] & (p.origin[res] >= 3) & (edu == 2) & (combo < 0.3), edu == 2,
             edu == 1, p.skill[res] < 0.15],
            [4, 3, 2, 0],
            1,
        )  # fmt: skip
        field = np.where(edu >= 1, (res % 7), 0)
        sanction = lb.is_sep(s, lb.JOBSEEKERS) & (rng.random(k) < 0.02)
        month = rng.integers(0, 3, k)
        start_month = np.datetime64("2000-01") + np.timedelta64(1, "M") * (3 * q + month)
        sanction_start = np.where(
            sanction, start_month.astype("datetime64[D]").astype(np.int32), NODATE
        )
        weeks = np.array([4, 8, 13, 26, 52])[rng.integers(0, 5, k)]
        activa = Q.activa[i]
        job_q = L.job_start[res]
        act_start = np.datetime64("2000-01") + np.timedelta64(1, "M") * (3 * np.maximum(job_q, 0))
        act_start = np.where(activa, act_start.astype("datetime64[D]").astype(np.int32), NODATE)
        act_end = np.where(activa & (L.activa_until[res] - 1 == q), QUARTER_END[q], NODATE)
        condition = np.select([age < 26, age >= 50], [1, 2], 0)
        art60 = Q.art60[i]
        law = np.select([s == lb.LEEFLOON, s == lb.SOCIAL_AID, art60], [0, 1, 0], -1)
        thp = np.where(s == lb.SOCIAL_AID, 1, -1)  # '48' financial aid in the THP list
        budget = np.where(art60, np.where(Q.pct[i] < 100, 6, 7), -1)
        gpmi = np.where((s == lb.LEEFLOON) & (age < 25), (combo * 3).astype(int), -1)
        self.unemployment.add(
            person=res,
            q=np.full(k, q, dtype=np.int8),
            service=service.astype(np.int8),
            jobseeker_aid=lb.is_sep(s, (331, 332)) & reg,
            exemption=exemption.astype(np.int8),
            benefit_month=np.where(unemployed, np.round(Q.benefit_month[i]), 0).astype(np.int32),
            months_unemployed=np.where(unemployed, 3 * L.unemployed_q[res] - month % 3, -1).astype(
                np.int16
            ),
            jobseeker_type=jtype.astype(np.int8),
            months_registered=np.where(reg, 3 * L.registered_q[res] - month % 3, -1).astype(
                np.int16
            ),
            training_level=np.where(reg, level, -1).astype(np.int8),
            training_field=np.where(reg, field, -1).astype(np.int8),
            sanction_start=sanction_start.astype(np.int32),
            sanction_weeks=np.where(sanction, weeks, -1).astype(np.int16),
            sanction_reason=np.where(sanction, (t * 4).astype(int) % 4, -1).astype(np.int8),
            activation_regime=np.where(activa, (Q.pct[i] < 100).astype(int), -1).astype(np.int8),
            activation_start=act_start.astype(np.int32),
            activation_end=act_end.astype(np.int32),
            activation_condition=np.where(activa, condition, -1).astype(np.int8),
            activation_pct=np.where(activa, Q.pct[i], -1).astype(np.int16),
            ocmw_law=law.astype(np.int8),
            ocmw_intervention=thp.astype(np.int8),
            ocmw_activation=budget.astype(np.int8),
            gpmi_type=gpmi.astype(np.int8),
            ocmw_programme=np.where(art60, 0, -1).astype(np.int8),
        )

    # -- Arrow ----------------------------------------------------------------------------
    def tables(self) -> dict[str, pa.Table]:
        """The three tables, persons as chunk-local int64 numbers."""
        out = {}
        c = self.position.columns()
        qend = dates(QUARTER_END[c["q"]])
        cols = {
            "insz": pa.array(c["person"].astype(np.int64)),
            "quarter_end": qend,
            "sep": codes(SEP_LABELS, c["sep"]),
            "sep_vintage": codes(("2003", "1998"), c["vintage"].astype(np.int8)),
            "jobs_total": ints(c["jobs_total"]),
            "jobs_employee": ints(c["jobs_employee"]),
        }
        for name in ("working_pensioner", "pensioner_social_aid", "pensioner_foreign_pension",
                     "working_invalidity", "child_allowance_invalidity", "nonworking_invalidity",
                     "career_break_partial"):  # fmt: skip
            cols[name] = flags(c[name])
        cols["career_break_type"] = codes(PREFIXLO, c["career_break_type"])
        cols["rva_activation"] = flags(c["rva_activation"])
        cols["local_employment_agency"] = flags(c["local_employment_agency"])
        cols["rva_status"] = codes(RVA_STATUS, c["rva_status"])
        cols["rva_family_category"] = codes(FAMILY, c["rva_family_category"])
        cols["ocmw_support"] = codes(OCMW_SUPPORT, c["ocmw_support"])
        for name in BENEFIT_COLUMNS:
            cols[name] = amounts(c[name])
        out["dwh_position"] = pa.table(cols)

        c = self.job.columns()
        has = c["statute"] <= 1
        out["dwh_job"] = pa.table(
            {
                "insz": pa.array(c["person"].astype(np.int64)),
                "quarter_end": dates(QUARTER_END[c["q"]]),
                "job": ints(c["job"]),
                "statute": codes(STATUTE, c["statute"]),
                "employee_code": codes(EMPLOYEE_CODE, c["employee_code"]),
                "employee_class": codes(("1", "2", "3"), c["employee_class"]),
                "employee_class_holiday": codes(("1", "2", "3"), c["employee_class_holiday"]),
                "special_class": codes(SPECIAL, c["special_class"]),
                "employer_type": codes(tuple("1234567"), c["employer_type"]),
                "part_time_pct": ints(c["part_time_pct"], has),
                "performance_type": codes(("F", "P", "S"), c["performance"]),
                "nace": codes(tuple(self.L.jobs.divisions), c["nace"]),
                "private_public": codes(("P", "O"), c["public"]),
                "home_work": flags(c["home_work"], has),
                "seasonal_work": flags(c["seasonal"], has),
                "service_vouchers": flags(c["vouchers"], has),
                "self_employed_occupation": codes(tuple("12345"), c["occupation"]),
                "gross_wage": amounts(c["wage"]),
                "self_employed_income": amounts(c["self_income"]),
                "workplace_nis_code": codes(self.all_nis, c["workplace"]),
            }
        )

        c = self.unemployment.columns()
        thp = ("-1", "48")
        out["dwh_unemployment"] = pa.table(
            {
                "insz": pa.array(c["person"].astype(np.int64)),
                "quarter_end": dates(QUARTER_END[c["q"]]),
                "regional_service": codes(SERVICES, c["service"]),
                "jobseeker_social_aid": flags(c["jobseeker_aid"]),
                "exemption": codes(tuple("1234"), c["exemption"]),
                "benefit_month": amounts(c["benefit_month"]),
                "months_unemployed": ints(c["months_unemployed"], c["months_unemployed"] >= 0),
                "jobseeker_type": codes(tuple("12345"), c["jobseeker_type"]),
                "months_registered": ints(c["months_registered"], c["months_registered"] >= 0),
                "training_level": codes(tuple("12345"), c["training_level"]),
                "training_field": codes(
                    ("00", "02", "04", "06", "07", "09", "10"), c["training_field"]
                ),
                "sanction_start": dates(c["sanction_start"]),
                "sanction_weeks": ints(c["sanction_weeks"], c["sanction_weeks"] >= 0),
                "sanction_reason": codes(tuple("1234"), c["sanction_reason"]),
                "activation_regime": codes(("F", "P"), c["activation_regime"]),
                "activation_start": dates(c["activation_start"]),
                "activation_end": dates(c["activation_end"]),
                "activation_condition": codes(tuple("12345"), c["activation_condition"]),
                "activation_pct": ints(c["activation_pct"], c["activation_pct"] >= 0),
                "ocmw_law": codes(("RMI", "RMH"), c["ocmw_law"]),
                "ocmw_intervention": codes(thp, c["ocmw_intervention"]),
                "ocmw_activation": codes(
                    (
                        "105",
                        "106",
                        "108",
                        "109",
                        "112",
                        "114",
                        "115",
                        "116",
                        "118",
                        "119",
                        "120",
                        "121",
                    ),
                    c["ocmw_activation"],
                ),
                "gpmi_type": codes(tuple("123"), c["gpmi_type"]),
                "ocmw_programme": codes(tuple("123"), c["ocmw_programme"]),
            }
        )
        return out
