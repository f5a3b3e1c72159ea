"""Calibration of a generated Belgium against published figures (S3).

Plain SQL over the written registers, on purpose: the figures are computed from the files
a user receives, not from the generator's internal state, and the 25/074 target population
is counted with an independent query (the select stage comes later).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from sluis.domain.codelists import REGIONS, read_csv
from sluis.errors import SourceError
from sluis.sources.check import table_files
from sluis.sources.contract import table

REGION_OF_NAME = {name: code for code, name in REGIONS.items()}
TARGET_25_074 = 638_000
NATURALISED_25_074 = 201_000


@dataclass(frozen=True)
class Check:
    """One calibration figure: what was measured against what it should be.

    A relative check (counts, amounts) compares the ratio, with ``tolerance`` a fraction; an
    ``absolute`` check (rates in %) compares the difference in points.
    """

    name: str
    period: str
    expected: float
    observed: float
    tolerance: float
    absolute: bool = False

    @property
    def deviation(self) -> float:
        if self.absolute:
            return self.observed - self.expected
        return self.observed / self.expected - 1.0 if self.expected else float("inf")

    @property
    def ok(self) -> bool:
        return abs(self.deviation) <= self.tolerance

    def value_text(self, value: float) -> str:
        return f"{value:.1f}" if self.absolute else f"{value:,.0f}"

    @property
    def deviation_text(self) -> str:
        return f"{self.deviation:+.1f} pt" if self.absolute else f"{self.deviation:+.1%}"

    @property
    def tolerance_text(self) -> str:
        return f"±{self.tolerance:g} pt" if self.absolute else f"±{self.tolerance:.0%}"


def _connect(directory: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("person", "residence", "nationality"):
        files, problem = table_files(directory, table(name))
        if problem is not None:
            raise SourceError(problem.message, rule=problem.rule, file=problem.file)
        paths = ", ".join(f"'{f}'" for f in files)
        con.execute(f"create view {name} as select * from read_parquet([{paths}])")
    munis = {(r["nis_code"], r["region_nis"]) for r in read_csv("municipalities.csv")}
    con.execute("create table muni(nis varchar, region varchar)")
    con.executemany("insert into muni values (?, ?)", sorted(munis))
    return con


def population_on(con: duckdb.DuckDBPyConnection, date: str) -> dict[str, int]:
    """Residents per region code on ``date`` (residence periods covering that day)."""
    rows = con.execute(
        """
        select m.region, count(distinct r.insz)
        from residence r join muni m on m.nis = r.nis_code
        where r.valid_from <= ?::date and (r.valid_to is null or r.valid_to >= ?::date)
        group by m.region
        """,
        [date, date],
    ).fetchall()
    return {region: n for region, n in rows}


def target_population_25_074(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """A1: resident on 31 Dec 2012, first registered 2000-2012, aged 20-64 at arrival; and
    how many of them acquire Belgian nationality by the end of 2022."""
    return con.execute(
        """
        with target as (
            select p.insz from person p
            where p.first_registration_date between date '2000-01-01' and date '2012-12-31'
              and date_diff('year', p.birth_date, p.first_registration_date) between 20 and 64
              and exists (select 1 from residence r where r.insz = p.insz
                          and r.valid_from <= date '2012-12-31'
                          and (r.valid_to is null or r.valid_to >= date '2012-12-31'))
        )
        select count(*),
               count(*) filter (where exists (
                   select 1 from nationality n where n.insz = target.insz
                   and n.nationality = '150' and n.acquisition <> '01'
                   and n.valid_from <= date '2022-12-31'))
        from target
        """
    ).fetchone()


def acquisitions_per_year(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    rows = con.execute(
        """
        select year(valid_from), count(*) from nationality
        where nationality = '150' and acquisition <> '01'
        group by 1
        """
    ).fetchall()
    return dict(rows)


def calibration(directory: Path, scale: float) -> list[Check]:
    """Every calibration figure of S3 for the registers in ``directory``."""
    con = _connect(Path(directory))
    checks: list[Check] = []
    facts = sorted(read_csv("macro_facts.csv"), key=lambda r: (r["period"], r["geography"]))
    for row in facts:
        if row["indicator"] != "population":
            continue
        observed = population_on(con, row["period"])
        if row["geography"] == "BE":
            value = sum(observed.values())
        else:
            value = observed.get(REGION_OF_NAME[row["geography"]], 0)
        checks.append(
            Check(
                f"population {row['geography']}",
                row["period"],
                float(row["value"]) * scale,
                value,
                0.02,
            )
        )
    target, naturalised = target_population_25_074(con)
    checks.append(
        Check("25/074 target population", "2012-12-31", TARGET_25_074 * scale, target, 0.05)
    )
    checks.append(
        Check(
            "25/074 naturalised by 2022", "2000-2022", NATURALISED_25_074 * scale, naturalised, 0.05
        )
    )
    per_year = acquisitions_per_year(con)
    for row in facts:
        if row["indicator"] == "nationality_acquisitions" and row["geography"] == "BE":
            year = int(row["period"])
            checks.append(
                Check(
                    "nationality acquisitions",
                    str(year),
                    float(row["value"]) * scale,
                    per_year.get(year, 0),
                    0.15,
                )
            )
    return checks
