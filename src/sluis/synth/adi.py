"""Statbel's administrative data on income (ADI) per person and year, for one chunk (B7).

Earnings and benefits are the sums of the year's quarters of the DWH tables (so the two
sources agree), incomes from property and the tax items follow simple rules (design
choices, docs/synthetic-belgium.md). Household amounts are sums over the members of the
household on 31 December, so that household income always equals the sum over its
members. The at-risk-of-poverty flag needs the national median, so it is added once every
chunk is done (:func:`add_poverty`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sluis.synth import labour as lb
from sluis.synth.census import household_draws
from sluis.synth.rows import RowBuffer, flags, household_ids, ints

#: social-security contributions of employees: taxable wages are 86.93% of gross wages
EMPLOYEE_CONTRIBUTIONS = 0.1307
AMOUNTS = (
    "wages", "self_employment", "real_estate", "capital", "refunds", "maintenance_received",
    "integration_income", "equivalent_integration_income", "unemployment",
    "sickness_invalidity", "pension_first_pillar", "pension_second_pillar",
    "survivor_pension", "child_benefit", "household_child_benefit", "tax_prepayments",
    "withholding_tax", "special_contribution", "movable_withholding", "taxes_due",
    "maintenance_paid",
)  # fmt: skip
#: equivalised income is histogrammed in bins of this many euros to find the median
BIN = 50
N_BINS = 4000


def income_tax(taxable: np.ndarray) -> np.ndarray:
    """A progressive yearly tax (design choice): 25% above a 9,000 euro allowance and
    another 20% above 40,000."""
    return 0.25 * np.maximum(0, taxable - 9000) + 0.20 * np.maximum(0, taxable - 40000)


class AdiRows:
    """Sums the quarters of each year and writes the year's rows at its last quarter."""

    def __init__(self, labour: lb.Labour, chunk: int) -> None:
        self.L, self.chunk = labour, chunk
        n = labour.p.n
        self.sums = {k: np.zeros(n) for k in ("wages", "self", "rva", "riziv", "pension",
                                               "ll", "aid", "family", "disability")}  # fmt: skip
        self.intl = labour.rng.random(n) < 0.002
        self.draw = labour.rng.random((4, n))
        self.rows = RowBuffer()

    def add(self, Q: lb.Quarter) -> None:
        res, b, s = Q.res, Q.benefits, self.sums
        s["wages"][res] += Q.wage
        s["self"][res] += Q.self_income
        s["rva"][res] += b["benefit_rva"]
        s["riziv"][res] += b["benefit_riziv"] + b["benefit_fedris"]
        s["pension"][res] += b["benefit_pension"]
        ocmw = b["benefit_ocmw"]
        s["ll"][res] += np.where(Q.sep == lb.LEEFLOON, ocmw, 0)
        s["aid"][res] += np.where(Q.sep == lb.SOCIAL_AID, ocmw, 0)
        s["family"][res] += b["benefit_family"]
        s["disability"][res] += b["benefit_disability"]
        if Q.q % 4 == 3:
            self._year(Q)
            for v in s.values():
                v[:] = 0

    def _year(self, Q: lb.Quarter) -> None:
        L, res, s = self.L, Q.res, self.sums
        year = 2000 + Q.q // 4
        ix = lb.index(year)
        d = self.draw[:, res]
        adult = Q.age >= 18
        intl = self.intl[res] & (Q.employee_jobs > 0)
        wages = np.where(intl, 0, np.round(s["wages"][res] * (1 - EMPLOYEE_CONTRIBUTIONS)))
        self_emp = np.round(s["self"][res])
        hh = L.p.hh[res, Q.q]
        owner = household_draws(hh, 2011) < np.array([0.72, 0.70, 0.40])[Q.region]
        real_estate = np.where(owner & adult, np.round(ix * (700 + 900 * d[0])), 0)
        capital = np.where(adult & (d[1] < 0.3), np.round(ix * 40 * np.exp(4 * d[2])), 0)
        pension = s["pension"][res]
        survivor = np.where((L.p.sex[res] == 2) & (Q.age >= 75) & (d[3] < 0.4), 0.3 * pension, 0)
        second = np.where((L.pension_rank[res] > 0.6) & (pension > 0), 0.15 * pension, 0)
        first = pension - survivor
        received = np.where(adult & (Q.age < 60) & (d[3] > 0.97), np.round(ix * 2400), 0)
        paid = np.where(adult & (Q.age < 65) & (d[3] < 0.02) & (wages > 0), np.round(ix * 2400), 0)
        unemployment = s["rva"][res]
        sickness = s["riziv"][res] + s["disability"][res]
        taxable = wages + self_emp + real_estate + unemployment + sickness + pension + second
        tax = income_tax(taxable)
        withholding = np.round(
            0.95 * income_tax(wages + unemployment + sickness + pension + second)
        )
        prepayments = np.round(np.where(self_emp > 0, 0.8 * income_tax(self_emp), 0))
        special = np.where(wages > 18000, np.minimum(731, np.round(0.009 * wages)), 0)
        movable = np.round(0.3 * capital)
        due = np.maximum(0, np.round(tax - withholding - prepayments))
        refunds = np.maximum(0, np.round(withholding + prepayments - tax))
        child = s["family"][res]
        household_child = np.bincount(hh, weights=child, minlength=hh.max() + 1)[hh]
        disposable = (
            wages + self_emp + real_estate + capital + received + s["ll"][res] + s["aid"][res]
            + unemployment + sickness + pension + second + child + refunds
            - withholding - prepayments - special - movable - due - paid
        )  # fmt: skip
        disposable = np.round(disposable)
        household = np.bincount(hh, weights=disposable, minlength=hh.max() + 1)
        adults = np.bincount(hh, weights=Q.age >= 14, minlength=hh.max() + 1)
        children = np.bincount(hh, weights=Q.age < 14, minlength=hh.max() + 1)
        scale = 1 + 0.5 * np.maximum(adults - 1, 0) + 0.3 * children
        intl_hh = np.bincount(hh, weights=intl, minlength=hh.max() + 1) > 0
        values = {
            "wages": wages, "self_employment": self_emp, "real_estate": real_estate,
            "capital": capital, "refunds": refunds, "maintenance_received": received,
            "integration_income": s["ll"][res],
            "equivalent_integration_income": s["aid"][res], "unemployment": unemployment,
            "sickness_invalidity": sickness, "pension_first_pillar": first,
            "pension_second_pillar": second, "survivor_pension": survivor,
            "child_benefit": child, "household_child_benefit": household_child,
            "tax_prepayments": prepayments, "withholding_tax": withholding,
            "special_contribution": special, "movable_withholding": movable,
            "taxes_due": due, "maintenance_paid": paid,
        }  # fmt: skip
        self.rows.add(
            person=res,
            year=np.full(len(res), year, dtype=np.int16),
            hh=hh,
            **{k: np.round(v).astype(np.int32) for k, v in values.items()},
            disposable=np.round(disposable).astype(np.int32),
            household=np.round(household[hh]).astype(np.int32),
            equivalised=np.round(household[hh] / scale[hh]).astype(np.int32),
            intl=intl_hh[hh],
        )

    def table(self) -> tuple[pa.Table, np.ndarray]:
        """The chunk's ADI rows (without the poverty flag) and, per year, a histogram of
        equivalised incomes over persons for the national median."""
        c = self.rows.columns()
        years = c["year"] - 2000
        bins = np.clip(c["equivalised"] // BIN, 0, N_BINS - 1)
        histogram = np.zeros((25, N_BINS), dtype=np.int64)
        np.add.at(histogram, (years, bins), 1)
        hh_id = household_ids(self.chunk, c["hh"])
        table = pa.table(
            {
                "insz": pa.array(c["person"].astype(np.int64)),
                "income_year": ints(c["year"]),
                "household_id": hh_id,
                **{name: pa.array(c[name]) for name in AMOUNTS},
                "disposable_income": pa.array(c["disposable"]),
                "household_disposable_income": pa.array(c["household"]),
                "equivalised_income": pa.array(c["equivalised"]),
                "international_organisation": flags(c["intl"]),
            }
        )
        return table, histogram


def poverty_thresholds(histogram: np.ndarray) -> np.ndarray:
    """60% of the median equivalised income of each year, from the summed histograms."""
    cumulative = np.cumsum(histogram, axis=1)
    half = cumulative[:, -1:] / 2
    median_bin = np.argmax(cumulative >= half, axis=1)
    return 0.6 * (median_bin + 0.5) * BIN


def add_poverty(table: pa.Table, thresholds: np.ndarray) -> pa.Table:
    """The ADI table with its ``poverty_risk`` flag."""
    year = table["income_year"].to_numpy() - 2000
    income = table["equivalised_income"].to_numpy()
    return table.append_column("poverty_risk", flags(income < thresholds[year]))
