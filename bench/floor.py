"""The floor the flow benchmarks compare sluis with (issue 20): today's practice, a
hand-written DuckDB script that selects the spec's population, draws the samples the same
way, finds the family members and copies every source row the spec needs for those subjects
to Parquet. No derivations, no pseudonymisation, no coarsening, no SCRA: read each source
once, filter, write.

The subjects are close to sluis's, not identical (the script is what a data manager writes
in an afternoon): 25/074's family members are everyone sharing a sampled person's household
within the window as partner (household relation or civil register) or child, plus the
sampled persons' parents (the origin variables read their rows); 26/050's are everyone
sharing a cohort person's household from the cohort date on. The columns are those the
spec's variables and derivations name, plus each table's key and time columns; a quarterly
table's rows are those of the window's quarters (from the earliest look-back).

    .venv/bin/python bench/floor.py specs/25-074.yaml /work/trajbench-data/be-0.1 OUT
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

import duckdb

from sluis.extract.derivations.registry import REGISTRY
from sluis.select.population import municipality_regions
from sluis.select.sample import seed_key
from sluis.sources.contract import CONTRACT
from sluis.spec import load_spec
from sluis.spec.model import Spec

_TABLES = {t.name: t for t in CONTRACT}
_OPEN = "DATE '9999-12-31'"


def needed_columns(spec: Spec) -> dict[str, list[str]]:
    """table -> the columns the spec's variables and derivations read, with the table's
    key and time columns."""
    refs: list[str] = []
    for ds in spec.datasets.values():
        for v in ds.variables:
            refs += v.source
            if v.derive is not None:
                refs += REGISTRY[v.derive].columns
    out: dict[str, list[str]] = {}
    for ref in refs:
        table, column = ref.split(".")
        out.setdefault(table, [])
        out[table].append(column)
    for table, columns in out.items():
        t = _TABLES[table]
        keep = [*t.key, *t.time.columns, *columns]
        out[table] = list(dict.fromkeys(keep))
    return out


def _src(data: Path, table: str) -> str:
    folder = data / table
    path = f"{folder}/*.parquet" if folder.is_dir() else f"{data}/{table}.parquet"
    return f"read_parquet('{path}')"


def _hmac_sql(key: bytes, column: str) -> str:
    """HMAC-SHA256 of ``column`` under ``key`` in DuckDB SQL (as sluis's draw)."""
    import hashlib

    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    digest = f"unhex(sha256(concat(unhex('{inner}'), encode({column}))))"
    return f"sha256(concat(unhex('{outer}'), {digest}))"


def _age(birth: str, on: str) -> str:
    return f"date_sub('year', {birth}, {on})"


def _subjects_25074(con: duckdb.DuckDBPyConnection, data: Path, spec: Spec) -> None:
    target = spec.populations["target"]
    nat = spec.populations["naturalised"]
    d = f"DATE '{target.reference_date}'"
    r = target.first_registration
    a = target.age_at_arrival
    con.execute(f"""
        CREATE TEMP TABLE target AS
        SELECT DISTINCT p.insz FROM {_src(data, "person")} p
        JOIN {_src(data, "residence")} r ON r.insz = p.insz
         AND r.valid_from <= {d} AND coalesce(r.valid_to, {_OPEN}) >= {d}
        WHERE p.first_registration_date BETWEEN DATE '{r.start}' AND DATE '{r.end}'
          AND {_age("p.birth_date", "p.first_registration_date")} BETWEEN {a.min} AND {a.max}
    """)
    n = nat.naturalised
    con.execute(f"""
        CREATE TEMP TABLE naturalised AS
        SELECT DISTINCT t.insz FROM target t JOIN {_src(data, "nationality")} n USING (insz)
        WHERE n.nationality = '150' AND n.acquisition <> '01'
          AND n.valid_from BETWEEN DATE '{n.start}' AND DATE '{n.end}'
    """)
    for name, pool, exclude in (
        ("general", "target", None),
        ("supplementary", "naturalised", "general"),
    ):
        sample = spec.samples[name]
        key = seed_key(spec.decision.id, name, sample.seed)
        cut = f"WHERE insz NOT IN (SELECT insz FROM {exclude})" if exclude else ""
        con.execute(f"""
            CREATE TEMP TABLE {name} AS
            SELECT insz FROM (SELECT insz, {_hmac_sql(key, "insz")} AS h FROM {pool} {cut})
            ORDER BY h, insz
            LIMIT (SELECT round(count(*) * {sample.fraction})::BIGINT FROM {pool})
        """)
    start, end = _window(spec.window.start, spec.window.end)
    con.execute(f"""
        CREATE TEMP TABLE sampled AS SELECT insz FROM general UNION SELECT insz FROM supplementary;
        CREATE TEMP TABLE hh AS
        SELECT h.* FROM {_src(data, "household")} h
        WHERE h.household_id IN (SELECT household_id FROM {_src(data, "household")}
                                 WHERE insz IN (SELECT insz FROM sampled));
        CREATE TEMP TABLE kin AS
        SELECT insz, father_insz, mother_insz FROM {_src(data, "person")};
        CREATE TEMP TABLE spouses AS
        SELECT insz, spouse_insz AS partner FROM {_src(data, "civil_status")}
        WHERE insz IN (SELECT insz FROM sampled) AND spouse_insz IS NOT NULL
        UNION SELECT insz, partner_insz FROM {_src(data, "legal_cohabitation")}
        WHERE insz IN (SELECT insz FROM sampled) AND partner_insz IS NOT NULL;
        CREATE TEMP TABLE family AS
        SELECT DISTINCT m.insz FROM hh s JOIN hh m
          ON m.household_id = s.household_id AND m.insz <> s.insz
         AND m.valid_from <= coalesce(s.valid_to, {_OPEN})
         AND s.valid_from <= coalesce(m.valid_to, {_OPEN})
        JOIN kin k ON k.insz = m.insz
        WHERE s.insz IN (SELECT insz FROM sampled)
          AND s.valid_from <= DATE '{end}' AND coalesce(s.valid_to, {_OPEN}) >= DATE '{start}'
          AND ((s.relation = '01' AND m.relation IN ('02', '21'))
            OR (s.relation IN ('02', '21') AND m.relation = '01')
            OR k.father_insz = s.insz OR k.mother_insz = s.insz
            OR (s.insz, m.insz) IN (SELECT (insz, partner) FROM spouses));
        CREATE TEMP TABLE subjects AS
        SELECT insz FROM sampled UNION SELECT insz FROM family
        UNION SELECT father_insz FROM kin WHERE insz IN (SELECT insz FROM sampled)
        UNION SELECT mother_insz FROM kin WHERE insz IN (SELECT insz FROM sampled);
    """)


def _subjects_26050(con: duckdb.DuckDBPyConnection, data: Path, spec: Spec) -> None:
    regions = ", ".join(f"('{nis}', '{region}')" for nis, region in municipality_regions().items())
    con.execute(f"CREATE TEMP TABLE regions(nis_code VARCHAR, region VARCHAR); "
                f"INSERT INTO regions VALUES {regions}")  # fmt: skip
    parts = []
    for name, pop in spec.populations.items():
        d = f"DATE '{pop.reference_date}'"
        qe = f"DATE '{_last_quarter_end(pop.reference_date)}'"
        sy = pop.reference_date.year - (pop.reference_date.month < 9)
        con.execute(f"""
            CREATE TEMP TABLE {name} AS
            SELECT DISTINCT p.insz, {d} AS since FROM {_src(data, "person")} p
            JOIN {_src(data, "residence")} r ON r.insz = p.insz
             AND r.valid_from <= {d} AND coalesce(r.valid_to, {_OPEN}) >= {d}
            JOIN regions g ON g.nis_code = r.nis_code AND g.region = '{pop.region}'
            WHERE {_age("p.birth_date", d)} BETWEEN {pop.age.min} AND {pop.age.max}
              AND p.insz NOT IN (
                SELECT insz FROM {_src(data, "dwh_position")} WHERE quarter_end = {qe}
                 AND (sep LIKE '1%' OR sep LIKE '34%' OR sep LIKE '36%')
                UNION SELECT insz FROM {_src(data, "education_vl_enrolment")}
                 WHERE school_year = {sy}
                UNION SELECT insz FROM {_src(data, "education_fwb_enrolment")}
                 WHERE school_year = {sy})
        """)
        parts.append(f"SELECT * FROM {name}")
    con.execute(f"""
        CREATE TEMP TABLE cohorts AS
        SELECT insz, min(since) AS since FROM ({" UNION ALL ".join(parts)}) GROUP BY insz;
        CREATE TEMP TABLE hh AS
        SELECT h.insz, h.household_id, h.valid_from, h.valid_to FROM {_src(data, "household")} h
        WHERE h.household_id IN (SELECT household_id FROM {_src(data, "household")}
                                 WHERE insz IN (SELECT insz FROM cohorts));
        CREATE TEMP TABLE subjects AS
        SELECT insz FROM cohorts UNION
        SELECT DISTINCT m.insz FROM hh s JOIN cohorts c ON c.insz = s.insz
        JOIN hh m ON m.household_id = s.household_id
         AND m.valid_from <= coalesce(s.valid_to, {_OPEN})
         AND s.valid_from <= coalesce(m.valid_to, {_OPEN})
        WHERE coalesce(s.valid_to, {_OPEN}) >= c.since;
    """)


def _window(start: str, end: str) -> tuple[dt.date, dt.date]:
    first = dt.date(int(start[:4]), 3 * int(start[-1]) - 2, 1)
    return first, _last_quarter_end(dt.date(int(end[:4]), 3 * int(end[-1]), 28))


def _last_quarter_end(day: dt.date) -> dt.date:
    from sluis.sources.time import last_quarter_end

    return last_quarter_end(day)


def run_floor(spec_path: Path, data: Path, out: Path, *, threads: int | None = None) -> dict:
    """Run the floor for ``spec_path`` on ``data`` into ``out`` (one Parquet file per source
    table); returns the seconds, the subjects and the rows written per table."""
    spec = load_spec(spec_path)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(config={"temp_directory": str(out / ".spill")})
    if threads:
        con.execute(f"SET threads = {threads}")
    select = _subjects_25074 if "samples" in dir(spec) and spec.samples else _subjects_26050
    select(con, data, spec)
    selected = time.perf_counter() - start
    first, last = _window(min(spec.window.lookback.values(), default=spec.window.start),
                          spec.window.end)  # fmt: skip
    rows = {}
    for table, columns in needed_columns(spec).items():
        cols = ", ".join(columns)
        cut = ["insz IN (SELECT insz FROM subjects)"] if "insz" in columns else []
        if "quarter_end" in columns:  # the quarters of the window (and look-back) only
            cut.append(f"quarter_end BETWEEN DATE '{first}' AND DATE '{last}'")
        where = f"WHERE {' AND '.join(cut)}" if cut else ""
        target = out / f"{table}.parquet"
        con.execute(
            f"COPY (SELECT {cols} FROM {_src(data, table)} {where}) TO '{target}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        rows[table] = con.execute(f"SELECT count(*) FROM '{target}'").fetchone()[0]
    subjects = con.execute("SELECT count(*) FROM subjects").fetchone()[0]
    con.close()
    return {
        "seconds": time.perf_counter() - start,
        "select_seconds": selected,
        "subjects": subjects,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    result = run_floor(args.spec, args.data, args.out)
    print(f"floor: {result['seconds']:.1f} s (selection {result['select_seconds']:.1f} s), "
          f"{result['subjects']:,} subjects, {sum(result['rows'].values()):,} rows")  # fmt: skip
    for table, n in result["rows"].items():
        print(f"  {table}: {n:,}")


#: stages a run has that the floor does not (the ratio without the SCRA leaves them out)
NOT_FLOOR = ("check", "scra", "seal")


def report_floor(floors: list[dict], timed: list[dict]) -> None:
    """The floor's median time and sluis's ratio to it, without and with the SCRA: the
    whole process's wall time less its sources check, SCRA and sealing stages."""
    floor = statistics.median(f["seconds"] for f in floors)
    secs = [r["summary"]["seconds"] for r in timed]
    without = statistics.median(
        r["wall"] - sum(v for k, v in s.items() if k.split(":")[-1] in NOT_FLOOR)
        for r, s in zip(timed, secs, strict=True)
    )
    scra = statistics.median(s.get("scra", 0.0) for s in secs)
    f = floors[-1]
    print(
        f"\nfloor (hand-written single-pass DuckDB extract): {floor:.1f} s "
        f"({f['subjects']:,} subjects, {sum(f['rows'].values()):,} source rows)"
    )
    print(f"sluis without the SCRA: {without:.1f} s = {without / floor:.2f}x the floor (goal 2x)")
    both = without + scra
    print(f"sluis with the SCRA: {both:.1f} s = {both / floor:.2f}x the floor (goal 3x)")


if __name__ == "__main__":
    main()
