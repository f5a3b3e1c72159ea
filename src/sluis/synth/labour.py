"""Labour market and social protection of one chunk, quarter by quarter (S1, S3; A9-A11, B8).

Every resident gets exactly one socio-economic position per quarter, derived by priority from
the status spells underneath (REFERENCE.md §1.2: working > job seeking > inactive), and the
DWH flags come from the same spells, so codes and flags agree by construction.

The model is a latent-propensity (threshold) model, the usual device of dynamic
microsimulation: each person carries uniform draws that persist from quarter to quarter and
are renewed with a small hazard (a renewal is a possible change of state: losing or finding
a job, entering or leaving unemployment). Whether a person works is ``logit(u) - eta < a``,
where ``eta`` holds the effects of age, sex, education, region and recent arrival, and the
intercept ``a`` of each origin group is set every quarter so that the group's employment
rate 20-64 equals the published figure (:mod:`sluis.synth.labour_targets`): the k-th
smallest ``logit(u) - eta``, not a fitted value. Job seekers per region, integration-income
recipients per region, the self-employed share and the part-time share by sex are margins
in the same way. Published totals are therefore met in every chunk, and individual
trajectories still have realistic persistence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from sluis.synth.jobs import JobTraits
from sluis.synth.labour_targets import UNEMPLOYMENT_RISK, labour_targets, wage_at
from sluis.synth.panel import ORIGINS, QUARTER_END, QUARTERS, Panel
from sluis.synth.world import countries

# positions (SEP codes as integers)
CHILD, PENSIONER = 36, 34
JOBSEEKER_AFTER_WORK, JOBSEEKER_PART_TIME, JOBSEEKER_AFTER_STUDIES = 211, 212, 213
LEEFLOON, SOCIAL_AID = 331, 332
INCAPACITY, ACCIDENT, DISABILITY, EARLY_RETIRED = 371, 372, 38, 35
EXEMPTED, CAREER_BREAK, OTHER = 32, 31, 4
JOBSEEKERS = (JOBSEEKER_AFTER_WORK, JOBSEEKER_PART_TIME, JOBSEEKER_AFTER_STUDIES)
#: statutes of a job (contract list ``statute``)
EMPLOYEE, CIVIL_SERVANT, SELF_EMPLOYED, HELPER = 1, 2, 3, 4

#: quarterly renewal hazards of the latent draws
RENEW_WORK, RENEW_SEEK, RENEW_JOB = 0.06, 0.15, 0.03
#: benefit levels (monthly euros in 2012, indexed 2% a year) - APPROX orders of magnitude
BENEFIT_2012 = {
    "rva_floor": 1050.0,
    "rva_cap": 1700.0,
    "integration_allowance": 850.0,
    "swt": 1450.0,
    "career_break": 480.0,
    "exempted": 1100.0,
    "incapacity": 1350.0,
    "accident": 1250.0,
    "disability": 950.0,
    "pension_median": 1300.0,
    "leefloon_single": 817.0,
    "leefloon_cohabitant": 544.0,
    "leefloon_family": 1090.0,
    "family_allowance": 150.0,
    "temporary_unemployment": 650.0,
}
PART_TIME_PCT = np.array([50, 60, 75, 80, 40, 90], dtype=np.int16)
PART_TIME_WEIGHTS = np.array([0.4, 0.12, 0.2, 0.2, 0.04, 0.04])


@cache
def _sep_table(codes: tuple[int, ...]) -> np.ndarray:
    table = np.zeros(1000, dtype=bool)
    table[list(codes)] = True
    return table


def is_sep(sep: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    """``is_sep(sep, codes)`` for SEP codes, as one lookup (this runs a few thousand times
    per chunk)."""
    return _sep_table(tuple(codes))[sep]


def working(sep: np.ndarray) -> np.ndarray:
    """Positions 1xx: working as employee, self-employed or helper."""
    return (sep >= 100) & (sep < 200)


def index(year: int) -> float:
    """Price and wage index of a year relative to 2012 (2% a year, design choice)."""
    return 1.02 ** (year - 2012)


def _logit(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 1e-6, 1 - 1e-6)
    return np.log(u) - np.log1p(-u)


def kth(values: np.ndarray, k: float) -> float:
    """The threshold below which the ``k`` smallest values lie (k rounded; 0 -> -inf)."""
    k = round(k)
    if k <= 0 or len(values) == 0:
        return -np.inf
    if k >= len(values):
        return np.inf
    part = np.partition(values, k - 1)
    return float(np.nextafter(float(part[k - 1]), np.inf))


@dataclass
class Quarter:
    """The state of the residents of one quarter, in the order of ``res``."""

    q: int
    res: np.ndarray
    sep: np.ndarray  # int16 SEP code
    region: np.ndarray  # int8
    age: np.ndarray  # float32
    employee_jobs: np.ndarray  # int8: 0, 1 or 2
    self_job: np.ndarray  # int8 statute of the self-employed activity, 0 if none
    registered: np.ndarray  # bool: registered job seeker at a regional service
    pct: np.ndarray  # int16 part-time percentage of the employee (100 = full time)
    part_time: np.ndarray  # bool
    career_break: np.ndarray  # bool: partial career break or time credit
    working_pensioner: np.ndarray  # bool
    activa: np.ndarray  # bool: hired under an RVA activation measure
    art60: np.ndarray  # bool: employed by or through the OCMW (art. 60 par. 7)
    #: filled by the money step: quarterly euros per institution, wages, incomes
    benefits: dict[str, np.ndarray] = field(default_factory=dict)
    benefit_month: np.ndarray | None = None  # RVA benefit of the reference month
    monthly_fte: np.ndarray | None = None  # full-time equivalent monthly wage
    wage: np.ndarray | None = None  # quarterly gross wage over all employee jobs
    self_income: np.ndarray | None = None
    temporary: np.ndarray | None = None  # bool: temporarily unemployed employee
    household_size: np.ndarray | None = None


class Labour:
    """Simulates the labour market of one chunk over its panel."""

    def __init__(self, panel: Panel, rng: np.random.Generator) -> None:
        self.p, self.rng = panel, rng
        n = panel.n
        r = rng.random
        self.targets = labour_targets()
        self.region_q = panel.region()
        cty = countries()
        self.non_eu_country = np.isin(cty.eu_group, ["non-EU"])
        # lasting draws
        self.u_work = r(n).astype(np.float32)
        self.v_seek = r(n).astype(np.float32)
        self.s_self = r(n).astype(np.float32)
        self.t_inactive = r(n).astype(np.float32)
        self.pt = r(n).astype(np.float32)
        self.pct = rng.choice(PART_TIME_PCT, n, p=PART_TIME_WEIGHTS)
        self.multi = r(n) < 0.08
        self.helper = r(n) < 0.08
        self.combo = r(n)
        self.civil = r(n) < 0.12
        self.public = r(n) < 0.22
        self.career_break = r(n)
        self.pension_work = r(n)
        self.ll_registered = r(n) < 0.6
        self.free_registered = r(n) < 0.12
        self.wage_noise = rng.standard_normal(n).astype(np.float32)
        self.family_allowance = rng.uniform(0.7, 1.3, n).astype(np.float32)
        self.pension_rank = np.clip(0.7 * panel.skill + 0.3 * r(n), 0, 1).astype(np.float32)
        # pension age: 65, earlier for some (early retirement and the pre-2009 female age)
        self.retire = np.where(r(n) < 0.45, rng.uniform(60, 64.9, n), 65.0).astype(np.float32)
        # spells
        self.ever_worked = np.zeros(n, dtype=bool)
        self.unemployed_q = np.zeros(n, dtype=np.int16)
        self.registered_q = np.zeros(n, dtype=np.int16)
        self.last_reg_end = np.full(n, -99, dtype=np.int16)
        self.last_reg_len = np.zeros(n, dtype=np.int16)
        self.reg_start = np.full(n, -1, dtype=np.int16)
        self.job_start = np.full(n, -1, dtype=np.int16)
        self.activa_until = np.full(n, -1, dtype=np.int16)
        self.art60_until = np.full(n, -1, dtype=np.int16)
        self.prev_sep = np.zeros(n, dtype=np.int16)
        self.last_wage = np.zeros(n, dtype=np.float32)
        self.new_job = np.ones(n, dtype=bool)
        self.jobs = JobTraits(n, rng)
        self.quarters: list[Quarter] = []

    # -- one quarter ---------------------------------------------------------------------
    def run(self) -> list[Quarter]:
        for q in range(QUARTERS):
            self.quarters.append(self.quarter(q))
        return self.quarters

    def quarter(self, q: int) -> Quarter:
        p, rng, T = self.p, self.rng, self.targets
        y = q // 4
        year = 2000 + y
        res = p.residents(q)
        m = len(res)
        age = p.age(q, res)
        sex = p.sex[res]
        origin = p.origin[res]
        region = self.region_q[res, q]
        edu = p.edu[res]
        for draws, hazard in ((self.u_work, RENEW_WORK), (self.v_seek, RENEW_SEEK)):
            renew = res[rng.random(m) < hazard]
            draws[renew] = rng.random(len(renew))
        child = age < 15
        student = ~child & (age < p.study_end[res]) & (age < 26)
        pensioner = age >= self.retire[res]
        active_age = ~child & ~student & ~pensioner
        in_20_64 = (age >= 20) & (age < 65)

        # working pensioners: a few, more just after retirement
        pw = pensioner & (self.pension_work[res] < np.where(age < 70, 0.06, 0.012))

        # employment: per origin, the employment rate 20-64 is a margin
        stay = (QUARTER_END[q] - p.first_reg[res]) / 365.2425
        recent = p.immigrant[res] & (stay < 2)
        eta = self._employment_effects(age, sex, edu, region, year) - 1.0 * recent
        d = _logit(self.u_work[res]) - eta
        # the groups are disjoint: count them with one bincount, find each group's threshold
        # among its candidates (split by one stable sort), and compare every person once
        n_groups = len(ORIGINS)
        people = np.bincount(origin[in_20_64], minlength=n_groups).tolist()
        working_pw = np.bincount(origin[pw & in_20_64], minlength=n_groups).tolist()
        sel = active_age & in_20_64
        d_sel, o_sel = d[sel], origin[sel]
        by_group = np.argsort(o_sel, kind="stable")
        bounds = np.searchsorted(o_sel[by_group], np.arange(n_groups + 1)).tolist()
        d_sel = d_sel[by_group]
        cut = np.empty(n_groups, dtype=d.dtype)
        for g in range(n_groups):
            want = T.employment[g, y] * people[g] - working_pw[g]
            cut[g] = kth(d_sel[bounds[g] : bounds[g + 1]], want)
        employed = pw | (active_age & (d < cut[origin]))

        # job seekers per region (ILO rate 15-64 as margin), then integration income
        not_working = active_age & ~employed & (age < 65)
        w_seek = np.array([UNEMPLOYMENT_RISK[o] for o in ORIGINS])[origin]
        w_seek = w_seek * np.select([age < 25, age < 50], [1.8, 1.0], 0.8)
        w_seek = w_seek * np.array([1.6, 1.0, 0.6])[edu]
        v = self.v_seek[res]
        seeker = np.zeros(m, dtype=bool)
        leefloon = np.zeros(m, dtype=bool)
        aid_only = self.non_eu_country[np.maximum(p.nat[res, q], 0)] & (stay < 5)
        w_ll = np.where(origin >= 3, 3.0, 1.0) * np.array([2.0, 1.0, 0.5])[edu]
        v_w = v / w_seek
        lf_all = employed & (age >= 15) & (age < 65)
        for r_ in range(3):
            in_r = region == r_
            lf_employed = np.count_nonzero(lf_all & in_r)
            u_rate = T.unemployment[r_, y]
            want = u_rate / (1 - u_rate) * lf_employed
            cand = np.flatnonzero(not_working & in_r)
            c = kth(v_w[cand], want)
            found = v_w[cand] < c
            seeker[cand[found]] = True
            # integration income among the rest of the candidates, computed on them only
            rest = cand[~found & (age[cand] >= 18)]
            band = (v[rest] - c * w_seek[rest]) / w_ll[rest]
            want_ll = T.integration_income[r_, y] * p.scale
            ll_cut = kth(band[~aid_only[rest]], want_ll)
            leefloon[rest[band < ll_cut]] = True

        # statutes of the employed
        self_w = np.where(sex == 1, 1.4, 0.7) * np.where(age >= 50, 1.5, 1.0)
        self_w = self_w * np.where(origin >= 3, 1.3, 1.0)
        s = self.s_self[res] / self_w
        k_self = kth(s[employed], T.self_employed * np.count_nonzero(employed))
        self_main = employed & (s < k_self)
        combo = self.combo[res]
        also_employee = self_main & (combo < 0.06)
        also_self = employed & ~self_main & (combo < 0.04)
        helper = self.helper[res]
        employee_jobs = np.where(employed & (~self_main | also_employee), 1, 0).astype(np.int8)
        employee_jobs += (employee_jobs > 0) & self.multi[res]
        self_job = np.where(self_main | also_self, np.where(helper, HELPER, SELF_EMPLOYED), 0)
        self_job = self_job.astype(np.int8)

        # partial career breaks and time credit (more often women 25-45 and people over 50)
        is_employee = employee_jobs > 0
        cb_draw = self.career_break[res]
        cb_rate = np.where((sex == 2) & (age >= 25) & (age < 45), 0.08, 0.03)
        cb_rate = np.where(age >= 50, 0.10, cb_rate)
        career_break = is_employee & ~self_main & (cb_draw < cb_rate)
        # part time: the share of all employed working less than full time, by sex, is a
        # margin; people on a partial career break count towards it
        part_time = np.zeros(m, dtype=bool)
        pt = self.pt[res]
        for sx, share in ((1, T.part_time_men), (2, T.part_time_women)):
            cand = is_employee & (sex == sx) & ~self_main & ~career_break
            want = share * np.count_nonzero(employed & (sex == sx))
            want -= np.count_nonzero(career_break & (sex == sx))
            part_time |= cand & (pt < kth(pt[cand], want))
        pct = np.where(part_time, self.pct[res], 100).astype(np.int16)
        pct = np.where(career_break, np.where(cb_draw < cb_rate / 2, 50, 80), pct).astype(np.int16)
        part_time |= career_break

        # inactive positions of the working-age population
        inactive = active_age & ~employed & ~seeker & ~leefloon
        sep = self._inactive_positions(inactive, age, sex, res, year)
        sep = np.where(child | student, CHILD, sep)
        sep = np.where(pensioner & ~employed, PENSIONER, sep)
        after_studies = ~self.ever_worked[res] & (age < 27)
        seek_code = np.where(
            after_studies,
            JOBSEEKER_AFTER_STUDIES,
            np.where(self.pct[res] < 60, JOBSEEKER_PART_TIME, JOBSEEKER_AFTER_WORK),
        )
        seek_code = np.where(
            (seek_code == JOBSEEKER_PART_TIME) & (self.combo[res] > 0.3),
            JOBSEEKER_AFTER_WORK,
            seek_code,
        )
        sep = np.where(seeker, seek_code, sep)
        sep = np.where(leefloon, np.where(aid_only, SOCIAL_AID, LEEFLOON), sep)
        sep = np.where(employed, _working_code(employee_jobs, self_job, self_main, pensioner), sep)
        sep = sep.astype(np.int16)

        # spells and transitions
        was_working = working(self.prev_sep[res])
        starts = employed & ~was_working
        changes = employed & was_working & (rng.random(m) < RENEW_JOB)
        self.new_job[res] = starts | changes
        new = starts | changes
        self.jobs.renew(res[new], p.skill[res[new]], age[new], p.muni[res[new], q], region[new])
        self.job_start[res[starts]] = q
        prev = self.prev_sep[res]
        long_seeker = is_sep(prev, JOBSEEKERS) & (self.unemployed_q[res] >= 4)
        activa = starts & long_seeker & (rng.random(m) < 0.3)
        self.activa_until[res[activa]] = q + 8
        art60 = starts & is_sep(prev, (LEEFLOON, SOCIAL_AID)) & (rng.random(m) < 0.35)
        self.art60_until[res[art60]] = q + 6
        self.ever_worked[res[employed]] = True
        unemployed = is_sep(sep, JOBSEEKERS) | (sep == EXEMPTED)
        self.unemployed_q[res] = np.where(unemployed, self.unemployed_q[res] + 1, 0)
        registered = is_sep(sep, JOBSEEKERS)
        registered |= is_sep(sep, (LEEFLOON, SOCIAL_AID)) & self.ll_registered[res]
        registered |= (sep == OTHER) & self.free_registered[res] & (age < 60)
        was_reg = self.registered_q[res] > 0
        ended = was_reg & ~registered
        self.last_reg_end[res[ended]] = q
        self.last_reg_len[res[ended]] = self.registered_q[res[ended]]
        begun = registered & ~was_reg
        self.reg_start[res[begun]] = q
        self.registered_q[res] = np.where(registered, self.registered_q[res] + 1, 0)
        self.prev_sep[:] = 0
        self.prev_sep[res] = sep

        quarter = Quarter(
            q=q,
            res=res,
            sep=sep,
            region=region,
            age=age,
            employee_jobs=employee_jobs,
            self_job=self_job,
            registered=registered,
            pct=pct,
            part_time=part_time,
            career_break=career_break,
            working_pensioner=pw,
            activa=employed & (self.activa_until[res] > q),
            art60=is_employee & (self.art60_until[res] > q),
        )
        self._money(quarter, year, sex, edu)
        return quarter

    def _employment_effects(
        self, age: np.ndarray, sex: np.ndarray, edu: np.ndarray, region: np.ndarray, year: int
    ) -> np.ndarray:
        """Log-odds effects on working, around the group intercept (APPROX shapes)."""
        profile = np.interp(
            age, [15, 20, 25, 30, 50, 55, 60, 65], [-2.5, -1.0, 0.4, 0.9, 0.9, 0.4, -0.8, -1.8]
        )
        women = np.where(sex == 2, -0.6 + 0.02 * (year - 2000), 0.0)
        schooling = np.array([-0.9, 0.0, 0.8])[edu]
        place = np.array([0.3, -0.25, -0.35])[region]
        return profile + women + schooling + place

    def _inactive_positions(
        self, inactive: np.ndarray, age: np.ndarray, sex: np.ndarray, res: np.ndarray, year: int
    ) -> np.ndarray:
        """Among the inactive of working age: incapacity rises with age, early retirement
        (SWT) after 55 fades after the 2012 reforms, older unemployed were exempted from job
        search until 2015; the rest are 'other' (homemakers, people without a known position)."""
        t = self.t_inactive[res]
        worked = self.ever_worked[res]
        shares = [
            (INCAPACITY, np.clip(0.05 + 0.011 * (age - 20), 0.05, 0.5)),
            (ACCIDENT, np.full(len(age), 0.01)),
            (DISABILITY, np.full(len(age), 0.04)),
            (EARLY_RETIRED, (age >= 55) * worked * max(0.05, 0.3 - 0.025 * max(0, year - 2012))),
            (EXEMPTED, (age >= 50) * (0.2 if year < 2015 else 0.04)),
            (CAREER_BREAK, np.where((sex == 2) & (age < 50) & worked, 0.05, 0.01)),
        ]
        sep = np.full(len(age), OTHER, dtype=np.int16)
        low = np.zeros(len(age))
        for code, share in shares:
            hit = inactive & (t >= low) & (t < low + share) & (sep == OTHER)
            sep[hit] = code
            low = low + share
        return np.where(inactive, sep, 0)

    # -- money ----------------------------------------------------------------------------
    def _money(self, Q: Quarter, year: int, sex: np.ndarray, edu: np.ndarray) -> None:
        """Wages and benefits of the quarter, in euros."""
        p, res, sep = self.p, Q.res, Q.sep
        y = year - 2000
        ix = index(year)
        m = len(res)
        # full-time monthly wage: rank of a lasting score among full-time single-job employees
        employee = Q.employee_jobs > 0
        noise = self.wage_noise[res]
        refresh = self.new_job[res]
        noise = np.where(refresh, 0.8 * noise + 0.6 * self.rng.standard_normal(m), noise)
        self.wage_noise[res] = noise
        score = 1.4 * p.skill[res] + 0.35 * noise + 0.012 * np.clip(Q.age - 20, 0, 30)
        score = score + np.where(sex == 1, 0.08, 0.0) + np.array([0.0, 0.0, 0.4])[Q.region]
        full = employee & (Q.pct == 100) & (Q.employee_jobs == 1)
        ranked = np.sort(score[full])
        rank = np.searchsorted(ranked, score[employee], side="left") / max(1, len(ranked))
        monthly_fte = np.zeros(m)
        monthly_fte[employee] = wage_at(np.clip(rank + 0.5 / max(1, len(ranked)), 0, 1), y)
        Q.monthly_fte = monthly_fte
        Q.wage = np.where(employee, np.round(3 * monthly_fte * Q.pct / 100), 0).astype(np.int64)
        self.last_wage[res[employee]] = monthly_fte[employee]
        # self-employed income: lognormal around 2,600 a month (APPROX)
        se_rank = np.clip(0.6 * p.skill[res] + 0.4 * self.s_self[res], 0, 1)
        monthly_se = 2600 * ix * np.exp(0.8 * (se_rank - 0.5) * 2.5)
        monthly_se = np.where(Q.self_job == HELPER, 0.45 * monthly_se, monthly_se)
        Q.self_income = np.where(Q.self_job > 0, np.round(3 * monthly_se), 0).astype(np.int64)

        B = {k: v * ix for k, v in BENEFIT_2012.items()}
        last = self.last_wage[res]
        seek = is_sep(sep, JOBSEEKERS)
        rva_month = np.where(
            sep == JOBSEEKER_AFTER_STUDIES,
            B["integration_allowance"],
            np.clip(0.6 * last, B["rva_floor"], B["rva_cap"]),
        )
        rva_month = np.select(
            [seek, sep == EXEMPTED, sep == EARLY_RETIRED, sep == CAREER_BREAK],
            [rva_month, B["exempted"], B["swt"], B["career_break"]],
            0.0,
        )
        rva_month = np.where(Q.career_break, 0.4 * B["career_break"], rva_month)
        # temporary unemployment of manual workers: crisis years 2009 and 2020
        temp_rate = {2009: 0.08, 2020: 0.2, 2021: 0.08}.get(year, 0.03)
        Q.temporary = employee & (self.combo[res] > 0.5) & (self.rng.random(m) < temp_rate)
        rva_month = np.where(Q.temporary, B["temporary_unemployment"] / 3, rva_month)
        Q.benefit_month = rva_month
        hh = p.hh[res, Q.q]
        size = np.bincount(hh, minlength=hh.max() + 1 if m else 1)[hh] if m else hh
        Q.household_size = size
        leefloon_month = np.select(
            [size == 1, size >= 3],
            [B["leefloon_single"], B["leefloon_family"]],
            B["leefloon_cohabitant"],
        )
        pension_month = B["pension_median"] * np.exp(0.9 * (self.pension_rank[res] - 0.5))
        Q.benefits = {
            "benefit_rva": np.round(3 * rva_month),
            "benefit_riziv": np.where(sep == INCAPACITY, 3 * B["incapacity"], 0.0),
            "benefit_fedris": np.where(sep == ACCIDENT, 3 * B["accident"], 0.0),
            "benefit_pension": np.where(
                Q.age >= self.retire[res], np.round(3 * pension_month), 0.0
            ),
            "benefit_ocmw": np.where(
                is_sep(sep, (LEEFLOON, SOCIAL_AID)), np.round(3 * leefloon_month), 0.0
            ),
            "benefit_family": np.where(
                sep == CHILD,
                np.round(3 * B["family_allowance"] * self.family_allowance[res]),
                0.0,
            ),
            "benefit_disability": np.where(sep == DISABILITY, 3 * B["disability"], 0.0),
        }
        Q.benefits = {k: v.astype(np.int32) for k, v in Q.benefits.items()}


def _working_code(
    employee_jobs: np.ndarray, self_job: np.ndarray, self_main: np.ndarray, pensioner: np.ndarray
) -> np.ndarray:
    """The SEP code of a working person (111/112, 121/123, 131/133, 141-143)."""
    single = np.where(employee_jobs >= 2, 112, 111)
    own = np.where(self_job == HELPER, np.where(pensioner, 133, 131), np.where(pensioner, 123, 121))
    both = (employee_jobs > 0) & (self_job > 0)
    combined = np.where(self_main, np.where(self_job == HELPER, 143, 142), 141)
    return np.where(both, combined, np.where(self_job > 0, own, single))
