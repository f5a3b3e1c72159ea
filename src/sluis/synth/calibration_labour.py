"""Labour-market calibration of a generated Belgium (S3, issue 4), in SQL over the files.

Rates are compared in percentage points, counts and wages as ratios, with the tolerances of
the issue: employment 20-64 (overall and by origin) within 3 points, unemployment by region
within 2 points, integration-income recipients within 10%, full-time wage quantiles within
5%, part-time and self-employed shares within 3 points.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from sluis.domain.codelists import read_csv
from sluis.errors import SourceError
from sluis.sources.check import table_files
from sluis.sources.contract import table
from sluis.synth.calibration import REGION_OF_NAME, Check
from sluis.synth.labour_targets import labour_targets
from sluis.synth.panel import ORIGIN_OF_CLASS, ORIGINS

_ORIGIN_FACT = {
    "employment_rate_20_64_origin_belgian": "belgian",
    "employment_rate_20_64_origin_eu14": "eu14",
    "employment_rate_20_64_origin_eu13": "eu13",
    "employment_rate_20_64_origin_candidate_eu_mainly_turkey": "candidate",
    "employment_rate_20_64_origin_north_africa": "north_africa",
    "employment_rate_20_64_origin_subsaharan_africa": "subsaharan",
}


def connect_labour(directory: Path) -> duckdb.DuckDBPyConnection:
    """Views over the tables the labour checks read, and the helper tables they join."""
    con = duckdb.connect()
    for name in ("person", "residence", "dwh_position", "dwh_job"):
        files, problem = table_files(directory, table(name))
        if problem is not None:
            raise SourceError(problem.message, rule=problem.rule, file=problem.file)
        paths = ", ".join(f"'{f}'" for f in files)
        con.execute(f"create view {name} as select * from read_parquet([{paths}])")
    con.execute("create table muni(nis varchar, region varchar)")
    munis = {(r["nis_code"], r["region_nis"]) for r in read_csv("municipalities.csv")}
    con.executemany("insert into muni values (?, ?)", sorted(munis))
    con.execute("create table country(code varchar, origin integer)")
    countries = [
        (r["nis_country_code"], ORIGIN_OF_CLASS[r["class15"]])
        for r in read_csv("country_classes.csv")
    ]
    con.executemany("insert into country values (?, ?)", countries)
    con.execute(
        """
        create table person_origin as
        select p.insz, p.sex, p.birth_date,
               case when coalesce(o.origin, 6) > 0 then coalesce(o.origin, 6)
                    when coalesce(f.origin, 0) > 0 then f.origin
                    else coalesce(m.origin, 0) end as origin
        from person p
        left join country o on o.code = p.first_nationality
        left join person pf on pf.insz = p.father_insz
        left join country f on f.code = pf.first_nationality
        left join person pm on pm.insz = p.mother_insz
        left join country m on m.code = pm.first_nationality
        """
    )
    return con


def _positions(con: duckdb.DuckDBPyConnection, day: str) -> None:
    """Table ``pos``: everyone's position, age, origin and region on ``day``."""
    con.execute(
        f"""
        create or replace temp table pos as
        select d.insz, d.sep, po.sex, po.origin, mu.region,
               date_diff('year', po.birth_date, d.quarter_end)
                 - case when strftime(d.quarter_end, '%m%d') < strftime(po.birth_date, '%m%d')
                        then 1 else 0 end as age
        from dwh_position d
        join person_origin po using (insz)
        join residence r on r.insz = d.insz and r.valid_from <= d.quarter_end
             and (r.valid_to is null or r.valid_to >= d.quarter_end)
        join muni mu on mu.nis = r.nis_code
        where d.quarter_end = date '{day}'
        """
    )


def labour_checks(directory: Path, scale: float) -> list[Check]:
    """Every labour-market figure of issue 4 for the registers in ``directory``."""
    con = connect_labour(Path(directory))
    facts = read_csv("macro_facts.csv")
    checks: list[Check] = []
    checks += _employment(con, facts)
    checks += _unemployment(con, facts)
    checks += _integration_income(con, facts, scale)
    checks += _wages(con, facts)
    checks += _shares(con)
    return checks


def _rate(con: duckdb.DuckDBPyConnection, where: str) -> float:
    value = con.execute(
        f"select 100.0 * avg(case when sep like '1%' then 1 else 0 end) from pos "
        f"where age between 20 and 64 and {where}"
    ).fetchone()[0]
    return float(value or 0.0)


def _employment(con: duckdb.DuckDBPyConnection, facts: list[dict]) -> list[Check]:
    checks = []
    wanted = [
        r
        for r in facts
        if r["indicator"].startswith("employment_rate_20_64") and r["geography"] == "BE"
    ]
    for year in sorted({r["period"] for r in wanted}):
        _positions(con, f"{year}-12-31")
        for r in (r for r in wanted if r["period"] == year):
            if r["indicator"] == "employment_rate_20_64":
                where, label = "true", "employment rate 20-64"
            elif r["indicator"] in _ORIGIN_FACT:
                origin = _ORIGIN_FACT[r["indicator"]]
                where = f"origin = {ORIGINS.index(origin)}"
                label = f"employment rate 20-64, {origin.replace('_', ' ')} origin"
            else:
                continue
            checks.append(Check(label, year, float(r["value"]), _rate(con, where), 3.0, True))
    return checks


def _unemployment(con: duckdb.DuckDBPyConnection, facts: list[dict]) -> list[Check]:
    checks = []
    for r in facts:
        if r["indicator"] not in ("unemployment_rate_ilo", "unemployment_rate_15_64_q"):
            continue
        if r["geography"] not in REGION_OF_NAME:
            continue
        day = "2024-03-31" if r["period"] == "2024" else f"{r['period']}-12-31"
        _positions(con, day)
        value = con.execute(
            """
            select 100.0 * count(*) filter (where sep in ('211', '212', '213'))
                   / nullif(count(*) filter (
                       where sep like '1%' or sep in ('211', '212', '213')), 0)
            from pos where age between 15 and 64 and region = ?
            """,
            [REGION_OF_NAME[r["geography"]]],
        ).fetchone()[0]
        checks.append(
            Check(
                f"unemployment rate 15-64, {r['geography']}",
                day[:7],
                float(r["value"]),
                float(value or 0),
                2.0,
                True,
            )
        )
    return checks


def _integration_income(
    con: duckdb.DuckDBPyConnection, facts: list[dict], scale: float
) -> list[Check]:
    rows = con.execute(
        """
        select year(d.quarter_end) as y, mu.region, count(*) / 4.0
        from dwh_position d
        join residence r on r.insz = d.insz and r.valid_from <= d.quarter_end
             and (r.valid_to is null or r.valid_to >= d.quarter_end)
        join muni mu on mu.nis = r.nis_code
        where d.sep = '331'
        group by all
        """
    ).fetchall()
    per = {(y, region): n for y, region, n in rows}
    checks = []
    for r in facts:
        if r["indicator"] != "leefloon_recipients_monthly_avg":
            continue
        year = int(r["period"])
        if r["geography"] == "BE":
            observed = sum(n for (y, _), n in per.items() if y == year)
        else:
            observed = per.get((year, REGION_OF_NAME[r["geography"]]), 0)
        checks.append(
            Check(
                f"integration income recipients, {r['geography']}",
                str(year),
                float(r["value"]) * scale,
                float(observed),
                0.10,
            )
        )
    return checks


def _wages(con: duckdb.DuckDBPyConnection, facts: list[dict]) -> list[Check]:
    checks = []
    names = {
        "gross_monthly_wage_fulltime_median": ("median", 0.5),
        "gross_monthly_wage_fulltime_p10": ("P10", 0.1),
        "gross_monthly_wage_fulltime_p90": ("P90", 0.9),
    }
    for r in facts:
        if r["indicator"] not in names or r["geography"] != "BE":
            continue
        label, q = names[r["indicator"]]
        value = con.execute(
            f"""
            select quantile_cont(gross_wage / 3.0, {q}) from dwh_job
            where quarter_end = date '{r["period"]}-12-31' and performance_type = 'F'
              and statute in ('1', '2')
            """
        ).fetchone()[0]
        checks.append(
            Check(
                f"full-time gross monthly wage {label}",
                r["period"],
                float(r["value"]),
                float(value or 0),
                0.05,
            )
        )
    return checks


def _shares(con: duckdb.DuckDBPyConnection) -> list[Check]:
    """Part-time shares of the employed by sex and the self-employed share, 2012 (APPROX)."""
    con.execute(
        """
        create or replace temp table worked as
        select d.insz, d.sep, po.sex,
               (select sum(j.part_time_pct) from dwh_job j
                where j.insz = d.insz and j.quarter_end = d.quarter_end
                  and j.statute in ('1', '2')) as pct
        from dwh_position d join person_origin po using (insz)
        where d.quarter_end = date '2012-12-31' and d.sep like '1%'
        """
    )
    part = con.execute(
        """
        select sex, 100.0 * avg(case when pct < 100 then 1 else 0 end)
        from worked group by sex order by sex
        """
    ).fetchall()
    self_share = con.execute(
        """
        select 100.0 * avg(case when sep like '12%' or sep like '13%' or sep in ('142', '143')
                            then 1 else 0 end) from worked
        """
    ).fetchone()[0]
    T = labour_targets()
    expected = {"1": 100 * T.part_time_men, "2": 100 * T.part_time_women}
    label = {"1": "men", "2": "women"}
    checks = [
        Check(f"part-time share of the employed, {label[s]}", "2012", expected[s], v, 3.0, True)
        for s, v in part
    ]
    checks.append(
        Check(
            "self-employed share of the employed",
            "2012",
            100 * T.self_employed,
            self_share,
            3.0,
            True,
        )
    )
    return checks
